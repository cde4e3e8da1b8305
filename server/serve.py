"""``llmaas serve``: build the provider and the store, bind safely, and run uvicorn."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from pathlib import Path
from typing import Any

from llmaas._errors import ConfigurationError
from llmaas._lanes import configure as configure_lane
from llmaas.guardrails import Guardrails
from llmaas.settings import ServerSettings
from llmaas.store import Store

from .bounds import TurnBounds
from .state import ServerConfig

LOOPBACK = "127.0.0.1"
UPSTREAM_KEY_ENV = "LLMAAS_UPSTREAM_API_KEY"


def home_dir() -> str:
    from llmaas._home import cache_home

    return str(cache_home())


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def upstream_key(env_var: str | None = None, path: str | None = None) -> str | None:
    """The remote API's key, from a file or an environment variable: never from the command line, where
    every user of the machine can read it in ``ps``."""
    if path:
        text = Path(path).expanduser().read_text().strip()
        if not text:
            raise ValueError(f"the key file {path} is empty")
        return text
    if env_var:
        value = os.environ.get(env_var)
        if not value:
            raise ValueError(f"--api-key-env names {env_var}, which is not set")
        return value
    return os.environ.get(UPSTREAM_KEY_ENV) or None


def build_provider(name: str, base_url: str | None, api_key: str | None, model_dirs: list[str] | None = None,
                   memory_budget_gb: float | None = None) -> Any:
    """The provider the server fronts. Upstream clients do not retry (the caller's SDK does: retrying
    here too would multiply one call into many), and a local provider serves names, never paths."""
    from llmaas import discovery

    timeout = ServerSettings.resolve().upstream_timeout
    remote: dict[str, Any] = {"max_retries": 0, **({"timeout": timeout} if timeout else {})}
    if base_url:
        from llmaas.providers.openai_compat import OpenAICompatProvider

        return OpenAICompatProvider(base_url=base_url, api_key=api_key, name=name if name != "hf" else "openai",
                                    **remote)
    options: dict[str, Any] = {"api_key": api_key, **remote}
    if name == "hf":
        options = {"allow_paths": False, "memory_budget_gb": memory_budget_gb}
        if model_dirs:
            options["model_dirs"] = model_dirs
    return discovery.create(name, **options)


def serve(host: str = LOOPBACK, port: int = 8000, *, provider: str = "hf", model: str | None = None,
          base_url: str | None = None, api_key: str | None = None, home: str | None = None,
          max_body_mb: int | None = None, max_json_mb: float | None = None, graceful_timeout: float | None = None,
          cors_origins: list[str] | None = None, allowed_hosts: list[str] | None = None,
          public_metrics: bool = False, guard: Guardrails | None = None, model_dirs: list[str] | None = None,
          memory_budget_gb: float | None = None, router: str | None = None,
          bounds: dict[str, Any] | None = None) -> None:
    import uvicorn

    from .app import create_app

    home = home or home_dir()
    store = Store(home)
    if store.dialect == "postgresql":  # front doors on one database must share one blobs folder
        from llmaas.store.blob_check import BlobFolderNotShared, check_shared_blobs

        try:
            check_shared_blobs(store)
        except (BlobFolderNotShared, OSError) as exc:
            raise ConfigurationError(str(exc)) from None
    store.remove_orphans()
    if not store.keys_ever_created() and not is_loopback(host):
        print(f"llmaas: no API key exists, so the server binds to {LOOPBACK} only instead of {host}. "
              "Create a key with 'llmaas keys create NAME' to serve other machines.", file=sys.stderr)
        host = LOOPBACK
    elif not store.keys_ever_created():
        print("llmaas: no API key exists: serving without authentication, to loopback clients only.",
              file=sys.stderr)
    elif store.active_keys() == 0:
        print("llmaas: every API key is revoked: /v1 answers 401 until you create one.", file=sys.stderr)
    default_model = model or ("smollm2-135m-instruct" if provider == "hf" and not base_url and not router else None)
    # a flag given wins over its LLMAAS_* variable; an empty list or an unset switch is "not given"
    settings = ServerSettings.resolve(max_body_mb=max_body_mb, max_json_mb=max_json_mb,
                                      graceful_timeout=graceful_timeout, cors_origins=cors_origins or None,
                                      allowed_hosts=allowed_hosts or None, public_metrics=public_metrics or None,
                                      **{k: v for k, v in (bounds or {}).items() if v is not None})
    config = ServerConfig(
        default_model=default_model, max_body_bytes=settings.max_body_mb * 2**20,
        max_json_bytes=int(settings.max_json_mb * 2**20), default_rpm=settings.default_rpm,
        default_tpd=settings.default_tpd, bound_host=host, port=port, cors_origins=list(settings.cors_origins),
        allowed_hosts=list(settings.allowed_hosts), public_metrics=settings.public_metrics,
        guard=guard or Guardrails(),
        bounds=TurnBounds(default_max_tokens=settings.default_max_tokens, max_tokens=settings.max_output_tokens,
                          default_seconds=settings.default_generation_seconds,
                          max_seconds=settings.max_generation_seconds, upstream_seconds=settings.upstream_timeout),
    )
    if router:
        from llmaas.router import Router

        backend: Any = Router.from_file(router)
    else:
        backend = build_provider(provider, base_url, api_key, model_dirs, memory_budget_gb)
    configure_lane("store", settings.store_threads, None)
    configure_lane("models", settings.model_threads, settings.model_timeout)
    app = create_app(backend, store, config)
    print(f"llmaas: data in {home}; serving http://{host}:{port}/v1 (docs at /docs)", file=sys.stderr)
    kwargs: dict[str, Any] = {"log_level": settings.log_level,
                              "timeout_graceful_shutdown": settings.graceful_timeout}
    uvicorn.run(app, host=host, port=port, **kwargs)


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
