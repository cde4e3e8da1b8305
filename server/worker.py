"""The fine-tuning worker: ``python -m llmaas.server.worker --home HOME --job ID``, a process of its own, so
serving goes on while it trains, with a thread budget of its own (``--threads``).

It runs one job: claims it (queued to running), trains a LoRA adapter with a metrics event per step, stops
within a step of the job being cancelled, saves the adapter in the store's blobs, registers
``ft:<base>:<suffix>:<job>`` and marks the job succeeded, or failed with the reason.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from .jobs import FINAL, add_checkpoint, add_metrics, get_job, register_model, update_job
from .store import Store

AUTO = {"n_epochs": 3, "batch_size": 4, "learning_rate_multiplier": 1.0}


def model_id(job: dict[str, Any]) -> str:
    return f"ft:{job['model']}:{job.get('suffix') or 'llmaas'}:{job['id']}"


def _hyper(job: dict[str, Any], name: str) -> Any:
    value = job["hyperparameters"].get(name, "auto")
    return AUTO[name] if value in (None, "auto") else value


def run(store: Store, job_id: str, threads: int) -> int:
    job = update_job(store, job_id, event="Fine-tuning started", only_if=frozenset({"queued"}), status="running")
    if job is None:
        return 0  # cancelled (or taken) before it started
    try:
        from llmaas.providers.huggingface.loading import ensure_converted, resolve_source
        from llmaas.providers.huggingface.training import TrainingConfig, train_lora

        rows = [json.loads(line) for line in store.blob_path(job["training_file"]).read_text().splitlines()
                if line.strip()]
        folder = ensure_converted(resolve_source(job["model"]), progress=False)
        lora = job.get("lora") or {}
        config = TrainingConfig(epochs=int(_hyper(job, "n_epochs")), batch_size=int(_hyper(job, "batch_size")),
                                learning_rate=1e-4 * float(_hyper(job, "learning_rate_multiplier")),
                                rank=int(lora.get("rank", 8)), alpha=int(lora.get("alpha", 16)),
                                seed=int(job.get("seed") or 0), threads=threads)
        started = time.monotonic()

        def on_step(step: Any) -> bool:
            elapsed = time.monotonic() - started
            left = elapsed / step.step * (step.total - step.step)
            add_metrics(store, job_id, f"Step {step.step}/{step.total}: training loss={step.loss:.4f}",
                        {"step": step.step, "total_steps": step.total, "epoch": step.epoch,
                         "train_loss": step.loss, "tokens_per_second": round(step.tokens_per_s, 1)})
            current = update_job(store, job_id, only_if=frozenset({"running"}),
                                 estimated_finish=int(time.time() + left))
            return current is not None  # cancelled: stop now

        out = store.blobs / "adapters" / job_id
        metrics = train_lora(folder, rows, out, config, on_step)
        if metrics.get("stopped"):
            return 0
        name = model_id(job)
        register_model(store, name, _owner(store, job_id), job["model"], str(out))
        add_checkpoint(store, job_id, name, int(metrics["step"]), {"step": metrics["step"],
                                                                    "train_loss": metrics["train_loss"]})
        update_job(store, job_id, event=f"The job has successfully completed: {name}",
                   only_if=frozenset({"running"}), status="succeeded", fine_tuned_model=name,
                   finished_at=int(time.time()), estimated_finish=None)
        return 0
    except Exception as exc:  # noqa: BLE001 - the job fails with the reason; the worker exits non-zero
        traceback.print_exc()
        update_job(store, job_id, event=f"The job failed: {exc}", only_if=frozenset({"running"}), status="failed",
                   finished_at=int(time.time()), estimated_finish=None,
                   error={"code": "training_failed", "message": str(exc)[:500], "param": None})
        return 1


def _owner(store: Store, job_id: str) -> str | None:
    rows = store.query("SELECT owner FROM fine_tuning_jobs WHERE id = ?", (job_id,))
    return rows[0]["owner"] if rows else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llmaas.server.worker")
    parser.add_argument("--home", required=True)
    parser.add_argument("--job", required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    store = Store(Path(args.home))
    try:
        job = get_job(store, args.job)
        if job is None or job["status"] in FINAL:
            return 0
        return run(store, args.job, args.threads)
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
