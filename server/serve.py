"""``llmaas serve``: build the provider and the store, bind safely, and run uvicorn."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from typing import Any

from .state import ServerConfig
from .store import Store

LOOPBACK = "127.0.0.1"


def home_dir() -> str:
    from llmaas.providers.huggingface.loading import cache_home

    return str(cache_home())


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_provider(name: str, base_url: str | None, api_key: str | None) -> Any:
    from llmaas import _registry

    if base_url:
        from llmaas.providers.openai_compat import OpenAICompatProvider

        return OpenAICompatProvider(base_url=base_url, api_key=api_key, name=name if name != "hf" else "openai")
    return _registry.create(name, api_key=api_key)


def serve(host: str = LOOPBACK, port: int = 8000, *, provider: str = "hf", model: str | None = None,
          base_url: str | None = None, api_key: str | None = None, home: str | None = None,
          max_body_mb: int = 64, graceful_timeout: float | None = None) -> None:
    import uvicorn

    from .app import create_app

    home = home or home_dir()
    store = Store(home)
    if store.active_keys() == 0 and not is_loopback(host):
        print(f"llmaas: no API key exists, so the server binds to {LOOPBACK} only instead of {host}. "
              "Create a key with 'llmaas keys create NAME' to serve other machines.", file=sys.stderr)
        host = LOOPBACK
    elif store.active_keys() == 0:
        print("llmaas: no API key exists: serving without authentication, on loopback only.", file=sys.stderr)
    default_model = model or ("smollm2-135m-instruct" if provider == "hf" and not base_url else None)
    config = ServerConfig(default_model=default_model, max_body_bytes=max_body_mb * 2**20,
                          default_rpm=_int_env("LLMAAS_DEFAULT_RPM"), default_tpd=_int_env("LLMAAS_DEFAULT_TPD"))
    app = create_app(build_provider(provider, base_url, api_key), store, config)
    print(f"llmaas: data in {home}; serving http://{host}:{port}/v1 (docs at /docs)", file=sys.stderr)
    if graceful_timeout is None:
        graceful_timeout = float(os.environ.get("LLMAAS_GRACEFUL_TIMEOUT", "30"))
    kwargs: dict[str, Any] = {"log_level": os.environ.get("LLMAAS_LOG_LEVEL", "warning"),
                              "timeout_graceful_shutdown": graceful_timeout}
    uvicorn.run(app, host=host, port=port, **kwargs)


def _int_env(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value else None


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
