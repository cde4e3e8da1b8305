"""The model registry: models registered under a name (a local Hugging Face folder or a GGUF file) and
aliases (another name for a model). Both share one namespace with the built-in and fine-tuned models; the
checks that a name is free and the insert happen in one transaction."""

from __future__ import annotations

import re
import sqlite3
import time

from . import Store

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class NameTaken(ValueError):
    """The name is already a model's."""


def check_name(name: object) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(f"invalid model name {name!r}: use 1 to 64 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit")
    return name


def get(store: Store, name: str) -> sqlite3.Row | None:
    rows = store.query("SELECT * FROM registered_models WHERE id = ?", (name,))
    return rows[0] if rows else None


def entries(store: Store) -> list[sqlite3.Row]:
    return store.query("SELECT * FROM registered_models ORDER BY created_at, id")


def add(store: Store, name: str, owner: str | None, kind: str, *, path: str | None = None,
        target: str | None = None, engine: str | None = None, taken: frozenset[str] = frozenset()) -> sqlite3.Row:
    """Register ``name`` (a model at ``path``, or an alias of ``target``). ``taken`` holds names the store
    does not know (built-in models); a name in it, in the registry or among fine-tuned models clashes."""
    check_name(name)
    with store.transaction() as db:
        clash = name in taken or db.execute(
            "SELECT 1 FROM registered_models WHERE id = ? UNION SELECT 1 FROM models WHERE id = ?",
            (name, name)).fetchone()
        if clash:
            raise NameTaken(f"a model named {name!r} already exists; pick another name or delete it first")
        db.execute("INSERT INTO registered_models (id, owner, path, target, kind, engine, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)", (name, owner, path, target, kind, engine, int(time.time())))
    return get(store, name)  # type: ignore[return-value]


def remove(store: Store, name: str) -> list[str]:
    """Delete ``name`` and the aliases that point to it; the names removed (empty when none was)."""
    with store.transaction() as db:
        if db.execute("SELECT 1 FROM registered_models WHERE id = ?", (name,)).fetchone() is None:
            return []
        aliases = [r[0] for r in db.execute("SELECT id FROM registered_models WHERE target = ?", (name,))]
        db.execute("DELETE FROM registered_models WHERE id = ? OR target = ?", (name, name))
    return [name, *aliases]


def resolve(store: Store, name: str) -> str:
    """The model an alias names (aliases always point at a model, never at another alias); other names
    stay as they are."""
    row = get(store, name)
    return row["target"] if row is not None and row["target"] is not None else name


def tuned_from(store: Store, base: str) -> list[str]:
    """Fine-tuned models whose base is ``base``."""
    return [r["id"] for r in store.query("SELECT id FROM models WHERE base = ? ORDER BY created_at", (base,))]
