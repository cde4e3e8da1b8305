"""What this CPU can do fast, read from ``/proc/cpuinfo`` at run time (never assumed)."""

from __future__ import annotations

from functools import cache
from pathlib import Path


@cache
def cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def flags() -> set[str]:
    """The first processor's feature flags."""
    line = next((line for line in cpuinfo().splitlines() if line.startswith("flags")), "")
    return set(line.partition(":")[2].split())


def has_fast_bf16() -> bool:
    """AMX or AVX512-BF16: where bf16 matmuls beat fp32 (measured about 2-5x on these machines)."""
    return bool(flags() & {"amx_bf16", "avx512_bf16"})


def has_int8_dot() -> bool:
    """VNNI (AVX512 or AVX) or AMX: int8 dot products in hardware, where ``_int_mm`` beats bf16."""
    return bool(flags() & {"avx512_vnni", "avx_vnni", "amx_int8"})
