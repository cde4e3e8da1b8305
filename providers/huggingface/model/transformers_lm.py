"""The plain transformers path, for causal LMs the compact engine does not implement (GPT-2, Phi, Gemma,
...): the same interface as ``CompactLM``, so the engine, its queue, sampling and the whole API work
unchanged, but each sequence runs its own forward pass with its own transformers cache. Batches are
therefore a loop over sequences: correct, and slower than the compact engine (``ps`` says which path)."""

from __future__ import annotations

import copy
import inspect
from typing import Any

import torch

from llmaas.providers.huggingface.management.details import tensor_bytes


class TransformersLM:
    """The plain transformers forward pass behind the engine's ``LanguageModel`` protocol."""

    engine_name = "transformers"
    chunked_prefill = False  # one transformers cache per sequence: a prompt is prefilled whole

    # hf_model: any transformers causal LM; its config fields and submodules are untyped
    def __init__(self, hf_model: Any, dtype: torch.dtype, max_len: int) -> None:
        self.hf: Any = hf_model.to(dtype).eval()
        self.dtype = dtype
        cfg: Any = hf_model.config.get_text_config()
        self.vocab: int = hf_model.get_output_embeddings().weight.shape[0]
        self.max_len = max_len
        self.n_layers = int(getattr(cfg, "num_hidden_layers", None) or getattr(cfg, "n_layer", 1))
        self.hidden = int(getattr(cfg, "hidden_size", None) or getattr(cfg, "n_embd", 1))
        self.int8_max_batch = 0
        # transformers 5 names the cache argument ``cache``; earlier versions ``past_key_values``
        self._cache_arg = "cache" if "cache" in inspect.signature(hf_model.forward).parameters else "past_key_values"
        self._caches: list[Any] = []  # one transformers cache per slot (None: empty)
        self._capacity = 0

    # -- the CompactLM interface the engine uses ------------------------------------------------------

    def enable_int8_decode(self, max_batch: int, int4: bool = True, int8: bool = False) -> None:
        """The slow path keeps the model's own weights: no int8 or int4 copies."""

    def enable_dynamic_int8(self, calibration: Any) -> bool:
        return False

    def enable_native(self, mode: str) -> bool:
        return False

    def use_adapters(self, adapters: list[Any]) -> None:
        if any(a is not None for a in adapters):
            raise ValueError("fine-tuned adapters are served by the compact engine only, not the transformers path")

    @property
    def slots(self) -> int:
        return len(self._caches)

    @property
    def capacity(self) -> int:
        return self._capacity

    def bytes_per_token(self) -> int:
        """An upper bound (keys and values of every layer at full width, in the model's dtype)."""
        return 2 * self.n_layers * self.hidden * torch.finfo(self.dtype).bits // 8

    def allocate(self, slots: int, capacity: int, keep: int = 0) -> None:
        self._caches = [*self._caches[:keep], *([None] * (slots - min(keep, len(self._caches))))][:slots]
        self._capacity = capacity

    def move_slot(self, src: int, dst: int, length: int) -> None:
        if src != dst:
            self._caches[dst] = copy.deepcopy(self._caches[src])

    def memory_bytes(self) -> int:
        caches = [t for c in self._caches if c is not None for t in _cache_tensors(c)]
        return tensor_bytes([list(self.hf.parameters()), list(self.hf.buffers()), caches])

    @torch.inference_mode()
    def prefill(self, prompts: list[torch.Tensor], slots: list[int]) -> torch.Tensor:
        out: list[torch.Tensor] = []
        for prompt, slot in zip(prompts, slots, strict=True):
            result = self.hf(input_ids=prompt.view(1, -1), use_cache=True)
            self._caches[slot] = _cache_of(result)
            out.append(result.logits[0, -1].float())
        return torch.stack(out)

    def extend(self, tokens: torch.Tensor, slot: int, start: int) -> torch.Tensor:
        raise NotImplementedError("the transformers path prefills a prompt whole (chunked_prefill is False)")

    def score_many(self, prompts: list[torch.Tensor], top: int = 0, adapter: Any = None
                   ) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        return [self.score(t, top, adapter=adapter) for t in prompts]

    @torch.inference_mode()
    def score(self, tokens: torch.Tensor, top: int = 0, int8: bool = False,
              chunk: int = 512, adapter: Any = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The prompt's own tokens' log-probabilities (see ``CompactLM.score``); no int8 weights here."""
        self.use_adapters([adapter])  # refuses an adapter: the compact engine serves those
        logits = self.hf(input_ids=tokens.view(1, -1), use_cache=False).logits[0, :-1].float()
        logp = torch.log_softmax(logits, dim=-1)
        token_lp = logp.gather(1, tokens[1:].unsqueeze(1)).squeeze(1)
        if top:
            values, ids = logp.topk(top, dim=-1)
            return token_lp, values, ids
        return token_lp, torch.empty(len(token_lp), 0), torch.empty(len(token_lp), 0, dtype=torch.long)

    @torch.inference_mode()
    def decode(self, tokens: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        out: list[torch.Tensor] = []
        for row in range(tokens.shape[0]):
            pos = int(positions[row])
            result = self.hf(input_ids=tokens[row].view(1, 1), use_cache=True, position_ids=torch.tensor([[pos]]),
                             **{self._cache_arg: self._caches[row]})
            self._caches[row] = _cache_of(result)
            out.append(result.logits[0, -1].float())
        return torch.stack(out)


def _cache_of(result: Any) -> Any:
    """The cache a forward pass returned (``cache`` in transformers 5, ``past_key_values`` before)."""
    cache = result.get("cache")
    return cache if cache is not None else result.get("past_key_values")


def _cache_tensors(cache: Any) -> list[torch.Tensor]:
    layers = getattr(cache, "layers", None)
    if layers is not None:
        return [t for layer in layers for t in (getattr(layer, "keys", None), getattr(layer, "values", None))
                if isinstance(t, torch.Tensor)]
    return [t for pair in cache for t in pair if isinstance(t, torch.Tensor)]
