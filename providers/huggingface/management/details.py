"""What the in-process provider says about a model beside OpenAI's four fields: its kind and capabilities,
where its files are, its architecture, parameter count, context length and dtype (read from ``config.json``
and the safetensors headers, without loading any weights), its size on disk, and whether it is loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from llmaas._json import is_array, is_object
from llmaas.providers.huggingface.management.model_files import parameter_count, read_json

COMPACT_ARCHITECTURES = frozenset({"llama", "mistral", "qwen2"})  # what the compact engine implements
CAPABILITIES = {"chat": ["chat", "completions"], "embedding": ["embeddings"], "moderation": ["moderations"],
                "fine-tuned": ["chat", "completions"]}


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _text(value: Any) -> str | None:
    """A config value shown as text, or None where the file holds something else there (a list, a number)."""
    return value if isinstance(value, str) and value else None


def _count(value: Any) -> int | None:
    """A config value shown as a positive integer, or None where the file holds anything else."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63 else None


def describe(kind: str, files: Path | None, config_folder: Path | None, loaded: bool,
             base: str | None = None) -> dict[str, Any]:
    """The extra fields of ``Model`` for one model. ``config_folder`` holds its config.json and weights
    (a converted copy for a GGUF; None while a GGUF is not converted yet)."""
    out: dict[str, Any] = {"kind": kind, "capabilities": CAPABILITIES[kind], "loaded": loaded, "base": base}
    if files is not None and files.exists():
        out["source"] = str(files)
        out["size_bytes"] = _size(files)
    config_file = config_folder / "config.json" if config_folder is not None else None
    if config_file is not None and config_file.exists():
        config = read_json(config_file)  # BadModelFile: a file not to be trusted
        if not is_object(config):
            config = {}
        names = config.get("architectures")
        out["architecture"] = str(names[0]) if is_array(names) and names else _text(config.get("model_type"))
        out["context_length"] = _count(config.get("max_position_embeddings"))
        out["dtype"] = _text(config.get("torch_dtype")) or _text(config.get("dtype"))
        if kind != "fine-tuned":
            out["parameters"] = parameter_count(config_folder)  # type: ignore[arg-type]
        model_type = _text(config.get("model_type"))
        if kind == "embedding":
            out["engine"] = "sentence-transformers"
        elif kind in ("chat", "fine-tuned") and model_type:
            out["engine"] = "compact" if model_type in COMPACT_ARCHITECTURES else "transformers"
    return out


def tensor_bytes(tensors: Any) -> int:
    """Bytes held by the tensors in ``tensors`` (nested lists, dicts, tuples and dataclasses of them)."""
    import torch

    seen: set[int] = set()
    total = 0

    def walk(x: Any) -> None:
        nonlocal total
        if isinstance(x, torch.Tensor):
            if id(x) not in seen:
                seen.add(id(x))
                total += x.numel() * x.element_size()
        elif is_object(x):
            for v in x.values():
                walk(v)
        elif is_array(x) or isinstance(x, tuple):
            for v in cast("list[Any]", x):
                walk(v)
        elif hasattr(x, "__dataclass_fields__"):
            for name in x.__dataclass_fields__:
                walk(getattr(x, name))

    walk(tensors)
    return total
