"""Engine settings: provider arguments first, then ``LLMAAS_*`` environment variables, then defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from llmaas._errors import ConfigurationError


def _cpu_flags() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def cpu_has_fast_bf16() -> bool:
    """AMX or AVX512-BF16: where bf16 matmuls beat fp32 (measured about 2-5x on these machines)."""
    flags = _cpu_flags()
    return "amx_bf16" in flags or "avx512_bf16" in flags


def cpu_has_int8_dot() -> bool:
    """VNNI (AVX512 or AVX) or AMX: int8 dot products in hardware, where ``_int_mm`` beats bf16."""
    flags = _cpu_flags()
    return any(f in flags for f in ("avx512_vnni", "avx_vnni", "amx_int8"))


def _env(name: str, default: str) -> str:
    return os.environ.get(f"LLMAAS_{name}", default)


@dataclass
class Settings:
    dtype: str = "auto"
    threads: int = 0
    max_num_seqs: int = 64
    max_waiting: int = 1024
    max_model_len: int = 0  # 0: the model's own context length
    kv_cache_gb: float = 2.0
    int8_decode_batch: int = 4  # decode steps of at most this many sequences use int8 weights (0: never)
    int4_weights: str = "auto"  # ... or exact int4 where the weights are 4-bit (a Q4 GGUF): auto, off
    prefill_chunk: int = 512  # prompts longer than this are prefilled a chunk per engine step
    # dynamic W8A8 for larger batches and prefill: auto (the default: on where the CPU has VNNI), on, off
    int8_matmul: str = "auto"
    # native kernels (native.py) for bf16 models: auto (where they build, else torch ops), on, off
    native_kernels: str = "auto"
    max_engines: int = 2  # chat models loaded at once; an idle one is stopped to load another
    max_adapters: int = 8  # LoRA adapters (fine-tuned models) kept loaded; the least recently used leave
    memory_budget_gb: float = 0.0  # chat models' memory (weights and KV caches) at most this; 0: no budget

    @classmethod
    def resolve(cls, **given: object) -> Settings:
        raw = {
            "dtype": given.get("dtype") or _env("DTYPE", "auto"),
            "threads": given.get("threads") or _env("THREADS", "0"),
            "max_num_seqs": given.get("max_num_seqs") or _env("MAX_NUM_SEQS", "64"),
            "max_waiting": given.get("max_waiting") or _env("MAX_WAITING", "1024"),
            "max_model_len": given.get("max_model_len") or _env("MAX_MODEL_LEN", "0"),
            "kv_cache_gb": given.get("kv_cache_gb") or _env("KV_CACHE_GB", "2"),
            "int8_decode_batch": given.get("int8_decode_batch") if given.get("int8_decode_batch") is not None
            else _env("INT8_DECODE_BATCH", "4"),
            "int8_matmul": given.get("int8_matmul") or _env("INT8_MATMUL", "auto"),
            "int4_weights": given.get("int4_weights") or _env("INT4_WEIGHTS", "auto"),
            "prefill_chunk": given.get("prefill_chunk") or _env("PREFILL_CHUNK", "512"),
            "native_kernels": given.get("native_kernels") or _env("NATIVE_KERNELS", "auto"),
            "max_engines": given.get("max_engines") or _env("MAX_ENGINES", "2"),
            "max_adapters": given.get("max_adapters") or _env("MAX_ADAPTERS", "8"),
            "memory_budget_gb": given.get("memory_budget_gb") or _env("MEMORY_BUDGET_GB", "0"),
        }
        try:
            s = cls(dtype=str(raw["dtype"]).lower(), threads=int(raw["threads"]), max_num_seqs=int(raw["max_num_seqs"]),
                    max_waiting=int(raw["max_waiting"]), max_model_len=int(raw["max_model_len"]),
                    kv_cache_gb=float(raw["kv_cache_gb"]), int8_decode_batch=int(raw["int8_decode_batch"]),
                    int8_matmul=str(raw["int8_matmul"]).lower(), int4_weights=str(raw["int4_weights"]).lower(),
                    prefill_chunk=int(raw["prefill_chunk"]),
                    native_kernels=str(raw["native_kernels"]).lower(),
                    max_engines=int(raw["max_engines"]), max_adapters=int(raw["max_adapters"]),
                    memory_budget_gb=float(raw["memory_budget_gb"]))
        except ValueError as exc:
            raise ConfigurationError(f"invalid engine setting: {exc}") from None
        for name, allowed in (("dtype", ("auto", "bfloat16", "float32")), ("int8_matmul", ("auto", "on", "off")),
                              ("int4_weights", ("auto", "off")), ("native_kernels", ("auto", "on", "off"))):
            value = getattr(s, name)
            if value not in allowed:
                raise ConfigurationError(f"LLMAAS_{name.upper()} / {name} must be {', '.join(allowed[:-1])} or "
                                         f"{allowed[-1]}, not {value!r}")
        if s.threads < 0 or s.prefill_chunk < 16 or s.max_num_seqs < 1 or s.max_waiting < 1 or s.kv_cache_gb <= 0 or s.max_engines < 1 \
                or s.max_adapters < 1 or s.memory_budget_gb < 0:
            raise ConfigurationError(f"invalid engine settings: {s}")
        return s

    @property
    def memory_budget_bytes(self) -> int:
        return int(self.memory_budget_gb * 2**30)

    @property
    def torch_dtype_name(self) -> str:
        if self.dtype == "auto":
            return "bfloat16" if cpu_has_fast_bf16() else "float32"
        return self.dtype

    @property
    def dynamic_int8(self) -> bool:
        """Whether bf16 models use dynamic W8A8 for larger batches and prefill."""
        if self.int8_matmul == "auto":
            return cpu_has_int8_dot()
        return self.int8_matmul == "on"

    @property
    def thread_count(self) -> int:
        return self.threads or max(1, min(os.cpu_count() or 1, 8))
