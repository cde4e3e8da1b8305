"""Trains ``llmaas-moderation-1``: logistic heads (13 categories and one "any harm") on all-MiniLM-L6-v2
embeddings of the data set (``moderation/dataset.py``), thresholds calibrated on the calibration split, and
writes ``providers/huggingface/api/moderation_heads.safetensors``. Deterministic: the same data gives the same heads.

    make moderation-model        # or: python moderation/train.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from dataset import Example, load  # noqa: E402

from llmaas.types.moderations import CATEGORIES  # noqa: E402

OUT = HERE.parent / "providers" / "huggingface" / "api" / "moderation_heads.safetensors"
HEADS = (*CATEGORIES, "any")
MAX_FPR_ANY = 0.08  # the "any harm" threshold lets at most this share of the calibration negatives through
MAX_FPR_CATEGORY = 0.02  # likewise per category, over every example without the category


def embedder() -> object:
    from llmaas.providers.huggingface.api.embeddings import Embedder
    from llmaas.providers.huggingface.management.loading import MINILM, builtin_sources, ensure_converted

    source = builtin_sources()[MINILM]
    return Embedder(str(ensure_converted(source, progress=False)), MINILM)


def embed(model: object, texts: list[str]) -> np.ndarray:
    return model.model.encode(texts, batch_size=64, convert_to_numpy=True,  # type: ignore[attr-defined]
                              normalize_embeddings=True, show_progress_bar=True).astype(np.float32)


def labels(examples: list[Example]) -> np.ndarray:
    y = np.zeros((len(examples), len(HEADS)), dtype=np.float32)
    for i, ex in enumerate(examples):
        for c in ex.categories:
            y[i, CATEGORIES.index(c)] = 1
        y[i, -1] = float(bool(ex.categories))
    return y


def fit(x: np.ndarray, y: np.ndarray, weight_decay: float = 1e-3, steps: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """One logistic regression per column of ``y``, classes balanced, full-batch L-BFGS."""
    torch.manual_seed(0)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    pos = yt.sum(0).clamp(min=1)
    neg = (len(yt) - yt.sum(0)).clamp(min=1)
    w = torch.zeros(x.shape[1], y.shape[1], requires_grad=True)
    b = torch.zeros(y.shape[1], requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=steps, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        logits = xt @ w + b
        weights = torch.where(yt > 0, len(yt) / (2 * pos), len(yt) / (2 * neg))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, yt, weight=weights)
        loss = loss + weight_decay * (w ** 2).sum() / 2
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy().T.copy(), b.detach().numpy().copy()


def probabilities(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(x @ w.T + b)))


def calibrate(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per head, the lowest threshold whose false-positive rate on the calibration split stays within the
    budget (the highest recall the budget allows). A head with fewer than 10 positives in the split gets at
    least 0.75: too few examples to trust a lower one."""
    out = np.full(len(HEADS), 0.75, dtype=np.float32)
    for k in range(len(HEADS)):
        negatives = np.sort(p[y[:, k] == 0, k])[::-1]
        if not (y[:, k] == 1).any() or not len(negatives):
            continue
        budget = MAX_FPR_ANY if HEADS[k] == "any" else MAX_FPR_CATEGORY
        allowed = int(np.floor(budget * len(negatives)))
        floor = 0.75 if (y[:, k] == 1).sum() < 10 else 0.05  # too few positives to trust a lower threshold
        out[k] = float(np.clip(negatives[allowed] + 1e-6, floor, 0.95))
    return out


def main() -> None:
    from safetensors.numpy import save_file

    data = load()
    train = [e for e in data if e.split == "train"]
    calib = [e for e in data if e.split == "calibration"]
    model = embedder()
    x_train, x_calib = embed(model, [e.text for e in train]), embed(model, [e.text for e in calib])
    w, b = fit(x_train, labels(train))
    thresholds = calibrate(probabilities(x_calib, w, b), labels(calib))
    positives = labels(calib).sum(0).astype(np.float32)  # how far each threshold can be trusted
    save_file({"weights": w.astype(np.float32), "bias": b.astype(np.float32), "thresholds": thresholds,
               "calibration_positives": positives},
              str(OUT), metadata={"heads": ",".join(HEADS), "encoder": "all-minilm-l6-v2",
                                  "examples": str(len(train))})
    print(f"trained on {len(train)} examples, thresholds from {len(calib)}: {OUT}")
    for name, t in zip(HEADS, thresholds, strict=True):
        print(f"  {name:<24} threshold {t:.3f}")


if __name__ == "__main__":
    main()
