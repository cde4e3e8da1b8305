"""The store's database connection: SQLite (a file under ``LLMAAS_HOME``, the default) or PostgreSQL
(``LLMAAS_DATABASE_URL``), both through SQLAlchemy Core, with one code path above this module.

SQL is written once, with ``?`` placeholders and the subset both databases read alike; what differs (a day
from a Unix time, a field of a JSON column) comes from the helpers here. A write transaction is exclusive,
as SQLite's ``BEGIN IMMEDIATE`` is: on PostgreSQL it takes a transaction-scoped advisory lock, so a
read-then-write inside one transaction means the same on both. Hot paths that only insert skip the lock
(``exclusive=False``). A query made inside a transaction on the same thread sees that transaction's writes.
"""

from __future__ import annotations

import functools
import importlib
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

WRITE_LOCK = 0x6C6C6D61  # the advisory lock that makes a PostgreSQL write transaction exclusive ("llma")
CONNECT_TIMEOUT = 5  # seconds: an unreachable PostgreSQL is reported, never waited on


class StoreUnavailable(RuntimeError):
    """The database cannot be reached (PostgreSQL down or restarting, SQLite locked past its timeout): the
    request may be retried; nothing it asked to write was written."""


class Record(tuple[Any, ...]):
    """A row, read by position (``row[0]``) or by column name (``row["id"]``); ``dict(row)`` gives its
    columns, as ``sqlite3.Row`` does."""

    _columns: dict[str, int]

    def __new__(cls, values: Sequence[Any], columns: dict[str, int]) -> Record:
        row = super().__new__(cls, [_plain(v) for v in values])
        row._columns = columns
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(self._columns[key])
        return super().__getitem__(key)

    def keys(self) -> list[str]:
        return list(self._columns)


