"""The store's schema, as Alembic revisions (``versions/``): 0001 to 0010 are the numbered steps the store
made before it used Alembic, so a SQLite home whose ``PRAGMA user_version`` is N is stamped at revision N
and upgraded from there. A new revision is a new file in ``versions/`` whose ``down_revision`` is the last
one, and ``HEAD`` in ``llmaas.store.schema`` names it."""
