"""Per-request client overhead against a trivial OpenAI-shaped server (llmaas.testing.StubServer) in its own process.

Same run, same server: llmaas against openai-python and raw httpx, sequential (sync clients) and
16 concurrent (async clients). The server's own cost is the same for all three, so the differences are
the clients'.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import time

import httpx
import openai

import llmaas

MSG = [{"role": "user", "content": "hi"}]


def seq_sdk(client_class: type, url: str, n: int) -> float:
    """Seconds per chat request, one after another, with an OpenAI-shaped sync client."""
    with client_class(base_url=url, api_key="k") as c:
        c.chat.completions.create(model="m", messages=MSG)
        t = time.perf_counter()
        for _ in range(n):
            c.chat.completions.create(model="m", messages=MSG)
        return (time.perf_counter() - t) / n


def seq_httpx(url: str, n: int) -> float:
    body = {"model": "m", "messages": MSG}
    with httpx.Client() as c:
        c.post(f"{url}/chat/completions", json=body)
        t = time.perf_counter()
        for _ in range(n):
            json.loads(c.post(f"{url}/chat/completions", json=body).content)
        return (time.perf_counter() - t) / n


async def _gather(call, n: int, conc: int) -> float:
    sem = asyncio.Semaphore(conc)

    async def one():
        async with sem:
            await call()

    await one()
    t = time.perf_counter()
    await asyncio.gather(*[one() for _ in range(n)])
    return (time.perf_counter() - t) / n


async def conc_llmaas(url: str, n: int, conc: int) -> float:
    async with llmaas.AsyncClient(base_url=url, api_key="k") as c:
        return await _gather(lambda: c.chat.completions.create(model="m", messages=MSG), n, conc)


async def conc_openai(url: str, n: int, conc: int) -> float:
    async with openai.AsyncOpenAI(base_url=url, api_key="k") as c:
        return await _gather(lambda: c.chat.completions.create(model="m", messages=MSG), n, conc)


async def conc_httpx(url: str, n: int, conc: int) -> float:
    body = {"model": "m", "messages": MSG}
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=100)) as c:
        async def call():
            return json.loads((await c.post(f"{url}/chat/completions", json=body)).content)
        return await _gather(call, n, conc)


def main(n: int = 400, rounds: int = 3) -> str:
    rows = {k: [] for k in ("llmaas", "openai-python", "raw httpx")}
    crow = {k: [] for k in rows}
    # the server runs in its own process, so it does not share the clients' interpreter lock
    server = subprocess.Popen([sys.executable, "-m", "llmaas.testing"], stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().strip()
        for _ in range(rounds):  # interleaved rounds, so drift in machine load hits all three alike
            rows["llmaas"].append(seq_sdk(llmaas.Client, url, n))
            rows["openai-python"].append(seq_sdk(openai.OpenAI, url, n))
            rows["raw httpx"].append(seq_httpx(url, n))
            crow["llmaas"].append(asyncio.run(conc_llmaas(url, n, 16)))
            crow["openai-python"].append(asyncio.run(conc_openai(url, n, 16)))
            crow["raw httpx"].append(asyncio.run(conc_httpx(url, n, 16)))
    finally:
        server.terminate()
        server.wait()
    seq = {k: statistics.median(v) for k, v in rows.items()}
    con = {k: statistics.median(v) for k, v in crow.items()}
    lines = ["| client | sequential ms/request | vs openai-python | 16 concurrent ms/request | vs openai-python |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for k in rows:
        lines.append(f"| {k} | {seq[k] * 1000:.2f} | {seq[k] / seq['openai-python']:.2f} | "
                     f"{con[k] * 1000:.2f} | {con[k] / con['openai-python']:.2f} |")
    lines.append("")
    lines.append(f"{n} chat requests per measurement, median of {rounds} interleaved rounds; openai {openai.__version__}, "
                 f"httpx {httpx.__version__}.")
    return "\n".join(lines)


if __name__ == "__main__":
    print(main(*(int(a) for a in sys.argv[1:])))
