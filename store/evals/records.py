"""Evals, runs and graded items in the store. A run is written with all its items in one transaction; each
item's result is written once, in the transaction that meters it (its key is the run and the item's index,
and it is written only while the run is in progress), so an item graded twice (a runner killed after it
graded, before it recorded) is still counted once, and nothing is added to a run after it was cancelled.

``sees`` filters as the files' does: a key id, None (keyless), or ``ANYONE``."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from llmaas.evals.bias import wilson
from llmaas.store import Record, Store
from llmaas.store.liveness import alive

UNFINISHED = ("queued", "in_progress")
MAX_ITEMS_SHOWN = 100_000  # items compared in one fine-tuning job's comparison
LEASE = 30.0  # seconds a runner holds a run without renewing it; past that another runner takes it
_SEES = "(? = '*' OR owner IS NOT DISTINCT FROM ?)"


def _page(store: Store, table: str, where: str, args: list[Any], limit: int, after: str | None,
          order: str) -> tuple[list[Record], bool]:
    direction = "DESC" if order == "desc" else "ASC"
    if after:
        anchor = store.query(f"SELECT created_at, id FROM {table} WHERE id = ?", (after,))
        if anchor:
            where += f" AND (created_at, id) {'<' if direction == 'DESC' else '>'} (?, ?)"
            args = [*args, anchor[0]["created_at"], anchor[0]["id"]]
    rows = store.query(f"SELECT * FROM {table} WHERE {where} ORDER BY created_at {direction}, id {direction} LIMIT ?",
                       (*args, limit + 1))
    return rows[:limit], len(rows) > limit


# -- evals ------------------------------------------------------------------------------------------------

def eval_object(row: Record) -> dict[str, Any]:
    body = json.loads(row["body"])
    return {"id": row["id"], "object": "eval", "name": row["name"], "created_at": row["created_at"], **body}


def insert_eval(store: Store, owner: str | None, name: str, body: dict[str, Any]) -> dict[str, Any]:
    eval_id = "eval_" + secrets.token_hex(12)
    with store.transaction() as db:
        db.execute("INSERT INTO evals (id, owner, name, created_at, body) VALUES (?, ?, ?, ?, ?)",
                   (eval_id, owner, name, int(time.time()), json.dumps(body, ensure_ascii=False)))
    return eval_object(get_eval(store, eval_id, owner))  # type: ignore[arg-type]


def get_eval(store: Store, eval_id: str, sees: str | None) -> Record | None:
    rows = store.query(f"SELECT * FROM evals WHERE id = ? AND {_SEES}", (eval_id, sees, sees))
    return rows[0] if rows else None


def list_evals(store: Store, sees: str | None, limit: int, after: str | None,
               order: str = "asc") -> tuple[list[Record], bool]:
    return _page(store, "evals", _SEES, [sees, sees], limit, after, order)


def update_eval(store: Store, eval_id: str, sees: str | None, name: str | None,
                metadata: dict[str, str] | None) -> bool:
    with store.transaction() as db:
        rows = db.execute(f"SELECT body FROM evals WHERE id = ? AND {_SEES}", (eval_id, sees, sees)).fetchall()
        if not rows:
            return False
        body = json.loads(rows[0][0])
        if metadata is not None:
            body["metadata"] = metadata
        db.execute("UPDATE evals SET name = COALESCE(?, name), body = ? WHERE id = ?",
                   (name, json.dumps(body, ensure_ascii=False), eval_id))
    return True


def delete_eval(store: Store, eval_id: str, sees: str | None) -> bool:
    """The eval, its runs and their items, in one transaction (a run in progress stops at its runner's next
    turn: nothing more is recorded for it)."""
    with store.transaction() as db:
        cur = db.execute(f"DELETE FROM evals WHERE id = ? AND {_SEES}", (eval_id, sees, sees))
        if cur.rowcount != 1:
            return False
        db.execute("DELETE FROM eval_run_items WHERE run_id IN (SELECT id FROM eval_runs WHERE eval_id = ?)",
                   (eval_id,))
        db.execute("DELETE FROM eval_runs WHERE eval_id = ?", (eval_id,))
    return True


# -- runs -------------------------------------------------------------------------------------------------

def insert_run(store: Store, owner: str | None, eval_id: str, name: str, model: str | None,
               body: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    with store.transaction() as db:
        run_id = _insert_run(db, owner, eval_id, name, model, len(items), json.dumps(body, ensure_ascii=False),
                             json.dumps(items, ensure_ascii=False))
    return run_object(store, get_run(store, eval_id, run_id, owner))  # type: ignore[arg-type]


def _insert_run(db: Any, owner: str | None, eval_id: str, name: str, model: str | None, total: int, body: str,
                items: str) -> str:
    """A queued run (``body`` and ``items`` as JSON text), in the caller's transaction; its id."""
    run_id = "evalrun_" + secrets.token_hex(12)
    db.execute("INSERT INTO eval_runs (id, eval_id, owner, name, model, status, created_at, total, body, items) "
               "VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)",
               (run_id, eval_id, owner, name, model, int(time.time()), total, body, items))
    return run_id


