"""``LLMAAS_LOG=debug`` (or ``info``) prints what the SDK sends, what comes back and every retry, as
``OPENAI_LOG`` does for openai-python. Read when a client is made, never at import."""

from __future__ import annotations

import logging
import os

logger: logging.Logger = logging.getLogger("llmaas")
_configured = False


def setup_from_env() -> None:
    global _configured
    level = os.environ.get("LLMAAS_LOG", "").strip().lower()
    if _configured or level not in ("debug", "info"):
        return
    _configured = True
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(asctime)s %(name)s %(levelname)s] %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if level == "debug" else logging.INFO)
