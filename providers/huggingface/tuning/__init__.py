"""Fine-tuning on local models: the LoRA training loop, the worker process that runs one job, and the runner
that starts workers for queued jobs (used by the in-process client and by ``llmaas serve`` alike)."""
