"""Batches: records in the store, the service both ways in use (the in-process client and the server's
routes), and the runner that works through them in the engine's idle capacity."""
