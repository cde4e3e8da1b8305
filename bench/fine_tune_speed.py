"""Training tokens/s of the fine-tuning loop (packed rows, bf16 base weights where the CPU has fast bf16,
the vocabulary projection only on labelled tokens) against a plain transformers + peft loop (padded batches,
fp32, ``model(..., labels=...).loss``) on the same data, the same LoRA settings and the same steps, measured
in the same run, alternating rounds. A second baseline, fairer to the plain loop, gives it bf16 weights too.

    .venv/bin/python bench/fine_tune_speed.py [--rounds 2] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import torch

from llmaas.providers.huggingface.management.loading import builtin_sources, ensure_converted
from llmaas.providers.huggingface.tuning.training import (
    TrainingConfig,
    encode,
    load_for_training,
    padded_batch,
    train_lora,
)

DATA = Path(__file__).resolve().parent.parent / "examples" / "data" / "pirate_train.jsonl"


def plain_loop(folder: Path, rows: list[dict], config: TrainingConfig, bf16: bool) -> float:
    """The loop a tutorial writes: padded batches, the model's own loss. Returns tokens/s."""
    tok, model = load_for_training(folder, TrainingConfig(**{**config.__dict__, "bf16": bf16}))
    examples = encode(tok, rows, 2048)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate)
    order = list(range(len(examples)))
    random.Random(0).shuffle(order)
    model.train()
    tokens, start = 0, time.perf_counter()
    for _ in range(config.epochs):
        for s in range(0, len(order), config.batch_size):
            chosen = [examples[i] for i in order[s:s + config.batch_size]]
            loss = model(**padded_batch(chosen, tok.pad_token_id)).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            tokens += sum(len(ids) for ids, _ in chosen)
    return tokens / (time.perf_counter() - start)


def ours(folder: Path, rows: list[dict], config: TrainingConfig) -> float:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        began = []

        def on_step(step):  # the clock starts at the first step, as the plain loop's does after loading
            began.append((time.perf_counter(), step.tokens))
            return True

        metrics = train_lora(folder, rows, Path(out), config, on_step)
    del start
    first_time, first_tokens = began[0]
    elapsed = began[-1][0] - first_time
    return (metrics["trained_tokens"] - first_tokens) / elapsed


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--epochs", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    folder = ensure_converted(builtin_sources()["smollm2-135m-instruct"], progress=False)
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    config = TrainingConfig(epochs=args.epochs, batch_size=4, threads=args.threads)
    results: dict[str, list[float]] = {"plain fp32": [], "plain bf16": [], "llmaas": []}
    for _ in range(args.rounds):
        results["plain fp32"].append(plain_loop(folder, rows, config, bf16=False))
        results["plain bf16"].append(plain_loop(folder, rows, config, bf16=True))
        results["llmaas"].append(ours(folder, rows, config))
    base = statistics.median(results["plain fp32"])
    fair = statistics.median(results["plain bf16"])
    lines = ["| training loop | tokens/s (median) | vs plain fp32 loop | vs plain bf16 loop |",
             "| --- | ---: | ---: | ---: |"]
    for name, values in results.items():
        med = statistics.median(values)
        lines.append(f"| {name} | {med:.1f} | {med / base:.2f} | {med / fair:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
