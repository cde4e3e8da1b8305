"""The in-process engine against plain transformers, same model, same machine, same run.

- single request decode tokens/s: llmaas (public AsyncClient, streaming) vs ``model.generate`` (fp32, the
  tutorial default, and bf16);
- aggregate tokens/s with 8, 32 and 64 concurrent requests of 128 new tokens vs transformers' static
  batched ``generate`` at batch 32, in fp32 and in bf16;
- time to first token and inter-token latency (p50, p95) at each level, and each process's peak memory;
- the engine's variants in the same run: the default, with torch ops instead of the native kernels
  (``LLMAAS_NATIVE_KERNELS=off``), with dynamic int8 matmuls instead of bf16
  (``LLMAAS_INT8_MATMUL=on``, opt-in), and with prefill unchunked (``LLMAAS_PREFILL_CHUNK=4096``: a burst of
  prompts prefilled in one pass, as before chunking);
- 64 sustained clients, each sending its next request when the last is answered (vLLM's
  ``benchmark_serving`` at a fixed concurrency): greedy with ``ignore_eos``, and sampled at temperature 0.7
  and 1.0, ending at end-of-turn or 128 tokens, against the same static-batch baselines;
- cold start: ``Client()`` to the first answer, in a fresh process, first run (GGUF conversion) and cached;
- llama-cpp-python on the same GGUF, where it is installed.

Usage: python bench/engine.py [--quick]
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import torch

import llmaas
from llmaas.providers.huggingface import HuggingFaceProvider
from llmaas.providers.huggingface.management.loading import SMOLLM2, ensure_converted, resolve_source

NEW_TOKENS = 128
PROMPT = "Write a detailed essay about the history of the Roman Empire, its rise and its fall."


def messages(i: int = 0) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"{PROMPT} (Essay number {i}.)"}]


# -- transformers baselines ---------------------------------------------------------------------------


def hf_single(dtype: torch.dtype, threads: int) -> float:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(threads)
    folder = ensure_converted(resolve_source(SMOLLM2), progress=False)
    tok = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype)
    ids = tok.apply_chat_template(messages(), add_generation_prompt=True, return_tensors="pt", return_dict=True)
    model.generate(**ids, max_new_tokens=8, min_new_tokens=8, do_sample=False)  # warm-up
    start = time.perf_counter()
    out = model.generate(**ids, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False)
    elapsed = time.perf_counter() - start
    return (out.shape[1] - ids["input_ids"].shape[1]) / elapsed


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def hf_static_batch(batch: int, dtype: torch.dtype, threads: int) -> float:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(threads)
    folder = ensure_converted(resolve_source(SMOLLM2), progress=False)
    tok = AutoTokenizer.from_pretrained(str(folder), padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype)
    texts = [tok.apply_chat_template(messages(i), add_generation_prompt=True, tokenize=False) for i in range(batch)]
    enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    model.generate(**enc, max_new_tokens=4, min_new_tokens=4, do_sample=False)
    start = time.perf_counter()
    out = model.generate(**enc, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False)
    elapsed = time.perf_counter() - start
    return batch * (out.shape[1] - enc["input_ids"].shape[1]) / elapsed


# -- llmaas -------------------------------------------------------------------------------------------


async def _one(client: llmaas.AsyncClient, i: int) -> tuple[float, int, float, list[float]]:
    """(time to first token, tokens, end time, gaps between content chunks) for one streamed request of
    NEW_TOKENS tokens."""
    start = time.perf_counter()
    first = None
    usage = 0
    arrivals: list[float] = []
    stream = await client.chat.completions.create(
        model=SMOLLM2, messages=messages(i), max_tokens=NEW_TOKENS, temperature=0, ignore_eos=True, stream=True,
        stream_options={"include_usage": True})
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            now = time.perf_counter()
            arrivals.append(now)
            if first is None:
                first = now - start
        if chunk.usage:
            usage = chunk.usage.completion_tokens
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    return first or 0.0, usage, time.perf_counter(), gaps


async def llmaas_concurrent(provider: HuggingFaceProvider, n: int) -> tuple[float, list[float], list[float]]:
    async with llmaas.AsyncClient(provider=provider) as client:
        await _one(client, 0)  # warm-up: model loaded, caches allocated
        start = time.perf_counter()
        results = await asyncio.gather(*(_one(client, i) for i in range(n)))
        elapsed = time.perf_counter() - start
    return sum(r[1] for r in results) / elapsed, [r[0] for r in results], [g for r in results for g in r[3]]


SUSTAINED = {  # workload: (temperature, ignore_eos)
    "greedy, 128 tokens each (`ignore_eos`)": (0.0, True),
    "temperature 0.7, ending at end-of-turn or 128 tokens": (0.7, False),
    "temperature 1.0, ending at end-of-turn or 128 tokens": (1.0, False),
}


async def sustained(provider: HuggingFaceProvider, clients: int, seconds: float, temperature: float,
                    ignore_eos: bool) -> dict[str, float]:
    """``clients`` clients, each sending its next request as soon as the last is answered, starting new ones
    for ``seconds`` (as vLLM's ``benchmark_serving`` at a fixed concurrency): every answer's completion
    tokens over the time until the last one came back, requests answered and their mean length."""
    async with llmaas.AsyncClient(provider=provider) as client:
        await _one(client, 0)  # warm-up
        start = time.perf_counter()
        deadline = start + seconds
        tokens: list[int] = []

        async def user(u: int) -> None:
            i = 0
            while time.perf_counter() < deadline:
                r = await client.chat.completions.create(
                    model=SMOLLM2, messages=messages(u * 1000 + i), max_tokens=NEW_TOKENS, temperature=temperature,
                    ignore_eos=ignore_eos)
                tokens.append(r.usage.completion_tokens if r.usage else 0)
                i += 1

        await asyncio.gather(*(user(u) for u in range(clients)))
        elapsed = time.perf_counter() - start
    return {"tokens_per_s": sum(tokens) / elapsed, "requests": len(tokens),
            "mean_tokens": sum(tokens) / max(1, len(tokens))}


def llmaas_single(provider: HuggingFaceProvider) -> float:
    async def run() -> float:
        async with llmaas.AsyncClient(provider=provider) as client:
            await _one(client, 0)
            await _one(client, 1)
            start = time.perf_counter()
            _, tokens, end, _ = await _one(client, 2)
            return tokens / (end - start)

    return asyncio.run(run())


def cold_start(home: str) -> float:
    code = ("import time; t = time.perf_counter(); import llmaas; c = llmaas.Client(); "
            "c.chat.completions.create(model='smollm2-135m-instruct', max_tokens=8, "
            "messages=[{'role': 'user', 'content': 'Hi'}]); print(time.perf_counter() - t)")
    env = {**os.environ, "LLMAAS_HOME": home, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def llama_cpp(threads: int) -> tuple[float, float] | None:
    try:
        from llama_cpp import Llama
    except ImportError:
        return None
    source = resolve_source(SMOLLM2)
    llm = Llama(model_path=str(source.path / source.gguf_file), n_threads=threads, n_ctx=2048, verbose=False)
    llm.create_chat_completion(messages=messages(), max_tokens=8, temperature=0)
    start = time.perf_counter()
    out = llm.create_chat_completion(messages=messages(), max_tokens=NEW_TOKENS, temperature=0)
    single = out["usage"]["completion_tokens"] / (time.perf_counter() - start)
    start, total = time.perf_counter(), 0
    for i in range(8):  # the binding serves one request at a time: 8 "concurrent" requests queue up
        total += llm.create_chat_completion(messages=messages(i), max_tokens=NEW_TOKENS,
                                            temperature=0)["usage"]["completion_tokens"]
    return single, total / (time.perf_counter() - start)


def isolated(kind: str, *args: str, env: dict[str, str] | None = None) -> Any:
    """Run one contestant in a fresh process: torch called from two threads of one process (a baseline in
    the main thread, the engine on its own) ran the engine about 40% slower here, so no run shares a
    process with another."""
    out = subprocess.run([sys.executable, __file__, "--only", kind, *args], capture_output=True, text=True,
                         check=True, env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})})
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_only(kind: str, args: list[str]) -> Any:
    threads = int(args[0])
    if kind == "hf_single":
        return hf_single(getattr(torch, args[1]), threads)
    if kind == "hf_static":
        return [hf_static_batch(int(args[2]), getattr(torch, args[1]), threads), peak_rss_gib()]
    if kind == "llama_cpp":
        return llama_cpp(threads)
    if kind == "llmaas":
        provider = HuggingFaceProvider(progress=False)
        single = llmaas_single(provider)
        levels = {n: asyncio.run(llmaas_concurrent(provider, n)) for n in map(int, args[1:])}
        return {"single": single, "levels": {n: list(v) for n, v in levels.items()},
                "dtype": provider.settings.torch_dtype_name, "peak_gib": peak_rss_gib()}
    if kind == "sustained":
        provider = HuggingFaceProvider(progress=False)
        clients, seconds = int(args[1]), float(args[2])
        return {name: asyncio.run(sustained(provider, clients, seconds, t, eos))
                for name, (t, eos) in SUSTAINED.items()}
    raise ValueError(kind)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


VARIANTS = {  # name: environment
    "default": {},
    "torch ops only (`LLMAAS_NATIVE_KERNELS=off`)": {"LLMAAS_NATIVE_KERNELS": "off"},
    "dynamic int8 matmuls (`LLMAAS_INT8_MATMUL=on`, opt-in: misses the fidelity gate)": {"LLMAAS_INT8_MATMUL": "on"},
    "prefill unchunked (`LLMAAS_PREFILL_CHUNK=4096`)": {"LLMAAS_PREFILL_CHUNK": "4096"},
}


def main(quick: bool = False) -> str:
    threads = HuggingFaceProvider(progress=False).settings.thread_count
    t = str(threads)
    levels = (8, 32) if quick else (8, 32, 64)
    lines = [f"Machine: {os.cpu_count()} cores, torch {torch.__version__}, {threads} threads for every contestant; "
             f"{NEW_TOKENS} new tokens per request, greedy; each contestant in a fresh process.", ""]
    base_fp32 = isolated("hf_single", t, "float32")
    base_bf16 = isolated("hf_single", t, "bfloat16")
    runs = {name: isolated("llmaas", t, *map(str, levels), env=env)
            for name, env in (list(VARIANTS.items())[:1] if quick else VARIANTS.items())}
    lines += ["### Single request decode", "",
              "| engine | tokens/s | vs transformers generate (fp32) |", "| --- | ---: | ---: |",
              f"| transformers `generate`, fp32 (the default) | {base_fp32:.1f} | 1.00 |",
              f"| transformers `generate`, bf16 | {base_bf16:.1f} | {base_bf16 / base_fp32:.2f} |"]
    for name, run in runs.items():
        lines.append(f"| llmaas engine, {name} ({run['dtype']}, streamed through AsyncClient) | {run['single']:.1f} | "
                     f"{run['single'] / base_fp32:.2f} |")
    cpp = None if quick else isolated("llama_cpp", t)
    if cpp:
        lines.append(f"| llama-cpp-python, same GGUF (Q4_1) | {cpp[0]:.1f} | {cpp[0] / base_fp32:.2f} |")
    static32, peak32 = isolated("hf_static", t, "float32", "32")
    static16, peak16 = isolated("hf_static", t, "bfloat16", "32")
    lines += ["", "### Concurrent requests (aggregate tokens/s, latency)", "",
              f"Baselines: transformers static batched `generate` at batch 32: fp32 {static32:.0f} tokens/s "
              f"(peak memory {peak32:.2f} GiB), bf16 {static16:.0f} tokens/s (peak {peak16:.2f} GiB).", "",
              "| engine | concurrent | tokens/s | vs static 32 fp32 | vs static 32 bf16 | TTFT p50 / p95 (s) | "
              "ITL p50 / p95 (ms) |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, run in runs.items():
        for n in levels:
            rate, ttfts, gaps = run["levels"][str(n)]
            lines.append(f"| {name} | {n} | {rate:.0f} | {rate / static32:.2f} | {rate / static16:.2f} | "
                         f"{statistics.median(ttfts):.2f} / {pct(ttfts, 0.95):.2f} | "
                         f"{1e3 * statistics.median(gaps):.0f} / {1e3 * pct(gaps, 0.95):.0f} |")
    lines += ["", "Peak memory of each llmaas process (resident, GiB): " + ", ".join(
        f"{name} {run['peak_gib']:.2f}" for name, run in runs.items())]
    if cpp:
        lines.append(f"\nllama-cpp-python, 8 requests one at a time: {cpp[1]:.0f} tokens/s.")
    seconds = 10 if quick else 40
    held = isolated("sustained", t, "64", str(seconds))
    lines += ["", f"### 64 sustained clients ({seconds} s each workload; each client sends its next request when "
              "the last is answered)", "",
              "| workload | completion tokens/s | vs static 32 fp32 | vs static 32 bf16 | requests answered | "
              "mean tokens |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in held.items():
        lines.append(f"| {name} | {r['tokens_per_s']:.0f} | {r['tokens_per_s'] / static32:.2f} | "
                     f"{r['tokens_per_s'] / static16:.2f} | {r['requests']} | {r['mean_tokens']:.0f} |")
    if not quick:
        with tempfile.TemporaryDirectory() as home:
            first = cold_start(home)
            cached = cold_start(home)
        lines += ["", "### Cold start (fresh process: `Client()` to the first answer)", "",
                  f"- first run (converts the GGUF to safetensors): {first:.1f} s",
                  f"- cached: {cached:.1f} s"]
    return "\n".join(lines)


if __name__ == "__main__":
    if "--only" in sys.argv:
        i = sys.argv.index("--only")
        print(json.dumps(run_only(sys.argv[i + 1], sys.argv[i + 2:])))
    else:
        print(main(quick="--quick" in sys.argv))
