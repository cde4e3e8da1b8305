"""Embeddings with sentence-transformers models (the built-in all-MiniLM-L6-v2 among them)."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from llmaas._errors import ContextLengthExceededError
from llmaas.providers.huggingface.api.requests import bad, check_utf8
from llmaas.types import CreateEmbeddingResponse, EmbeddingRequest

MAX_INPUTS = 2048


class Embedder:
    """One loaded embedding model. ``embed`` runs on the provider's torch thread."""

    def __init__(self, path: str, model_id: str) -> None:
        from sentence_transformers import SentenceTransformer

        self.id = model_id
        self.model: Any = SentenceTransformer(path, device="cpu", local_files_only=True)
        self.tokenizer: Any = self.model.tokenizer
        self.max_tokens: int = int(self.model.max_seq_length)
        dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimensions: int = int(dim())

    def texts(self, req: EmbeddingRequest) -> list[str]:
        inputs = req.inputs
        if not inputs:
            raise bad("input must not be empty", "input")
        if len(inputs) > MAX_INPUTS:
            raise bad(f"input may hold at most {MAX_INPUTS} items, got {len(inputs)}", "input")
        texts: list[str] = []
        for i, item in enumerate(inputs):
            param = "input" if isinstance(req.input, str) else f"input.{i}"
            if isinstance(item, str):
                if not item:
                    raise bad(f"{param} must not be an empty string", param)
                texts.append(check_utf8(item, param))
            else:
                vocab = len(self.tokenizer)
                outside = [t for t in item if not 0 <= t < vocab]
                if outside or not item:
                    raise bad(f"{param} holds token ids outside the vocabulary (0..{vocab - 1}): {outside[:5]}"
                              if outside else f"{param} must not be an empty list of token ids", param)
                texts.append(self.tokenizer.decode(item, skip_special_tokens=True))
        return texts

    def memory_bytes(self) -> int:
        return sum(p.numel() * p.element_size() for p in self.model.parameters())

    def count(self, texts: list[str]) -> list[int]:
        return [len(ids) for ids in self.tokenizer(texts, add_special_tokens=True)["input_ids"]]

    def embed(self, req: EmbeddingRequest, texts: list[str], counts: list[int]) -> CreateEmbeddingResponse:
        if req.dimensions is not None and req.dimensions != self.dimensions:
            raise bad(f"model {self.id!r} makes {self.dimensions}-dimensional embeddings and was not trained to "
                      f"be shortened; dimensions={req.dimensions} is not available", "dimensions")
        for i, n in enumerate(counts):
            if n > self.max_tokens:
                raise ContextLengthExceededError(
                    f"This model's maximum input length is {self.max_tokens} tokens; input {i} has {n} tokens. "
                    "Please shorten it or split it into chunks.", status_code=400,
                    param="input" if isinstance(req.input, str) else f"input.{i}")
        vectors = self.model.encode(texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True,
                                    show_progress_bar=False).astype(np.float32)
        data: list[dict[str, Any]] = []
        for i, vec in enumerate(vectors):
            if req.encoding_format == "base64":
                value: Any = base64.b64encode(vec.astype("<f4").tobytes()).decode()
            else:
                value = vec.tolist()
            data.append({"object": "embedding", "index": i, "embedding": value})
        total = sum(counts)
        return CreateEmbeddingResponse.model_validate({"data": data, "model": req.model, "object": "list",
                                                       "usage": {"prompt_tokens": total, "total_tokens": total}})
