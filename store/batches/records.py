"""Batches in the store. A batch and all its requests are written in one transaction; each request's answer
is written once, in the transaction that meters it (``UPDATE ... WHERE state = 'pending'``), so a request
that ran twice (a runner killed after it answered, before it recorded) is still answered once. Finishing a
batch writes its output and error files and its final status in one transaction."""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any

from llmaas.store import Record, Store
from llmaas.store.batch_files import BatchFile
from llmaas.store.liveness import alive

UNFINISHED = ("validating", "in_progress", "finalizing", "cancelling")
FINAL = ("completed", "failed", "expired", "cancelled")
OUTPUT_PURPOSE = "batch_output"
WINDOW = re.compile(r"^(\d{1,9})(s|m|h|d)$")
UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_WINDOW = 7 * 86400


def window_seconds(window: str) -> int | None:
    """A completion window (``24h``, ``90s``, ``30m``, ``2d``) in seconds; None if it is not one."""
    match = WINDOW.match(window)
    if match is None:
        return None
    seconds = int(match.group(1)) * UNIT[match.group(2)]
    return seconds if 1 <= seconds <= MAX_WINDOW else None


def insert_batch(store: Store, owner: str | None, body: dict[str, Any], parsed: BatchFile, window: int,
                 most: int, most_tokens: int | None) -> dict[str, Any] | None:
    """Store a batch with its requests, in progress; None if the owner already has ``most`` batches in flight,
    or more than ``most_tokens`` enqueued with this one (checked in the same write transaction)."""
    batch_id = "batch_" + secrets.token_hex(12)
    now = int(time.time())
    marks = ",".join("?" * len(UNFINISHED))
    with store.transaction() as db:
        count, tokens = db.execute(f"SELECT COUNT(*), COALESCE(SUM(enqueued_tokens), 0) FROM batches WHERE owner IS NOT DISTINCT FROM ? "
                                   f"AND status IN ({marks})", (owner, *UNFINISHED)).fetchone()
        if count >= most or (most_tokens is not None and tokens + parsed.tokens > most_tokens):
            return None
        db.execute("INSERT INTO batches (id, owner, endpoint, model, input_file_id, completion_window, status, "
                   "metadata, created_at, expires_at, in_progress_at, total, enqueued_tokens) "
                   "VALUES (?, ?, ?, ?, ?, ?, 'in_progress', ?, ?, ?, ?, ?, ?)",
                   (batch_id, owner, parsed.endpoint, parsed.model, body["input_file_id"], body["completion_window"],
                    json.dumps(body.get("metadata")) if body.get("metadata") is not None else None, now,
                    now + window, now, len(parsed.lines), parsed.tokens))
        db.executemany("INSERT INTO batch_requests (batch_id, line, custom_id, body) VALUES (?, ?, ?, ?)",
                       [(batch_id, r.line, r.custom_id, json.dumps(r.body)) for r in parsed.lines])
    return batch_object(store, get_row(store, batch_id, owner))  # type: ignore[arg-type]


def get_row(store: Store, batch_id: str, sees: str | None) -> Record | None:
    rows = store.query("SELECT * FROM batches WHERE id = ? AND (? = '*' OR owner IS NOT DISTINCT FROM ?)", (batch_id, sees, sees))
    return rows[0] if rows else None


def counts(store: Store, batch_id: str) -> dict[str, int]:
    rows = store.query("SELECT state, COUNT(*) AS n, SUM(input_tokens) AS i, SUM(output_tokens) AS o "
                       "FROM batch_requests WHERE batch_id = ? GROUP BY state", (batch_id,))
    by = {r["state"]: r for r in rows}
    done, failed = by.get("done"), by.get("failed")
    tokens_in = sum(int(r["i"] or 0) for r in rows)
    tokens_out = sum(int(r["o"] or 0) for r in rows)
    return {"completed": int(done["n"]) if done else 0, "failed": int(failed["n"]) if failed else 0,
            "input_tokens": tokens_in, "output_tokens": tokens_out}


