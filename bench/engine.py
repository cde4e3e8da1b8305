"""The in-process engine against plain transformers, same model, same machine, same run.

- single request decode tokens/s: llmaas (public AsyncClient, streaming) vs ``model.generate`` (fp32, the
  tutorial default, and bf16);
- aggregate tokens/s with 8, 32 and 64 concurrent requests of 128 new tokens vs transformers' static
  batched ``generate`` at batch 32;
- time to first token at 32 concurrent (p50, p95);
- cold start: ``Client()`` to the first answer, in a fresh process, first run (GGUF conversion) and cached;
- llama-cpp-python on the same GGUF, where it is installed.

Usage: python bench/engine.py [--quick]
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import torch

import llmaas
from llmaas.providers.huggingface import HuggingFaceProvider
from llmaas.providers.huggingface.loading import SMOLLM2, ensure_converted, resolve_source

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


async def _one(client: llmaas.AsyncClient, i: int) -> tuple[float, int, float]:
    """(time to first token, tokens, end time) for one streamed request of NEW_TOKENS tokens."""
    start = time.perf_counter()
    first = None
    usage = 0
    stream = await client.chat.completions.create(
        model=SMOLLM2, messages=messages(i), max_tokens=NEW_TOKENS, temperature=0, ignore_eos=True, stream=True,
        stream_options={"include_usage": True})
    async for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - start
        if chunk.usage:
            usage = chunk.usage.completion_tokens
    return first or 0.0, usage, time.perf_counter()


async def llmaas_concurrent(provider: HuggingFaceProvider, n: int) -> tuple[float, list[float]]:
    async with llmaas.AsyncClient(provider=provider) as client:
        await _one(client, 0)  # warm-up: model loaded, caches allocated
        start = time.perf_counter()
        results = await asyncio.gather(*(_one(client, i) for i in range(n)))
        elapsed = time.perf_counter() - start
    return sum(r[1] for r in results) / elapsed, [r[0] for r in results]


def llmaas_single(provider: HuggingFaceProvider) -> float:
    async def run() -> float:
        async with llmaas.AsyncClient(provider=provider) as client:
            await _one(client, 0)
            ttft, tokens, _ = await _one(client, 1)
            start = time.perf_counter()
            _, tokens, end = await _one(client, 2)
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


def isolated(kind: str, *args: str) -> Any:
    """Run one contestant in a fresh process: torch called from two threads of one process (a baseline in
    the main thread, the engine on its own) ran the engine about 40% slower here, so no run shares a
    process with another."""
    out = subprocess.run([sys.executable, __file__, "--only", kind, *args], capture_output=True, text=True,
                         check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_only(kind: str, args: list[str]) -> Any:
    threads = int(args[0])
    if kind == "hf_single":
        return hf_single(getattr(torch, args[1]), threads)
    if kind == "hf_static":
        return hf_static_batch(int(args[2]), getattr(torch, args[1]), threads)
    if kind == "llama_cpp":
        return llama_cpp(threads)
    if kind == "llmaas":
        provider = HuggingFaceProvider(progress=False)
        single = llmaas_single(provider)
        levels = {n: asyncio.run(llmaas_concurrent(provider, n)) for n in map(int, args[1:])}
        return {"single": single, "levels": {n: [r, t] for n, (r, t) in levels.items()},
                "dtype": provider.settings.torch_dtype_name}
    raise ValueError(kind)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main(quick: bool = False) -> str:
    threads = HuggingFaceProvider(progress=False).settings.thread_count
    t = str(threads)
    levels = (8, 32) if quick else (8, 32, 64)
    lines = [f"Machine: {os.cpu_count()} cores, torch {torch.__version__}, {threads} threads for every contestant; "
             f"{NEW_TOKENS} new tokens per request, greedy; each contestant in a fresh process.", ""]
    base_fp32 = isolated("hf_single", t, "float32")
    base_bf16 = isolated("hf_single", t, "bfloat16")
    ours = isolated("llmaas", t, *map(str, levels))
    lines += ["### Single request decode", "",
              "| engine | tokens/s | vs transformers generate (fp32) |", "| --- | ---: | ---: |",
              f"| transformers `generate`, fp32 (the default) | {base_fp32:.1f} | 1.00 |",
              f"| transformers `generate`, bf16 | {base_bf16:.1f} | {base_bf16 / base_fp32:.2f} |",
              f"| llmaas engine ({ours['dtype']}, streamed through AsyncClient) | {ours['single']:.1f} | "
              f"{ours['single'] / base_fp32:.2f} |"]
    cpp = None if quick else isolated("llama_cpp", t)
    if cpp:
        lines.append(f"| llama-cpp-python, same GGUF (Q4_1) | {cpp[0]:.1f} | {cpp[0] / base_fp32:.2f} |")
    static = isolated("hf_static", t, ours["dtype"], "32")
    lines += ["", "### Concurrent requests (aggregate tokens/s)", "",
              f"Baseline: transformers static batched `generate` at batch 32 ({ours['dtype']}): {static:.0f} tokens/s.",
              "", "| concurrent requests | llmaas tokens/s | vs static batch 32 | TTFT p50 (s) | TTFT p95 (s) |",
              "| ---: | ---: | ---: | ---: | ---: |"]
    for n in levels:
        rate, ttfts = ours["levels"][str(n)]
        lines.append(f"| {n} | {rate:.0f} | {rate / static:.2f} | {statistics.median(ttfts):.2f} | "
                     f"{pct(ttfts, 0.95):.2f} |")
    if cpp:
        lines.append(f"| 8 (llama-cpp-python, one at a time) | {cpp[1]:.0f} | {cpp[1] / static:.2f} | | |")
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
