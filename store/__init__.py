"""The store: a database and a blobs folder. The database is SQLite (WAL, ``llmaas.db`` under
``LLMAAS_HOME``) by default, or PostgreSQL when ``LLMAAS_DATABASE_URL`` names one, so that several front
doors share keys, usage, limits, files and jobs; the blobs are under ``LLMAAS_BLOB_DIR`` (by default
``LLMAAS_HOME/blobs``), a folder front doors on several machines share over a network filesystem.

Every state change is one transaction, so a crash or kill loses nothing acknowledged. The schema evolves
through Alembic revisions (``migrations/``), applied inside one write transaction so that several processes
opening a fresh store at once agree. The store holds key hashes, prompts (in files) and usage: its folders
are 0700 and its files 0600.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import time
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from llmaas._moderation import SENSITIVITIES
from llmaas.store import schema
from llmaas.store.database import Connection, Database, Record, StoreUnavailable

__all__ = ["ANYONE", "Connection", "Record", "Store", "StoreUnavailable"]

ROLES = ("user", "admin")
FILE_PURPOSES = frozenset({"assistants", "batch", "fine-tune", "vision", "user_data", "evals"})
ORPHAN_AGE = 600.0  # seconds: a blob or .part file younger than this may belong to an upload in flight
UNSET: Any = object()
ANYONE = "*"  # as an owner filter: every owner's rows (what an admin key sees); no key id looks like this

log: logging.Logger = logging.getLogger("llmaas.store")


class KeyError_(ValueError):
    """A key operation that names no key, or several: the message says which and what to do."""


def private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def check_limit(name: str, value: object) -> int | None:
    """A per-key limit is a positive whole number, or None for unlimited."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1 (or unlimited), got {value!r}")
    return value


def check_sensitivity(value: object) -> str | None:
    """A key's guardrail sensitivity is one of ``SENSITIVITIES``, or None for the server's."""
    if value is None or value in SENSITIVITIES:
        return value
    raise ValueError(f"guard_sensitivity must be one of {', '.join(SENSITIVITIES)} (or the server's), got {value!r}")


