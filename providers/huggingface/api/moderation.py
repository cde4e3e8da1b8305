"""``llmaas-moderation-1``: OpenAI's 13 moderation categories scored offline by logistic heads on the built-in
embedding model (all-MiniLM-L6-v2), trained by ``make moderation-model`` on the data set in ``moderation/``
(see its DATA_CARD.md) and shipped as ``moderation_heads.safetensors`` beside this module.

A text longer than the encoder's window is scored in overlapping windows and takes each category's worst
window, so harm late in a long text is not cut off. Besides the 13 category heads there is one "any harm"
head: when it fires and no category passes its threshold, the category closest to its threshold is flagged,
so ``flagged`` always comes with a category. A subcategory flags its category too (``illicit/violent`` is
``illicit``), except the subcategories calibrated on fewer than ten examples, which count only alongside
their category.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from llmaas._errors import UnsupportedFeatureError
from llmaas.providers.huggingface.api.requests import bad
from llmaas.types import ModerationRequest, ModerationResponse
from llmaas.types.moderations import CATEGORIES

MODEL_ID = "llmaas-moderation-1"
HEADS = Path(__file__).with_name("moderation_heads.safetensors")
WINDOW = 64  # a text longer than this many tokens is scored in pieces of whole sentences up to it
SENTENCE = re.compile(r"(?<=[.!?。！？])\s+|\n+")


class Moderator:
    """The heads over an embedder (``embeddings.Embedder``); runs on the provider's torch thread."""

    def __init__(self, embedder: Any, heads: Path = HEADS) -> None:
        from safetensors.numpy import load_file  # pyright: ignore[reportUnknownVariableType]

        if not heads.exists():
            raise UnsupportedFeatureError("hf", f"moderations without the trained heads ({heads} is missing; "
                                                "`make moderation-model` makes them)")
        data = load_file(str(heads))
        self.embedder = embedder
        self.weights: npt.NDArray[np.float32] = data["weights"]  # [14, D]: the 13 categories, then "any harm"
        self.weights_t: npt.NDArray[np.float32] = np.transpose(data["weights"])
        self.bias: npt.NDArray[np.float32] = data["bias"]
        self.thresholds: npt.NDArray[np.float32] = data["thresholds"]
        # a subcategory head calibrated on enough examples implies its category; one calibrated on few
        # (held to a high threshold) counts only alongside its category
        counts = data.get("calibration_positives", np.zeros_like(self.bias))
        self.trusted = {c for k, c in enumerate(CATEGORIES) if counts[k] >= 10}

    def windows(self, text: str) -> list[str]:
        """The text, or for a long one its sentences grouped into pieces of at most ``WINDOW`` tokens (a
        sentence longer than that is cut into ``WINDOW``-token pieces): one harmful sentence in a long
        harmless text is scored on its own, not averaged away."""
        tok = self.embedder.tokenizer
        if len(tok(text, add_special_tokens=False)["input_ids"]) <= WINDOW:
            return [text]
        pieces: list[str] = []
        current: list[str] = []
        size = 0
        for sentence in (s for s in SENTENCE.split(text) if s.strip()):
            ids = tok(sentence, add_special_tokens=False)["input_ids"]
            if len(ids) > WINDOW:
                pieces += [tok.decode(ids[i:i + WINDOW]) for i in range(0, len(ids), WINDOW)]
                continue
            if size + len(ids) > WINDOW and current:
                pieces.append(" ".join(current))
                current, size = [], 0
            current.append(sentence)
            size += len(ids)
        if current:
            pieces.append(" ".join(current))
        return pieces

    def scores(self, texts: list[str]) -> np.ndarray:
        """Per text, the 14 head probabilities (the worst window of each)."""
        pieces: list[str] = []
        owner: list[int] = []
        for i, text in enumerate(texts):
            if text.strip():
                for piece in self.windows(text):
                    pieces.append(piece)
                    owner.append(i)
        out = np.zeros((len(texts), len(self.bias)), dtype=np.float32)
        if not pieces:
            return out
        vectors = self.embedder.model.encode(pieces, batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                                             show_progress_bar=False).astype(np.float32)
        probs = 1.0 / (1.0 + np.exp(-(vectors @ self.weights_t + self.bias)))
        for row, i in enumerate(owner):
            out[i] = np.maximum(out[i], probs[row])
        return out

    def moderate(self, req: ModerationRequest) -> ModerationResponse:
        texts = texts_of(req)
        results: list[dict[str, Any]] = []
        for row in self.scores(texts):
            categories = {c: bool(row[k] >= self.thresholds[k]) for k, c in enumerate(CATEGORIES)}
            for c in CATEGORIES:
                parent = c.split("/")[0]
                if parent != c and categories[c] and not categories[parent]:
                    if c in self.trusted:
                        categories[parent] = True  # illicit/violent is illicit
                    else:
                        categories[c] = False  # a rare subcategory does not fire alone
            if row[-1] >= self.thresholds[-1] and not any(categories.values()):
                top = [k for k, c in enumerate(CATEGORIES) if "/" not in c]
                closest = top[int(np.argmax(row[top] / self.thresholds[top]))]
                categories[CATEGORIES[closest]] = True
            results.append({"flagged": any(categories.values()), "categories": categories,
                            "category_scores": {c: round(float(row[k]), 6) for k, c in enumerate(CATEGORIES)},
                            "category_applied_input_types": {c: ["text"] for c in CATEGORIES}})
        return ModerationResponse.model_validate({"id": f"modr-{uuid.uuid4().hex}", "model": req.model or MODEL_ID,
                                                  "results": results})


def texts_of(req: ModerationRequest) -> list[str]:
    """The texts to screen; a part that is not text is refused rather than passed unscreened."""
    x = req.input
    if isinstance(x, str):
        return [x]
    if not x:
        raise bad("input must not be empty", "input")
    out: list[str] = []
    for i, item in enumerate(x):
        if isinstance(item, str):
            out.append(item)
        elif item.get("type") == "text" and isinstance(item.get("text"), str):
            out.append(item["text"])
        else:
            kind = item.get("type")
            raise UnsupportedFeatureError("hf", f"moderation of input.{i}, a {kind!r} part: {MODEL_ID} screens text "
                                                "only, and a part it cannot read is refused rather than passed "
                                                "unscreened")
    return out

