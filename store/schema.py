"""Bringing a database's schema up to date with Alembic (the revisions are in ``migrations/versions``).

The whole upgrade is one transaction that holds the store's write lock, so several processes opening a
fresh store at once agree: the first migrates, the others wait, then find nothing to do. A SQLite home made
before the store used Alembic carries its schema step in ``PRAGMA user_version``; it is stamped at that
revision and upgraded in place.
"""

from __future__ import annotations

from typing import Any

from llmaas.store.database import Database

HEAD = "0012"  # the newest revision in migrations/versions (a test checks that Alembic agrees)
LEGACY_STEPS = 10  # the numbered steps before Alembic: revisions 0001 to 0010 are the same schema


def version(db: Database) -> str | None:
    """The revision the database is at (None for an empty database or one from before Alembic)."""
    import sqlalchemy

    with db.connection() as conn:
        if not sqlalchemy.inspect(conn).has_table("alembic_version"):
            return None
    rows = db.query("SELECT version_num FROM alembic_version")
    return rows[0][0] if rows else None


def migrate(db: Database) -> str:
    """Upgrade to ``HEAD``; return the revision the database was at before (``"base"`` when it was new)."""
    before = version(db)
    if before == HEAD:
        return before
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "llmaas.store:migrations")
    with db.transaction() as tx:
        conn: Any = tx.raw  # Alembic runs on the transaction's own connection
        config.attributes["connection"] = conn
        before = version(db)  # again, under the lock: another process may have migrated meanwhile
        if before is None and db.dialect == "sqlite":
            legacy = int(conn.exec_driver_sql("PRAGMA user_version").scalar() or 0)
            if 0 < legacy <= LEGACY_STEPS:
                command.stamp(config, f"{legacy:04d}")
                before = f"{legacy:04d}"
        if before != HEAD:
            command.upgrade(config, HEAD)
    return before or "base"
