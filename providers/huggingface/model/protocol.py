"""What the engine needs from a model: a KV cache held in numbered slots, and the forward passes over it.

``CompactLM`` (``compact.py``) and ``TransformersLM`` (``transformers_lm.py``) implement it; the engine sees
nothing else of either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

    import torch

    from llmaas.providers.huggingface.model.adapters import Adapter


class StepInterrupted(Exception):
    """A decode step given up part way (``interrupt`` said so): nothing of it is kept but cache entries at the
    rows' current positions, which the next step over those rows writes again."""


def interruptible(model: object, check: Callable[[], bool]) -> None:
    """Let ``model`` give up a decode step between layers when ``check()`` is true (models that can: the
    compact model; others run every step to its end)."""
    if hasattr(model, "interrupt"):
        model.interrupt = check  # type: ignore[attr-defined]


class LanguageModel(Protocol):
    max_len: int  # the longest sequence (prompt and answer) in tokens
    vocab: int  # the width of a row of logits
    chunked_prefill: bool  # whether ``extend`` prefills a long prompt a chunk at a time
    engine_name: str  # what ``ps`` shows: "compact" or "transformers"

    @property
    def slots(self) -> int:
        """Sequences the KV cache holds now."""
        ...

    @property
    def capacity(self) -> int:
        """Positions each slot holds now."""
        ...

    def bytes_per_token(self) -> int: ...

    def memory_bytes(self) -> int: ...

    def allocate(self, slots: int, capacity: int, keep: int = 0) -> None:
        """A KV cache of ``slots`` x ``capacity``, keeping what slots ``0..keep-1`` hold."""
        ...

    def move_slot(self, src: int, dst: int, length: int) -> None:
        """Copy the first ``length`` positions of slot ``src`` into slot ``dst``."""
        ...

    def use_adapters(self, adapters: list[Adapter | None]) -> None:
        """The LoRA adapter (or None: the base model) of each row of the next forward pass."""
        ...

    def prefill(self, prompts: list[torch.Tensor], slots: list[int]) -> torch.Tensor:
        """Each prompt into its slot; the logits of each prompt's last position, ``[len(prompts), vocab]``."""
        ...

    def extend(self, tokens: torch.Tensor, slot: int, start: int) -> torch.Tensor:
        """The next chunk of a prompt whose first ``start`` tokens slot ``slot`` already holds; the logits of
        its last position, ``[1, vocab]``. Only where ``chunked_prefill`` is true."""
        ...

    def decode(self, tokens: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """One token for each of slots ``0..B-1`` at its position; the next logits, ``[B, vocab]``."""
        ...

    def score(self, tokens: torch.Tensor, top: int = 0, *, adapter: Adapter | None = None
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A prompt's own tokens' log-probabilities and the ``top`` best at each position (no cache used), on
        the base weights or with ``adapter`` (a fine-tuned model's)."""
        ...

    def score_many(self, prompts: list[torch.Tensor], top: int = 0, *, adapter: Adapter | None = None
                   ) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """``score`` of each prompt (in one forward pass where that gives each the same scores)."""
        ...
