"""The moderation models compared on the leave-one-source-out gate (``loso.py``). Each method is
``fit(train, calibration) -> Model``, where a model scores texts with the 14 heads (13 categories, then any
harm) and carries its thresholds per sensitivity.

- ``moderation-1``: logistic heads on all-MiniLM-L6-v2 sentence vectors, flagging by any category or the
  any-harm head: how llmaas-moderation-1 is made (the baseline).
- ``heads-minilm``: the same heads, flagging by the any-harm head alone (as every method below).
- ``heads-smollm2-L{n}``: logistic heads on the built-in chat model's hidden states at depth n,
  mean-pooled over the text and standardised.
- ``heads-both-L{n}``: the two feature sets side by side.
- ``finetune-minilm``: all-MiniLM-L6-v2 trained end to end with the 14 heads on top.
- ``heads-chat-last-L{n}`` and ``heads-chat-closing-L{n}``: logistic heads on the built-in chat model reading
  the text as a user's turn: its hidden state at depth n at the last token of the prompt, or the mean over
  the turn's closing tokens.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from dataset import Example  # noqa: E402
from features import CHAT_LAYERS, SMOL_LAYERS, minilm, smollm2, smollm2_chat  # noqa: E402
from train import calibrate_all, fit, labels, probabilities  # noqa: E402


@dataclass
class Model:
    score: Callable[[list[str]], np.ndarray]
    thresholds: dict[str, np.ndarray]
    trusted: np.ndarray = field(default_factory=lambda: np.zeros(13, dtype=bool))
    rule: str = "any"  # what flags: the any-harm head alone, or (llmaas-moderation-1's) any category too
    tensors: dict[str, np.ndarray] = field(default_factory=dict)  # what a shipped model holds, where it is one

    def scores(self, texts: list[str]) -> np.ndarray:
        return self.score(texts)


def _trusted(calib: list[Example]) -> np.ndarray:
    return labels(calib)[:, :-1].sum(0) >= 10


def heads(features: Callable[[list[str]], np.ndarray], weight_decay: float = 1e-3, standardise: bool = False,
          rule: str = "any", out_of_source: bool = False) -> Callable[[list[Example], list[Example]], Model]:
    """Logistic heads on ``features``. The thresholds are set on the calibration split's scores from the
    model itself, or with ``out_of_source`` from models that never saw the text's source: the families are
    dealt into ``GROUPS`` groups, and each group's calibration texts are scored by heads trained on the
    others' train split, so a threshold's false-positive rate is one on sources the model has not seen."""

    def train_heads(train: list[Example]) -> Callable[[list[str]], np.ndarray]:
        x = features([e.text for e in train])
        mean, std = (x.mean(0), x.std(0) + 1e-6) if standardise else (0.0, 1.0)
        w, b = fit(((x - mean) / std).astype(np.float32), labels(train), weight_decay=weight_decay)

        def score(texts: list[str]) -> np.ndarray:
            return probabilities(((features(texts) - mean) / std).astype(np.float32), w, b)

        score.tensors = {"weights": (w / std).astype(np.float32),  # type: ignore[attr-defined]
                         "bias": (b - (w / std) @ np.broadcast_to(mean, (w.shape[1],))).astype(np.float32)}
        return score

    def fit_model(train: list[Example], calib: list[Example]) -> Model:
        score = train_heads(train)
        if out_of_source:
            held_scores, held = [], []
            for g in range(GROUPS):
                inside = [e for e in calib if _group(e.family) == g]
                if inside:
                    other = train_heads([e for e in train if _group(e.family) != g])
                    held_scores.append(other([e.text for e in inside]))
                    held += inside
            p, y = np.concatenate(held_scores), labels(held)
        else:
            p, y = score([e.text for e in calib]), labels(calib)
        return Model(score, calibrate_all(p, y, rule), _trusted(calib), rule,
                     tensors=dict(score.tensors))  # type: ignore[attr-defined]

    return fit_model


GROUPS = 3


def _group(family: str) -> int:
    return int(hashlib.sha256(family.encode()).hexdigest()[:8], 16) % GROUPS


def smol_layer(layer: int) -> Callable[[list[str]], np.ndarray]:
    j = SMOL_LAYERS.index(layer)
    return lambda texts: smollm2(texts)[:, j]


def chat_layer(layer: int, where: int) -> Callable[[list[str]], np.ndarray]:
    """The chat-prompt encoder's state at ``layer``: the last token's (``where=0``) or the mean over the
    turn's closing tokens (1)."""
    j = CHAT_LAYERS.index(layer)
    return lambda texts: smollm2_chat(texts)[:, where, j]