def repeat_run(store: Store, template_id: str, owner: str | None, models: list[tuple[str, str]]) -> list[str] | None:
    """New runs of a run's eval on the same items and data source, one per ``(model, name)``; None when the
    run (or its eval) is gone. What a fine-tuning job does when it ends: its evals on the base and the tuned
    model."""
    rows = store.query("SELECT * FROM eval_runs WHERE id = ?", (template_id,))
    if not rows or not store.query("SELECT 1 FROM evals WHERE id = ?", (rows[0]["eval_id"],)):
        return None
    row = rows[0]
    body = json.loads(row["body"])
    ids: list[str] = []
    with store.transaction() as db:
        for model, name in models:
            ds = {**body["data_source"], "model": model}
            ids.append(_insert_run(db, owner, row["eval_id"], name, model, row["total"],
                                   json.dumps({**body, "data_source": ds}, ensure_ascii=False), row["items"]))
    return ids


def latest_run(store: Store, eval_id: str) -> str | None:
    rows = store.query("SELECT id FROM eval_runs WHERE eval_id = ? AND model IS NOT NULL ORDER BY created_at DESC, id "
                       "DESC LIMIT 1", (eval_id,))
    return rows[0]["id"] if rows else None


def get_run(store: Store, eval_id: str, run_id: str, sees: str | None) -> Record | None:
    rows = store.query(f"SELECT * FROM eval_runs WHERE id = ? AND eval_id = ? AND {_SEES}",
                       (run_id, eval_id, sees, sees))
    return rows[0] if rows else None


def list_runs(store: Store, eval_id: str, sees: str | None, limit: int, after: str | None, order: str = "asc",
              status: str | None = None) -> tuple[list[Record], bool]:
    where, args = f"eval_id = ? AND {_SEES}", [eval_id, sees, sees]
    if status:
        where, args = where + " AND status = ?", [*args, status]
    return _page(store, "eval_runs", where, args, limit, after, order)


def _rates(name: str, passed: int, failed: int, scores: list[float]) -> dict[str, Any]:
    n = passed + failed
    low, high = wilson(passed, n)
    return {"testing_criteria": name, "passed": passed, "failed": failed,
            "pass_rate": round(passed / n, 4) if n else None, "interval": [round(low, 4), round(high, 4)],
            "mean_score": round(sum(scores) / n, 4) if n else None}


