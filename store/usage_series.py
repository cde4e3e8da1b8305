"""Usage over time for charts: requests, tokens, errors and latency percentiles per time bucket and model
(and key, for whoever may see every key's), and moderation flags per bucket."""

from __future__ import annotations

import math
import time
from collections import defaultdict
from typing import Any

from . import ANYONE, Store

MAX_BUCKETS = 500


def _percentile(sorted_values: list[float], q: float) -> float:
    """The nearest-rank percentile of already sorted values."""
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def bucket_size(window: float, bucket: float | None) -> float:
    """The bucket asked for, or one that cuts the window into about 60; never more than MAX_BUCKETS."""
    size = bucket if bucket else max(60.0, window / 60)
    return max(size, window / MAX_BUCKETS)


def series(store: Store, key_id: str | None, window: float, bucket: float | None = None,
           by_key: bool = False) -> dict[str, Any]:
    """``key_id``: one key's usage, or everyone's (``ANYONE``). Points are oldest first; each bucket's start
    is a multiple of the bucket size in Unix time, so charts of several windows line up."""
    size = bucket_size(window, bucket)
    since = time.time() - window
    where, args = "created_at >= ?", list[object]([since])
    if key_id != ANYONE:
        where += " AND key_id IS NOT DISTINCT FROM ?"
        args.append(key_id)
    rows = store.query(f"SELECT created_at, key_id, model, prompt_tokens, completion_tokens, latency_ms, status "
                       f"FROM usage WHERE {where} ORDER BY created_at", tuple(args))
    groups: dict[tuple[float, str, str | None], list[Any]] = defaultdict(list)
    for r in rows:
        start = math.floor(r["created_at"] / size) * size
        groups[(start, r["model"] or "-", r["key_id"] if by_key else None)].append(r)
    points: list[dict[str, Any]] = []
    for (start, model, key), members in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1], g[0][2] or "")):
        latencies = sorted(float(m["latency_ms"]) for m in members)
        point: dict[str, Any] = {"t": start, "model": model, "requests": len(members),
                 "prompt_tokens": sum(m["prompt_tokens"] for m in members),
                 "completion_tokens": sum(m["completion_tokens"] for m in members),
                 "errors": sum(1 for m in members if m["status"] >= 400),
                 "latency_p50_ms": round(_percentile(latencies, 0.5), 1),
                 "latency_p95_ms": round(_percentile(latencies, 0.95), 1)}
        if by_key:
            point["key_id"] = key
        points.append(point)
    flag_where = "created_at >= ?" + ("" if key_id == ANYONE else " AND key_id IS NOT DISTINCT FROM ?")
    flag_rows = store.query(f"SELECT created_at, source FROM moderation_flags WHERE {flag_where}",
                            (since,) if key_id == ANYONE else (since, key_id))
    flags: dict[tuple[float, str], int] = defaultdict(int)
    for r in flag_rows:
        flags[(math.floor(r["created_at"] / size) * size, r["source"])] += 1
    return {"object": "usage.series", "bucket_seconds": size, "since": since, "data": points,
            "flags": [{"t": t, "source": src, "count": n} for (t, src), n in sorted(flags.items())]}


def record_flags(store: Store, key_id: str | None, source: str, categories: list[str]) -> None:
    with store.transaction() as db:
        db.execute("INSERT INTO moderation_flags (key_id, source, categories, created_at) VALUES (?, ?, ?, ?)",
                   (key_id, source, ",".join(categories), time.time()))
