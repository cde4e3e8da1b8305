"""What a fine-tuning job teaches and what it keeps, for several learning rates, through the real path
(in-process client, store, worker process, adapter served by the engine), and the time from ``jobs.create``
to the first answer of the fine-tuned model.

Taught: the share of held-out questions (not in the training file) whose answer opens with the greeting the
training data uses. Kept: the share of factual probes the base model answers right that the tuned model
still answers right.

    .venv/bin/python bench/fine_tune_quality.py [--multipliers 0.5 1 2.5 5] [--epochs 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import llmaas
from llmaas.providers.huggingface.tuning.training import TrainingConfig

MODEL = "smollm2-135m-instruct"
DATA = Path(__file__).resolve().parent.parent / "examples" / "data" / "pirate_train.jsonl"
HELD_OUT = [
    "What is the capital of Canada?", "How many strings does a guitar have?", "What do pandas eat?",
    "Why do leaves change color in autumn?", "What is the largest desert?", "How many planets are in our solar system?",
    "What is a rainbow?", "Name a musical instrument.", "What is the smallest prime number?",
    "What language is spoken in Mexico?", "What does a thermometer measure?", "Who painted the Mona Lisa?",
]
PROBES = [
    ("What is the capital of France?", "paris"), ("What is 2 plus 2?", "4"),
    ("What color is the sky on a clear day?", "blue"), ("What is the capital of Germany?", "berlin"),
    ("How many days are in a year?", "365"), ("What is the opposite of up?", "down"),
    ("What do we call frozen water?", "ice"), ("Which animal says moo?", "cow"),
    ("What is the capital of Spain?", "madrid"), ("Which planet do we live on?", "earth"),
    ("How many minutes are in an hour?", "60"), ("What is the chemical formula of water?", "h2o"),
    ("What is 5 plus 5?", "10"), ("How many legs does a dog have?", "4"),
]


def ask(client: llmaas.Client, model: str, question: str, max_tokens: int = 24) -> str:
    reply = client.chat.completions.create(model=model, temperature=0, max_tokens=max_tokens,
                                           messages=[{"role": "user", "content": question}])
    return reply.choices[0].message.content or ""


def score(client: llmaas.Client, model: str, probes: list[tuple[str, str]]) -> tuple[float, float, list[bool]]:
    taught = sum(ask(client, model, q).lstrip().lower().startswith("ahoy") for q in HELD_OUT) / len(HELD_OUT)
    right = [a in ask(client, model, q, 64).lower() for q, a in probes]  # room for a greeting and the answer
    return taught, sum(right) / max(1, len(right)), right


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser()
    p.add_argument("--multipliers", type=float, nargs="+", default=[0.2, 0.4, 1.0, 2.0])
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--save-loss", type=Path, help="write the loss-curve PNG of the multiplier-1 job here")
    args = p.parse_args(argv)
    os.environ.setdefault("LLMAAS_FT_THREADS", str(min(2, os.cpu_count() or 1)))
    with tempfile.TemporaryDirectory() as home, \
            llmaas.Client(provider_options={"hf": {"home": home, "progress": False}}) as client:
        taught, kept, right = score(client, MODEL, PROBES)
        probes = [pr for pr, ok in zip(PROBES, right, strict=True) if ok]  # what the base model knows
        lines = ["| model | lr | held-out answers taught | known probes kept | create to succeeded | "
                 "create to first answer |", "| --- | ---: | ---: | ---: | ---: | ---: |",
                 f"| base | - | {taught * len(HELD_OUT):.0f}/{len(HELD_OUT)} | {len(probes)}/{len(probes)} "
                 f"(knows {len(probes)} of {len(PROBES)}) | - | - |"]
        training = client.files.create(file=(DATA.name, DATA.read_bytes()), purpose="fine-tune")
        for m in args.multipliers:
            hyper: dict = {"learning_rate_multiplier": m}
            if args.epochs:
                hyper["n_epochs"] = args.epochs
            start = time.perf_counter()
            job = client.fine_tuning.jobs.create(model=MODEL, training_file=training.id, hyperparameters=hyper,
                                                 suffix=f"lr{m}")
            while (job := client.fine_tuning.jobs.retrieve(job.id)).status not in ("succeeded", "failed", "cancelled"):
                time.sleep(0.5)
            assert job.status == "succeeded", job.error
            trained = time.perf_counter() - start
            ask(client, job.fine_tuned_model or "", "Hello!")
            first = time.perf_counter() - start
            taught, kept, _ = score(client, job.fine_tuned_model or "", probes)
            if args.save_loss and m == 1.0:
                png = next(f for f in job.result_files if client.files.retrieve(f).filename.endswith(".png"))
                args.save_loss.write_bytes(client.files.content(png))
            lines.append(f"| tuned, multiplier {m} | {m * TrainingConfig.learning_rate:.0e} | "
                         f"{taught * len(HELD_OUT):.0f}/{len(HELD_OUT)} | {kept * len(probes):.0f}/{len(probes)} | "
                         f"{trained:.0f} s | {first:.0f} s |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
