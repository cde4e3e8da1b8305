"""The HTTP layer's cost: streaming clients through the built-in server against the engine in process.

Same run, same settings: aggregate tokens/s and time to first token at 1, 8, 32 and 64 concurrent
streaming clients (64 new tokens each), first with the engine called in process (AsyncClient with the hf
provider), then through ``llmaas serve`` in a subprocess driven by the official ``openai`` client; and
requests/s for a 1-token completion through the server.

Usage: python bench/server.py
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time

import httpx
import openai

import llmaas
from llmaas.providers.huggingface import HuggingFaceProvider
from llmaas.server.serve import free_port

MODEL = "smollm2-135m-instruct"
NEW_TOKENS = 64
LEVELS = (1, 8, 32, 64)


def messages(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Tell me about the number {i} in a long paragraph."}]


async def _stream(create, i: int) -> tuple[float, int]:
    start = time.perf_counter()
    first, tokens = None, 0
    stream = await create(model=MODEL, messages=messages(i), max_tokens=NEW_TOKENS, temperature=0, stream=True,
                          stream_options={"include_usage": True}, extra_body={"ignore_eos": True})
    async for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - start
        if chunk.usage:
            tokens = chunk.usage.completion_tokens
    return first or 0.0, tokens


async def level(create, n: int) -> tuple[float, float, float]:
    await _stream(create, 0)
    start = time.perf_counter()
    results = await asyncio.gather(*(_stream(create, i) for i in range(n)))
    elapsed = time.perf_counter() - start
    ttfts = sorted(r[0] for r in results)
    return sum(r[1] for r in results) / elapsed, statistics.median(ttfts), ttfts[int(0.95 * (len(ttfts) - 1))]


async def in_process() -> dict[int, tuple[float, float, float]]:
    provider = HuggingFaceProvider(progress=False)
    async with llmaas.AsyncClient(provider=provider) as client:
        out = {n: await level(client.chat.completions.create, n) for n in LEVELS}
    await provider.aclose()
    return out


async def through_server(base_url: str) -> tuple[dict[int, tuple[float, float, float]], float]:
    async with openai.AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0, timeout=600) as client:
        out = {n: await level(client.chat.completions.create, n) for n in LEVELS}
        sem = asyncio.Semaphore(16)

        async def tiny(i: int) -> None:
            async with sem:
                await client.completions.create(model=MODEL, prompt=f"{i}", max_tokens=1)

        await tiny(0)
        start = time.perf_counter()
        count = 200
        await asyncio.gather(*(tiny(i) for i in range(count)))
        rps = count / (time.perf_counter() - start)
    return out, rps


def start_server(home: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "llmaas.server", "--port", str(port)],
                            env={**os.environ, "LLMAAS_HOME": home}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                return proc, f"http://127.0.0.1:{port}/v1"
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server did not start")


def main() -> str:
    local = asyncio.run(in_process())
    with tempfile.TemporaryDirectory() as home:
        proc, url = start_server(home)
        try:
            remote, rps = asyncio.run(through_server(url))
        finally:
            proc.terminate()
            proc.wait(60)
    lines = [f"{NEW_TOKENS} new tokens per streamed request, greedy; the server runs in its own process.", "",
             "| concurrent | in process tok/s | server tok/s | server / in process | TTFT p50 in process (s) | "
             "TTFT p50 server (s) | TTFT p95 server (s) |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for n in LEVELS:
        a, b = local[n], remote[n]
        lines.append(f"| {n} | {a[0]:.0f} | {b[0]:.0f} | {b[0] / a[0]:.2f} | {a[1]:.2f} | {b[1]:.2f} | {b[2]:.2f} |")
    lines += ["", f"1-token completions through the server, 16 at a time: {rps:.0f} requests/s."]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
