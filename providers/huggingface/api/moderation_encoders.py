"""What the moderation heads read: a text (or a window of a long one) turned into one vector.

- ``SentenceEncoder``: the built-in embedding model's unit sentence vector (``llmaas-moderation-1``).
- ``ChatStateEncoder``: the built-in chat model reading the text as a user's turn in its chat template, and
  its hidden state at one depth at the last token of the prompt, where the model decides how to answer
  (``llmaas-moderation-2``). The template's opening (system prompt and ``<|im_start|>user``) is the same for
  every text, so its keys and values are computed once and shared by every batch.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np


class SentenceEncoder:
    window = 64  # tokens of one piece of a long text

    def __init__(self, embedder: Any) -> None:
        self.model = embedder.model
        self.tokenizer: Any = embedder.tokenizer

    def encode(self, pieces: list[str]) -> np.ndarray:
        return self.model.encode(pieces, batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                                 show_progress_bar=False).astype(np.float32)


class ChatStateEncoder:
    window = 96
    batch_size = 32

    def __init__(self, path: Path, layer: int) -> None:
        import torch

        transformers: Any = importlib.import_module("transformers")  # untyped: held as Any
        hf_logging = transformers.utils.logging
        self.tokenizer: Any = transformers.AutoTokenizer.from_pretrained(str(path))
        # only as deep as the state read: the layers above it and the language-model head are never loaded
        # (and the report listing them as unused is not printed)
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        try:
            self.model: Any = transformers.AutoModel.from_pretrained(str(path), dtype=torch.float32,
                                                                     num_hidden_layers=layer).eval()
        finally:
            hf_logging.set_verbosity(verbosity)
        self.layer = layer
        full: str = self.tokenizer.apply_chat_template([{"role": "user", "content": "\x00"}], tokenize=False,
                                                  add_generation_prompt=True)
        self.opening, self.closing = full.split("\x00")
        ids = self.tokenizer(self.opening, return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            first = self.model(**ids, use_cache=True)
            cache = getattr(first, "cache", None) or first.past_key_values
        self.prefix: list[tuple[Any, Any]] = [(layer.keys, layer.values) for layer in cache.layers
                                              if layer.keys is not None]
        self.prefix_len = int(ids["input_ids"].shape[1])
        self.pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0

    def encode(self, pieces: list[str]) -> np.ndarray:
        """[len(pieces), hidden]: each piece's state at the last token of its prompt, in batches of similar
        length."""
        import torch

        cache_class: Any = importlib.import_module("transformers").DynamicCache
        seqs: list[list[int]] = [self.tokenizer(p + self.closing, add_special_tokens=False)["input_ids"] for p in pieces]
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
        out = np.zeros((len(seqs), self.model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                n, longest = len(idx), max(len(seqs[i]) for i in idx)
                ids = torch.full((n, longest), self.pad, dtype=torch.long)
                mask = torch.zeros((n, longest), dtype=torch.long)
                for row, i in enumerate(idx):
                    ids[row, :len(seqs[i])] = torch.tensor(seqs[i])
                    mask[row, :len(seqs[i])] = 1
                cache = cache_class()
                for depth, (k, v) in enumerate(self.prefix):
                    cache.update(k.expand(n, -1, -1, -1).contiguous(), v.expand(n, -1, -1, -1).contiguous(), depth)
                positions = (self.prefix_len + torch.arange(longest)).unsqueeze(0).expand(n, -1)
                hidden = self.model(input_ids=ids, attention_mask=torch.cat([torch.ones(n, self.prefix_len,
                                                                                        dtype=torch.long), mask], 1),
                                    cache=cache, position_ids=positions, use_cache=True).last_hidden_state
                out[idx] = hidden[torch.arange(n), mask.sum(1) - 1].to(torch.float32).numpy()
        return out