def both(layer: int) -> Callable[[list[str]], np.ndarray]:
    smol = smol_layer(layer)

    def features(texts: list[str]) -> np.ndarray:
        s = smol(texts)
        s = s / (np.linalg.norm(s, axis=1, keepdims=True) + 1e-6)
        return np.concatenate([minilm(texts), s], axis=1)

    return features


def finetune_minilm(train: list[Example], calib: list[Example], epochs: int = 2, lr: float = 3e-5,
                    progress: bool = False) -> Model:
    """The embedding model's transformer layers and the heads trained together (binary cross-entropy per
    head, classes balanced), from the sentence-transformers weights; the token embeddings stay as shipped;
    texts cut at 64 tokens."""
    from train import embedder

    torch.manual_seed(0)
    st = embedder().model  # type: ignore[attr-defined]
    encoder = st[0].auto_model
    tok = st.tokenizer
    y = torch.from_numpy(labels(train))
    head = torch.nn.Linear(encoder.config.hidden_size, y.shape[1])
    pos = y.sum(0).clamp(min=1)
    neg = (len(y) - y.sum(0)).clamp(min=1)
    weights_pos, weights_neg = len(y) / (2 * pos), len(y) / (2 * neg)
    encoder.embeddings.requires_grad_(False)
    tuned = [p for p in encoder.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(tuned, lr=lr, weight_decay=0.01)
    head_opt = torch.optim.AdamW(head.parameters(), lr=1e-3)

    def embed(texts: list[str]) -> torch.Tensor:
        batch = tok(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
        h = encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (h * mask).sum(1) / mask.sum(1)
        return torch.nn.functional.normalize(pooled, dim=-1) * 10

    from tqdm import tqdm

    texts = [e.text for e in train]
    g = torch.Generator().manual_seed(0)
    encoder.train()
    bar = tqdm(total=epochs * ((len(texts) + 31) // 32), desc="fine-tuning", unit="step", disable=not progress)
    for _ in range(epochs):
        perm = torch.randperm(len(texts), generator=g)
        for start in range(0, len(texts), 32):
            idx = perm[start:start + 32]
            logits = head(embed([texts[i] for i in idx]))
            target = y[idx]
            w = torch.where(target > 0, weights_pos, weights_neg)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, weight=w)
            opt.zero_grad()
            head_opt.zero_grad()
            loss.backward()
            opt.step()
            head_opt.step()
            bar.update()
            bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    encoder.eval()

    @torch.inference_mode()
    def score(batch: list[str]) -> np.ndarray:
        out = [torch.sigmoid(head(embed(batch[i:i + 64]))).numpy() for i in range(0, len(batch), 64)]
        return np.concatenate(out) if out else np.zeros((0, y.shape[1]), dtype=np.float32)

    return Model(score, calibrate_all(score([e.text for e in calib]), labels(calib)), _trusted(calib))


METHODS: dict[str, Callable[[list[Example], list[Example]], Model]] = {
    "moderation-1": heads(minilm, rule="categories"),
    "heads-minilm": heads(minilm),
    **{f"heads-smollm2-L{n}": heads(smol_layer(n), weight_decay=1e-2, standardise=True) for n in SMOL_LAYERS},
    **{f"heads-both-L{n}": heads(both(n)) for n in (12, 16, 20)},
    "finetune-minilm": finetune_minilm,
    **{f"heads-chat-{'last' if w == 0 else 'closing'}-L{n}": heads(chat_layer(n, w), weight_decay=1e-2, standardise=True)
       for n in CHAT_LAYERS for w in (0, 1)},
    "heads-chat-last-L21": heads(chat_layer(21, 0), standardise=True),
    "heads-chat-last-L21-oos": heads(chat_layer(21, 0), standardise=True, out_of_source=True),
    "heads-minilm-oos": heads(minilm, out_of_source=True),
}

SHIPPED = "heads-chat-last-L21-oos"  # llmaas-moderation-2 (train.py)
