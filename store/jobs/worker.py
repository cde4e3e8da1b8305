"""The fine-tuning worker: ``python -m llmaas.store.jobs.worker --home HOME``, a process of
its own, so serving goes on while it trains, with a thread budget of its own (``--threads``).

It holds the home's worker lock and drains the queue: for each job it claims it (queued to running, marked
with this worker; on a PostgreSQL store workers on several machines claim from one queue, each job once)
and keeps a heartbeat on it while it trains. It trains a
LoRA adapter with a metrics event per step and a checkpoint per epoch (each registered as a model), stops
within a step of the job being cancelled, writes the result files (a CSV of the metrics and a PNG of the loss
curves), registers ``ft:<base>:<suffix>:<job>`` and marks the job succeeded, or failed with the reason.
A job whose worker died (its heartbeat stopped, or its process on this machine is gone) was interrupted: it
goes back to the queue and resumes from the last checkpoint.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from llmaas.providers.huggingface.tuning.results import write_results
from llmaas.store import Store
from llmaas.store.jobs.records import (
    abandoned,
    add_checkpoint,
    add_metrics,
    checkpoints_of,
    claim_next,
    get_job,
    heartbeat,
    next_queued,
    register_model,
    update_job,
)
from llmaas.store.jobs.runner import worker_lock
from llmaas.store.liveness import alive, process_name

AUTO = {"n_epochs": 3, "batch_size": 4, "learning_rate_multiplier": 1.0}
MAX_ATTEMPTS = 3  # a job interrupted this many times (a worker killed, out of memory) fails
HEARTBEAT = 10.0  # seconds between a worker's heartbeats on its job (records.LEASE without one: taken for dead)


def model_id(job: dict[str, Any]) -> str:
    return f"ft:{job['model']}:{job.get('suffix') or 'llmaas'}:{job['id']}"


def _hyper(job: dict[str, Any], name: str) -> Any:
    value = job["hyperparameters"].get(name, "auto")
    return AUTO[name] if value in (None, "auto") else value


def resolved(job: dict[str, Any]) -> dict[str, Any]:
    """The job's hyperparameters with "auto" replaced by what training uses (as OpenAI reports them)."""
    return {k: _hyper(job, k) for k in AUTO}


def _rows(store: Store, file_id: str | None) -> list[dict[str, Any]]:
    if not file_id:
        return []
    text = store.blob_path(file_id).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def recover(store: Store) -> None:
    """Jobs left running by a worker that died: back to the queue, to resume from their last checkpoint, or
    failed after ``MAX_ATTEMPTS``."""
    for job_id in abandoned(store, alive):
        job = get_job(store, job_id)
        if job is None:
            continue
        attempts = int(job.get("attempts", 1))
        if attempts >= MAX_ATTEMPTS:
            update_job(store, job["id"], event=f"The job failed: interrupted {attempts} times", status="failed",
                       only_if=frozenset({"running", "validating_files"}), finished_at=int(time.time()),
                       estimated_finish=None,
                       error={"code": "interrupted", "message": f"the worker stopped {attempts} times while the "
                              "job ran (killed or out of memory); create the job again", "param": None})
        else:
            saved = checkpoints_of(store, job["id"])
            where = f"from the checkpoint at step {saved[-1]['step_number']}" if saved else "from the start"
            update_job(store, job["id"], event=f"The job was interrupted; it resumes {where}", status="queued",
                       only_if=frozenset({"running", "validating_files"}), estimated_finish=None)


class _Heartbeat(threading.Thread):
    """Keeps the worker's claim on its job fresh while it trains."""

    def __init__(self, store: Store, job_id: str, worker: str) -> None:
        super().__init__(daemon=True, name=f"heartbeat-{job_id}")
        self.store, self.job_id, self.worker = store, job_id, worker
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(HEARTBEAT):
            try:
                if not heartbeat(self.store, self.job_id, self.worker):
                    return  # cancelled or finished: the training loop sees it at its next step
            except Exception:  # noqa: BLE001 - a database that blinks: the next beat tries again
                traceback.print_exc()


def run(store: Store, job: dict[str, Any], threads: int, worker: str) -> int:
    """Train a job this worker has claimed (it is running, marked with ``worker``)."""
    beat = _Heartbeat(store, job["id"], worker)
    beat.start()
    try:
        return _train(store, job, threads)
    finally:
        beat.done.set()


