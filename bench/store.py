"""The store on SQLite and on PostgreSQL, in one run on one machine (a throwaway PostgreSQL cluster, as the
tests start one):

1. Hot paths, operations per second from one thread and from 8: a key lookup (every request), a usage row
   (every request), a quota hold and its release (every request of a key with a daily limit), a
   requests-per-minute count (every request of a key with one).
2. The HTTP layer at 64 concurrent streams (bench/server.py's measure) through one front door on each database (a key with a daily
   limit and a per-minute limit, so every request reads and writes the store): aggregate tokens/s and time to
   first token, and requests/s of 1-token completions.
3. The quota across two front doors on one PostgreSQL: 32 concurrent requests split over both against a
   600-token daily limit; the overrun (tokens drawn past the limit) is the goal-0 number.

Usage: python bench/store.py [--skip-http]
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import openai

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llmaas.server.limits import Limiter  # noqa: E402
from llmaas.server.serve import free_port  # noqa: E402
from llmaas.store import Store, hash_key, quotas  # noqa: E402
from tests.postgres import Cluster  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server import level  # noqa: E402  (bench/server.py: 64 streams of 64 tokens, the same measure)

MODEL = "smollm2-135m-instruct"
SECONDS = 3.0


def _rate(fn, threads: int) -> float:
    """Calls of ``fn`` per second over SECONDS from ``threads`` threads."""
    done = [0] * threads
    stop = time.perf_counter() + SECONDS

    def loop(i: int) -> None:
        while time.perf_counter() < stop:
            fn(i)
            done[i] += 1

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(done) / (time.perf_counter() - start)


def hot_paths(store: Store) -> dict[str, tuple[float, float]]:
    key_id, secret = store.create_key("bench", tpd_limit=10**12, rpm_limit=10**9)
    quiet, _ = store.create_key("quiet", tpd_limit=10**12)
    digest = hash_key(secret)
    limiter = Limiter(store)

    def hold(key: str) -> None:
        limiter.release(limiter.reserve(key, 10**12, 50, 50))

    paths = {
        "key lookup": lambda i: store.key_by_hash(digest),
        "usage row": lambda i: store.record_usage(key_id, "/v1/chat/completions", MODEL, 10, 20, 5.0, 200),
        "quota hold + release, a key with no requests today": lambda i: hold(quiet),
        "requests-per-minute count": lambda i: quotas.count_request(store, f"{key_id}-{i}", 10**9),
    }
    out = {name: (_rate(fn, 1), _rate(fn, 8)) for name, fn in paths.items()}
    with store.transaction() as db:  # the daily sum the hold reads grows with the key's requests of the day
        db.executemany("INSERT INTO usage (key_id, endpoint, model, prompt_tokens, completion_tokens, latency_ms, "
                       "status, created_at) VALUES (?, ?, ?, 10, 20, 5.0, 200, ?)",
                       [(quiet, "/v1/chat/completions", MODEL, time.time()) for _ in range(10_000)])
    out["quota hold + release, a key with 10,000 requests today"] = (_rate(lambda i: hold(quiet), 1),
                                                                      _rate(lambda i: hold(quiet), 8))
    return out


class Door:
    def __init__(self, home: str, env: dict[str, str]) -> None:
        self.port = free_port()
        self.env = {**os.environ, "LLMAAS_HOME": home, "HF_HUB_OFFLINE": "1", **env}
        self.home = home

    def cli(self, *args: str) -> str:
        return subprocess.run([sys.executable, "-m", "llmaas.cli", *args], env=self.env, check=True,
                              capture_output=True, text=True).stdout.strip().splitlines()[-1]

    def start(self) -> Door:
        self.log = open(os.path.join(self.home, "server.log"), "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "llmaas.server", "--port", str(self.port)],
                                     env=self.env, stdout=self.log, stderr=self.log)
        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/ready", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)
        self.log.close()


async def http_layer(door: Door, key: str) -> tuple[float, float, float]:
    async with openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{door.port}/v1", api_key=key, max_retries=0,
                                  timeout=600) as client:
        tokens_per_s, ttft, _ = await level(client.chat.completions.create, 64)
        sem = asyncio.Semaphore(16)

        async def tiny(i: int) -> None:
            async with sem:
                await client.completions.create(model=MODEL, prompt=f"{i}", max_tokens=1)

        start = time.perf_counter()
        await asyncio.gather(*(tiny(i) for i in range(200)))
        rps = 200 / (time.perf_counter() - start)
    return tokens_per_s, ttft, rps


def quota_overrun(url: str, root: str) -> tuple[int, int, int]:
    env = {"LLMAAS_DATABASE_URL": url, "LLMAAS_BLOB_DIR": os.path.join(root, "blobs")}
    doors = [Door(tempfile.mkdtemp(dir=root), env) for _ in range(2)]
    key_id_line = doors[0].cli("keys", "create", "ops", "--admin")
    admin = key_id_line
    out = subprocess.run([sys.executable, "-m", "llmaas.cli", "keys", "create", "quota", "--tpd", "600"],
                         env=doors[0].env, check=True, capture_output=True, text=True).stdout.strip().splitlines()
    key_id, key = out[0].split()[3], out[-1]
    for d in doors:
        d.start()
    codes: list[int] = []

    def one(i: int) -> None:
        body = {"model": MODEL, "messages": [{"role": "user", "content": f"Count to twenty ({i})."}],
                "max_tokens": 48}
        codes.append(httpx.post(f"http://127.0.0.1:{doors[i % 2].port}/v1/chat/completions", json=body,
                                headers={"Authorization": f"Bearer {key}"}, timeout=600).status_code)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = httpx.get(f"http://127.0.0.1:{doors[1].port}/v1/usage", params={"key": key_id},
                     headers={"Authorization": f"Bearer {admin}"}).json()["data"]
    drawn = sum(r["prompt_tokens"] + r["completion_tokens"] for r in rows)
    for d in doors:
        d.stop()
    return codes.count(200), drawn, max(0, drawn - 600)


def main(skip_http: bool = False) -> str:
    cluster = Cluster()
    root = tempfile.mkdtemp(prefix="llmaas-bench-store-")
    try:
        stores = {"SQLite": Store(os.path.join(root, "sqlite")),
                  "PostgreSQL": Store(os.path.join(root, "pg"), database_url=cluster.new_database())}
        hot = {name: hot_paths(s) for name, s in stores.items()}
        for s in stores.values():
            s.close()
        lines = ["| hot path (operations/s) | SQLite, 1 thread | SQLite, 8 threads | PostgreSQL, 1 thread | "
                 "PostgreSQL, 8 threads |", "| --- | ---: | ---: | ---: | ---: |"]
        for path in hot["SQLite"]:
            (s1, s8), (p1, p8) = hot["SQLite"][path], hot["PostgreSQL"][path]
            lines.append(f"| {path} | {s1:,.0f} | {s8:,.0f} | {p1:,.0f} | {p8:,.0f} |")
        if not skip_http:
            lines += ["", "| one front door, 64 streams of 64 tokens (key with per-minute and daily limits) | "
                          "tokens/s | TTFT p50 (s) | 1-token completions/s |", "| --- | ---: | ---: | ---: |"]
            for name, env in (("SQLite", {}), ("PostgreSQL", {"LLMAAS_DATABASE_URL": cluster.new_database(),
                                                                "LLMAAS_BLOB_DIR": os.path.join(root, "pg-blobs")})):
                door = Door(tempfile.mkdtemp(dir=root), env)
                out = subprocess.run([sys.executable, "-m", "llmaas.cli", "keys", "create", "b", "--tpd",
                                      "100000000", "--rpm", "100000"], env=door.env, check=True,
                                     capture_output=True, text=True).stdout.strip().splitlines()
                door.start()
                try:
                    tps, ttft, rps = asyncio.run(http_layer(door, out[-1]))
                finally:
                    door.stop()
                lines.append(f"| {name} | {tps:.0f} | {ttft:.2f} | {rps:.1f} |")
            granted, drawn, over = quota_overrun(cluster.new_database(), root)
            lines += ["", "| two front doors, one PostgreSQL: 32 concurrent requests (max_tokens 48) against a "
                          "600-token daily limit | granted | tokens drawn | overrun (goal 0) |",
                      "| --- | ---: | ---: | ---: |", f"| split over both doors | {granted} | {drawn} | {over} |"]
        return "\n".join(lines)
    finally:
        cluster.close()


if __name__ == "__main__":
    print(main(skip_http="--skip-http" in sys.argv))
