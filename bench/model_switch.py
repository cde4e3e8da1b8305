"""Model management: time to register and to switch between two registered models under a memory budget
that holds one (cold: the GGUF converted on registering; cached: loaded from the converted copy), memory
per loaded model, and the transformers slow path's tokens/s against the compact engine on the same model
(SmolLM2, which both can run), in the same run.

    .venv/bin/python bench/model_switch.py [--switches 4] [--tokens 48] [--streams 4]
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import llmaas
from llmaas.providers.huggingface.management.loading import SMOLLM2, builtin_sources
from llmaas.providers.huggingface.model import compact as compact_model

GIB = 2**30


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def decode_speed(client: llmaas.AsyncClient, model: str, streams: int, tokens: int) -> float:
    async def one(i: int) -> int:
        r = await client.chat.completions.create(model=model, max_tokens=tokens, temperature=0, ignore_eos=True,
                                                 messages=[{"role": "user", "content": f"Tell me a story, {i}."}])
        return r.usage.completion_tokens if r.usage else 0

    await one(0)  # warm
    start = time.perf_counter()
    done = await asyncio.gather(*(one(i) for i in range(streams)))
    return sum(done) / (time.perf_counter() - start)


async def run(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser()
    p.add_argument("--switches", type=int, default=4)
    p.add_argument("--tokens", type=int, default=48)
    p.add_argument("--streams", type=int, default=4)
    args = p.parse_args(argv)
    gguf = builtin_sources()[SMOLLM2]
    home = tempfile.mkdtemp(prefix="llmaas-bench-")
    atexit.register(shutil.rmtree, home, True)  # the converted copy is 0.5 GB
    os.environ["LLMAAS_HOME"] = home  # a fresh cache: the first registration converts for real
    options = {"home": home, "progress": False, "kv_cache_gb": 0.25, "memory_budget_gb": 1.2, "max_engines": 4}
    lines = []
    async with llmaas.AsyncClient(provider="hf", provider_options={"hf": options}) as client:
        start = time.perf_counter()
        await client.models.register("smol-a", path=str(gguf.path / (gguf.gguf_file or "")))
        register_cold = time.perf_counter() - start
        folder = next(Path(home, "models").iterdir())  # the converted copy
        start = time.perf_counter()
        await client.models.register("smol-b", path=str(folder))  # the converted folder: nothing to convert
        register_folder = time.perf_counter() - start
        before = rss()
        start = time.perf_counter()
        first = await client.models.load("smol-a")
        load_first = time.perf_counter() - start
        grown = rss() - before
        switches = []
        for i in range(args.switches):
            start = time.perf_counter()
            loaded = await client.models.load("smol-b" if i % 2 == 0 else "smol-a")
            switches.append(time.perf_counter() - start)
            assert [m.id for m in await client.models.ps()] == [loaded.id], "the budget holds one model"
        ttft = []
        for i in range(2):
            name = "smol-a" if i % 2 == 0 else "smol-b"
            await client.models.unload("smol-a")
            await client.models.unload("smol-b")
            start = time.perf_counter()
            stream = await client.chat.completions.create(model=name, max_tokens=1, stream=True,
                                                          messages=[{"role": "user", "content": "Hi"}])
            async for _ in stream:
                break
            ttft.append(time.perf_counter() - start)
            await stream.aclose()
    lines += [
        "| step | seconds |", "| --- | --- |",
        f"| register a GGUF (cold: converted to safetensors once) | {register_cold:.1f} |",
        f"| register a Hugging Face folder (nothing to convert) | {register_folder:.3f} |",
        f"| first load (weights from the converted copy) | {load_first:.2f} |",
        f"| switch under a budget that holds one (unload the other, load this), median of {args.switches} | "
        f"{statistics.median(switches):.2f} |",
        f"| first token of a request to an unloaded model (load included), median of {len(ttft)} | "
        f"{statistics.median(ttft):.2f} |",
        "",
        f"Memory of the loaded SmolLM2 (`ps`, kv_cache_gb=0.25): {first.memory_bytes / GIB:.2f} GiB; the process "
        f"grew {grown / GIB:.2f} GiB on the first load.",
        "",
    ]

    speeds: dict[str, tuple[float, float, int]] = {}
    for path in ("compact", "transformers"):
        if path == "transformers":
            saved, compact_model.SUPPORTED = compact_model.SUPPORTED, frozenset()
        try:
            async with llmaas.AsyncClient(provider="hf", provider_options={"hf": {
                    "home": tempfile.mkdtemp(dir=home), "progress": False, "kv_cache_gb": 0.25}}) as client:
                await client.models.register("smol", path=str(folder))
                one = await decode_speed(client, "smol", 1, args.tokens)
                many = await decode_speed(client, "smol", args.streams, args.tokens)
                memory = (await client.models.ps())[0].memory_bytes
                speeds[path] = (one, many, memory)
        finally:
            if path == "transformers":
                compact_model.SUPPORTED = saved
    c, t = speeds["compact"], speeds["transformers"]
    lines += [
        f"| SmolLM2-135M, {args.tokens} tokens | compact engine | transformers path | compact / transformers |",
        "| --- | --- | --- | --- |",
        f"| 1 stream, tokens/s | {c[0]:.1f} | {t[0]:.1f} | {c[0] / t[0]:.2f}x |",
        f"| {args.streams} streams, aggregate tokens/s | {c[1]:.1f} | {t[1]:.1f} | {c[1] / t[1]:.2f}x |",
        f"| memory in `ps` | {c[2] / GIB:.2f} GiB | {t[2] / GIB:.2f} GiB | |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    return asyncio.run(run(argv))


if __name__ == "__main__":
    print(main())
