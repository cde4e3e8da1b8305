"""Flags several command groups share. ``--base-url`` is taken before the verb (``llmaas models --base-url URL
load ID``) and after it (``llmaas models load ID --base-url URL``) alike: people write it in both places."""

from __future__ import annotations

import argparse
from typing import Any


def base_url_after_verbs(verbs: Any, help: str) -> None:
    """Each verb of ``verbs`` (a subparsers action) also takes ``--base-url``; absent there, the group's stands."""
    for parser in verbs.choices.values():
        parser.add_argument("--base-url", default=argparse.SUPPRESS, help=help)