def batch_object(store: Store, row: Record) -> dict[str, Any]:
    """A batches row as the API shows it (OpenAI's Batch object), with its counts and usage so far."""
    c = counts(store, row["id"])
    errors = json.loads(row["errors"]) if row["errors"] else None
    out: dict[str, Any] = {
        "id": row["id"], "object": "batch", "endpoint": row["endpoint"], "model": row["model"],
        "errors": {"object": "list", "data": errors} if errors else None,
        "input_file_id": row["input_file_id"], "completion_window": row["completion_window"],
        "status": row["status"], "output_file_id": row["output_file_id"], "error_file_id": row["error_file_id"],
        "request_counts": {"total": row["total"], "completed": c["completed"], "failed": c["failed"]},
        "usage": {"input_tokens": c["input_tokens"], "input_tokens_details": {"cached_tokens": 0},
                  "output_tokens": c["output_tokens"], "output_tokens_details": {"reasoning_tokens": 0},
                  "total_tokens": c["input_tokens"] + c["output_tokens"]},
        "metadata": json.loads(row["metadata"]) if row["metadata"] else None,
    }
    for name in ("created_at", "in_progress_at", "expires_at", "finalizing_at", "completed_at", "failed_at",
                 "expired_at", "cancelling_at", "cancelled_at"):
        out[name] = row[name]
    return {k: v for k, v in out.items() if v is not None or k == "metadata"}  # the spec's optional fields


def list_rows(store: Store, sees: str | None, limit: int, after: str | None) -> tuple[list[Record], bool]:
    sql, args = "SELECT * FROM batches WHERE (? = '*' OR owner IS NOT DISTINCT FROM ?)", [sees, sees]
    if after:
        anchor = get_row(store, after, sees)
        if anchor is not None:
            sql += " AND (created_at, id) < (?, ?)"
            args += [anchor["created_at"], anchor["id"]]
    rows = store.query(sql + " ORDER BY created_at DESC, id DESC LIMIT ?", (*args, limit + 1))
    return rows[:limit], len(rows) > limit


def set_status(store: Store, batch_id: str, status: str, only_if: tuple[str, ...], **fields: Any) -> bool:
    """Move a batch to ``status`` if it is in one of ``only_if`` (one transaction); whether it moved."""
    sets = ", ".join(["status = ?", *(f"{k} = ?" for k in fields)])
    marks = ",".join("?" * len(only_if))
    with store.transaction() as db:
        cur = db.execute(f"UPDATE batches SET {sets} WHERE id = ? AND status IN ({marks})",
                         (status, *fields.values(), batch_id, *only_if))
        return cur.rowcount == 1


LEASE = 30.0  # seconds a runner holds a batch without renewing it; past that another runner takes it


def claim(store: Store, runner: str, most: int = 64) -> list[Record]:
    """The batches ``runner`` works on now, oldest first: those it holds (their lease renewed) and those no
    runner holds, whose runner let its lease lapse, or whose runner on this machine has exited (taken).
    Runners in front doors sharing a PostgreSQL store claim at once without taking one batch twice (FOR
    UPDATE SKIP LOCKED)."""
    now = time.time()
    held = store.query("SELECT DISTINCT runner FROM batches WHERE runner IS NOT NULL AND runner <> ? AND "
                       "status IN ('validating', 'in_progress', 'finalizing', 'cancelling')", (runner,))
    gone = [r["runner"] for r in held if not alive(r["runner"])] or [""]  # a runner on this machine that died
    marks = ",".join("?" * len(gone))
    with store.transaction(exclusive=False) as db:
        rows = db.execute("SELECT b.* FROM batches b WHERE b.status IN ('validating', 'in_progress', 'finalizing', "
                          f"'cancelling') AND (b.runner IS NULL OR b.runner = ? OR b.lease_until < ? "
                          f"OR b.runner IN ({marks})) ORDER BY b.created_at, b.id LIMIT ?" + store.db.skip_locked("b"),
                          (runner, now, *gone, most)).fetchall()
        if rows:
            ids = ",".join("?" * len(rows))
            db.execute(f"UPDATE batches SET runner = ?, lease_until = ? WHERE id IN ({ids})",
                       (runner, now + LEASE, *(r["id"] for r in rows)))
    return rows