def _train(store: Store, job: dict[str, Any], threads: int) -> int:
    job_id, owner = job["id"], job["owner"]
    try:
        from llmaas.providers.huggingface.management.loading import ensure_converted, resolve_source
        from llmaas.providers.huggingface.tuning.training import Checkpoint, TrainingConfig, train_lora

        rows, validation = _rows(store, job["training_file"]), _rows(store, job.get("validation_file"))
        folder = ensure_converted(resolve_source(job.get("base_path") or job["model"]), progress=False)
        lora: dict[str, Any] = job.get("lora") or {}
        config = TrainingConfig(epochs=int(_hyper(job, "n_epochs")), batch_size=int(_hyper(job, "batch_size")),
                                learning_rate=TrainingConfig.learning_rate * float(_hyper(job, "learning_rate_multiplier")),
                                rank=int(lora.get("rank", 8)), alpha=int(lora.get("alpha", 16)),
                                targets=tuple(lora.get("target_modules") or TrainingConfig.targets),
                                seed=int(job.get("seed") or 0), threads=threads)
        out = store.blobs / "adapters" / job_id
        saved = checkpoints_of(store, job_id)
        resume = out / f"checkpoint-{saved[-1]['step_number']}" if saved else None
        started, first_step = time.monotonic(), None

        def on_step(step: Any) -> bool:
            nonlocal first_step
            first_step = first_step or step.step
            done = step.step - first_step + 1
            left = (time.monotonic() - started) / done * (step.total - step.step)
            data = {"step": step.step, "total_steps": step.total, "epoch": step.epoch, "train_loss": step.loss,
                    "tokens_per_second": round(step.tokens_per_s, 1)}
            message = f"Step {step.step}/{step.total}: training loss={step.loss:.4f}"
            if step.valid_loss is not None:
                data["valid_loss"] = step.valid_loss
                message += f", validation loss={step.valid_loss:.4f}"
            add_metrics(store, job_id, message, data)
            current = update_job(store, job_id, only_if=frozenset({"running"}),
                                 estimated_finish=int(time.time() + left))
            return current is not None  # cancelled: stop now

        def on_checkpoint(c: Checkpoint) -> None:
            name = f"{model_id(job)}:ckpt-step-{c.step}"
            register_model(store, name, owner, job["model"], str(c.path), job.get("base_sha256"))
            metrics: dict[str, Any] = {"step": c.step, "train_loss": c.train_loss}
            if c.valid_loss is not None:
                metrics["valid_loss"] = c.valid_loss
            add_checkpoint(store, job_id, name, c.step, metrics)

        def cancelled() -> bool:
            current = get_job(store, job_id)
            return current is None or current["status"] != "running"

        if cancelled():  # cancelled while the base model was being found or converted
            return 0
        metrics = train_lora(folder, rows, out, config, on_step, validation or None, on_checkpoint, resume,
                             cancelled)
        if metrics.get("stopped"):
            return 0
        name = model_id(job)
        register_model(store, name, owner, job["model"], str(out), job.get("base_sha256"))
        results = write_results(store, job_id, owner)
        done = update_job(store, job_id, event=f"The job has successfully completed: {name}",
                          only_if=frozenset({"running"}), status="succeeded", fine_tuned_model=name,
                          finished_at=int(time.time()), estimated_finish=None, result_files=results,
                          trained_tokens=int(metrics["trained_tokens"]), hyperparameters=resolved(job))
        if done is not None and job.get("evals"):
            start_evals(store, job, name, owner)
        return 0
    except Exception as exc:  # noqa: BLE001 - the job fails with the reason; the worker goes on
        traceback.print_exc()
        reason = "out of memory" if isinstance(exc, MemoryError) else str(exc)[:500] or type(exc).__name__
        update_job(store, job_id, event=f"The job failed: {reason}", only_if=frozenset({"running"}),
                   status="failed", finished_at=int(time.time()), estimated_finish=None,
                   error={"code": "training_failed", "message": reason, "param": None})
        return 1


def start_evals(store: Store, job: dict[str, Any], tuned: str, owner: str | None) -> None:
    """The job's evals, queued on the base and on the tuned model (an eval deleted meanwhile is skipped). A
    template run that already completed on the base model is the base's run: the same items, asked the same
    way, of the same weights."""
    from llmaas.store.evals.records import repeat_run

    entries: list[dict[str, Any]] = []
    for entry in job["evals"]:
        template = store.query("SELECT model, status FROM eval_runs WHERE id = ?", (entry["template_run_id"],))
        reuse = bool(template) and template[0]["model"] == job["model"] and template[0]["status"] == "completed"
        models = [(tuned, f"{tuned} ({job['id']})")]
        if not reuse:
            models.insert(0, (job["model"], f"{job['model']} (base of {job['id']})"))
        ids = repeat_run(store, entry["template_run_id"], owner, models)
        if ids is None:
            entries.append({**entry, "status": "deleted"})
        else:
            base = entry["template_run_id"] if reuse else ids[0]
            entries.append({**entry, "base_run_id": base, "tuned_run_id": ids[-1]})
    update_job(store, job["id"], event=f"Evals queued on {job['model']} and {tuned}: "
               f"{', '.join(e['eval_id'] for e in entries)}", evals=entries)


def drain(store: Store, threads: int) -> None:
    """Claim and run queued jobs, in the queue's order, while holding the home's worker lock; return when none
    is left. A job queued while the lock is being let go is seen by the check after it."""
    me = process_name()
    while True:
        with worker_lock(store.home) as mine:
            if not mine:
                return  # another worker has this home's queue
            recover(store)
            while (job := claim_next(store, me)) is not None:
                run(store, job, threads, me)
        if next_queued(store) is None:
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llmaas.store.jobs.worker")
    parser.add_argument("--home", required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    store = Store(Path(args.home))
    try:
        drain(store, args.threads)
        return 0
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
