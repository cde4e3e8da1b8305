"""The matmul kernels of the compact model, one class each, and the projection that holds them.

A projection (a layer's fused q/k/v, its output, its fused gate/up, its down, or the vocabulary head) keeps
its float weight and, once the model enables them, the other kernels (the maths is in ``quant.py``):

- ``FloatMatmul``: the model's dtype (``F.linear``), always there.
- ``Int8Weights``: int8 weights, per-row scales, activations as they are; for a few rows.
- ``Int4Weights``: exact int4 weights where the float weights lie on a 4-bit grid; for a few rows.
- ``DynamicInt8Matmul``: int8 weights and int8 activations quantized per row now (W8A8); for many rows. A
  norm-fed one takes the raw residual stream and applies the RMSNorm on the way.

``LoraTerm`` is the low-rank term the adapters of a batch add beside any of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from llmaas.providers.huggingface.model.quant import DynamicInt8, Int4, Int8, dynamic_int8_mm, int4_mm
from llmaas.providers.huggingface.model.torch_ops import weight_int8pack_mm

if TYPE_CHECKING:
    from llmaas.providers.huggingface.model.native import NativeKernels

# the kinds of kernel a forward pass asks for (``CompactLM.kernel_for``)
FLOAT, WEIGHT8, WEIGHT4, DYNAMIC8 = "float", "int8-weight", "int4-weight", "int8-dynamic"
KINDS = (FLOAT, WEIGHT8, WEIGHT4, DYNAMIC8)


class Matmul(ABC):
    """``x @ W.T (+ bias)`` one way."""

    #: whether ``forward`` takes the raw residual stream and applies the projection's RMSNorm itself
    residual_in: bool = False

    @abstractmethod
    def forward(self, x: torch.Tensor, native: NativeKernels | None) -> torch.Tensor: ...


@dataclass(eq=False)
class FloatMatmul(Matmul):
    weight: torch.Tensor
    bias: torch.Tensor | None

    def forward(self, x: torch.Tensor, native: NativeKernels | None) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)


@dataclass(eq=False)
class Int8Weights(Matmul):
    weight: Int8
    bias: torch.Tensor | None

    def forward(self, x: torch.Tensor, native: NativeKernels | None) -> torch.Tensor:
        w, scale = self.weight
        out = weight_int8pack_mm(x.reshape(-1, x.shape[-1]), w, scale).view(*x.shape[:-1], -1)
        return out + self.bias if self.bias is not None else out


@dataclass(eq=False)
class Int4Weights(Matmul):
    weight: Int4
    bias: torch.Tensor | None

    def forward(self, x: torch.Tensor, native: NativeKernels | None) -> torch.Tensor:
        out = int4_mm(x, self.weight)
        return out + self.bias if self.bias is not None else out


@dataclass(eq=False)
class DynamicInt8Matmul(Matmul):
    """float32 out: in this mode the residual stream stays float32, saving a conversion each way."""

    weight: DynamicInt8
    bias: torch.Tensor | None
    eps: float | None  # a norm-fed projection's RMSNorm epsilon (its input is the raw residual stream)

    def __post_init__(self) -> None:
        self.residual_in = self.eps is not None

    def forward(self, x: torch.Tensor, native: NativeKernels | None) -> torch.Tensor:
        out = dynamic_int8_mm(x, self.weight, self.eps, torch.float32, native)
        return out + self.bias if self.bias is not None else out


@dataclass(eq=False)
class Projection:
    """One projection and the kernels it can run, by kind (a kind it lacks runs the float one)."""

    name: str  # "w_qkv", "w_o", "w_gate_up", "w_down" or "lm_head"
    layer: int  # its layer's index (-1: the vocabulary head)
    weight: torch.Tensor  # [out, in], the model's dtype
    bias: torch.Tensor | None = None
    norm: torch.Tensor | None = None  # the RMSNorm weight its input goes through first, float32
    kernels: dict[str, Matmul] = field(default_factory=dict[str, Matmul])

    def __post_init__(self) -> None:
        self.kernels.setdefault(FLOAT, FloatMatmul(self.weight, self.bias))

    def matmul(self, kind: str) -> Matmul:
        return self.kernels.get(kind) or self.kernels[FLOAT]

    def use_weight_only(self, int8: Int8 | None, int4: Int4 | None) -> None:
        """Small batches: exact int4 where the weights allow it, else int8; both off with neither."""
        for kind in (WEIGHT8, WEIGHT4):
            self.kernels.pop(kind, None)
        if int8 is not None:
            self.kernels[WEIGHT8] = self.kernels[WEIGHT4] = Int8Weights(int8, self.bias)
        if int4 is not None:
            self.kernels[WEIGHT4] = Int4Weights(int4, self.bias)

    def use_dynamic_int8(self, weight: DynamicInt8, eps: float | None) -> None:
        self.kernels[DYNAMIC8] = DynamicInt8Matmul(weight, self.bias, eps)

    @property
    def int8(self) -> Int8Weights | None:
        found = self.kernels.get(WEIGHT8)
        return found if isinstance(found, Int8Weights) else None

    @property
    def int4(self) -> Int4Weights | None:
        found = self.kernels.get(WEIGHT4)
        return found if isinstance(found, Int4Weights) else None


@dataclass(eq=False)
class LoraTerm:
    """The adapters of a batch on one projection: their A's stacked ``[R, in]``, their B's side by side
    ``[out, R]``, and which of the R columns each row of the batch keeps (None: every row all of them)."""

    a: torch.Tensor
    b: torch.Tensor
    mask: torch.Tensor | None

    def add(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``out + ((x @ A.T) * mask) @ B.T``; ``x`` is the projection's (normed) input."""
        low = F.linear(x.to(self.a.dtype), self.a)  # [rows, (P,) R]; dynamic int8 runs float32
        if self.mask is not None:
            low = low * (self.mask if low.dim() == 2 else self.mask[:, None, :])
        if out.dim() == 2 and out.dtype == low.dtype:  # a decode step: one fused multiply-add
            return torch.addmm(out, low, self.b.t())
        return out + F.linear(low, self.b)
