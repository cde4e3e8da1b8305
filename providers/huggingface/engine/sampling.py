"""Per-request sampling over a batch of logits: penalties, logit bias, temperature, top-k, top-p, seeds,
and the log-probabilities OpenAI returns. Work is vectorised across the batch; rows that ask for nothing
special cost nothing extra."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from llmaas.providers.huggingface.model.torch_ops import floats, ints

if TYPE_CHECKING:
    from llmaas.providers.huggingface.engine.constrained import Constraint

MIN_TEMPERATURE = 1e-4  # below this, dividing by the temperature overflows: such rows are greedy


@dataclass
class SamplingParams:
    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int | None = None
    stop: list[str] = field(default_factory=list[str])
    stop_token_ids: list[int] = field(default_factory=list[int])
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logit_bias: dict[int, float] = field(default_factory=dict[int, float])
    logprobs: bool = False
    top_logprobs: int = 0
    ignore_eos: bool = False
    constraint: Constraint | None = None  # every token must keep the answer valid for its grammar

    @property
    def greedy(self) -> bool:
        return self.temperature < MIN_TEMPERATURE

    @property
    def penalised(self) -> bool:
        return self.presence_penalty != 0.0 or self.frequency_penalty != 0.0


@dataclass
class Choice:
    """What was sampled for one row, with its log-probability information when asked for."""

    token: int
    logprob: float | None = None
    top: list[tuple[int, float]] | None = None


def sample(
    logits: torch.Tensor,
    params: list[SamplingParams],
    generators: list[torch.Generator | None],
    counts: torch.Tensor | None,
) -> list[Choice]:
    """Pick the next token for every row of ``logits [B, V]`` (float32).

    ``counts [B, V]`` holds how often each row has generated each token (for the penalties); it may be
    None when no row is penalised.
    """
    b = logits.shape[0]
    raw = logits
    logits = logits.clone() if any(p.penalised or p.logit_bias for p in params) else logits
    for i, p in enumerate(params):
        if p.penalised and counts is not None:
            row = counts[i]
            logits[i] -= p.frequency_penalty * row + p.presence_penalty * (row > 0).to(row.dtype)
        if p.logit_bias:
            ids = torch.tensor(list(p.logit_bias), dtype=torch.long)
            logits[i, ids] += torch.tensor(list(p.logit_bias.values()), dtype=logits.dtype)

    chosen = torch.empty(b, dtype=torch.long)
    greedy = [i for i, p in enumerate(params) if p.greedy]
    if greedy:
        idx = torch.tensor(greedy)
        chosen[idx] = logits[idx].argmax(-1)
    sampled = [i for i, p in enumerate(params) if not p.greedy]
    if sampled:
        idx = torch.tensor(sampled)
        temps = torch.tensor([params[i].temperature for i in sampled], dtype=logits.dtype).unsqueeze(1)
        scaled = logits / temps if len(sampled) == b else logits[idx] / temps
        scaled = _top_k(scaled, [params[i].top_k for i in sampled])
        scaled = _top_p(scaled, [params[i].top_p for i in sampled])
        chosen[idx] = _draw(torch.softmax(scaled, dim=-1), [generators[i] for i in sampled])

    want = [i for i, p in enumerate(params) if p.logprobs]
    tokens = ints(chosen)
    out = [Choice(t) for t in tokens]
    if want:
        idx = torch.tensor(want)
        logp = torch.log_softmax(raw[idx], dim=-1)
        k = max(params[i].top_logprobs for i in want)
        top_v, top_i = (logp.topk(k, dim=-1) if k else (None, None))
        for row, i in enumerate(want):
            c = out[i]
            c.logprob = float(logp[row, c.token])
            n = params[i].top_logprobs
            if n and top_v is not None and top_i is not None:
                top_ids, top_values = ints(top_i[row, :n]), floats(top_v[row, :n])
                c.top = list(zip(top_ids, top_values, strict=True))
            else:
                c.top = []
    return out


def sample_rows(
    logits: torch.Tensor,
    params: list[SamplingParams],
    generators: list[torch.Generator | None],
    counts: torch.Tensor | None,
) -> list[Choice | Exception]:
    """``sample`` for the whole batch when it can; if that fails, row by row, so that one bad row (NaN
    logits, say) fails its own sequence and nothing else. A failed row's entry is its exception."""
    try:
        return list(sample(logits, params, generators, counts))
    except Exception:  # noqa: BLE001 - found below, row by row
        out: list[Choice | Exception] = []
        for i in range(logits.shape[0]):
            try:
                row_counts = counts[i:i + 1] if counts is not None else None
                out.append(sample(logits[i:i + 1], params[i:i + 1], generators[i:i + 1], row_counts)[0])
            except Exception as exc:  # noqa: BLE001 - reported to that row's request
                out.append(exc)
        return out


def _draw(probs: torch.Tensor, generators: list[torch.Generator | None]) -> torch.Tensor:
    """One token per row of ``probs [S, V]``, by inverse transform: a uniform draw per row (from the row's
    own generator where it has a seed) located in the row's cumulative distribution. ``torch.multinomial``
    took 1 ms a row over this vocabulary (64 ms a step at 64 rows, most of the cost of sampling); this takes
    3 ms for all 64. ``right=True`` finds the token whose interval holds the draw, never one of probability
    zero (a masked token's interval is empty)."""
    cdf = probs.cumsum(dim=-1)
    total = cdf[:, -1:]
    if not bool(torch.isfinite(total).all()) or bool((total <= 0).any()):
        raise ValueError("a row's probabilities are not finite (its logits hold NaN or infinity)")
    u = torch.rand(len(generators), 1)
    for row, g in enumerate(generators):
        if g is not None:
            u[row] = torch.rand(1, generator=g)
    below = torch.nextafter(total, torch.zeros_like(total))  # a draw rounded up to the total finds nothing
    return torch.searchsorted(cdf, torch.minimum(u * total, below), right=True).squeeze(1)


def _top_k(logits: torch.Tensor, ks: list[int]) -> torch.Tensor:
    if not any(k > 0 for k in ks):
        return logits
    vocab = logits.shape[-1]
    kk = torch.tensor([k if 0 < k < vocab else vocab for k in ks])
    kth = logits.topk(int(kk.max()), dim=-1).values.gather(1, (kk - 1).unsqueeze(1))
    return logits.masked_fill(logits < kth, float("-inf"))


def _top_p(logits: torch.Tensor, ps: list[float]) -> torch.Tensor:
    if all(p >= 1.0 for p in ps):
        return logits
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    cum = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
    limit = torch.tensor(ps, dtype=cum.dtype).unsqueeze(1)
    drop = (cum - torch.softmax(sorted_logits, dim=-1)) >= limit  # keep tokens until the mass reaches p
    drop[:, 0] = False  # the most likely token always stays, however small p is (1e-252 is 0.0 in float32)
    sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
    return torch.empty_like(logits).scatter_(1, order, sorted_logits)
