"""Converting a GGUF file in a child process: ``python -m llmaas.providers.huggingface.management.convert
FOLDER FILE``. Registration converts this way, so that parsing a large or crafted file never holds the
serving process's interpreter (its event loop and its engines' Python work), runs at a lower priority, and
is killed when it passes its time limit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from llmaas.providers.huggingface.management.loading import ModelSource, converted_dir, ensure_converted


class ConversionFailed(Exception):
    """The child failed or ran out of time; the message says which (with the end of its output)."""


def convert_in_child(source: ModelSource, progress: bool, timeout: float) -> Path:
    """``ensure_converted(source)`` in a child process at a lower priority; the converted folder."""
    out = converted_dir(source)
    if (out / "config.json").exists() and any(out.glob("*.safetensors")):
        return out
    args = [sys.executable, "-m", __name__, str(source.path), source.gguf_file or "", "1" if progress else "0"]
    try:
        done = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=None if progress else subprocess.PIPE, timeout=timeout,
                              preexec_fn=lambda: os.nice(10), env={**os.environ, "HF_HUB_OFFLINE": "1"})
    except subprocess.TimeoutExpired:
        raise ConversionFailed(f"converting took longer than {timeout:g} s and was stopped") from None
    if done.returncode != 0:
        tail = (done.stderr or b"").decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise ConversionFailed(f"the conversion failed: {tail[0][:300]}")
    return out


def main(argv: list[str]) -> int:
    folder, file, progress = argv
    ensure_converted(ModelSource(Path(file).stem, Path(folder), gguf_file=file), progress=progress == "1")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
