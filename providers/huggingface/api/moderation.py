"""llmaas's moderation models: OpenAI's 13 categories scored offline by logistic heads on one of the built-in
models, trained by ``make moderation-model`` on the data set in ``moderation/`` (see its DATA_CARD.md) and
shipped beside this module.

- ``llmaas-moderation-2`` (the default): heads on the built-in chat model's hidden state at the end of a
  chat prompt holding the text as the user's turn (``moderation_encoders.ChatStateEncoder``), chosen on
  the leave-one-source-out gate (docs/moderation.md). The any-harm head alone decides ``flagged``, at one
  of three threshold sets (``sensitivity``: strict, balanced, lenient), each set for a stated
  false-positive rate on safe text from sources the heads never saw; the category heads then name what a
  flagged text is (at least one: the top-level category closest to its threshold when none passes).
- ``llmaas-moderation-1``: heads on the built-in embedding model's sentence vectors, where a category over
  its threshold flags alone too; kept loadable by name, with its one (balanced) threshold set, so that a
  deployment can pin the model it was audited with.

A text longer than the encoder's window is scored in pieces and takes each head's worst piece, so harm late
in a long text is not cut off.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from llmaas._errors import BadRequestError, UnsupportedFeatureError
from llmaas._moderation import MODERATION_MODELS
from llmaas.providers.huggingface.api.requests import bad
from llmaas.types import ModerationRequest, ModerationResponse
from llmaas.types.moderations import CATEGORIES

MODEL_ID = MODERATION_MODELS[-1]  # the default
HEADS = {"llmaas-moderation-1": Path(__file__).with_name("moderation_heads.safetensors"),
         "llmaas-moderation-2": Path(__file__).with_name("moderation2_heads.safetensors")}
SENTENCE = re.compile(r"(?<=[.!?。！？])\s+|\n+")
TOP = [k for k, c in enumerate(CATEGORIES) if "/" not in c]


def heads_metadata(model_id: str) -> dict[str, str]:
    """A moderation model's metadata (what it reads: ``encoder``, ``layer``; its ``rule``), without its
    tensors."""
    from safetensors import safe_open

    path = HEADS[model_id]
    if not path.exists():
        raise UnsupportedFeatureError("hf", f"moderations with {model_id} without its trained heads ({path} is "
                                            "missing; `make moderation-model` makes them)")
    with safe_open(str(path), "np") as f:  # pyright: ignore[reportUnknownVariableType]
        return cast("dict[str, str]", f.metadata() or {})  # pyright: ignore[reportUnknownMemberType]


def reads_sentence_vectors(meta: dict[str, str]) -> bool:
    """Whether heads with this metadata read the built-in embedding model (else the built-in chat model)."""
    return meta.get("encoder", "all-minilm-l6-v2") == "all-minilm-l6-v2"


class Moderator:
    """One moderation model: its heads over its encoder (``moderation_encoders``); runs on the provider's
    torch thread. ``embedder`` is the loaded embedding model, for the models that read it."""

    def __init__(self, model_id: str = MODEL_ID, embedder: Any = None) -> None:
        from safetensors.numpy import load_file  # pyright: ignore[reportUnknownVariableType]

        from llmaas.providers.huggingface.api.moderation_encoders import ChatStateEncoder, SentenceEncoder

        meta = heads_metadata(model_id)
        data = load_file(str(HEADS[model_id]))
        self.id = model_id
        self.rule: str = meta.get("rule", "categories")  # what flags: the any-harm head alone, or any category too
        if reads_sentence_vectors(meta):
            self.encoder: Any = SentenceEncoder(embedder)
        else:
            from llmaas.providers.huggingface.management.loading import builtin_sources, ensure_converted

            path = ensure_converted(builtin_sources()[meta["encoder"]], progress=False)
            self.encoder = ChatStateEncoder(path, int(meta["layer"]))
        self.weights_t: npt.NDArray[np.float32] = np.ascontiguousarray(np.transpose(data["weights"]))  # [D, 14]
        self.bias: npt.NDArray[np.float32] = data["bias"]
        # per sensitivity; a model calibrated once (llmaas-moderation-1) has only its balanced set
        self.thresholds: dict[str, npt.NDArray[np.float32]] = {
            k.removeprefix("thresholds_"): v for k, v in data.items() if k.startswith("thresholds_")}
        if not self.thresholds:
            self.thresholds = {"balanced": data["thresholds"]}
        # a subcategory head calibrated on enough examples implies its category; one calibrated on few
        # (held to a high threshold) counts only alongside its category
        counts = data.get("calibration_positives", np.zeros_like(self.bias))
        self.trusted = {c for k, c in enumerate(CATEGORIES) if counts[k] >= 10}

    def windows(self, text: str) -> list[str]:
        """The text, or for a long one its sentences grouped into pieces of at most the encoder's window of
        tokens (a sentence longer than that is cut into window-sized pieces): one harmful sentence in a long
        harmless text is scored on its own, not averaged away."""
        tok, window = self.encoder.tokenizer, self.encoder.window
        if len(tok(text, add_special_tokens=False)["input_ids"]) <= window:
            return [text]
        pieces: list[str] = []
        current: list[str] = []
        size = 0
        for sentence in (s for s in SENTENCE.split(text) if s.strip()):
            ids = tok(sentence, add_special_tokens=False)["input_ids"]
            if len(ids) > window:
                pieces += [tok.decode(ids[i:i + window]) for i in range(0, len(ids), window)]
                continue
            if size + len(ids) > window and current:
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
        vectors = self.encoder.encode(pieces)
        probs = 1.0 / (1.0 + np.exp(-(vectors @ self.weights_t + self.bias)))
        for row, i in enumerate(owner):
            out[i] = np.maximum(out[i], probs[row])
        return out

    def threshold_set(self, sensitivity: str | None) -> npt.NDArray[np.float32]:
        name = sensitivity or "balanced"
        if name not in self.thresholds:
            raise BadRequestError(f"{self.id} has one calibrated threshold set (balanced), the one it was audited "
                                  f"with; sensitivity {name!r} needs {MODEL_ID}", status_code=400,
                                  param="sensitivity", code="unsupported_sensitivity")
        return self.thresholds[name]

    def categories(self, row: np.ndarray, thresholds: np.ndarray) -> dict[str, bool]:
        """Which categories ``row`` (one text's 14 scores) is flagged for, under this model's rule."""
        categories = {c: bool(row[k] >= thresholds[k]) for k, c in enumerate(CATEGORIES)}
        if self.rule == "any":
            if row[-1] < thresholds[-1]:
                return dict.fromkeys(CATEGORIES, False)
            for c in CATEGORIES:  # a subcategory implies its category
                if "/" in c and categories[c]:
                    categories[c.split("/")[0]] = True
        else:
            for c in CATEGORIES:
                parent = c.split("/")[0]
                if parent != c and categories[c] and not categories[parent]:
                    if c in self.trusted:
                        categories[parent] = True  # illicit/violent is illicit
                    else:
                        categories[c] = False  # a rare subcategory does not fire alone
            if row[-1] < thresholds[-1] or any(categories.values()):
                return categories
        if not any(categories.values()):  # flagged: name at least the closest top-level category
            categories[CATEGORIES[TOP[int(np.argmax(row[TOP] / thresholds[TOP]))]]] = True
        return categories

    def moderate(self, req: ModerationRequest) -> ModerationResponse:
        texts = texts_of(req)
        thresholds = self.threshold_set(req.sensitivity)
        results: list[dict[str, Any]] = []
        for row in self.scores(texts):
            categories = self.categories(row, thresholds)
            results.append({"flagged": any(categories.values()), "categories": categories,
                            "category_scores": {c: round(float(row[k]), 6) for k, c in enumerate(CATEGORIES)},
                            "category_applied_input_types": {c: ["text"] for c in CATEGORIES}})
        return ModerationResponse.model_validate({"id": f"modr-{uuid.uuid4().hex}", "model": self.id,
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
            raise UnsupportedFeatureError("hf", f"moderation of input.{i}, a {kind!r} part: {req.model or MODEL_ID} "
                                                "screens text only, and a part it cannot read is refused rather "
                                                "than passed unscreened")
    return out
