"""The model registry: models registered under a name (a local Hugging Face folder or a GGUF file) and
aliases (another name for a model). Both share one namespace with the built-in and fine-tuned models; the
checks that a name is free and the insert happen in one transaction."""

from __future__ import annotations

import re
import time
from pathlib import Path

from llmaas.store import Record, Store
from llmaas.store.jobs.records import ACTIVE, update_job

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class NameTaken(ValueError):
    """The name is already a model's."""


def check_name(name: object) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(f"invalid model name {name!r}: use 1 to 64 letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit")
    return name


def get(store: Store, name: str) -> Record | None:
    rows = store.query("SELECT * FROM registered_models WHERE id = ?", (name,))
    return rows[0] if rows else None


def entries(store: Store) -> list[Record]:
    return store.query("SELECT * FROM registered_models ORDER BY created_at, id")


def add(store: Store, name: str, owner: str | None, kind: str, *, path: str | None = None,
        target: str | None = None, engine: str | None = None, taken: frozenset[str] = frozenset(),
        weights_sha256: str | None = None) -> Record:
    """Register ``name`` (a model at ``path``, or an alias of ``target``). ``taken`` holds names the store
    does not know (built-in models); a name in it, in the registry or among fine-tuned models clashes."""
    check_name(name)
    with store.transaction() as db:
        clash = name in taken or db.execute(
            "SELECT 1 FROM registered_models WHERE id = ? UNION SELECT 1 FROM models WHERE id = ?",
            (name, name)).fetchone()
        if clash:
            raise NameTaken(f"a model named {name!r} already exists; pick another name or delete it first")
        db.execute("INSERT INTO registered_models (id, owner, path, target, kind, engine, created_at, weights_sha256) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (name, owner, path, target, kind, engine, int(time.time()),
                                                      weights_sha256))
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


def jobs_on(store: Store, base: str) -> list[str]:
    """Fine-tuning jobs queued or running on base model ``base``."""
    rows = store.query(f"SELECT id FROM fine_tuning_jobs WHERE {store.db.json_text('body', 'model')} = ? "
                       "AND status IN (?, ?, ?) ORDER BY created_at", (base, *ACTIVE))
    return [r["id"] for r in rows]


def cancel_jobs(store: Store, jobs: list[str], why: str) -> None:
    for job_id in jobs:
        update_job(store, job_id, event=f"The job was cancelled: {why}", status="cancelled",
                   only_if=frozenset(ACTIVE), finished_at=int(time.time()),
                   estimated_finish=None)


def adapter_paths(store: Store, tuned: list[str], jobs: list[str]) -> list[Path]:
    """The adapter folders (``blobs/adapters/<job>``) of fine-tuned models and jobs: what a forced delete of
    their base removes from disk. Only folders inside the store's blobs are ever named."""
    root = (store.blobs / "adapters").resolve()
    found = {root / j for j in jobs}
    for model in tuned:
        for row in store.query("SELECT path FROM models WHERE id = ?", (model,)):
            path = Path(row["path"]).resolve() if row["path"] else None
            if path is not None and path.is_relative_to(root) and path != root:
                found.add(root / path.relative_to(root).parts[0])
    return sorted(p for p in found if p.exists())
