"""The store: one SQLite database (WAL) and a blobs folder under ``LLMAAS_HOME``.

Every state change is one transaction, so a crash or kill loses nothing acknowledged. The schema evolves
through numbered migrations recorded in ``PRAGMA user_version``.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

MIGRATIONS: list[str] = [
    # 1: keys, usage, files
    """
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER,
        rpm_limit INTEGER,
        tpd_limit INTEGER
    );
    CREATE TABLE usage (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key_id TEXT,
        endpoint TEXT NOT NULL,
        model TEXT,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        latency_ms REAL NOT NULL,
        status INTEGER NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX usage_key_time ON usage (key_id, created_at);
    CREATE TABLE files (
        id TEXT PRIMARY KEY,
        owner TEXT,
        filename TEXT NOT NULL,
        purpose TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'processed'
    );
    """,
    # 2: fine-tuning jobs, their events and checkpoints, and the registry of models made here
    """
    CREATE TABLE fine_tuning_jobs (
        id TEXT PRIMARY KEY,
        owner TEXT,
        body TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE fine_tuning_events (
        id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL REFERENCES fine_tuning_jobs(id),
        seq INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX fine_tuning_events_job ON fine_tuning_events (job_id, seq);
    CREATE TABLE fine_tuning_checkpoints (
        id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL REFERENCES fine_tuning_jobs(id),
        step INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE models (
        id TEXT PRIMARY KEY,
        owner TEXT,
        base TEXT NOT NULL,
        path TEXT,
        created_at INTEGER NOT NULL
    );
    """,
]


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(12)}"


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class Store:
    def __init__(self, home: str | os.PathLike[str]) -> None:
        self.home = Path(home)
        self.blobs = self.home / "blobs"
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.path = self.home / "llmaas.db"
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self.migrate()

    def migrate(self) -> int:
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                with self.transaction() as db:
                    for statement in filter(str.strip, script.split(";")):
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version = {number}")
            return len(MIGRATIONS)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- keys ---------------------------------------------------------------------------------------

    def create_key(self, name: str, rpm_limit: int | None = None, tpd_limit: int | None = None) -> tuple[str, str]:
        """Store a new key's hash; return (key id, secret). The secret is not stored and cannot be shown again."""
        secret = "sk-llmaas-" + secrets.token_urlsafe(32)
        key_id = new_id("key")
        with self.transaction() as db:
            db.execute("INSERT INTO api_keys (id, name, prefix, hash, created_at, rpm_limit, tpd_limit) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (key_id, name, secret[:14], hash_key(secret), int(time.time()), rpm_limit, tpd_limit))
        return key_id, secret

    def list_keys(self) -> list[sqlite3.Row]:
        return self.query("SELECT * FROM api_keys ORDER BY created_at, id")

    def revoke_key(self, key: str) -> bool:
        with self.transaction() as db:
            cur = db.execute("UPDATE api_keys SET revoked_at = ? WHERE (id = ? OR name = ?) AND revoked_at IS NULL",
                             (int(time.time()), key, key))
            return cur.rowcount > 0

    def set_limits(self, key: str, rpm_limit: int | None, tpd_limit: int | None) -> bool:
        with self.transaction() as db:
            cur = db.execute("UPDATE api_keys SET rpm_limit = ?, tpd_limit = ? WHERE id = ? OR name = ?",
                             (rpm_limit, tpd_limit, key, key))
            return cur.rowcount > 0

    def active_keys(self) -> int:
        return self.query("SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL")[0][0]

    def key_by_hash(self, digest: str) -> sqlite3.Row | None:
        rows = self.query("SELECT * FROM api_keys WHERE hash = ? AND revoked_at IS NULL", (digest,))
        return rows[0] if rows else None

    # -- usage --------------------------------------------------------------------------------------

    def record_usage(self, key_id: str | None, endpoint: str, model: str | None, prompt_tokens: int,
                     completion_tokens: int, latency_ms: float, status: int) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO usage (key_id, endpoint, model, prompt_tokens, completion_tokens, latency_ms, "
                       "status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (key_id, endpoint, model, prompt_tokens, completion_tokens, latency_ms, status, time.time()))

    def tokens_since(self, key_id: str, since: float) -> int:
        row = self.query("SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM usage "
                         "WHERE key_id = ? AND created_at >= ?", (key_id, since))
        return int(row[0][0])

    def usage_report(self, key_id: str | None = None, since: float = 0.0) -> list[dict[str, Any]]:
        """Usage grouped by day, key and model (one key's, or everyone's when key_id is None)."""
        where, args = "created_at >= ?", [since]
        if key_id is not None:
            where += " AND key_id = ?"
            args.append(key_id)
        rows = self.query(
            "SELECT date(created_at, 'unixepoch') AS day, key_id, model, COUNT(*) AS requests, "
            "SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, "
            "SUM(status >= 400) AS errors, AVG(latency_ms) AS mean_latency_ms "
            f"FROM usage WHERE {where} GROUP BY day, key_id, model ORDER BY day, key_id, model", tuple(args))
        return [dict(r) for r in rows]

    # -- files --------------------------------------------------------------------------------------

    def blob_path(self, file_id: str) -> Path:
        return self.blobs / "files" / file_id

    def add_file(self, owner: str | None, filename: str, purpose: str, content: bytes) -> sqlite3.Row:
        file_id = new_id("file")
        path = self.blob_path(file_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        with open(tmp, "wb") as fh:
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

    def get_file(self, file_id: str, owner: str | None) -> sqlite3.Row | None:
        rows = self.query("SELECT * FROM files WHERE id = ? AND owner IS ?", (file_id, owner))
        return rows[0] if rows else None

    def list_files(self, owner: str | None, purpose: str | None, after: str | None, limit: int,
                   order: str) -> tuple[list[sqlite3.Row], bool]:
        desc = order != "asc"
        sql, args = "SELECT * FROM files WHERE owner IS ?", [owner]
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
            cur = db.execute("DELETE FROM files WHERE id = ? AND owner IS ?", (file_id, owner))
            deleted = cur.rowcount > 0
        if deleted:
            self.blob_path(file_id).unlink(missing_ok=True)
        return deleted
