"""Batches in the engine's idle capacity, in process (one engine, 2 cores), all in one sitting:

1. throughput: a chat batch of ``--requests`` requests alone (output tokens over the batch's wall time), against
   64 concurrent interactive requests of the same shape (the issue's baseline: one wave of 64, all admitted and
   finished together; two waves before the batch and two after it, so that a machine that slows under minutes
   of load, as these shared machines do, weighs on both sides), and against the same ``--requests`` requests
   sent by 64 interactive clients that each send their next request when the last is answered (the same work
   as the batch, arriving as the batch's does); the batch's rate in each quarter of its requests shows whether
   it slows as it goes; with ``--rounds``, rounds of two waves and a smaller batch in turn;
2. interactive latency: time to first token and inter-token latency of streamed requests, one at a time, on
   an idle engine and while a second batch runs (the batch's sequences give up their slots), in alternating
   blocks (``--blocks``), so that a machine that slows or speeds up during the sitting weighs on both sides
   alike; each block's batch is cancelled, and the engine left idle, before the next idle block.

Every request: the same short chat prompt, ``max_tokens`` output tokens with ``ignore_eos``; the latency probes
decode greedily, so every probe asks for the same tokens and only where it lands differs."""

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


async def _waves(c, tokens: int) -> float:
    """Output tokens/s of two waves of 64 concurrent interactive requests, one after the other (their mean)."""
    return statistics.mean([await _interactive(c, 64, tokens) for _ in range(2)])


async def _steady(c, n: int, tokens: int, clients: int = 64) -> float:
    """``n`` requests by ``clients`` concurrent clients, each sending its next when the last is answered."""
    left = iter(range(n))
    out: list[int] = []

    async def client() -> None:
        for _ in left:
            r = await c.chat.completions.create(model=MODEL, messages=MSG, max_tokens=tokens,
                                                extra_body={"ignore_eos": True})
            out.append(r.usage.completion_tokens)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return sum(out) / (time.perf_counter() - start)


async def _probe(c, tokens: int) -> tuple[float, float]:
    start = time.perf_counter()
    stream = await c.chat.completions.create(model=MODEL, messages=MSG, max_tokens=tokens, stream=True,
                                             temperature=0, extra_body={"ignore_eos": True})
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


async def _until_done(c, batch_id: str, seen: list[tuple[float, int]] | None = None):
    """The batch once it ends; ``seen`` gets (time, requests completed) at every look."""
    while True:
        b = await c.batches.retrieve(batch_id)
        if seen is not None:
            seen.append((time.perf_counter(), b.request_counts.completed if b.request_counts else 0))
        if b.status in ("completed", "failed", "expired", "cancelled"):
            return b
        await asyncio.sleep(0.5)


async def _timed_batch(c, n: int, tokens: int, seen: list[tuple[float, int]] | None = None) -> tuple[float, float]:
    """A batch of ``n`` requests run to its end: its output tokens/s over its wall time, and when it started."""
    started = time.perf_counter()
    done = await _until_done(c, (await _batch(c, n, tokens)).id, seen)
    return done.usage.output_tokens / (time.perf_counter() - started), started


async def _latency(c, engine, probes: int, blocks: int, tokens: int):
    """Probes on the idle engine and while a batch runs, ``blocks`` times in turn: (idle TTFT, idle ITL, busy TTFT,
    busy ITL), each a list over all blocks."""
    idle_ttft: list[float] = []
    idle_itl: list[float] = []
    busy_ttft: list[float] = []
    busy_itl: list[float] = []
    for block in range(blocks):
        share = probes // blocks + (block < probes % blocks)
        a, b = await _probes(c, share, tokens)
        idle_ttft += a
        idle_itl += b
        batch = await _batch(c, max(200, share * 40), tokens)
        await asyncio.sleep(3)  # the batch fills the engine
        a, b = await _probes(c, share, tokens)
        busy_ttft += a
        busy_itl += b
        await c.batches.cancel(batch.id)
        await _until_done(c, batch.id)
        while engine.running or engine.queue_depth:  # what the cancelled batch left in the engine drains
            await asyncio.sleep(0.2)
    return idle_ttft, idle_itl, busy_ttft, busy_itl


