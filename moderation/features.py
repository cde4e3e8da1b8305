"""Text features for the moderation heads, cached on disk by text: the built-in embedding model's sentence
vectors (``minilm``) and the built-in chat model's hidden states, mean-pooled over the text's tokens at a
few depths (``smollm2``). The cache lives in ``moderation/.cache`` (not in git) and is keyed by the encoder
and a hash of each text, so a changed data set re-encodes only its new texts.

    .venv/bin/python moderation/features.py   # encodes the whole data set with both encoders, timed
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
SMOL_LAYERS = (8, 12, 16, 20, 24, 30)  # depths whose mean-pooled states are kept (0 is the embeddings)
CHAT_LAYERS = (6, 9, 12, 15, 18, 21)  # the chat-prompt encoder's depths
SMOL_MAX_TOKENS = 96  # the moderation window of the chat-model encoder; longer texts are scored in pieces


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


class SmolEncoder:
    """SmolLM2-135M-Instruct as an encoder: the mean over a text's tokens of the hidden states at
    ``SMOL_LAYERS``, float32 on the CPU (bfloat16 where the CPU has it natively and ``dtype`` asks)."""

    def __init__(self, dtype: torch.dtype = torch.float32, layers: Sequence[int] = SMOL_LAYERS) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from llmaas.providers.huggingface.management.loading import SMOLLM2, builtin_sources, ensure_converted

        path = str(ensure_converted(builtin_sources()[SMOLLM2], progress=False))
        self.tokenizer: Any = AutoTokenizer.from_pretrained(path)
        self.tokenizer.padding_side = "right"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        model: Any = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
        self.model: Any = model.model.eval()  # the decoder stack, without the LM head
        self.layers = tuple(layers)
        # only as deep as the deepest layer asked for
        self.model.layers = self.model.layers[:max(self.layers)]
        self.dtype = dtype

    @torch.inference_mode()
    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """[len(texts), len(layers), hidden] mean-pooled states; texts are sorted by length into batches."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), len(self.layers), self.model.config.hidden_size), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            batch = self.tokenizer([texts[i] for i in idx], return_tensors="pt", padding=True, truncation=True,
                                   max_length=SMOL_MAX_TOKENS)
            hidden = self.model(**batch, output_hidden_states=True).hidden_states
            mask = batch["attention_mask"].unsqueeze(-1).to(torch.float32)
            for j, layer in enumerate(self.layers):
                h = hidden[layer].to(torch.float32)
                pooled = (h * mask).sum(1) / mask.sum(1).clamp(min=1)
                out[idx, j] = pooled.numpy()
        return out


class ChatEncoder(SmolEncoder):
    """SmolLM2-135M-Instruct reading the text as a user's turn in its chat template: the hidden states at
    the end of the prompt (where the model decides how to answer, where chat models are known to hold
    whether a request is harmful), at ``layers``: the last token's, and the mean over the template's tokens
    after the text (``<|im_end|>``, ``<|im_start|>assistant``)."""

    @torch.inference_mode()
    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """[len(texts), 2, len(layers), hidden]: last token, then the mean over the turn's closing tokens."""
        tok = self.tokenizer
        prompts = []
        for text in texts:
            ids = tok(text, add_special_tokens=False)["input_ids"][:SMOL_MAX_TOKENS]
            prompts.append(tok.apply_chat_template([{"role": "user", "content": tok.decode(ids)}], tokenize=False,
                                                   add_generation_prompt=True))
        tail = len(tok(tok.apply_chat_template([{"role": "user", "content": "x"}], tokenize=False,
                                                 add_generation_prompt=True).split("x")[-1],
                       add_special_tokens=False)["input_ids"])
        order = sorted(range(len(texts)), key=lambda i: len(prompts[i]))
        out = np.zeros((len(texts), 2, len(self.layers), self.model.config.hidden_size), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            batch = tok([prompts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False)
            hidden = self.model(**batch, output_hidden_states=True).hidden_states
            last = batch["attention_mask"].sum(1) - 1
            rows = torch.arange(len(idx))
            for j, layer in enumerate(self.layers):
                h = hidden[layer].to(torch.float32)
                out[idx, 0, j] = h[rows, last].numpy()
                closing = torch.stack([h[rows, (last - k).clamp(min=0)] for k in range(tail)]).mean(0)
                out[idx, 1, j] = closing.numpy()
        return out


def _cached(name: str, texts: list[str], encode: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"{name}.npz"
    store: dict[str, np.ndarray] = dict(np.load(path)) if path.exists() else {}
    missing = sorted({t for t in texts if _key(t) not in store})
    if missing:
        vectors = encode(missing)
        for t, v in zip(missing, vectors, strict=True):
            store[_key(t)] = v
        np.savez(path, **store)  # pyright: ignore[reportArgumentType]
    return np.stack([store[_key(t)] for t in texts])


def minilm(texts: list[str]) -> np.ndarray:
    """[n, 384] normalised sentence vectors of all-MiniLM-L6-v2 (the encoder of llmaas-moderation-1)."""
    sys.path.insert(0, str(HERE))
    from train import embed, embedder

    holder: dict[str, Any] = {}

    def run(batch: list[str]) -> np.ndarray:
        holder.setdefault("m", embedder())
        return embed(holder["m"], batch)

    return _cached("minilm", texts, run)


def smollm2(texts: list[str]) -> np.ndarray:
    """[n, len(SMOL_LAYERS), 576] mean-pooled hidden states of SmolLM2-135M-Instruct."""
    holder: dict[str, SmolEncoder] = {}

    def run(batch: list[str]) -> np.ndarray:
        holder.setdefault("m", SmolEncoder())
        return holder["m"].encode(batch)

    return _cached("smollm2", texts, run)


def smollm2_chat(texts: list[str]) -> np.ndarray:
    """[n, 2, len(CHAT_LAYERS), 576]: ``ChatEncoder``'s states at the end of the chat prompt."""
    holder: dict[str, ChatEncoder] = {}

    def run(batch: list[str]) -> np.ndarray:
        holder.setdefault("m", ChatEncoder(layers=CHAT_LAYERS))
        return holder["m"].encode(batch)

    return _cached("smollm2_chat", texts, run)


def main() -> None:
    sys.path.insert(0, str(HERE))
    from dataset import load

    texts = [e.text for e in load()]
    encoders = {"minilm": minilm, "smollm2": smollm2, "smollm2_chat": smollm2_chat}
    for name, fn in ((n, encoders[n]) for n in (sys.argv[1:] or encoders)):
        start = time.perf_counter()
        x = fn(texts)
        print(f"{name}: {x.shape} in {time.perf_counter() - start:.1f}s")


if __name__ == "__main__":
    main()
