"""Operations: bounded metrics labels, the key and usage commands without the local extras, several processes
opening one fresh home, and leftovers of interrupted writes removed at start."""

import os
import subprocess
import sys
import time

import httpx

from llmaas.store import Store

from .conftest import CHAT, ServerProcess

NO_HEAVY = ("import sys\n"
            "for name in ('torch', 'transformers', 'sentence_transformers', 'fastapi', 'uvicorn'):\n"
            "    sys.modules[name] = None  # importing any of them now fails\n"
            "from llmaas.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")


def test_metrics_label_only_models_that_served(server):
    for i in range(20):
        httpx.post(server.base_url + "/chat/completions",
                   json={"model": f"made-up-{i}", "messages": [{"role": "user", "content": "x"}]})
    httpx.post(server.base_url + "/chat/completions",
               json={"model": CHAT, "messages": [{"role": "user", "content": "x"}], "max_tokens": 2})
    text = httpx.get(server.root + "/metrics").text
    assert "made-up" not in text
    assert f'model="{CHAT}"' in text


def test_keys_and_usage_work_without_torch_or_fastapi(tmp_path):
    env = {**os.environ, "LLMAAS_HOME": str(tmp_path)}

    def run(*args):
        return subprocess.run([sys.executable, "-c", NO_HEAVY, *args], env=env, capture_output=True, text=True,
                              check=True).stdout

    assert run("keys", "create", "ci").strip().splitlines()[-1].startswith("sk-llmaas-")
    assert "ci" in run("keys", "list")
    assert run("keys", "limits", "ci", "--rpm", "10").strip().endswith("rpm=10 tpd=unlimited")
    assert "day" in run("usage")
    assert run("usage", "--json").strip() == "[]"


def test_several_processes_can_open_one_fresh_home(tmp_path):
    code = ("import sys\nfrom llmaas.store import Store\nfrom llmaas.store.schema import HEAD\n"
            "s = Store(sys.argv[1])\nassert s.query('SELECT version_num FROM alembic_version')[0][0] == HEAD\n"
            "s.create_key('p')\n")
    for attempt in range(3):
        home = tmp_path / f"home{attempt}"
        procs = [subprocess.Popen([sys.executable, "-c", code, str(home)], stderr=subprocess.PIPE)
                 for _ in range(8)]
        errors = [p.communicate()[1].decode() for p in procs]
        assert all(p.returncode == 0 for p in procs), [e for e in errors if e][:1]
        assert len(Store(home).list_keys()) == 8


def test_orphaned_blobs_and_partial_writes_are_removed_at_start(tmp_path):
    store = Store(tmp_path)
    kept = store.add_file(None, "a.jsonl", "fine-tune", b'{"prompt": "a", "completion": "b"}\n')
    folder = tmp_path / "blobs" / "files"
    (folder / "file-orphan").write_bytes(b"no row points here")
    (folder / "file-half.part").write_bytes(b"an interrupted upload")
    (folder / "file-young.part").write_bytes(b"an upload in flight")
    old = time.time() - 3600
    for name in ("file-orphan", "file-half.part", kept["id"]):
        os.utime(folder / name, (old, old))
    store.close()
    s = ServerProcess(tmp_path)
    s.extra_args = ["--model", CHAT]
    s.start()
    try:
        names = sorted(p.name for p in folder.iterdir())
        assert names == sorted([kept["id"], "file-young.part"])  # young files may belong to a write in flight
        assert httpx.get(s.base_url + f"/files/{kept['id']}/content").content.startswith(b'{"prompt"')
    finally:
        s.stop()


def test_a_second_store_in_one_process_leaves_the_database_to_its_first(tmp_path):
    """The server and its provider each open the home's store. Opening the second must not drop the first
    one's SQLite locks (closing any descriptor of a file drops the process's POSIX locks on it): if it did,
    another process closing its connection would take the database for unused and delete the WAL, and
    what the server wrote next would be invisible to the fine-tuning worker."""
    import sqlite3

    first = Store(tmp_path)
    first.create_key("a")
    second = Store(tmp_path)  # as the provider does in the server's process
    code = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA journal_mode=WAL');"
            "c.execute('SELECT COUNT(*) FROM api_keys').fetchone(); c.close()")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "llmaas.db")], check=True)
    assert (tmp_path / "llmaas.db-wal").exists()
    first.create_key("b")
    other = sqlite3.connect(tmp_path / "llmaas.db")
    assert other.execute("SELECT COUNT(*) FROM api_keys").fetchone()[0] == 2  # another process sees it
    other.close()
    second.close()
    first.close()
