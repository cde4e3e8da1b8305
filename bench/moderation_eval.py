"""llmaas's moderation models on the test split of the project's data set (never used for training or
thresholds), side by side: AUROC of harmful or not, recall on harmful requests and statements, the
false-positive rate on safe text (everyday and hard negatives) at each sensitivity, texts/s in one batch and
the memory each model adds. The leave-one-source-out gate, the figure to improve, is ``moderation/loso.py``.

    .venv/bin/python bench/moderation_eval.py
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "moderation"))

from dataset import load  # noqa: E402
from loso import auroc  # noqa: E402

from llmaas._moderation import MODERATION_MODELS  # noqa: E402
from llmaas.providers.huggingface.api.moderation import Moderator  # noqa: E402
from llmaas.types import ModerationRequest  # noqa: E402
from llmaas.types.moderations import CATEGORIES  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> str:
    from train import embedder

    test = [e for e in load() if e.split == "test"]
    texts = [e.text for e in test]
    harmful = np.array([bool(e.categories) for e in test])
    before = rss_mb()
    base = embedder()
    lines = [f"Test split: {len(test)} texts ({harmful.sum()} harmful, {(~harmful).sum()} not); the embedding "
             f"model itself: {rss_mb() - before:.0f} MB.", "",
             "| model | sensitivity | AUROC | recall, requests | recall, statements | false-positive rate, safe "
             "| texts/s | memory added |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    per_category: dict[str, list[str]] = {}
    for model_id in MODERATION_MODELS:
        before = rss_mb()
        moderator = Moderator(model_id, base)
        moderator.scores(texts[:8])  # warm
        added = rss_mb() - before
        start = time.perf_counter()
        scores = moderator.scores(texts)
        rate = len(texts) / (time.perf_counter() - start)
        for sensitivity in moderator.thresholds:
            response = moderator.moderate(ModerationRequest(input=texts, sensitivity=sensitivity))  # pyright: ignore[reportArgumentType]
            flagged = np.array([r.flagged for r in response.results])
            kinds = np.array([e.kind for e in test])
            lines.append(f"| {model_id} | {sensitivity} | {auroc(scores[:, -1], harmful):.3f} | "
                         f"{flagged[kinds == 'harmful request'].mean():.3f} | "
                         f"{flagged[kinds == 'harmful statement'].mean():.3f} | {flagged[~harmful].mean():.3f} | "
                         f"{rate:.0f} | {added:.0f} MB |")
            if sensitivity == "balanced":
                per_category[model_id] = [_category(c, test, response) for c in CATEGORIES]
    lines += ["", "Per category, at the balanced sensitivity (precision / recall):", "",
              "| category | test positives | " + " | ".join(MODERATION_MODELS) + " |",
              "| --- | ---: |" + " ---: |" * len(MODERATION_MODELS)]
    for k, c in enumerate(CATEGORIES):
        positives = sum(c in e.categories for e in test)
        lines.append(f"| {c} | {positives} | " + " | ".join(per_category[m][k] for m in MODERATION_MODELS) + " |")
    return "\n".join(lines)


def _category(category: str, test: list, response: object) -> str:
    truth = np.array([category in e.categories for e in test])
    said = np.array([r.categories[category] for r in response.results])  # type: ignore[attr-defined]
    tp = (truth & said).sum()
    precision = f"{tp / said.sum():.2f}" if said.sum() else "-"
    recall = f"{tp / truth.sum():.2f}" if truth.sum() else "-"
    return f"{precision} / {recall}"


if __name__ == "__main__":
    print(main())
