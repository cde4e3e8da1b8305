"""How faithfully a fast path answers as float32 does: llama.cpp's measure for ranking its quantizations
(``llama-perplexity --kl-divergence``). On the same tokens, against float32's logits: the mean KL divergence
of the path's next-token distribution from float32's, its 99th percentile, the share of positions where both
pick the same most likely token, and the mean absolute difference of the actual next token's
log-probability. Perplexity alone hides an error that moves probabilities both ways.

The runners feed a text to a ``CompactLM`` the way each engine path does (one prefill pass, chunked prefill,
decode steps at a batch size) and return every position's logits; ``compare`` measures them against a
reference's. ``bench/quality.py`` reports the table and ``tests/engine/test_fidelity.py`` holds the gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from llmaas.providers.huggingface.model.compact import CompactLM

#: every default path holds these against float32 (and a KL no worse than plain bf16 torch ops)
MIN_SAME_TOP = 0.98
MAX_LOGPROB_ERROR = 0.04


@dataclass
class Fidelity:
    positions: int
    kl_mean: float
    kl_p99: float
    same_top: float
    logprob_error: float  # mean |log p(next token) - float32's|, nats

    def passes(self, kl_limit: float) -> bool:
        return (self.same_top >= MIN_SAME_TOP and self.logprob_error <= MAX_LOGPROB_ERROR
                and self.kl_mean <= kl_limit)


def compare(reference: torch.Tensor, logits: torch.Tensor, segments: torch.Tensor) -> Fidelity:
    """``reference`` and ``logits``: ``[rows, T, V]`` for ``segments [rows, T]`` (position t predicts token
    t + 1; the last position of each row has no next token and is left out)."""
    kls: list[torch.Tensor] = []
    same = err = 0.0
    n = 0
    for row in range(segments.shape[0]):  # a row at a time: [T, V] float64 stays small
        ref = torch.log_softmax(reference[row, :-1].double(), dim=-1)
        out = torch.log_softmax(logits[row, :-1].double(), dim=-1)
        nxt = segments[row, 1:].unsqueeze(1)
        kls.append((ref.exp() * (ref - out)).sum(-1).clamp_min(0))
        same += float((ref.argmax(-1) == out.argmax(-1)).sum())
        err += float((ref.gather(1, nxt) - out.gather(1, nxt)).abs().sum())
        n += ref.shape[0]
    kl = torch.cat(kls)
    return Fidelity(n, float(kl.mean()), float(kl.quantile(0.99)), same / n, err / n)


def segments_of(ids: list[int], rows: int) -> torch.Tensor:
    """The text's tokens as ``rows`` equal segments ``[rows, T]`` (the remainder dropped)."""
    t = len(ids) // rows
    return torch.tensor(ids[: rows * t], dtype=torch.long).view(rows, t)


@torch.inference_mode()
def one_pass(lm: CompactLM, segments: torch.Tensor, kernel: str | None = None, rows_at_once: int = 4) -> torch.Tensor:
    """Each segment in one forward pass from position 0, as a prefill runs it (its kernel: the one a pass of
    that many tokens gets, unless ``kernel``), with the adapters ``use_adapters`` set."""
    out: list[torch.Tensor] = []
    for i in range(0, segments.shape[0], rows_at_once):
        part = segments[i:i + rows_at_once]
        k = kernel or lm.kernel_for(part.numel())
        hidden = lm._forward_full(part, k, lora=True)  # pyright: ignore[reportPrivateUsage]
        out.append(lm._logits(hidden, k, part))  # pyright: ignore[reportPrivateUsage]
    return torch.cat(out)


@torch.inference_mode()
def chunked(lm: CompactLM, segments: torch.Tensor, chunk: int) -> torch.Tensor:
    """Each segment prefilled ``chunk`` tokens at a time into slot 0, later chunks attending to the cache."""
    rows, t = segments.shape
    lm.allocate(1, _room(t))
    out = torch.empty(rows, t, lm.vocab)
    for row in range(rows):
        for start in range(0, t, chunk):
            out[row, start:start + chunk] = lm.extend(segments[row, start:start + chunk], 0, start, every=True)
    return out


@torch.inference_mode()
def decoded(lm: CompactLM, segments: torch.Tensor, batch: int | None = None) -> torch.Tensor:
    """The segments a token per decode step (teacher-forced), ``batch`` side by side at a time (default: all
    of them): running sequences through the KV cache and the kernels decode steps of that batch size use."""
    rows, t = segments.shape
    batch = batch or rows
    lm.allocate(batch, _room(t))
    out = torch.empty(rows, t, lm.vocab)
    for first in range(0, rows, batch):
        group = segments[first:first + batch]
        for p in range(t):
            out[first:first + batch, p] = lm.decode(group[:, p], torch.full((group.shape[0],), p, dtype=torch.long))
    return out


def _room(t: int) -> int:
    return 1 << t.bit_length()


def table_row(name: str, where: str, f: Fidelity, kl_limit: float, default: bool) -> str:
    verdict = "pass" if f.passes(kl_limit) else ("**fails**" if default else "misses (opt-in)")
    return (f"| {name} | {where} | {f.positions} | {f.kl_mean:.5f} | {f.kl_p99:.4f} | {f.same_top:.4f} | "
            f"{f.logprob_error:.4f} | {verdict} |")


TABLE_HEAD = ("| path | where the engine takes it | positions | mean KL | KL p99 | same top-1 | mean abs Δ logprob "
              "(nats) | gate |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")

