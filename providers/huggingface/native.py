"""The engine's native kernel: one decode step's attention for a layer (rotary, KV cache write, attention
over the bf16 cache) in C++ (``decode_attention.cpp``), built for this CPU the first time an engine needs
it and cached per machine in ``$XDG_CACHE_HOME/llmaas/kernels`` (a build artefact, like torch's own
extension cache, so it does not live in ``LLMAAS_HOME``). Where it cannot be built (no compiler), the
engine keeps its torch attention and says so once.

Setting ``attention_kernel`` / ``LLMAAS_ATTENTION_KERNEL``: ``auto`` (native where it builds), ``native``
(an error where it does not) or ``torch``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from llmaas._errors import ConfigurationError

from .settings import _cpu_flags

SOURCE = Path(__file__).with_name("decode_attention.cpp")
CFLAGS = ["-O3", "-march=native", "-fopenmp"]
log = logging.getLogger("llmaas.engine")

_lock = threading.Lock()
_built: dict[str, Callable[..., Any] | None] = {}
_failure: list[str] = []


def kernel_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "llmaas" / "kernels"


def _key() -> str:
    """One build per source, torch version, compiler flags and CPU (``-march=native``)."""
    import torch

    flags = next((line for line in _cpu_flags().splitlines() if line.startswith("flags")), "")
    digest = hashlib.blake2b(digest_size=6)
    for part in (SOURCE.read_bytes(), torch.__version__.encode(), " ".join(CFLAGS).encode(), flags.encode()):
        digest.update(part)
    return digest.hexdigest()


def _build() -> Callable[..., Any]:
    name = f"llmaas_decode_attention_{_key()}"
    folder = kernel_cache() / name
    built = folder / f"{name}.so"
    if not built.exists():
        from torch.utils.cpp_extension import load

        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        print(f"llmaas: building the decode-attention kernel for this CPU (once; cached in {folder})", file=sys.stderr)
        module = load(name, [str(SOURCE)], extra_cflags=CFLAGS, extra_ldflags=["-fopenmp"],
                      build_directory=str(folder), verbose=False)
        print(f"llmaas: built in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        return module.decode_attention
    import torch  # noqa: F401  (the extension links against torch's libraries, loaded by importing it)

    spec = importlib.util.spec_from_file_location(name, built)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.decode_attention


def decode_attention_kernel(mode: str) -> Callable[..., Any] | None:
    """The compiled kernel, or None for ``mode == "torch"`` or (``auto``) where it cannot be built."""
    if mode == "torch":
        return None
    with _lock:
        if "fn" not in _built:
            try:
                _built["fn"] = _build()
            except Exception as exc:  # noqa: BLE001  (no compiler, no ninja, a read-only cache: torch attention)
                _built["fn"] = None
                _failure.append(f"{type(exc).__name__}: {str(exc).strip()[-500:]}")
                log.warning("llmaas: the decode-attention kernel could not be built; using torch attention (%s)",
                            _failure[-1])
        fn = _built["fn"]
    if fn is None and mode == "native":
        raise ConfigurationError(f"LLMAAS_ATTENTION_KERNEL is native, but the kernel could not be built: "
                                 f"{_failure[-1] if _failure else 'unknown reason'}")
    return fn
