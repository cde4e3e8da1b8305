"""The few torch calls that pyright cannot type: private CPU matmul kernels (stable since torch 2.2, the ones
gpt-fast and torchao call; looked up by name, so a build without one fails at the call, with AttributeError,
not at import) and ``Tensor.tolist``, which torch declares as ``list[Unknown]``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import torch

Op = Callable[..., torch.Tensor]


def _private(name: str) -> Op:
    found = getattr(torch, name, None)
    if found is None:
        def missing(*args: Any, **kwargs: Any) -> torch.Tensor:
            raise AttributeError(f"this build of torch has no torch.{name}")
        return missing
    return cast(Op, found)


int_mm = _private("_int_mm")
weight_int8pack_mm = _private("_weight_int8pack_mm")
weight_int4pack_mm = _private("_weight_int4pack_mm_for_cpu")
convert_to_int4pack = _private("_convert_weight_to_int4pack_for_cpu")


def ints(t: torch.Tensor) -> list[int]:
    values: Any = t.tolist()  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    return cast("list[int]", values)


def floats(t: torch.Tensor) -> list[float]:
    values: Any = t.tolist()  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    return cast("list[float]", values)
