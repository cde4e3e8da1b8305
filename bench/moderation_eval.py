"""Evaluates ``llmaas-moderation-1`` on the test split of the project's data set (never used for training or
thresholds): per-category precision and recall, AUROC of "flag or not", recall on harmful requests, the
false-positive rate on benign text and on hard negatives (benign text with alarming words), and texts/s.

    .venv/bin/python bench/moderation_eval.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "moderation"))

from dataset import load  # noqa: E402

from llmaas.providers.huggingface.api.moderation import Moderator  # noqa: E402
from llmaas.types import ModerationRequest  # noqa: E402
from llmaas.types.moderations import CATEGORIES  # noqa: E402


def auroc(scores: np.ndarray, truth: np.ndarray) -> float:
    order = np.argsort(scores)
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    pos = truth.astype(bool)
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def main(argv: list[str] | None = None) -> str:
    sys.path.insert(0, str(ROOT / "moderation"))
    from train import embedder

    test = [e for e in load() if e.split == "test"]
    moderator = Moderator(embedder())
    texts = [e.text for e in test]
    start = time.perf_counter()
    response = moderator.moderate(ModerationRequest(input=texts))
    rate = len(texts) / (time.perf_counter() - start)
    scores = moderator.scores(texts)
    flagged = np.array([r.flagged for r in response.results])
    harmful = np.array([bool(e.categories) for e in test])
    lines = [f"Test split: {len(test)} examples ({harmful.sum()} harmful, {(~harmful).sum()} not).", "",
             "| measure | value |", "| --- | ---: |",
             f"| AUROC, flag or not (the any-harm head) | {auroc(scores[:, -1], harmful):.3f} |"]
    for kind in ("harmful request", "harmful statement"):
        rows = np.array([e.kind == kind for e in test])
        lines.append(f"| recall on {kind}s ({rows.sum()}) | {flagged[rows].mean():.3f} |")
    for kind in ("benign", "hard negative"):
        rows = np.array([e.kind == kind for e in test])
        lines.append(f"| false-positive rate on {kind} text ({rows.sum()}) | {flagged[rows].mean():.3f} |")
    negatives = ~harmful
    lines.append(f"| false-positive rate on all text that is not harmful ({negatives.sum()}) | "
                 f"{flagged[negatives].mean():.3f} |")
    lines.append(f"| texts/s (one batch, 2 cores) | {rate:.0f} |")
    lines += ["", "| category | test positives | precision | recall |", "| --- | ---: | ---: | ---: |"]
    for c in CATEGORIES:
        truth = np.array([c in e.categories for e in test])
        said = np.array([r.categories[c] for r in response.results])
        tp = (truth & said).sum()
        precision = f"{tp / said.sum():.2f}" if said.sum() else "-"
        recall = f"{tp / truth.sum():.2f}" if truth.sum() else "-"
        lines.append(f"| {c} | {truth.sum()} | {precision} | {recall} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
