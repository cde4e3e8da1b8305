"""What a path holds before it is registered as a model: a Hugging Face folder (a causal LM, or a
sentence-transformers embedding model) or a GGUF file, which engine will serve it, and whether it may be
registered at all (under the allowed model folders). Every check reads metadata only, never weights."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from llmaas._errors import BadRequestError, PermissionDeniedError
from llmaas._json import is_object
from llmaas.providers.huggingface.management.details import COMPACT_ARCHITECTURES as SUPPORTED
from llmaas.providers.huggingface.management.loading import is_embedding_folder
from llmaas.providers.huggingface.management.model_files import (
    BadModelFile,
    check_tree,
    gguf_architecture,
    parameter_count,
    read_json,
)

ENGINE_NOTES = {
    "compact": "served by the llmaas engine (continuous batching, bf16 and int8 kernels)",
    "transformers": "served by the plain transformers path: the same API, one sequence at a time (the slow path)",
    "sentence-transformers": "served as an embedding model",
}


@dataclass(frozen=True)
class Candidate:
    path: Path  # the folder, or the .gguf file
    kind: str  # "chat" or "embedding"
    architecture: str  # transformers' model_type
    engine: str  # "compact", "transformers" or "sentence-transformers"

    @property
    def note(self) -> str:
        return ENGINE_NOTES[self.engine]


def _bad(message: str, code: str = "invalid_model_path") -> BadRequestError:
    return BadRequestError(message, status_code=400, param="path", code=code)


def allowed_roots(model_dirs: list[Path] | None) -> list[Path] | None:
    """The allowed model folders with links resolved (None: anywhere)."""
    return [d.expanduser().resolve() for d in model_dirs] if model_dirs is not None else None


def check_allowed(path: Path, model_dirs: list[Path] | None) -> Path:
    """``path`` with links resolved, if it lies under one of ``model_dirs`` (None: anywhere)."""
    try:
        real = path.expanduser().resolve()
    except (OSError, ValueError, RuntimeError) as exc:  # a NUL byte, a name too long, a loop of links
        raise _bad(f"{str(path)!r} is not a usable path: {exc}") from None
    if model_dirs is None:
        return real
    if not model_dirs:
        raise PermissionDeniedError("registering models is off on this server: start it with --model-dir FOLDER "
                                    "(or LLMAAS_MODEL_DIRS) to allow the models in that folder",
                                    status_code=403, param="path", code="model_dirs_not_configured")
    roots = allowed_roots(model_dirs) or []
    if not any(real == r or real.is_relative_to(r) for r in roots):
        raise PermissionDeniedError(f"{str(path)!r} is not under an allowed model folder "
                                    f"({', '.join(map(str, roots))})", status_code=403, param="path",
                                    code="path_not_allowed")
    return real


def _causal_lm_types() -> set[str]:
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    return set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES)


def inspect_path(path: Path, roots: list[Path] | None = None) -> Candidate:
    """What ``path`` is, or a 400 naming what is wrong with it. Every file it reads is bounded and checked
    (``model_files``); links inside a folder must stay under ``roots``."""
    try:
        return _inspect(path, roots)
    except BadModelFile as exc:
        raise _bad(str(exc), exc.code) from None
    except OSError as exc:  # unreadable, vanished meanwhile
        raise _bad(f"{str(path)!r} cannot be read: {exc}") from None


def _inspect(path: Path, roots: list[Path] | None) -> Candidate:
    if not path.exists():
        raise _bad(f"{str(path)!r} does not exist")
    if not path.is_dir():
        return _inspect_gguf(path)
    check_tree(path, roots)
    config_file = path / "config.json"
    if not config_file.is_file():
        raise _bad(f"{str(path)!r} is not a model folder: it has no config.json", "not_a_model")
    config = read_json(config_file)
    if not is_object(config) or "model_type" not in config:
        raise _bad(f"{config_file} is not a model config: it is not JSON with a model_type", "not_a_model")
    model_type = str(config["model_type"])[:100]
    if not any(path.glob("*.safetensors")) and not any(path.glob("pytorch_model*.bin")):
        raise _bad(f"{str(path)!r} has a config but no weights (*.safetensors or pytorch_model*.bin)", "not_a_model")
    parameter_count(path)  # every safetensors header checked against its file
    for name in ("tokenizer_config.json", "generation_config.json", "modules.json", "sentence_bert_config.json"):
        if (path / name).exists():
            read_json(path / name)
    if is_embedding_folder(path):
        return Candidate(path, "embedding", model_type, "sentence-transformers")
    if model_type not in _causal_lm_types():
        raise _bad(f"{str(path)!r} holds a {model_type!r} model, which is not a causal language model transformers "
                   "can load; llmaas serves causal LMs and sentence-transformers embedding models",
                   "unsupported_architecture")
    if not (path / "tokenizer.json").is_file() and not (path / "tokenizer_config.json").is_file():
        raise _bad(f"{str(path)!r} has no tokenizer (tokenizer.json or tokenizer_config.json)", "not_a_model")
    return Candidate(path, "chat", model_type, "compact" if model_type in SUPPORTED else "transformers")


def _inspect_gguf(path: Path) -> Candidate:
    if path.suffix != ".gguf":
        raise _bad(f"{str(path)!r} is a file but not a .gguf file; register a model folder or a GGUF file",
                   "not_a_model")
    from transformers.modeling_gguf_pytorch_utils import (
        GGUF_SUPPORTED_ARCHITECTURES,  # pyright: ignore[reportUnknownVariableType]  (an untyped list of names)
    )

    arch = gguf_architecture(path)  # BadModelFile for a file that is not a sound GGUF
    model_type = {"qwen2moe": "qwen2_moe", "gemma3": "gemma3_text"}.get(arch, arch)
    if arch not in GGUF_SUPPORTED_ARCHITECTURES or arch in ("general", "tokenizer") \
            or model_type not in _causal_lm_types():
        raise _bad(f"{str(path)!r} is a GGUF of architecture {arch!r}, which llmaas cannot serve: transformers "
                   "converts GGUF files of causal LMs such as llama, mistral, qwen2, qwen3, gemma2, phi3 and gpt2", "unsupported_architecture")
    return Candidate(path, "chat", model_type, "compact" if model_type in SUPPORTED else "transformers")
