"""Provider discovery: built-in names, OpenAI-style presets, and third-party entry points.

A third-party package registers a provider without touching llmaas::

    [project.entry-points."llmaas.providers"]
    myco = "myco_llmaas:MyProvider"        # a class or factory called with the client's options

Entry points are read once, on the first lookup of a name that is not built in.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from llmaas._errors import ConfigurationError, UnknownProviderError

ENTRY_POINT_GROUP = "llmaas.providers"

#: built-in providers that are not OpenAI-style presets, as "module:attribute" (imported on first use)
BUILTIN: dict[str, str] = {
    "hf": "llmaas.providers.huggingface:HuggingFaceProvider",
    "local": "llmaas.providers.local:LocalProvider",
}

Factory = Callable[..., Any]
_entry_points: dict[str, Any] | None = None
_registered: dict[str, Factory] = {}


def register_provider(name: str, factory: Factory) -> None:
    """Add a provider from a script, without packaging: ``factory`` (a class or function) is called with the
    client's options (``api_key``, ``timeout``, ``max_retries``, ``provider_options[name]``, ...) the first
    time a client needs ``name``. It then serves ``name:model`` ids and ``Client(provider=name)``."""
    if not name or ":" in name:
        raise ConfigurationError(f"a provider name must be non-empty and hold no ':', got {name!r}")
    if not callable(factory):
        raise ConfigurationError(f"the factory for provider {name!r} must be callable, got {factory!r}")
    _registered[name] = factory


def _third_party() -> dict[str, Any]:
    global _entry_points
    if _entry_points is None:
        _entry_points = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return _entry_points


def refresh() -> None:
    """Forget the entry points read so far (after installing a plugin in a running process)."""
    global _entry_points
    _entry_points = None


def _presets() -> dict[str, Any]:
    from llmaas.providers.presets import PRESETS

    return PRESETS


def speaks_openai(name: str) -> bool:
    """Whether the provider ``name`` is an OpenAI-style HTTP API (a preset, or the local server)."""
    return name == "local" or (name not in _registered and name in _presets())


def is_known(name: str) -> bool:
    return name in _registered or name in BUILTIN or name in _presets() or name in _third_party()


def known_names() -> list[str]:
    return sorted({*_registered, *BUILTIN, *_presets(), *_third_party()})


def _load(target: str) -> Factory:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def create(name: str, **options: Any) -> Any:
    """Build the provider registered as ``name`` with the client's options (api_key, timeout, ...)."""
    options = {k: v for k, v in options.items() if v is not None}
    if name in _registered:
        return _registered[name](**options)
    if name in BUILTIN:
        return _load(BUILTIN[name])(**options)
    if name in _presets():
        from llmaas.providers.openai_compat import OpenAICompatProvider

        return OpenAICompatProvider.from_preset(name, **options)
    ep = _third_party().get(name)
    if ep is None:
        raise UnknownProviderError(name, known_names())
    try:
        factory = ep.load()
    except Exception as exc:
        raise ConfigurationError(f"provider {name!r} from entry point {ep.value!r} failed to load: {exc}") from exc
    return factory(**options)


def split_model(model: str) -> tuple[str | None, str]:
    """``"groq:llama-3.1-8b"`` -> ("groq", "llama-3.1-8b"); an id without a known prefix -> (None, id)."""
    prefix, sep, rest = model.partition(":")
    if sep and rest and is_known(prefix):
        return prefix, rest
    return None, model
