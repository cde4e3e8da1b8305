"""Where llmaas keeps its data (``LLMAAS_HOME``): standard library only, so the CLI's key and usage
commands work in an install without the local extras."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache() -> Path:
    """The user's llmaas cache folder, ``$XDG_CACHE_HOME/llmaas``, whatever ``LLMAAS_HOME`` says."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "llmaas"


def cache_home() -> Path:
    root = os.environ.get("LLMAAS_HOME")
    if root:
        return Path(root).expanduser()
    return user_cache()
