"""Trains ``llmaas-moderation-2``: 14 logistic heads (13 categories and one "any harm") on the built-in chat
model's hidden state at the end of a chat prompt holding the text (``features.py``), on the data set
(``moderation/dataset.py``), with thresholds for each sensitivity, written to
``providers/huggingface/api/moderation2_heads.safetensors``. Deterministic: the same data gives the same
heads. Also the shared pieces of the methods ``loso.py`` compares: logistic heads (how
``llmaas-moderation-1`` was made, in ``moderation_heads.safetensors``, kept as it was audited) and the
calibration of thresholds.

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

OUT = HERE.parent / "providers" / "huggingface" / "api" / "moderation2_heads.safetensors"
LAYER = 21  # the depth of the chat model's state the heads read
HEADS = (*CATEGORIES, "any")


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


# sensitivity -> the false-positive rate on calibration text without harm that the thresholds are set for
SENSITIVITY = {"strict": 0.10, "balanced": 0.04, "lenient": 0.015}
CATEGORY_SHARE = 0.25  # each category head may use this share of the budget alone; the any-harm head the rest


def calibrate(p: np.ndarray, y: np.ndarray, fpr: float, trusted: np.ndarray | None = None) -> np.ndarray:
    """Thresholds for one sensitivity: each category's at the lowest value that flags at most
    ``CATEGORY_SHARE * fpr`` of the calibration texts without harm (at least 0.75 for a head with under ten
    calibration positives, too few to trust a lower one), then the any-harm head's at the lowest value
    that keeps what is flagged in all (categories or any-harm) within ``fpr``."""
    safe = y[:, -1] == 0
    out = np.full(len(HEADS), 0.95, dtype=np.float32)
    for k in range(len(HEADS) - 1):
        negatives = np.sort(p[safe, k])[::-1]
        if not (y[:, k] == 1).any() or not len(negatives):
            continue
        allowed = int(np.floor(CATEGORY_SHARE * fpr * len(negatives)))
        floor = 0.75 if (y[:, k] == 1).sum() < 10 else 0.05
        out[k] = float(np.clip(negatives[allowed] + 1e-6, floor, 0.99))
    trusted = trusted if trusted is not None else (y.sum(0) >= 10)
    heads = [k for k in range(len(HEADS) - 1) if "/" not in HEADS[k] or trusted[k]]
    by_category = (p[safe][:, heads] >= out[heads]).any(axis=1)
    budget = int(np.floor(fpr * safe.sum())) - int(by_category.sum())
    rest = np.sort(p[safe][~by_category, -1])[::-1]
    out[-1] = 0.99 if budget < 0 or not len(rest) else float(np.clip(rest[min(budget, len(rest) - 1)] + 1e-6,
                                                                        0.05, 0.99))
    return out


def calibrate_gated(p: np.ndarray, y: np.ndarray, fpr: float) -> np.ndarray:
    """Thresholds for llmaas-moderation-2's rule, where the any-harm head alone decides ``flagged``: its
    threshold is the lowest that flags at most ``fpr`` of the calibration texts without harm. The category
    thresholds only name what a flagged text is: each at the lowest value that at most ``LABEL_FPR`` of the
    harmful calibration texts without that category reach (0.5 for a category with under ten)."""
    safe = y[:, -1] == 0
    out = np.full(len(HEADS), 0.5, dtype=np.float32)
    negatives = np.sort(p[safe, -1])[::-1]
    out[-1] = float(np.clip(negatives[int(np.floor(fpr * len(negatives)))] + 1e-6, 0.01, 0.999))
    for k in range(len(HEADS) - 1):
        others = np.sort(p[~safe & (y[:, k] == 0), k])[::-1]
        if (y[:, k] == 1).sum() >= 10 and len(others):
            out[k] = float(np.clip(others[int(np.floor(LABEL_FPR * len(others)))] + 1e-6, 0.05, 0.99))
    return out


LABEL_FPR = 0.03


def calibrate_all(p: np.ndarray, y: np.ndarray, rule: str = "any") -> dict[str, np.ndarray]:
    """The thresholds at each sensitivity, for the any-harm rule (``any``) or llmaas-moderation-1's
    (``categories``, where each category may flag alone)."""
    fn = calibrate_gated if rule == "any" else calibrate
    return {name: fn(p, y, fpr) for name, fpr in SENSITIVITY.items()}


def main() -> None:
    """llmaas-moderation-2: the method that won the leave-one-source-out gate (``loso.py``,
    ``heads-chat-last-L21-oos`` in ``methods.py``): heads on the built-in chat model's state at depth
    ``LAYER``, trained on the train split of every source, thresholds set on calibration texts scored by
    heads that never saw their source. llmaas-moderation-1's file is not remade: it stays as it was audited."""
    from methods import METHODS, SHIPPED
    from safetensors.numpy import save_file

    data = load()
    train = [e for e in data if e.split == "train"]
    calib = [e for e in data if e.split == "calibration"]
    model = METHODS[SHIPPED](train, calib)
    tensors = dict(model.tensors)
    tensors.update({f"thresholds_{k}": v.astype(np.float32) for k, v in model.thresholds.items()})
    tensors["calibration_positives"] = labels(calib).sum(0).astype(np.float32)
    save_file(tensors, str(OUT), metadata={
        "heads": ",".join(HEADS), "encoder": "smollm2-135m-instruct", "layer": str(LAYER), "rule": "any",
        "method": SHIPPED, "sensitivity_fpr": ",".join(f"{k}={v}" for k, v in SENSITIVITY.items()),
        "examples": str(len(train))})
    print(f"trained on {len(train)} examples, thresholds from {len(calib)}: {OUT}")
    for name, t in model.thresholds.items():
        print(f"  {name:<9} any harm at {t[-1]:.3f} (for a false-positive rate of {SENSITIVITY[name]} on safe text "
              "from sources the heads never saw)")


if __name__ == "__main__":
    main()
