"""Jobs: their rows in the store (records), the service that creates and answers for them, the worker
process that runs them, and the runner that starts it."""