def file_object(row: Record) -> dict[str, Any]:
    """A files row as the API shows it (OpenAI's File object)."""
    return {"id": row["id"], "object": "file", "bytes": row["bytes"], "created_at": row["created_at"],
            "filename": row["filename"], "purpose": row["purpose"], "status": row["status"],
            "expires_at": None, "status_details": None}


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(12)}"


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class Store:
    """``home``: the folder of the SQLite database and, by default, the blobs. ``database_url``: a
    PostgreSQL database instead (``postgresql://user@host:port/name``); ``blob_dir``: the blobs' folder."""

    def __init__(self, home: str | os.PathLike[str], database_url: str | None = None,
                 blob_dir: str | os.PathLike[str] | None = None) -> None:
        if database_url is None or blob_dir is None:  # LLMAAS_DATABASE_URL, LLMAAS_BLOB_DIR
            from llmaas.settings import StoreSettings

            configured = StoreSettings.resolve()
            database_url = database_url if database_url is not None else configured.database_url
            blob_dir = blob_dir if blob_dir is not None else configured.blob_dir
        self.home: Path = private_dir(Path(home))
        self.blobs: Path = private_dir(Path(blob_dir) if blob_dir else self.home / "blobs")
        self.path: Path = self.home / "llmaas.db"
        if database_url and not database_url.startswith("sqlite"):
            self.db = Database(database_url)
        else:
            if not self.path.exists():  # created 0600 first: SQLite gives -wal and -shm the same mode
                # (never open and close a descriptor of a database this process may have open already:
                # closing it drops every POSIX lock the process holds on the file, SQLite's included, and
                # another process could then take the database for unused and delete its WAL)
                with contextlib.suppress(FileExistsError):
                    os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600))
            self.db = Database(f"sqlite:///{self.path}")
        self._keys_exist = False
        self.migrate()
        if self.db.dialect == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.chmod(f"{self.path}{suffix}", 0o600)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.db.dialect

    def migrate(self) -> str:
        """Bring the schema up to date; return the revision it was at before."""
        return schema.migrate(self.db)

    def remove_orphans(self, min_age: float = ORPHAN_AGE) -> int:
        """Delete blobs no row points to and ``.part`` files an interrupted write left, once they are
        older than ``min_age`` seconds (younger ones may belong to a write in flight)."""
        folder = self.blobs / "files"
        if not folder.is_dir():
            return 0
        known = {r["id"] for r in self.query("SELECT id FROM files")}
        now, removed = time.time(), 0
        for path in folder.iterdir():
            try:
                old = now - path.stat().st_mtime >= min_age
            except FileNotFoundError:
                continue
            if old and (path.suffix == ".part" or path.name not in known):
                path.unlink(missing_ok=True)
                removed += 1
        if removed:
            log.info("removed %d orphaned blob(s) from %s", removed, folder)
        return removed

    @contextmanager
    def transaction(self, exclusive: bool = True, lock: str | None = None) -> Generator[Connection, None, None]:
        """One write transaction; ``exclusive`` (the default) holds the store's write lock while it runs, so
        that what it reads is not changed by another writer before it commits; ``lock`` holds a lock of
        that name instead (one key's limits), where the database has such locks."""
        with self.db.transaction(exclusive, lock) as db:
            yield db

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[Record]:
        return self.db.query(sql, args)

    def close(self) -> None:
        self.db.close()

    # -- keys ---------------------------------------------------------------------------------------

    def create_key(self, name: str, rpm_limit: int | None = None, tpd_limit: int | None = None,
                   role: str = "user", max_tokens: int | None = None, max_seconds: int | None = None,
                   guard_sensitivity: str | None = None) -> tuple[str, str]:
        """Store a new key's hash; return (key id, secret). The secret is not stored and cannot be shown again."""
        if not name.strip():
            raise ValueError("a key needs a name")
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        rpm_limit, tpd_limit = check_limit("rpm", rpm_limit), check_limit("tpd", tpd_limit)
        max_tokens, max_seconds = check_limit("max_tokens", max_tokens), check_limit("max_seconds", max_seconds)
        guard_sensitivity = check_sensitivity(guard_sensitivity)
        secret = "sk-llmaas-" + secrets.token_urlsafe(32)
        key_id = new_id("key")
        with self.transaction() as db:
            db.execute("INSERT INTO api_keys (id, name, prefix, hash, created_at, rpm_limit, tpd_limit, role, "
                       "max_tokens, max_seconds, guard_sensitivity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (key_id, name, secret[:14], hash_key(secret), int(time.time()), rpm_limit, tpd_limit, role,
                        max_tokens, max_seconds, guard_sensitivity))
        self._keys_exist = True
        return key_id, secret

    def list_keys(self) -> list[Record]:
        return self.query("SELECT * FROM api_keys ORDER BY created_at, id")

    def find_key(self, key: str, active_only: bool = False) -> Record:
        """The one key whose id or name is ``key``; KeyError_ when none is, or when several share the name."""
        sql = "SELECT * FROM api_keys WHERE (id = ? OR name = ?)" + (" AND revoked_at IS NULL" if active_only else "")
        rows = self.query(sql + " ORDER BY created_at, id", (key, key))
        if not rows:
            raise KeyError_(f"no {'active ' if active_only else ''}key {key!r}")
        exact = [r for r in rows if r["id"] == key]
        if exact:
            return exact[0]
        if len(rows) > 1:
            ids = ", ".join(r["id"] for r in rows)
            raise KeyError_(f"{len(rows)} keys are named {key!r} ({ids}): name the one you mean by its id")
        return rows[0]

    def revoke_key(self, key: str) -> str:
        """Revoke the active key with this id or (unique) name; return its id."""
        row = self.find_key(key, active_only=True)
        with self.transaction() as db:
            db.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                       (int(time.time()), row["id"]))
        return row["id"]

    def set_limits(self, key: str, rpm_limit: int | None = UNSET, tpd_limit: int | None = UNSET,
                   max_tokens: int | None = UNSET, max_seconds: int | None = UNSET,
                   guard_sensitivity: str | None = UNSET, max_batches: int | None = UNSET,
                   max_batch_tokens: int | None = UNSET) -> Record:
        """Change the limits given (None: unlimited, or for the two bounds on one request and the guardrail
        sensitivity, the server's), keep the others; return the updated key."""
        row = self.find_key(key)
        changes: dict[str, int | str | None] = {}
        if guard_sensitivity is not UNSET:
            changes["guard_sensitivity"] = check_sensitivity(guard_sensitivity)
        for column, value in (("rpm_limit", rpm_limit), ("tpd_limit", tpd_limit), ("max_tokens", max_tokens),
                              ("max_seconds", max_seconds), ("max_batches", max_batches),
                              ("max_batch_tokens", max_batch_tokens)):
            if value is not UNSET:
                changes[column] = check_limit(column.removesuffix("_limit"), value)
        if changes:
            with self.transaction() as db:
                sets = ", ".join(f"{column} = ?" for column in changes)
                db.execute(f"UPDATE api_keys SET {sets} WHERE id = ?", (*changes.values(), row["id"]))
        return self.find_key(row["id"])

    def active_keys(self) -> int:
        return self.query("SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL")[0][0]

    @property
    def keys_known_to_exist(self) -> bool:
        """What keys_ever_created() last found, without asking the database."""
        return self._keys_exist

    def keys_ever_created(self) -> bool:
        """Whether any key, revoked or not, was ever made: once one has, the server never runs keyless
        again. The answer can only change from False to True, so True is remembered."""
        if not self._keys_exist:
            self._keys_exist = self.query("SELECT EXISTS (SELECT 1 FROM api_keys)")[0][0] == 1
        return self._keys_exist

    def key_by_hash(self, digest: str) -> Record | None:
        rows = self.query("SELECT * FROM api_keys WHERE hash = ? AND revoked_at IS NULL", (digest,))
        return rows[0] if rows else None

    # -- usage --------------------------------------------------------------------------------------

    def record_usage(self, key_id: str | None, endpoint: str, model: str | None, prompt_tokens: int,
                     completion_tokens: int, latency_ms: float, status: int, batch_id: str | None = None) -> None:
        with self.transaction(exclusive=False) as db:
            db.execute("INSERT INTO usage (key_id, endpoint, model, prompt_tokens, completion_tokens, latency_ms, "
                       "status, created_at, batch_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (key_id, endpoint, model, prompt_tokens, completion_tokens, latency_ms, status, time.time(),
                        batch_id))

    def tokens_since(self, key_id: str, since: float) -> int:
        row = self.query("SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM usage "
                         "WHERE key_id = ? AND created_at >= ?", (key_id, since))
        return int(row[0][0])

    def token_times(self, key_id: str, since: float) -> list[tuple[float, int]]:
        """(time, tokens) of the key's metered requests since ``since``, oldest first."""
        rows = self.query("SELECT created_at, prompt_tokens + completion_tokens FROM usage "
                          "WHERE key_id = ? AND created_at >= ? ORDER BY created_at", (key_id, since))
        return [(float(r[0]), int(r[1])) for r in rows]

    def usage_report(self, key_id: str | None = None, since: float = 0.0) -> list[dict[str, Any]]:
        """Usage grouped by day, key and model (one key's, or everyone's when key_id is None)."""
        where, args = "created_at >= ?", list[object]([since])
        if key_id is not None:
            where += " AND key_id = ?"
            args.append(key_id)
        rows = self.query(
            f"SELECT {self.db.day('created_at')} AS day, key_id, model, COUNT(*) AS requests, "
            "SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, "
            "SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS errors, AVG(latency_ms) AS mean_latency_ms "
            f"FROM usage WHERE {where} GROUP BY day, key_id, model ORDER BY day, key_id, model", tuple(args))
        return [dict(r) for r in rows]

    # -- files --------------------------------------------------------------------------------------

    def blob_path(self, file_id: str) -> Path:
        return self.blobs / "files" / file_id

    def add_file(self, owner: str | None, filename: str, purpose: str, content: bytes) -> Record:
        file_id = new_id("file")
        path = self.blob_path(file_id)
        private_dir(path.parent)
        tmp = path.with_suffix(".part")
        with open(os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600), "wb") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # the blob is complete before the row that points to it exists
        with self.transaction() as db:
            db.execute("INSERT INTO files (id, owner, filename, purpose, bytes, sha256, created_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (file_id, owner, filename, purpose, len(content), hashlib.sha256(content).hexdigest(),
                        int(time.time())))
        return self.get_file(file_id, owner)  # type: ignore[return-value]

    def get_file(self, file_id: str, owner: str | None) -> Record | None:
        rows = self.query("SELECT * FROM files WHERE id = ? AND (? = '*' OR owner IS NOT DISTINCT FROM ?)", (file_id, owner, owner))
        return rows[0] if rows else None

    def list_files(self, owner: str | None, purpose: str | None, after: str | None, limit: int,
                   order: str) -> tuple[list[Record], bool]:
        desc = order != "asc"
        sql, args = "SELECT * FROM files WHERE (? = '*' OR owner IS NOT DISTINCT FROM ?)", list[object]([owner, owner])
        if purpose:
            sql += " AND purpose = ?"
            args.append(purpose)
        if after:
            anchor = self.get_file(after, owner)
            if anchor is not None:
                op = "<" if desc else ">"
                sql += f" AND (created_at, id) {op} (?, ?)"
                args += [anchor["created_at"], anchor["id"]]
        sql += f" ORDER BY created_at {'DESC' if desc else 'ASC'}, id {'DESC' if desc else 'ASC'} LIMIT ?"
        args.append(limit + 1)
        rows = self.query(sql, tuple(args))
        return rows[:limit], len(rows) > limit

    def delete_file(self, file_id: str, owner: str | None) -> bool:
        with self.transaction() as db:
            cur = db.execute("DELETE FROM files WHERE id = ? AND (? = '*' OR owner IS NOT DISTINCT FROM ?)", (file_id, owner, owner))
            deleted = cur.rowcount > 0
        if deleted:
            self.blob_path(file_id).unlink(missing_ok=True)
        return deleted
