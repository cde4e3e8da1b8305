"""Binding without keys, and graceful shutdown with a request in flight."""

import signal
import sqlite3
import time

import httpx

from .conftest import CHAT, ServerProcess


def test_no_keys_binds_loopback_and_sigterm_stops_within_the_deadline(tmp_path):
    server = ServerProcess(tmp_path, LLMAAS_GRACEFUL_TIMEOUT=2)
    server.extra_args = ["--host", "0.0.0.0"]
    server.start()
    try:
        log = open(tmp_path / "server.log").read()
        assert "binds to 127.0.0.1 only instead of 0.0.0.0" in log
        with httpx.stream("POST", server.base_url + "/chat/completions", timeout=60, json={
                "model": CHAT, "messages": [{"role": "user", "content": "Write a long story."}],
                "max_tokens": 4000, "stream": True, "ignore_eos": True}) as r:
            lines = r.iter_lines()
            next(lines)
            start = time.time()
            server.proc.send_signal(signal.SIGTERM)
            try:
                for _ in lines:
                    pass
            except httpx.HTTPError:
                pass  # the server cut the stream at the deadline
        server.proc.wait(30)
        assert time.time() - start < 30
        # uvicorn re-raises the signal once its graceful shutdown is done, the conventional exit for SIGTERM
        assert server.proc.returncode in (0, -signal.SIGTERM)
        assert "engine stopped and store closed" in open(tmp_path / "server.log").read()
    finally:
        server.stop()
    db = sqlite3.connect(tmp_path / "llmaas.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    statuses = [row[0] for row in db.execute("SELECT status FROM usage WHERE endpoint = 'chat.completions'")]
    assert len(statuses) == 1  # the interrupted request was still metered