def let_go(store: Store, runner: str) -> None:
    """The runner stops: the batches it held are free for another at once."""
    with store.transaction(exclusive=False) as db:
        db.execute("UPDATE batches SET runner = NULL, lease_until = NULL WHERE runner = ?", (runner,))


def pending(store: Store, batch_id: str, skip: set[int], limit: int) -> list[Record]:
    """Up to ``limit`` requests of the batch still unanswered, in file order, leaving out lines in ``skip``."""
    rows = store.query("SELECT line, custom_id, body FROM batch_requests WHERE batch_id = ? AND state = 'pending' "
                       "ORDER BY line LIMIT ?", (batch_id, limit + len(skip)))
    return [r for r in rows if r["line"] not in skip][:limit]


def record(store: Store, batch: Record, line: int, ok: bool, result: dict[str, Any], input_tokens: int,
           output_tokens: int, latency_ms: float, status: int) -> bool:
    """A request's answer and its usage row, once: False if the request had an answer already."""
    with store.transaction() as db:
        cur = db.execute("UPDATE batch_requests SET state = ?, result = ?, input_tokens = ?, output_tokens = ? "
                         "WHERE batch_id = ? AND line = ? AND state = 'pending'",
                         ("done" if ok else "failed", json.dumps(result), input_tokens, output_tokens, batch["id"],
                          line))
        if cur.rowcount != 1:
            return False
        db.execute("INSERT INTO usage (key_id, endpoint, model, prompt_tokens, completion_tokens, latency_ms, status, "
                   "created_at, batch_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (batch["owner"], "batch:" + batch["endpoint"].removeprefix("/v1/").replace("/", "."), batch["model"], input_tokens,
                    output_tokens, latency_ms, status, time.time(), batch["id"]))
    return True


def _unrun(batch_id: str, custom_id: str, code: str, message: str) -> dict[str, Any]:
    return {"id": "batch_req_" + secrets.token_hex(12), "custom_id": custom_id, "response": None,
            "error": {"code": code, "message": message}}


def finish(store: Store, batch_id: str, status: str, only_if: tuple[str, ...]) -> dict[str, Any] | None:
    """End a batch as ``status`` (completed, expired or cancelled): its output file (answered requests, in
    file order), its error file (failed requests, and those that never ran), and its status, together. None
    if the batch had already left ``only_if``."""
    row = store.query("SELECT * FROM batches WHERE id = ?", (batch_id,))[0]
    lines = store.query("SELECT line, custom_id, state, result FROM batch_requests WHERE batch_id = ? ORDER BY line",
                        (batch_id,))
    output: list[str] = []
    errors: list[str] = []
    reason = {"expired": ("batch_expired", "This request could not be executed before the completion window "
                                           "expired."),
              "cancelled": ("batch_cancelled", "This request was not executed: the batch was cancelled.")}
    for r in lines:
        if r["state"] == "done":
            output.append(r["result"])
        elif r["state"] == "failed":
            errors.append(r["result"])
        elif status in reason:
            errors.append(json.dumps(_unrun(batch_id, r["custom_id"], *reason[status])))
    files: dict[str, Any] = {}
    for name, content in (("output_file_id", output), ("error_file_id", errors)):
        if content:
            data = ("\n".join(content) + "\n").encode("utf-8")
            files[name] = store.add_file(row["owner"], f"{batch_id}_{name.split('_')[0]}.jsonl", OUTPUT_PURPOSE,
                                         data)["id"]
    now = int(time.time())
    stamp = {"completed": "completed_at", "expired": "expired_at", "cancelled": "cancelled_at"}[status]
    moved = set_status(store, batch_id, status, only_if, finalizing_at=now, **{stamp: now}, **files,
                       enqueued_tokens=0)
    if not moved:  # another runner finished it first: its files stand, these go
        for file_id in files.values():
            store.delete_file(file_id, "*")
        return None
    return batch_object(store, store.query("SELECT * FROM batches WHERE id = ?", (batch_id,))[0])

