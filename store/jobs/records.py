"""Fine-tuning jobs in the store: each state change is one transaction, so the server, the worker and the
in-process client see the same job, and a crash leaves every job in a definite state."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from llmaas.store import ANYONE, Store, new_id

FINAL = frozenset({"succeeded", "failed", "cancelled"})
PRIVATE = frozenset({"owner", "lora", "base_path", "attempts", "started_at", "base_sha256"})  # kept with a job, never shown


def public(job: dict[str, Any]) -> dict[str, Any]:
    """The job as the API shows it."""
    return {k: v for k, v in job.items() if k not in PRIVATE}


ACTIVE = ("queued", "running", "validating_files")


def create_job(store: Store, owner: str | None, body: dict[str, Any],
               most: int | None = None) -> dict[str, Any] | None:
    """Store a validated request as a queued job; return the job as the API shows it. None (nothing stored)
    when ``owner`` has ``most`` jobs queued or running already (counted in the same transaction)."""
    job_id = new_id("ftjob")
    hyper: dict[str, Any] = dict(body.get("hyperparameters") or {})
    method: dict[str, Any] = body.get("method") or {}
    supervised: dict[str, Any] = method.get("supervised") or {}
    hyper.update(supervised.get("hyperparameters") or {})
    job: dict[str, Any] = {
        "id": job_id, "object": "fine_tuning.job", "created_at": int(time.time()), "model": body["model"],
        "training_file": body["training_file"], "validation_file": body.get("validation_file"),
        "hyperparameters": {k: hyper.get(k, "auto") for k in ("n_epochs", "batch_size", "learning_rate_multiplier")},
        "lora": body.get("lora") or {}, "base_path": body.get("base_path"), "base_sha256": body.get("base_sha256"),
        "suffix": body.get("suffix"), "seed": body.get("seed") or 0,
        "metadata": body.get("metadata"), "status": "queued", "fine_tuned_model": None, "finished_at": None,
        "error": None, "result_files": [], "organization_id": "", "trained_tokens": None,
        "estimated_finish": None, "integrations": [], "method": {"type": "supervised"},
    }
    if body.get("evals"):
        job["evals"] = body["evals"]
    with store.transaction() as db:
        if most is not None:
            active = db.execute("SELECT COUNT(*) FROM fine_tuning_jobs WHERE owner IS NOT DISTINCT FROM ? AND status IN (?, ?, ?)",
                                (owner, *ACTIVE)).fetchone()[0]
            if active >= most:
                return None
        db.execute("INSERT INTO fine_tuning_jobs (id, owner, body, status, created_at, queued_at) "
                   "VALUES (?, ?, ?, ?, ?, ?)", (job_id, owner, json.dumps(job), "queued", job["created_at"], time.time()))
        _event(db, job_id, "Fine-tuning job created and queued")
    return job


def get_job(store: Store, job_id: str, owner: str | None = ANYONE) -> dict[str, Any] | None:
    """The job (with its private fields: ``public`` strips them), if ``owner`` may see it."""
    rows = store.query("SELECT body, owner FROM fine_tuning_jobs WHERE id = ? AND (? = '*' OR owner IS NOT DISTINCT FROM ?)",
                       (job_id, owner, owner))
    return {**json.loads(rows[0]["body"]), "owner": rows[0]["owner"]} if rows else None


def checkpoints_of(store: Store, job_id: str) -> list[dict[str, Any]]:
    """The job's checkpoints, oldest first."""
    rows = store.query("SELECT body FROM fine_tuning_checkpoints WHERE job_id = ? ORDER BY step", (job_id,))
    return [json.loads(r["body"]) for r in rows]


def update_job(store: Store, job_id: str, event: str | None = None, only_if: frozenset[str] | None = None,
               **changes: Any) -> dict[str, Any] | None:
    """Apply ``changes`` to the job (and log ``event``) in one transaction; when ``only_if`` is given, only
    while the job's status is one of those. Returns the job after, or None when it did not apply."""
    with store.transaction() as db:
        rows = db.execute("SELECT body FROM fine_tuning_jobs WHERE id = ?", (job_id,)).fetchall()
        if not rows:
            return None
        job = json.loads(rows[0]["body"])
        if only_if is not None and job["status"] not in only_if:
            return None
        job.update(changes)
        db.execute("UPDATE fine_tuning_jobs SET status = ?, body = ? WHERE id = ?",
                   (job["status"], json.dumps(job), job_id))
        if event:
            _event(db, job_id, event, level="error" if job["status"] == "failed" else "info")
    return job


def add_metrics(store: Store, job_id: str, message: str, data: dict[str, Any]) -> None:
    with store.transaction() as db:
        _event(db, job_id, message, type="metrics", data=data)


def add_checkpoint(store: Store, job_id: str, model_id: str, step: int, metrics: dict[str, Any]) -> None:
    checkpoint = {"id": new_id("ftckpt"), "object": "fine_tuning.job.checkpoint", "created_at": int(time.time()),
                  "fine_tuned_model_checkpoint": model_id, "fine_tuning_job_id": job_id,
                  "metrics": metrics, "step_number": step}
    with store.transaction() as db:
        db.execute("INSERT INTO fine_tuning_checkpoints (id, job_id, step, body) VALUES (?, ?, ?, ?)",
                   (checkpoint["id"], job_id, step, json.dumps(checkpoint)))


