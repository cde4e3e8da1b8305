"""``llmaas models list|show|ps``: the models a client sees, in process on the home (the default) or on a
server with ``--base-url`` (key from ``LLMAAS_API_KEY``); a table by default, ``--json`` for scripts."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            return f"{value:.1f} {unit}"
    return "-"


def _params(n: int | None) -> str:
    return "-" if n is None else f"{n / 1e9:.1f}B" if n >= 1e9 else f"{n / 1e6:.0f}M"


def _render(rows: list[tuple[str, ...]]) -> str:
    """Rows as columns padded to their widest cell."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def table(models: list[Any]) -> str:
    rows = [("ID", "KIND", "ARCHITECTURE", "PARAMS", "CONTEXT", "SIZE", "LOADED")]
    for m in models:
        rows.append((m.id, m.kind or "-", m.architecture or "-", _params(m.parameters),
                     str(m.context_length or "-"), _size(m.size_bytes), "yes" if m.loaded else "no"))
    return _render(rows)


def ps_table(loaded: list[Any]) -> str:
    rows = [("ID", "KIND", "MEMORY", "RUNNING", "WAITING", "ADAPTERS")]
    for m in loaded:
        rows.append((m.id, m.kind, _size(m.memory_bytes), str(m.running), str(m.waiting), ", ".join(m.adapters) or "-"))
    return _render(rows)


def cmd_models(args: argparse.Namespace) -> int:
    import llmaas

    from .cli import client_for

    with client_for(args) as client:
        try:
            if args.action == "list":
                models = list(client.models.list())
                print(json.dumps([m.to_dict() for m in models], indent=2) if args.json else table(models))
            elif args.action == "ps":
                loaded = client.models.ps()
                print(json.dumps([m.to_dict() for m in loaded], indent=2) if args.json else ps_table(loaded))
            else:
                print(json.dumps(client.models.retrieve(args.model).to_dict(), indent=2))
        except llmaas.APIError as exc:
            print(f"llmaas models: {exc}", file=sys.stderr)
            return 1
    return 0


def add_parser(sub: Any) -> None:
    m = sub.add_parser("models", help="the models a client sees (in process, or on a server with --base-url)")
    m.add_argument("--base-url", help="a server to ask (key from LLMAAS_API_KEY); default: in process")
    ms = m.add_subparsers(dest="action", required=True)
    lst = ms.add_parser("list", help="a table of the models, or --json")
    lst.add_argument("--json", action="store_true")
    ms.add_parser("show", help="one model's details as JSON").add_argument("model")
    ps = ms.add_parser("ps", help="what is loaded now: memory, running and waiting requests, adapters")
    ps.add_argument("--json", action="store_true")
    m.set_defaults(func=cmd_models)
