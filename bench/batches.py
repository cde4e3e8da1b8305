"""Batches in the engine's idle capacity, in process (one engine, 2 cores), all in one sitting:

1. throughput: a chat batch of ``--requests`` requests alone (output tokens over the batch's wall time), against
   64 concurrent interactive requests of the same shape (the issue's baseline);
2. interactive latency: time to first token and inter-token latency of streamed requests, one at a time, on
   an idle engine, then while a second batch runs (the batch's sequences give up their slots).

Every request: the same short chat prompt, ``max_tokens`` output tokens with ``ignore_eos``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time

os.environ.setdefault("LLMAAS_HOME", tempfile.mkdtemp(prefix="llmaas-bench-batches-"))
os.environ.setdefault("LLMAAS_BATCH_CONCURRENCY", "64")

MODEL = "smollm2-135m-instruct"
MSG = [{"role": "user", "content": "Write a short note about the sea."}]


def _lines(n: int, tokens: int) -> bytes:
    return "\n".join(json.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions", "body": {
        "model": MODEL, "messages": MSG, "max_tokens": tokens, "ignore_eos": True}}) for i in range(n)).encode()


async def _interactive(c, n: int, tokens: int) -> float:
    start = time.perf_counter()
    out = await asyncio.gather(*(c.chat.completions.create(model=MODEL, messages=MSG, max_tokens=tokens,
                                                            extra_body={"ignore_eos": True}) for _ in range(n)))
    return sum(r.usage.completion_tokens for r in out) / (time.perf_counter() - start)


async def _probe(c, tokens: int) -> tuple[float, float]:
    start = time.perf_counter()
    stream = await c.chat.completions.create(model=MODEL, messages=MSG, max_tokens=tokens, stream=True,
                                             extra_body={"ignore_eos": True})
    times = []
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            times.append(time.perf_counter() - start)
    return times[0], (times[-1] - times[0]) / max(1, len(times) - 1)


async def _probes(c, count: int, tokens: int) -> tuple[list[float], list[float]]:
    ttft, itl = [], []
    for _ in range(count):
        a, b = await _probe(c, tokens)
        ttft.append(a)
        itl.append(b)
        await asyncio.sleep(0.2)
    return ttft, itl


async def _batch(c, n: int, tokens: int):
    upload = await c.files.create(file=("b.jsonl", _lines(n, tokens)), purpose="batch")
    return await c.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions")


async def _until_done(c, batch_id: str):
    while True:
        b = await c.batches.retrieve(batch_id)
        if b.status in ("completed", "failed", "expired", "cancelled"):
            return b
        await asyncio.sleep(0.5)


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def run(requests: int, tokens: int, probes: int) -> str:
    import llmaas

    async with llmaas.AsyncClient(provider="hf", provider_options={"hf": {"progress": False}}) as c:
        await c.chat.completions.create(model=MODEL, messages=MSG, max_tokens=4)
        await _interactive(c, 64, tokens)  # warm every batch size
        interactive = statistics.median([await _interactive(c, 64, tokens) for _ in range(2)])
        started = time.perf_counter()
        done = await _until_done(c, (await _batch(c, requests, tokens)).id)
        batch_rate = done.usage.output_tokens / (time.perf_counter() - started)
        idle_ttft, idle_itl = await _probes(c, probes, tokens)
        second = await _batch(c, max(200, probes * 40), tokens)
        await asyncio.sleep(3)  # the batch fills the engine
        busy_ttft, busy_itl = await _probes(c, probes, tokens)
        await c.batches.cancel(second.id)
        engine = next(iter(c.provider().pool.engines.values()))
        preempted, resumed = engine.preempted, engine.resumed
    rows = [
        "| measure | value | target |",
        "| --- | ---: | --- |",
        f"| {requests}-request chat batch alone, output tokens/s | {batch_rate:.0f} | |",
        f"| 64 concurrent interactive requests, output tokens/s | {interactive:.0f} | |",
        f"| batch / interactive | {batch_rate / interactive:.2f}x | at least 0.9x |",
        f"| time to first token p50, idle / while a batch runs (s) | {_p(idle_ttft, 50):.3f} / {_p(busy_ttft, 50):.3f}"
        f" = {_p(busy_ttft, 50) / _p(idle_ttft, 50):.2f}x | at most 1.25x |",
        f"| time to first token p95, idle / while a batch runs (s) | {_p(idle_ttft, 95):.3f} / {_p(busy_ttft, 95):.3f}"
        f" = {_p(busy_ttft, 95) / _p(idle_ttft, 95):.2f}x | at most 1.25x |",
        f"| inter-token latency p50, idle / while a batch runs (ms) | {_p(idle_itl, 50) * 1000:.1f} / "
        f"{_p(busy_itl, 50) * 1000:.1f} = {_p(busy_itl, 50) / _p(idle_itl, 50):.2f}x | at most 1.25x |",
        f"| batch requests that gave up their slots to the {probes} interactive ones | {preempted} | |",
        f"| batch sequences parked and resumed (prefilled again with their tokens) | {resumed} | |",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--tokens", type=int, default=32)
    p.add_argument("--probes", type=int, default=40)
    args = p.parse_args(argv)
    return asyncio.run(run(args.requests, args.tokens, args.probes))


if __name__ == "__main__":
    print(main())