async def _alternating(c, rounds: int, requests: int, tokens: int) -> list[tuple[float, float]]:
    """``rounds`` times in turn: two waves of 64 concurrent interactive requests, then a batch of ``requests``
    alone; (interactive, batch) output tokens/s per round. Phases minutes apart on a shared machine can differ
    by a third in speed (measured), so a ratio taken between neighbours says more than one taken across the
    sitting."""
    out = []
    for _ in range(rounds):
        interactive = await _waves(c, tokens)
        out.append((interactive, (await _timed_batch(c, requests, tokens))[0]))
    return out


def _quarters(seen: list[tuple[float, int]], started: float, total: int, tokens: int) -> list[float]:
    """Output tokens/s over each quarter of the batch's requests (from when the quarter before it ended)."""
    rates, last_t, last_n = [], started, 0
    for q in (1, 2, 3, 4):
        t, n = next(((t, n) for t, n in seen if n >= total * q // 4), seen[-1])
        rates.append((n - last_n) * tokens / max(t - last_t, 1e-9))
        last_t, last_n = t, n
    return rates


class _Passes:
    """Counts and times the engine's prefill passes and decode steps (its methods wrapped on the instance), to
    show where a phase's time went: how many prefill passes per decode step, how many sequences each carried,
    and how full the decode steps were."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.reset()
        for name in ("_prefill", "_decode_step"):
            self._wrap(name)

    def close(self) -> None:
        """Unwrap: the engine must not outlive the client through these closures (freed at interpreter exit,
        torch aborts the process)."""
        for name in ("_prefill", "_decode_step"):
            self.engine.__dict__.pop(name, None)
        self.engine = None

    def reset(self) -> None:
        self.prefills = self.prefill_rows = self.decodes = self.decode_rows = 0
        self.prefill_s = self.decode_s = 0.0

    def _wrap(self, name: str) -> None:
        inner = getattr(self.engine, name)

        def timed(*args):
            start = time.perf_counter()
            try:
                return inner(*args)
            finally:
                took = time.perf_counter() - start
                if name == "_prefill":
                    self.prefills += 1
                    self.prefill_rows += len(args[0])
                    self.prefill_s += took
                else:
                    self.decodes += 1
                    self.decode_rows += len(self.engine._running)
                    self.decode_s += took

        setattr(self.engine, name, timed)

    def row(self, label: str) -> str:
        d = max(self.decodes, 1)
        share = self.prefill_s / max(self.prefill_s + self.decode_s, 1e-9)
        return (f"| {label} | {self.prefills / d:.2f} | {self.prefill_rows / max(self.prefills, 1):.1f} | "
                f"{self.decode_rows / d:.1f} | {share:.0%} | {self.decode_s / d * 1000:.0f} |")


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def run(requests: int, tokens: int, probes: int, with_steady: bool = True, blocks: int = 4,
              rounds: int = 0, round_requests: int = 500) -> str:
    import llmaas

    async with llmaas.AsyncClient(provider="hf", provider_options={"hf": {"progress": False}}) as c:
        await c.chat.completions.create(model=MODEL, messages=MSG, max_tokens=4)
        await _interactive(c, 64, tokens)  # warm every batch size
        engine = next(iter(c.provider().pool.engines.values()))
        passes = _Passes(engine)
        before = await _waves(c, tokens)
        where = [passes.row("64 concurrent interactive requests (two waves, before the batch)")]
        passes.reset()
        seen: list[tuple[float, int]] = []
        batch_rate, started = await _timed_batch(c, requests, tokens, seen)
        quarters = _quarters(seen, started, requests, tokens)
        where.append(passes.row(f"the {requests}-request batch alone"))
        passes.reset()
        after = await _waves(c, tokens)
        where.append(passes.row("64 concurrent interactive requests (two waves, after the batch)"))
        interactive = (before + after) / 2
        passes.reset()
        steady = await _steady(c, requests, tokens) if with_steady else None
        if steady:
            where.append(passes.row(f"the same {requests} requests by 64 interactive clients"))
        alternating = await _alternating(c, rounds, round_requests, tokens)
        idle_ttft, idle_itl, busy_ttft, busy_itl = await _latency(c, engine, probes, blocks, tokens)
        preempted, resumed = engine.preempted, engine.resumed
        passes.close()
        del passes, engine
    rows = [
        "| measure | value | target |",
        "| --- | ---: | --- |",
        f"| {requests}-request chat batch alone, output tokens/s | {batch_rate:.0f} | |",
        f"| 64 concurrent interactive requests, output tokens/s: before the batch, after it, mean | {before:.0f}, "
        f"{after:.0f}, {interactive:.0f} | |",
        f"| batch / interactive | {batch_rate / interactive:.3f}x | at least 0.9x |",
        *([f"| {round_requests}-request batch / the two waves just before it, by round | "
           + ", ".join(f"{b:.0f} / {i:.0f} = {b / i:.3f}x" for i, b in alternating)
           + f"; median {statistics.median(b / i for i, b in alternating):.3f}x | |"] if alternating else []),
        *([f"| the same {requests} requests by 64 interactive clients, output tokens/s | {steady:.0f} | |",
           f"| batch / the same requests interactive | {batch_rate / steady:.3f}x | |"] if steady else []),
        "| the batch's output tokens/s by quarter of its requests | "
        + " / ".join(f"{r:.0f}" for r in quarters) + " | |",
        f"| time to first token p50, idle / while a batch runs (s) | {_p(idle_ttft, 50):.3f} / {_p(busy_ttft, 50):.3f}"
        f" = {_p(busy_ttft, 50) / _p(idle_ttft, 50):.2f}x | at most 1.25x |",
        f"| time to first token p95, idle / while a batch runs (s) | {_p(idle_ttft, 95):.3f} / {_p(busy_ttft, 95):.3f}"
        f" = {_p(busy_ttft, 95) / _p(idle_ttft, 95):.2f}x | at most 1.25x |",
        f"| inter-token latency p50, idle / while a batch runs (ms) | {_p(idle_itl, 50) * 1000:.1f} / "
        f"{_p(busy_itl, 50) * 1000:.1f} = {_p(busy_itl, 50) / _p(idle_itl, 50):.2f}x | at most 1.25x |",
        f"| batch requests that gave up their slots to the {probes} interactive ones | {preempted} | |",
        f"| batch sequences parked and resumed (prefilled again with their tokens) | {resumed} | |",
    ]
    rows += ["", "| phase | prefill passes per decode step | sequences per prefill pass | sequences per decode step | "
             "time in prefill | ms per decode step |", "| --- | ---: | ---: | ---: | ---: | ---: |", *where]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--tokens", type=int, default=32)
    p.add_argument("--probes", type=int, default=60, help="latency probes a side (idle, and while a batch runs)")
    p.add_argument("--blocks", type=int, default=4, help="alternating idle and busy blocks the probes are split into")
    p.add_argument("--rounds", type=int, default=0,
                   help="then this many rounds of two interactive waves and a batch of --round-requests, in turn")
    p.add_argument("--round-requests", type=int, default=500)
    p.add_argument("--no-steady", action="store_true",
                   help="leave out the second baseline (the batch's requests sent by 64 interactive clients)")
    args = p.parse_args(argv)
    return asyncio.run(run(args.requests, args.tokens, args.probes, not args.no_steady, args.blocks, args.rounds,
                           args.round_requests))


if __name__ == "__main__":
    print(main())
