"""The router, measured in one run:

1. its overhead per request against calling the same provider directly (a stub upstream on loopback, so
   that the router's own work is what differs; rounds alternate; target: under 5%);
2. aggregate decode throughput of 3 llmaas servers behind one router against one server, on this machine
   (2 cores: the servers share them);
3. requests lost when one of 3 servers is killed under load (target: none).

    .venv/bin/python bench/router.py [--requests 300] [--fleet-requests 48]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

import llmaas
from llmaas.providers.huggingface.management.loading import (
    SMOLLM2,
    builtin_sources,
    converted_dir,
    ensure_converted,
)
from llmaas.server.serve import free_port
from llmaas.testing import StubServer

MODEL = "smollm2-135m-instruct"
MSG = [{"role": "user", "content": "Hi"}]


async def overhead(requests: int, rounds: int) -> list[str]:
    with StubServer() as stub:
        router = llmaas.Router({"deployments": [{"model": "m", "provider": "openai_compat", "base_url": stub.base_url}]})
        direct_times, routed_times = [], []
        async with llmaas.AsyncClient(base_url=stub.base_url, api_key="x", max_retries=0) as direct, \
                llmaas.AsyncClient(provider=router, max_retries=0) as routed:
            for client in (direct, routed):  # warm both
                await client.chat.completions.create(model="m", messages=MSG)
            for _ in range(rounds):
                for client, sink in ((direct, direct_times), (routed, routed_times)):
                    start = time.perf_counter()
                    for _ in range(requests):
                        await client.chat.completions.create(model="m", messages=MSG)
                    sink.append((time.perf_counter() - start) / requests)
    d, r = statistics.median(direct_times), statistics.median(routed_times)
    return ["| per request, median of rounds | ms | ratio |", "| --- | --- | --- |",
            f"| direct provider call ({requests} sequential requests) | {d * 1e3:.3f} | 1.00 |",
            f"| through the router | {r * 1e3:.3f} | {r / d:.3f} |"]


class Node:
    def __init__(self, threads: int) -> None:
        self.home = tempfile.mkdtemp(prefix="llmaas-node-")
        folder = converted_dir(builtin_sources()[SMOLLM2])
        shutil.copytree(folder, Path(self.home, "models", folder.name))
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        env = {**os.environ, "LLMAAS_HOME": self.home, "LLMAAS_THREADS": str(threads), "LLMAAS_KV_CACHE_GB": "0.5"}
        self.proc = subprocess.Popen([sys.executable, "-m", "llmaas.server", "--port", str(self.port)], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait(self) -> Node:
        for _ in range(900):
            try:
                if httpx.get(self.base_url.removesuffix("/v1") + "/ready", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("a node did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
        shutil.rmtree(self.home, ignore_errors=True)


def fleet_router(nodes: list[Node]) -> llmaas.Router:
    return llmaas.Router({"strategy": "least-busy", "failure_threshold": 1, "cooldown": 30, "deployments": [
        {"name": f"node-{i}", "model": "chat", "provider": "openai_compat", "base_url": n.base_url, "target": MODEL}
        for i, n in enumerate(nodes)]})


async def burst(client: llmaas.AsyncClient, model: str, n: int, tokens: int,
                kill: Node | None = None) -> tuple[int, int, float]:
    async def one(i: int) -> int:
        r = await client.chat.completions.create(model=model, max_tokens=tokens, temperature=0, ignore_eos=True,
                                                 messages=[{"role": "user", "content": f"Story {i}."}])
        return r.usage.completion_tokens if r.usage else 0

    start = time.perf_counter()
    tasks = [asyncio.create_task(one(i)) for i in range(n)]
    if kill is not None:
        await asyncio.sleep(2.0)
        kill.proc.send_signal(signal.SIGKILL)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    elapsed = time.perf_counter() - start
    lost = sum(isinstance(r, BaseException) for r in results)
    return sum(r for r in results if isinstance(r, int)), lost, elapsed


async def fleet(n: int, tokens: int) -> list[str]:
    ensure_converted(builtin_sources()[SMOLLM2], progress=False)
    one = Node(threads=2).wait()
    try:
        async with llmaas.AsyncClient(base_url=one.base_url, api_key="x", max_retries=0) as client:
            await burst(client, MODEL, 2, 4)
            single_tokens, _, single_time = await burst(client, MODEL, n, tokens)
    finally:
        one.stop()
    nodes = [Node(threads=1) for _ in range(3)]
    try:
        for node in nodes:
            node.wait()
        router = fleet_router(nodes)
        async with llmaas.AsyncClient(provider=router, max_retries=0) as client:
            await burst(client, "chat", 3, 4)
            three_tokens, _, three_time = await burst(client, "chat", n, tokens)
            _, lost, _ = await burst(client, "chat", n, tokens, kill=nodes[1])
            breaker = router.stats()["chat"]["node-1"]["breaker"]
    finally:
        for node in nodes:
            node.stop()
    return [f"| {n} concurrent requests, {tokens} tokens each | aggregate tokens/s | ratio |", "| --- | --- | --- |",
            f"| one server (2 threads) | {single_tokens / single_time:.1f} | 1.00 |",
            f"| 3 servers (1 thread each) behind one router | {three_tokens / three_time:.1f} | "
            f"{(three_tokens / three_time) / (single_tokens / single_time):.2f} |",
            "",
            f"One of the 3 servers killed (SIGKILL) 2 s into a burst of {n}: **{lost} requests lost**; "
            f"its breaker: {breaker}."]


async def run(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--fleet-requests", type=int, default=48)
    p.add_argument("--tokens", type=int, default=32)
    args = p.parse_args(argv)
    out = await overhead(args.requests, args.rounds)
    out += [""] + await fleet(args.fleet_requests, args.tokens)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> str:
    return asyncio.run(run(argv))


if __name__ == "__main__":
    print(main())
