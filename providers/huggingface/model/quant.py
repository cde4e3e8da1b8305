"""int8 matrix multiplications for the compact engine.

Three kinds, each where it wins on these CPUs (measured in ``docs/benchmarks.md``):

- **weight-only** (``torch._weight_int8pack_mm``): int8 weights with per-row scales, bf16 activations. For
  a few rows (decode at batch 1-4) the step is bound by the bytes of weights read, and int8 halves them.
- **exact int4 weight-only** (``torch._weight_int4pack_mm_for_cpu``): for weights that already lie on a
  4-bit grid of groups of 32 along the input dimension, as a model converted from a Q4_0/Q4_1 GGUF does
  (the built-in SmolLM2 is Q4_1). Stored that way they lose nothing but the rounding of each group's
  scale and zero to bf16, and a small batch reads half the bytes of int8 (measured 2x faster). Any other
  weight keeps int8: quantizing a float weight to 4 bits costs a small model several percent of
  perplexity.
- **dynamic W8A8** (``torch._int_mm``, VNNI): int8 weights with per-output-channel scales and int8
  activations with a scale per token, computed each call. For many rows (large decode batches, prefill)
  the step is bound by arithmetic, and VNNI int8 runs about twice as many operations per second as bf16.

Activations feeding the q/k/v and gate/up projections come out of an RMSNorm and carry a few outlier
channels; quantized as they are they cost several percent of perplexity. They are smoothed
(SmoothQuant): each input channel ``j`` is divided by ``s_j = sqrt(max|x_j| / max|W_j|)`` and the weight's
column multiplied by it, which changes nothing in exact arithmetic and moves the outliers into the weights,
where per-row scales absorb them. ``max|x_j|`` comes from a short calibration text shipped beside this
module (not the text the quality benchmark scores). The division folds into the norm's own weight.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from llmaas.providers.huggingface.model.torch_ops import convert_to_int4pack, int_mm, weight_int4pack_mm

CALIBRATION_TEXT = Path(__file__).with_name("calibration.txt")
SMOOTHING_ALPHA = 0.5

_EMPTY = torch.empty(0)
Int8 = tuple[torch.Tensor, torch.Tensor]  # int8 weight [N, K] and its per-row scales [N]


Int4 = tuple[torch.Tensor, torch.Tensor]  # packed 4-bit weight and scales and zeros [K / 32, N, 2]
INT4_GROUP = 32


def exact_int4(w: torch.Tensor) -> Int4 | None:
    """``w`` ``[N, K]`` (float32, before any rounding to bf16) packed for ``_weight_int4pack_mm_for_cpu``
    where each group of 32 along K holds at most 16 equally spaced values from its minimum to its maximum;
    None where it does not (or this build cannot pack it)."""
    n, k = w.shape
    if k % INT4_GROUP:
        return None
    groups = w.float().reshape(n, k // INT4_GROUP, INT4_GROUP)
    lo, hi = groups.amin(-1), groups.amax(-1)
    scale = (hi - lo) / 15
    level = (groups - lo[..., None]) / torch.where(scale > 0, scale, torch.ones_like(scale))[..., None]
    q = level.round()
    if float((level - q).abs().max()) > 1e-2:  # float32 noise is about 1e-5; an off-grid weight, about 0.25
        return None
    try:
        packed = convert_to_int4pack(q.clamp(0, 15).to(torch.int32).reshape(n, k), 1)
    except (RuntimeError, AttributeError):
        return None
    # the kernel computes (q - 8) * scale + zero
    zeros = lo + 8 * scale
    return packed, torch.stack([scale, zeros], -1).transpose(0, 1).contiguous().to(torch.bfloat16)


def int4_mm(x: torch.Tensor, w: Int4) -> torch.Tensor:
    """``x @ W.T`` for bf16 ``x`` ``[..., K]``: the kernel has no fast path for float32 activations."""
    flat = x.reshape(-1, x.shape[-1])
    return weight_int4pack_mm(flat, w[0], INT4_GROUP, w[1]).view(*x.shape[:-1], -1)


def quantize_int8(w: torch.Tensor) -> Int8:
    """Symmetric per-output-row int8, the layout ``torch._weight_int8pack_mm`` takes."""
    scale = (w.float().abs().amax(dim=1) / 127.0).clamp(min=1e-8)
    q = torch.round(w.float() / scale[:, None]).clamp(-127, 127).to(torch.int8).contiguous()
    return q, scale.to(w.dtype)


@dataclass
class DynamicInt8:
    """A projection for dynamic W8A8: the weight transposed ``[K, N]`` in int8, its per-output scales, and
    for a norm-fed projection the per-channel factor ``norm_weight / s`` its input is multiplied by."""

    w: torch.Tensor
    scale: torch.Tensor
    into: torch.Tensor | None = None

    @classmethod
    def make(cls, weight: torch.Tensor, norm: torch.Tensor | None = None,
             act_max: torch.Tensor | None = None) -> DynamicInt8:
        w = weight.float()
        into = None
        if norm is not None:
            s = torch.ones(w.shape[1])
            if act_max is not None:  # smoothing: the calibrated activation range against the weight's
                seen = (act_max * norm.float().abs()).clamp(min=1e-5)
                s = seen.pow(SMOOTHING_ALPHA) / w.abs().amax(0).clamp(min=1e-5).pow(1 - SMOOTHING_ALPHA)
            w = w * s[None, :]
            into = (norm.float() / s).contiguous()
        q, scale = quantize_int8(w)  # float32 in, so float32 scales
        return cls(q.t().contiguous(), scale, into)

    @staticmethod
    def supported(weight: torch.Tensor) -> bool:
        """``_int_mm`` on this build takes these shapes (it wants multiples of 8)."""
        n, k = weight.shape
        try:
            int_mm(torch.zeros(32, k, dtype=torch.int8), torch.zeros(k, n, dtype=torch.int8))
        except RuntimeError:
            return False
        return True


def dynamic_int8_mm(x: torch.Tensor, p: DynamicInt8, eps: float | None, out_dtype: torch.dtype,
                    native: Any = None) -> torch.Tensor:
    """``x @ W.T`` with ``x`` quantized per row now. With ``eps`` (a norm-fed projection) ``x`` is the raw
    residual stream and the RMSNorm is applied on the way: symmetric per-row quantization does not see a
    per-row factor, so the norm's ``1 / rms`` goes straight into the output scale. ``native``: the
    kernels of ``native.py``, which quantize a row in one call."""
    shape = x.shape
    if native is not None:
        into = p.into if p.into is not None else _EMPTY
        q, row_scale = native.quantize_rows(x.reshape(-1, shape[-1]), into, eps if eps is not None else -1.0)
    else:
        xf = x.reshape(-1, shape[-1]).to(torch.float32)
        z = xf * p.into if p.into is not None else xf
        top = z.abs().amax(dim=-1, keepdim=True).clamp_(min=1e-8)
        q = torch.round(z * (127.0 / top)).to(torch.int8)
        row_scale = top / 127.0
        if eps is not None:
            row_scale = row_scale * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    out = int_mm(q, p.w).mul(row_scale).mul_(p.scale)  # int32 times float: float32 in one pass
    return out.to(out_dtype).view(*shape[:-1], -1)
