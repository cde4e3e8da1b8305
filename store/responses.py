"""Stored responses (``store=true`` in the Responses API): each row is written once, in one transaction,
and belongs to the key that made it (``owner``); a follow-up reads its conversation from the row it
continues, so deleting an earlier response never breaks a later one.

``owner`` filters as the files' does: a key id, None (keyless mode, in process), or ``ANYONE`` (an admin key,
or the in-process client, which sees the whole store)."""

from __future__ import annotations

import json
from typing import Any

from . import Record, Store

Item = dict[str, Any]
MAX_LIST = 100


def save(store: Store, owner: str | None, body: dict[str, Any], input_items: list[Item],
         conversation: list[Item]) -> None:
    """Store a finished response; an id already stored is never overwritten."""
    with store.transaction() as db:
        db.execute("INSERT INTO responses (id, owner, created_at, previous_id, body, input_items, conversation) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (body["id"], owner, int(body["created_at"]), body.get("previous_response_id"),
                    json.dumps(body, ensure_ascii=False), json.dumps(input_items, ensure_ascii=False),
                    json.dumps(conversation, ensure_ascii=False)))


def _row(store: Store, response_id: str, owner: str | None) -> Record | None:
    rows = store.query("SELECT * FROM responses WHERE id = ? AND (? = '*' OR owner IS NOT DISTINCT FROM ?)",
                       (response_id, owner, owner))
    return rows[0] if rows else None


def get(store: Store, response_id: str, owner: str | None) -> dict[str, Any] | None:
    """The stored response body, or None when there is none this owner may see."""
    row = _row(store, response_id, owner)
    return json.loads(row["body"]) if row is not None else None


def conversation(store: Store, response_id: str, owner: str | None) -> list[Item] | None:
    """Every item of the conversation up to and including this response's output (what a follow-up reads)."""
    row = _row(store, response_id, owner)
    return json.loads(row["conversation"]) if row is not None else None


def input_items(store: Store, response_id: str, owner: str | None) -> list[Item] | None:
    row = _row(store, response_id, owner)
    return json.loads(row["input_items"]) if row is not None else None


def delete(store: Store, response_id: str, owner: str | None) -> bool:
    with store.transaction() as db:
        cur = db.execute("DELETE FROM responses WHERE id = ? AND (? = '*' OR owner IS NOT DISTINCT FROM ?)",
                         (response_id, owner, owner))
        return cur.rowcount > 0


def count(store: Store, owner: str | None) -> int:
    return int(store.query("SELECT COUNT(*) FROM responses WHERE (? = '*' OR owner IS NOT DISTINCT FROM ?)", (owner, owner))[0][0])
