"""Front doors that share a PostgreSQL store must share the blobs folder too (files, adapters, batch
outputs): a file uploaded through one is read by another. At start each front door writes a marker file
there, records it in the database, and reads the markers the others recorded; a marker it cannot read means
its folder is not theirs, and it refuses to start, saying so, rather than lose files later."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import time

from llmaas.store import Store, private_dir
from llmaas.store.liveness import process_name

CHECKED = 16  # the most recent markers of other front doors read at start
KEPT = 64  # markers kept in the database (and on disk) per store


class BlobFolderNotShared(RuntimeError):
    """This front door's blobs folder is not the one the others sharing its database write."""


def check_shared_blobs(store: Store) -> str:
    """Write this front door's marker, then read the others'; return the marker's id. Raises
    BlobFolderNotShared (or OSError when the folder cannot be written at all)."""
    folder = private_dir(store.blobs / "markers")
    marker_id = process_name(unique=True).replace(":", "-")
    token = secrets.token_hex(16)
    path = folder / marker_id
    with open(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600), "w") as fh:
        fh.write(token)
        fh.flush()
        os.fsync(fh.fileno())
    others = store.query("SELECT id, token, written_by FROM blob_markers ORDER BY created_at DESC LIMIT ?", (CHECKED,))
    for row in others:
        try:
            found = (folder / row["id"]).read_text()
        except OSError:
            found = None
        if found != row["token"]:
            path.unlink(missing_ok=True)
            raise BlobFolderNotShared(
                f"the blobs folder {store.blobs} is not the one the other front doors on this database write: "
                f"the marker {row['id']!r} that {row['written_by']} wrote there is "
                f"{'missing' if found is None else 'different'}. Point LLMAAS_BLOB_DIR (or --blob-dir) at the "
                "folder they share (a network filesystem mounted on every machine)")
    with store.transaction(exclusive=False) as db:
        db.execute("INSERT INTO blob_markers (id, token, written_by, created_at) VALUES (?, ?, ?, ?)",
                   (marker_id, token, socket.gethostname(), time.time()))
    _prune(store, folder)
    return marker_id


def _prune(store: Store, folder: os.PathLike[str]) -> None:
    old = store.query("SELECT id FROM blob_markers ORDER BY created_at DESC LIMIT 100000 OFFSET ?", (KEPT,))
    if not old:
        return
    with store.transaction(exclusive=False) as db:
        for row in old:
            db.execute("DELETE FROM blob_markers WHERE id = ?", (row["id"],))
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, row["id"]))
