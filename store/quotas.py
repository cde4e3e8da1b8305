"""Per-key limits kept in the database, so that every front door sharing the store grants a key its limit
once between them: each request counted against requests per minute (a sliding window of the last 60
seconds), and each hold on the key's daily tokens while its request runs.

Each check and its write are one transaction under a lock of the key's own (PostgreSQL: an advisory lock on
the key; SQLite: the database's write lock), so two front doors cannot both pass the last free slot.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from llmaas.store import Store, new_id

WINDOW = 60.0  # seconds: requests per minute
HOLD_SECONDS = 3 * 3600.0  # a hold lapses after this, so a front door that died holds nothing for good
HELD = "SELECT COALESCE(SUM(tokens), 0) FROM quota_holds WHERE key_id = ? AND lapses_at > ?"


def count_request(store: Store, key_id: str, rpm: int, now: float | None = None) -> float | None:
    """Count one request against ``rpm``; None when it was counted, else the seconds until the oldest
    request in the window leaves it (nothing is counted then)."""
    now = time.time() if now is None else now
    with store.transaction(lock=f"rate:{key_id}") as db:
        db.execute("DELETE FROM rate_hits WHERE key_id = ? AND at <= ?", (key_id, now - WINDOW))
        count, oldest = db.execute("SELECT COUNT(*), MIN(at) FROM rate_hits WHERE key_id = ?", (key_id,)).fetchone()
        if count >= rpm:
            return max(WINDOW - (now - float(oldest)), 0.1)
        db.execute("INSERT INTO rate_hits (key_id, at) VALUES (?, ?)", (key_id, now))
    return None


@dataclass
class Standing:
    """A key's daily tokens at the moment of a check: used (metered in the last 24 hours) and held (by
    requests in flight on any front door)."""

    used: int
    held: int


def hold(store: Store, key_id: str, since: float, decide: Callable[[Standing], int]) -> tuple[str, int]:
    """Hold tokens of the key's quota: ``decide(standing)`` says how many (or raises to refuse), seen and
    written in one locked step. Returns (hold id, tokens)."""
    now = time.time()
    with store.transaction(lock=f"tpd:{key_id}") as db:
        used = store.tokens_since(key_id, since)  # read inside this transaction (the store's per-thread one)
        held = db.execute(HELD, (key_id, now)).fetchone()[0]
        tokens = decide(Standing(int(used), int(held)))
        hold_id = new_id("hold")
        db.execute("DELETE FROM quota_holds WHERE key_id = ? AND lapses_at <= ?", (key_id, now))
        db.execute("INSERT INTO quota_holds (id, key_id, tokens, lapses_at) VALUES (?, ?, ?, ?)",
                   (hold_id, key_id, tokens, now + HOLD_SECONDS))
    return hold_id, tokens


def release(store: Store, hold_id: str) -> None:
    with store.transaction(exclusive=False) as db:
        db.execute("DELETE FROM quota_holds WHERE id = ?", (hold_id,))


def held(store: Store, key_id: str) -> int:
    """Tokens the key's requests in flight hold now, on every front door."""
    rows = store.query(HELD, (key_id, time.time()))
    return int(rows[0][0])