def summary(store: Store, run_id: str, group_by: str | None = None) -> dict[str, Any]:
    """Counts over the run's graded items: overall, per testing criterion (with the pass rate's 95% Wilson
    interval and the mean score, llmaas's additions), per value of the item field ``group_by`` when given,
    and the tokens used."""
    rows = store.query("SELECT status, prompt_tokens, completion_tokens, body FROM eval_run_items WHERE run_id = ?",
                       (run_id,))
    counts = {"passed": 0, "failed": 0, "errored": 0}
    per: dict[str, dict[str, Any]] = {}
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    prompt = completion = 0
    for r in rows:
        counts[{"pass": "passed", "fail": "failed"}.get(r["status"], "errored")] += 1
        prompt += int(r["prompt_tokens"])
        completion += int(r["completion_tokens"])
        body = json.loads(r["body"])
        results: list[dict[str, Any]] = body.get("results") or []
        source: dict[str, Any] = body.get("datasource_item") or {}
        group: Any = source.get(group_by) if group_by else None
        for result in results:
            tallies = [per.setdefault(str(result["name"]), {"passed": 0, "failed": 0, "scores": list[float]()})]
            if group is not None:
                tallies.append(groups.setdefault((str(group), str(result["name"])),
                                                 {"passed": 0, "failed": 0, "scores": list[float]()}))
            for mine in tallies:
                mine["passed" if result.get("passed") else "failed"] += 1
                scores: list[float] = mine["scores"]
                scores.append(float(result.get("score") or 0.0))
    criteria = [_rates(name, c["passed"], c["failed"], c["scores"]) for name, c in per.items()]
    by_group = [{"group": g, **_rates(name, c["passed"], c["failed"], c["scores"])}
                for (g, name), c in sorted(groups.items())]
    return {"counts": counts, "criteria": criteria, "groups": by_group, "prompt_tokens": prompt,
            "completion_tokens": completion, "items": len(rows)}


def run_object(store: Store, row: Record) -> dict[str, Any]:
    """An eval_runs row as the API shows it (OpenAI's eval.run), with its counts so far (and, when its eval's
    metadata names a ``group_by`` item field, llmaas's ``per_group_results``)."""
    meta = store.query("SELECT body FROM evals WHERE id = ?", (row["eval_id"],))
    metadata: dict[str, str] = (json.loads(meta[0]["body"]).get("metadata") or {}) if meta else {}
    group_by = metadata.get("group_by")
    s = summary(store, row["id"], group_by)
    body = json.loads(row["body"])
    usage: list[dict[str, Any]] = []
    if row["model"] and s["items"]:
        usage.append({"model_name": row["model"], "invocation_count": s["items"], "prompt_tokens": s["prompt_tokens"],
                      "completion_tokens": s["completion_tokens"], "cached_tokens": 0,
                      "total_tokens": s["prompt_tokens"] + s["completion_tokens"]})
    return {"id": row["id"], "object": "eval.run", "eval_id": row["eval_id"], "name": row["name"],
            "model": row["model"], "status": row["status"], "created_at": row["created_at"],
            "data_source": body["data_source"], "metadata": body.get("metadata"),
            "error": json.loads(row["error"]) if row["error"] else None,
            "result_counts": {"total": row["total"], **s["counts"]},
            "per_testing_criteria_results": s["criteria"], "per_model_usage": usage,
            **({"per_group_results": s["groups"]} if group_by else {}),
            "report_url": f"/dashboard#eval-run-{row['id']}", "completed_at": row["finished_at"]}


def cancel_run(store: Store, eval_id: str, run_id: str, sees: str | None) -> bool:
    """Whether a queued or running run was moved to ``canceled`` (its graded items stay)."""
    with store.transaction() as db:
        cur = db.execute(f"UPDATE eval_runs SET status = 'canceled', finished_at = ?, runner = NULL WHERE id = ? AND "
                         f"eval_id = ? AND status IN ('queued', 'in_progress') AND {_SEES}",
                         (int(time.time()), run_id, eval_id, sees, sees))
        return cur.rowcount == 1


def delete_run(store: Store, eval_id: str, run_id: str, sees: str | None) -> bool:
    with store.transaction() as db:
        cur = db.execute(f"DELETE FROM eval_runs WHERE id = ? AND eval_id = ? AND {_SEES}",
                         (run_id, eval_id, sees, sees))
        if cur.rowcount != 1:
            return False
        db.execute("DELETE FROM eval_run_items WHERE run_id = ?", (run_id,))
    return True