LEASE = 90.0  # seconds without a heartbeat after which a running job's worker is taken for dead


def _queue(store: Store) -> str:
    """The queued jobs in the order they run: keys take turns. Among the keys with a queued job, the one whose
    last job started longest ago (or never) goes first, with its oldest queued job; so one key's hundred jobs
    wait behind every other key's next one instead of in front of them."""
    started = store.db.json_text("body", "started_at")
    return ("SELECT q.id, q.owner, q.body FROM fine_tuning_jobs q "
            f"LEFT JOIN (SELECT owner, MAX(CAST({started} AS REAL)) AS last "
            f"           FROM fine_tuning_jobs WHERE {started} IS NOT NULL GROUP BY owner) s "
            "ON s.owner IS NOT DISTINCT FROM q.owner "
            "WHERE q.status = 'queued' "
            "ORDER BY COALESCE(s.last, 0), q.created_at, COALESCE(q.queued_at, q.created_at), q.id LIMIT 1")


def next_queued(store: Store) -> str | None:
    """The job to run next (see ``_queue``), without claiming it."""
    rows = store.query(_queue(store))
    return rows[0]["id"] if rows else None


def claim_next(store: Store, worker: str) -> dict[str, Any] | None:
    """Take the next queued job for ``worker`` (``host:pid``): it becomes running, marked with the worker and
    a heartbeat. Workers on several machines claim at once without taking one job twice: on PostgreSQL the
    pick locks its row and passes over rows another claim holds (FOR UPDATE SKIP LOCKED)."""
    now = time.time()
    with store.transaction(exclusive=False) as db:
        row = db.execute(_queue(store).replace(" LIMIT 1", " LIMIT 1" + store.db.skip_locked("q"))).fetchone()
        if row is None:
            return None
        job = json.loads(row["body"])
        attempts = int(job.get("attempts", 0)) + 1
        job.update(status="running", attempts=attempts, started_at=now)
        changed = db.execute("UPDATE fine_tuning_jobs SET status = 'running', body = ?, worker = ?, heartbeat_at = ? "
                             "WHERE id = ? AND status = 'queued'", (json.dumps(job), worker, now, row["id"]))
        if changed.rowcount != 1:
            return None
        _event(db, row["id"], "Fine-tuning started" if attempts == 1 else "Fine-tuning resumed")
    return {**job, "owner": row["owner"]}


def heartbeat(store: Store, job_id: str, worker: str) -> bool:
    """Say the worker is still on the job; False when the job is no longer its (taken back, cancelled)."""
    with store.transaction(exclusive=False) as db:
        changed = db.execute("UPDATE fine_tuning_jobs SET heartbeat_at = ? WHERE id = ? AND worker = ? "
                             "AND status IN ('running', 'validating_files')", (time.time(), job_id, worker))
        return changed.rowcount == 1


def abandoned(store: Store, alive: Callable[[str], bool]) -> list[str]:
    """Running jobs whose worker is gone: none recorded (a job from before workers were), a heartbeat older
    than ``LEASE``, or ``alive(worker)`` False (a worker on this machine whose process has exited)."""
    rows = store.query("SELECT id, worker, heartbeat_at FROM fine_tuning_jobs "
                       "WHERE status IN ('running', 'validating_files')")
    stale = time.time() - LEASE
    return [r["id"] for r in rows
            if r["worker"] is None or (r["heartbeat_at"] or 0) < stale or not alive(r["worker"])]


def register_model(store: Store, model_id: str, owner: str | None, base: str, path: str,
                   base_sha256: str | None = None) -> None:
    """Store a fine-tuned model (or checkpoint): its base by name and by the hash of the weights it was
    trained on."""
    with store.transaction() as db:
        db.execute("INSERT INTO models (id, owner, base, path, created_at, base_sha256) VALUES (?, ?, ?, ?, ?, ?) "
                   "ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, base = excluded.base, "
                   "path = excluded.path, created_at = excluded.created_at, base_sha256 = excluded.base_sha256",
                   (model_id, owner, base, path, int(time.time()), base_sha256))


def _event(db: Any, job_id: str, message: str, level: str = "info", type: str = "message",
           data: dict[str, Any] | None = None) -> None:
    seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM fine_tuning_events WHERE job_id = ?",
                     (job_id,)).fetchone()[0]
    event = {"id": new_id("ftevent"), "object": "fine_tuning.job.event", "created_at": int(time.time()),
             "level": level, "message": message, "type": type, "data": data}
    db.execute("INSERT INTO fine_tuning_events (id, job_id, seq, body) VALUES (?, ?, ?, ?)",
               (event["id"], job_id, seq, json.dumps(event)))


def metric_events(store: Store, job_id: str) -> list[dict[str, Any]]:
    """The data of the job's metrics events, in step order (a resumed job's repeated steps: the latest)."""
    rows = store.query("SELECT body FROM fine_tuning_events WHERE job_id = ? ORDER BY seq", (job_id,))
    by_step: dict[int, dict[str, Any]] = {}
    for row in rows:
        event = json.loads(row["body"])
        if event.get("type") == "metrics" and event.get("data"):
            by_step[int(event["data"]["step"])] = event["data"]
    return [by_step[s] for s in sorted(by_step)]