def _plain(value: Any) -> Any:
    """PostgreSQL's SUM and AVG over integers come back as Decimal: give what SQLite gives."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class Result:
    """What one statement gave: its rows (all read at once) and the number of rows it changed."""

    def __init__(self, rows: list[Record], rowcount: int) -> None:
        self.rows, self.rowcount = rows, rowcount

    def fetchone(self) -> Any:  # a Record, or None (Any, as sqlite3's, so that ``fetchone()[0]`` reads simply)
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[Record]:
        return self.rows

    def __iter__(self) -> Iterator[Record]:
        return iter(self.rows)


class Connection:
    """One connection inside a transaction: ``execute`` and ``executemany`` with ``?`` placeholders."""

    def __init__(self, raw: Any, database: Database) -> None:
        self._raw, self._database = raw, database

    @property
    def raw(self) -> Any:
        """The SQLAlchemy connection underneath (Alembic runs its migrations on it)."""
        return self._raw

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Result:
        return self._database.run(self._raw, sql, tuple(args))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Result:
        return self._database.run(self._raw, sql, [tuple(r) for r in rows])


class Database:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql://...``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = "postgresql" if url.startswith(("postgresql", "postgres")) else "sqlite"
        try:
            import sqlalchemy

            if self.dialect == "postgresql":
                importlib.import_module("psycopg")
        except ImportError as exc:
            extra = "postgres" if self.dialect == "postgresql" else "server"
            raise RuntimeError(f"the store needs {exc.name}, which is not installed: pip install "
                               f"'llmaas[{extra}]'") from None
        self._local = threading.local()
        if self.dialect == "sqlite":
            # one connection, guarded by a lock, as SQLite serialises writers anyway; SQLAlchemy's
            # autocommit mode leaves BEGIN IMMEDIATE and COMMIT to transaction()
            self.engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.StaticPool, connect_args={
                "check_same_thread": False, "timeout": 30, "isolation_level": None})
            self._lock: threading.RLock | None = threading.RLock()
            self._conn = self._guard(lambda: self.engine.connect().execution_options(isolation_level="AUTOCOMMIT"))
            self._retry_locked(lambda: self._conn.exec_driver_sql("PRAGMA journal_mode=WAL"))
            self._conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
            self._conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        else:
            if url.startswith("postgres://"):
                url = "postgresql://" + url.removeprefix("postgres://")
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
            self.engine = sqlalchemy.create_engine(url, pool_size=8, max_overflow=24, pool_pre_ping=True,
                                                   pool_timeout=30, connect_args={"connect_timeout": CONNECT_TIMEOUT})
            self._lock = None

    # -- running SQL --------------------------------------------------------------------------------

    def run(self, raw: Any, sql: str, args: tuple[Any, ...] | list[tuple[Any, ...]]) -> Result:
        statement = self.translate(sql) if args else sql
        result = self._guard(lambda: raw.exec_driver_sql(statement, args if args else None)
                             if not isinstance(args, list) else raw.exec_driver_sql(statement, args))
        rows: list[Record] = []
        if result.returns_rows:
            columns = {name: i for i, name in enumerate(result.keys())}
            rows = [Record(tuple(r), columns) for r in result.fetchall()]
        return Result(rows, result.rowcount)

    @functools.lru_cache(maxsize=512)  # noqa: B019 (one Database per store, kept for the process's life)
    def translate(self, sql: str) -> str:
        """``?`` placeholders become psycopg's ``%s`` (and a literal ``%`` is doubled) on PostgreSQL."""
        if self.dialect == "sqlite":
            return sql
        return sql.replace("%", "%%").replace("?", "%s")

    def _guard(self, call: Any) -> Any:
        """Run ``call``; a database that cannot be reached becomes StoreUnavailable."""
        import sqlalchemy.exc

        try:
            return call()
        except sqlalchemy.exc.DBAPIError as exc:
            if _unreachable(exc):
                raise StoreUnavailable(f"the store's database is unavailable: {_first_line(exc)}") from exc
            raise

    @staticmethod
    def _retry_locked(call: Any, deadline: float = 30.0) -> Any:
        """Changing SQLite's journal mode takes a lock its busy timeout does not wait for."""
        import sqlalchemy.exc

        end = time.monotonic() + deadline
        while True:
            try:
                return call()
            except (sqlalchemy.exc.OperationalError, StoreUnavailable) as exc:
                if "locked" not in str(exc) or time.monotonic() > end:
                    raise
                time.sleep(0.05)

    @contextmanager
    def transaction(self, exclusive: bool = True, lock: str | None = None) -> Generator[Connection, None, None]:
        """One transaction: committed when the block ends, rolled back when it raises. ``exclusive``: no
        other write transaction runs meanwhile; ``lock``: instead, none that names the same lock (on SQLite,
        whose writers take turns anyway, both are the database's write lock)."""
        current = getattr(self._local, "conn", None)
        if current is not None:  # already inside one on this thread: part of it
            yield current
            return
        if self._lock is not None:
            with self._lock:
                # always IMMEDIATE: a deferred transaction that reads, then writes after another writer
                # committed, fails at once instead of waiting its turn
                self._guard(lambda: self._conn.exec_driver_sql("BEGIN IMMEDIATE"))
                conn = self._local.conn = Connection(self._conn, self)
                try:
                    yield conn
                except BaseException:
                    self._local.conn = None
                    self._rollback_sqlite()
                    raise
                self._local.conn = None
                try:
                    self._guard(lambda: self._conn.exec_driver_sql("COMMIT"))
                except BaseException:
                    self._rollback_sqlite()
                    raise
            return
        raw = self._guard(self.engine.connect)
        try:
            with raw.begin():
                if lock is not None:
                    raw.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (lock,))
                elif exclusive:
                    raw.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
                conn = self._local.conn = Connection(raw, self)
                try:
                    yield conn
                finally:
                    self._local.conn = None
        except Exception as exc:
            import sqlalchemy.exc

            if isinstance(exc, sqlalchemy.exc.DBAPIError) and _unreachable(exc):
                raise StoreUnavailable(f"the store's database is unavailable: {_first_line(exc)}") from exc
            raise
        finally:
            raw.close()

    def _rollback_sqlite(self) -> None:
        raw = self._conn.connection.dbapi_connection
        if raw is not None and raw.in_transaction:
            self._conn.exec_driver_sql("ROLLBACK")

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[Record]:
        current = getattr(self._local, "conn", None)
        if current is not None:
            return current.execute(sql, args).rows
        if self._lock is not None:
            with self._lock:
                return self.run(self._conn, sql, tuple(args)).rows
        with self._guard(self.engine.connect) as raw:
            return self.run(raw, sql, tuple(args)).rows

    @contextmanager
    def connection(self) -> Generator[Any, None, None]:
        """A SQLAlchemy connection of its own (for migrations), under the SQLite lock where there is one."""
        if self._lock is not None:
            with self._lock:
                yield self._conn
            return
        with self._guard(self.engine.connect) as raw:
            yield raw

    def ping(self) -> None:
        """Raise StoreUnavailable when the database cannot answer now."""
        self.query("SELECT 1")

    def close(self) -> None:
        if self._lock is not None:
            with self._lock:
                self._conn.close()
        self.engine.dispose()

    # -- what the two databases spell differently ---------------------------------------------------

    def day(self, column: str) -> str:
        """The UTC day (YYYY-MM-DD) of a Unix time column."""
        if self.dialect == "sqlite":
            return f"date({column}, 'unixepoch')"
        return f"to_char(to_timestamp({column}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"

    def skip_locked(self, alias: str) -> str:
        """The clause that locks the rows a claiming SELECT picks from ``alias`` and passes over rows another
        transaction holds (PostgreSQL); SQLite's one writer at a time needs none."""
        return f" FOR UPDATE OF {alias} SKIP LOCKED" if self.dialect == "postgresql" else ""

    def json_text(self, column: str, field: str) -> str:
        """A top-level field of a JSON text column, as text (NULL where it is absent)."""
        if self.dialect == "sqlite":
            return f"CAST(json_extract({column}, '$.{field}') AS TEXT)"
        return f"(CAST({column} AS jsonb) ->> '{field}')"


def _unreachable(exc: Any) -> bool:
    """A connection that broke or could not be made (not a bad statement)."""
    if getattr(exc, "connection_invalidated", False):
        return True
    text = str(getattr(exc, "orig", exc)).lower()
    return any(s in text for s in ("connection", "server closed", "terminating", "could not connect",
                                   "the database system is", "database is locked", "timeout expired"))


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__