def claim(store: Store, runner: str, most: int = 16) -> list[Record]:
    """The runs ``runner`` works on now, oldest first: those it holds (their lease renewed) and those no runner
    holds, whose runner let its lease lapse, or whose runner on this machine has exited; each moves to
    ``in_progress``. Runners sharing a PostgreSQL store never take one run twice (FOR UPDATE SKIP LOCKED)."""
    now = time.time()
    held = store.query("SELECT DISTINCT runner FROM eval_runs WHERE runner IS NOT NULL AND runner <> ? AND "
                       "status IN ('queued', 'in_progress')", (runner,))
    gone = [r["runner"] for r in held if not alive(r["runner"])] or [""]
    marks = ",".join("?" * len(gone))
    with store.transaction(exclusive=False) as db:
        rows = db.execute("SELECT r.* FROM eval_runs r WHERE r.status IN ('queued', 'in_progress') AND "
                          f"(r.runner IS NULL OR r.runner = ? OR r.lease_until < ? OR r.runner IN ({marks})) "
                          "ORDER BY r.created_at, r.id LIMIT ?" + store.db.skip_locked("r"),
                          (runner, now, *gone, most)).fetchall()
        if rows:
            db.execute(f"UPDATE eval_runs SET runner = ?, lease_until = ?, status = 'in_progress' WHERE id IN "
                       f"({','.join('?' * len(rows))})", (runner, now + LEASE, *(r["id"] for r in rows)))
    return rows  # as locked (their status and lease before this turn's update; the runner reads neither)


def let_go(store: Store, runner: str) -> None:
    with store.transaction(exclusive=False) as db:
        db.execute("UPDATE eval_runs SET runner = NULL, lease_until = NULL WHERE runner = ?", (runner,))


def graded(store: Store, run_id: str) -> set[int]:
    return {int(r[0]) for r in store.query("SELECT idx FROM eval_run_items WHERE run_id = ?", (run_id,))}


def record_item(store: Store, run: Record, idx: int, status: str, body: dict[str, Any], prompt_tokens: int,
                completion_tokens: int, latency_ms: float) -> bool:
    """An item's result and its usage row, once and only while the run is in progress."""
    with store.transaction() as db:
        live = db.execute("SELECT 1 FROM eval_runs WHERE id = ? AND status = 'in_progress'", (run["id"],)).fetchall()
        if not live:
            return False
        cur = db.execute("INSERT INTO eval_run_items (run_id, idx, id, status, created_at, prompt_tokens, "
                         "completion_tokens, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                         (run["id"], idx, body["id"], status, body["created_at"], prompt_tokens, completion_tokens,
                          json.dumps(body, ensure_ascii=False)))
        if cur.rowcount != 1:
            return False
        db.execute("INSERT INTO usage (key_id, endpoint, model, prompt_tokens, completion_tokens, latency_ms, status, "
                   "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (run["owner"], "evals.runs", run["model"], prompt_tokens, completion_tokens, latency_ms,
                    500 if status == "error" else 200, time.time()))
    return True


def finish_run(store: Store, run_id: str, status: str, error: dict[str, str] | None = None) -> bool:
    with store.transaction() as db:
        cur = db.execute("UPDATE eval_runs SET status = ?, error = ?, finished_at = ?, runner = NULL, "
                         "lease_until = NULL WHERE id = ? AND status IN ('queued', 'in_progress')",
                         (status, json.dumps(error) if error else None, int(time.time()), run_id))
        return cur.rowcount == 1


def list_items(store: Store, run_id: str, limit: int, after: str | None, order: str = "asc",
               status: str | None = None) -> tuple[list[dict[str, Any]], bool]:
    where, args = "run_id = ?", [run_id]
    if status:
        where, args = where + " AND status = ?", [*args, status]
    direction = "DESC" if order == "desc" else "ASC"
    if after:
        anchor = store.query("SELECT idx FROM eval_run_items WHERE id = ? AND run_id = ?", (after, run_id))
        if anchor:
            where += f" AND idx {'<' if direction == 'DESC' else '>'} ?"
            args.append(anchor[0]["idx"])
    rows = store.query(f"SELECT body FROM eval_run_items WHERE {where} ORDER BY idx {direction} LIMIT ?",
                       (*args, limit + 1))
    return [json.loads(r["body"]) for r in rows[:limit]], len(rows) > limit


def get_item(store: Store, run_id: str, item_id: str) -> dict[str, Any] | None:
    rows = store.query("SELECT body FROM eval_run_items WHERE run_id = ? AND id = ?", (run_id, item_id))
    return json.loads(rows[0]["body"]) if rows else None
