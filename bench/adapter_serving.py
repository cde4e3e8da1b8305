"""Serving throughput with concurrent requests spread over the base model and two LoRA adapters (fine-tuned
models), against the same requests all to the base model, in the same run and the same engine (rounds
alternate). Target: at most 15% slower.

    .venv/bin/python bench/adapter_serving.py [--requests 16] [--tokens 64] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

import llmaas
from llmaas.providers.huggingface.management.loading import builtin_sources, ensure_converted
from llmaas.store import Store
from llmaas.store.jobs.records import register_model

BASE = "smollm2-135m-instruct"


def make_adapter(folder: Path, out: Path, seed: int) -> Path:
    """A LoRA adapter (rank 8 on q, k, v, o, as a job trains) with random small weights."""
    torch.manual_seed(seed)
    hf = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32, local_files_only=True)
    model = get_peft_model(hf, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                                          init_lora_weights=False))
    for name, p in model.named_parameters():
        if "lora_B" in name:
            p.data *= 0.01
    model.save_pretrained(str(out))
    return out


async def burst(client: llmaas.AsyncClient, models: list[str], n: int, tokens: int) -> float:
    async def one(i: int) -> int:
        r = await client.chat.completions.create(model=models[i % len(models)], max_tokens=tokens, temperature=0,
                                                 messages=[{"role": "user", "content": f"Tell me a story, {i}."}],
                                                 extra_body={"ignore_eos": True})
        return r.usage.completion_tokens if r.usage else 0

    start = time.perf_counter()
    done = await asyncio.gather(*(one(i) for i in range(n)))
    return sum(done) / (time.perf_counter() - start)


async def run(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=24)
    p.add_argument("--tokens", type=int, default=64)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    folder = ensure_converted(builtin_sources()[BASE], progress=False)
    with tempfile.TemporaryDirectory() as home:
        store = Store(Path(home))
        tuned = []
        for i in (1, 2):
            name = f"ft:{BASE}:bench{i}:ftjob-bench{i}"
            register_model(store, name, None, BASE, str(make_adapter(folder, Path(home) / f"a{i}", i)))
            tuned.append(name)
        store.close()
        async with llmaas.AsyncClient(provider_options={"hf": {"home": home, "progress": False}}) as client:
            await burst(client, [BASE, *tuned], 3, 4)  # load the engine and both adapters
            rates: dict[str, list[float]] = {"base only": [], "base + 2 adapters": []}
            for _ in range(args.rounds):
                rates["base only"].append(await burst(client, [BASE], args.requests, args.tokens))
                rates["base + 2 adapters"].append(await burst(client, [BASE, *tuned], args.requests, args.tokens))
    base = statistics.median(rates["base only"])
    lines = [f"{args.requests} concurrent chat requests of {args.tokens} tokens each, {args.rounds} rounds", "",
             "| requests to | completion tokens/s (median) | vs base only |", "| --- | ---: | ---: |"]
    for name, values in rates.items():
        med = statistics.median(values)
        lines.append(f"| {name} | {med:.1f} | {med / base:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    return asyncio.run(run(argv))


if __name__ == "__main__":
    print(main())
