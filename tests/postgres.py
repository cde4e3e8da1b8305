"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries (``make postgres`` installs them),
a data folder in a temporary directory, a free port on 127.0.0.1, stopped and removed at the end. initdb
refuses to run as root, so as root the cluster runs as the ``postgres`` user the package creates."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid

from llmaas.server.serve import free_port


def binaries() -> str:
    """The folder of initdb and pg_ctl (the newest installed version)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[-3]))
    if not found:
        raise RuntimeError("PostgreSQL's server is not installed: run `make postgres` (Debian's postgresql package)")
    return os.path.dirname(found[-1])


class Cluster:
    def __init__(self) -> None:
        self.bin = binaries()
        self.folder = tempfile.mkdtemp(prefix="llmaas-pg-")
        self.data = os.path.join(self.folder, "data")
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.folder, self.user)
        self._as_owner([f"{self.bin}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                        "--no-sync"])
        self.start()

    def _as_owner(self, command: list[str]) -> None:
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._as_owner([f"{self.bin}/pg_ctl", "-D", self.data, "-l", os.path.join(self.folder, "log"), "-w",
                        "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                              "-c max_connections=300", "start"])

    def stop(self, mode: str = "fast") -> None:
        self._as_owner([f"{self.bin}/pg_ctl", "-D", self.data, "-m", mode, "-w", "stop"])

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A new, empty database; its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def close(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
