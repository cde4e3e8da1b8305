"""The engine's native kernels for bf16 models (``kernels.cpp``): decode attention (rotary, KV cache write
and attention over the bf16 cache for a layer in one call), RMSNorm, silu(gate) * up, and the per-row
int8 quantization of dynamic W8A8. Each replaces several torch ops with one; at one stream a token is
about a thousand small ops, and their count decides the speed.

They are built for this CPU (``-march=native``) the first time an engine needs them and cached per
machine in ``$XDG_CACHE_HOME/llmaas/kernels`` (a build artefact, like torch's own extension cache, so not
in ``LLMAAS_HOME``). Where they cannot be built (no compiler), the engine keeps its torch ops and says so
once.

Setting ``native_kernels`` / ``LLMAAS_NATIVE_KERNELS``: ``auto`` (used where they build), ``on`` (an error
where they do not) or ``off``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from llmaas._errors import ConfigurationError
from llmaas._home import user_cache
from llmaas.providers.huggingface.model import cpu

SOURCE = Path(__file__).with_name("kernels.cpp")
CFLAGS = ["-O3", "-march=native", "-fopenmp"]
log = logging.getLogger("llmaas.engine")

if TYPE_CHECKING:
    import torch


class NativeKernels(Protocol):
    """The compiled module's functions (``kernels.cpp``)."""

    def decode_attention(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, k_cache: torch.Tensor,
                         v_cache: torch.Tensor, positions: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                         heads: int, scale: float) -> torch.Tensor: ...

    def rms_norm(self, x: torch.Tensor, weight: torch.Tensor, eps: float, bf16_out: bool) -> torch.Tensor: ...

    def silu_mul(self, gate_up: torch.Tensor) -> torch.Tensor: ...

    def quantize_rows(self, x: torch.Tensor, into: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]: ...

    def exact_top(self, x: torch.Tensor, norm: torch.Tensor, eps: float, head: torch.Tensor, logits: torch.Tensor,
                  margin: float, also: torch.Tensor) -> None: ...


_lock = threading.Lock()
_built: dict[str, NativeKernels | None] = {}
_failure: list[str] = []


def kernel_cache() -> Path:
    return user_cache() / "kernels"


def _key(cflags: list[str]) -> str:
    """One build per source, torch version, compiler flags and CPU (``-march=native``)."""
    import torch

    flags = " ".join(sorted(cpu.flags()))
    digest = hashlib.blake2b(digest_size=6)
    for part in (SOURCE.read_bytes(), torch.__version__.encode(), " ".join(cflags).encode(), flags.encode()):
        digest.update(part)
    return digest.hexdigest()


def _path_with_ninja() -> str:
    """PATH for torch's builder, which runs ``ninja`` from PATH: the one the ``ninja`` package installed
    lives in this environment's bin folder, not on PATH when the environment is not activated."""
    path = os.environ.get("PATH", "")
    try:
        import ninja
    except ImportError:
        return path
    folder = str(getattr(ninja, "BIN_DIR", ""))
    return folder + os.pathsep + path if folder else path


def _build(cflags: list[str] = CFLAGS) -> NativeKernels:
    """Import the kernels built for this source, torch and CPU, building them first if no process has:
    one process builds (under a file lock) in a folder of its own and moves the library into place in
    one step, so another never imports a library half written. (Other ``cflags``: the tests build the
    portable C++ path, the one CPUs without AVX-512 run, with ``-DLLMAAS_PORTABLE``.)"""
    name = f"llmaas_kernels_{_key(cflags)}"
    root = kernel_cache()
    built = root / f"{name}.so"
    if not built.exists():
        root.mkdir(parents=True, exist_ok=True)
        with open(root / f"{name}.lock", "w") as lock:
            _lock_file(lock)
            if not built.exists():
                return _compile(name, built, cflags)
    importlib.import_module("torch")  # the extension links against torch's libraries, loaded by importing it

    spec = importlib.util.spec_from_file_location(name, built)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return cast("NativeKernels", module)  # an extension module: its functions are the protocol's


def _lock_file(f: Any) -> None:
    try:
        import fcntl
    except ImportError:  # no advisory locks here: at worst two processes build the same library
        return
    fcntl.flock(f.fileno(), fcntl.LOCK_EX)


def _compile(name: str, built: Path, cflags: list[str]) -> NativeKernels:
    from torch.utils.cpp_extension import load  # pyright: ignore[reportUnknownVariableType]

    start = time.perf_counter()
    print(f"llmaas: building the native kernels for this CPU (once; cached in {built.parent})", file=sys.stderr)
    path = os.environ.get("PATH")
    os.environ["PATH"] = _path_with_ninja()
    try:
        with tempfile.TemporaryDirectory(dir=built.parent, prefix=f".{name}-") as folder:
            module = load(name, [str(SOURCE)], extra_cflags=cflags, extra_ldflags=["-fopenmp"],
                          build_directory=folder, verbose=False)
            os.replace(Path(folder) / f"{name}.so", built)
    finally:
        if path is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = path
    print(f"llmaas: built in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return cast("NativeKernels", module)


def native_kernels(mode: str) -> NativeKernels | None:
    """The compiled module (``decode_attention``, ``rms_norm``, ``silu_mul``, ``quantize_rows``), or None
    for ``mode == "off"`` or (``auto``) where it cannot be built."""
    if mode == "off":
        return None
    with _lock:
        if "module" not in _built:
            try:
                _built["module"] = _build()
            except Exception as exc:  # noqa: BLE001  (no compiler, no ninja, a read-only cache: torch ops)
                _built["module"] = None
                _failure.append(f"{type(exc).__name__}: {str(exc).strip()[-500:]}")
                log.warning("llmaas: the native kernels could not be built; using torch ops (%s)", _failure[-1])
        module = _built["module"]
    if module is None and mode == "on":
        raise ConfigurationError(f"LLMAAS_NATIVE_KERNELS is on, but the kernels could not be built: "
                                 f"{_failure[-1] if _failure else 'unknown reason'}")
    return module
