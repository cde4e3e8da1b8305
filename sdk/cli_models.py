"""``llmaas models list|show|register|alias|rm|load|unload|ps``: the models a client sees, in process on the
home (the default) or on a server with ``--base-url`` (key from ``LLMAAS_API_KEY``); a table by default,
``--json`` for scripts. ``load`` and ``unload`` act on a running server, so they need ``--base-url``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .cli_flags import base_url_after_verbs


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
    rows = [("ID", "KIND", "ARCHITECTURE", "ENGINE", "PARAMS", "CONTEXT", "SIZE", "LOADED")]
    for m in models:
        kind = f"alias of {m.target}" if m.target else m.kind or "-"
        rows.append((m.id, kind, m.architecture or "-", m.engine or "-", _params(m.parameters),
                     str(m.context_length or "-"), _size(m.size_bytes), "yes" if m.loaded else "no"))
    return _render(rows)


def ps_table(loaded: list[Any]) -> str:
    rows = [("ID", "KIND", "ENGINE", "MEMORY", "RUNNING", "WAITING", "ADAPTERS")]
    for m in loaded:
        engine = "transformers (slow path)" if m.engine == "transformers" else m.engine or "-"
        rows.append((m.id, m.kind, engine, _size(m.memory_bytes), str(m.running), str(m.waiting),
                     ", ".join(m.adapters) or "-"))
    return _render(rows)


def cmd_models(args: argparse.Namespace) -> int:
    import llmaas

    from .cli import client_for

    if args.action in ("load", "unload") and not args.base_url:
        print(f"llmaas models {args.action}: this acts on a running server; pass --base-url "
              "(in process, a model loads on its first request and unloads when the program ends)", file=sys.stderr)
        return 2
    with client_for(args, progress=args.action == "register") as client:
        try:
            if args.action == "list":
                models = list(client.models.list())
                print(json.dumps([m.to_dict() for m in models], indent=2) if args.json else table(models))
            elif args.action == "ps":
                loaded = client.models.ps()
                print(json.dumps([m.to_dict() for m in loaded], indent=2) if args.json else ps_table(loaded))
            elif args.action == "register":
                model = client.models.register(args.name, path=args.path)
                print(json.dumps(model.to_dict(), indent=2) if args.json else
                      f"registered {model.id}: {model.architecture or model.kind}, {_params(model.parameters)} "
                      f"parameters; {model.note}")
            elif args.action == "alias":
                model = client.models.alias(args.alias, model=args.model)
                print(json.dumps(model.to_dict(), indent=2) if args.json else f"{model.id} -> {model.target}")
            elif args.action == "rm":
                for name in args.model:
                    client.models.delete(name, force=args.force)
                    print(f"deleted {name}")
            elif args.action == "load":
                running = client.models.load(args.model)
                print(json.dumps(running.to_dict(), indent=2) if args.json else ps_table([running]))
            elif args.action == "unload":
                done = client.models.unload(args.model)
                print(f"unloaded {done.id}" if done.unloaded else f"{done.id} was not loaded")
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
    lst.add_argument("--json", action="store_true", help="the models as JSON")
    ms.add_parser("show", help="one model's details as JSON").add_argument("model", help="a model name")
    reg = ms.add_parser("register", help="register a Hugging Face folder or a GGUF file under a name")
    reg.add_argument("name", help="the name to serve it under")
    reg.add_argument("path", help="the folder or .gguf file (on the server's disk, with --base-url)")
    reg.add_argument("--json", action="store_true", help="the model as JSON")
    al = ms.add_parser("alias", help="another name for a model")
    al.add_argument("alias", help="the new name")
    al.add_argument("model", help="the model it names")
    al.add_argument("--json", action="store_true", help="the alias as JSON")
    rm = ms.add_parser("rm", help="delete registered or fine-tuned models, or aliases")
    rm.add_argument("model", nargs="+", help="model names")
    rm.add_argument("--force", action="store_true", help="also delete the models fine-tuned from it")
    for verb, what in (("load", "load a model on the server now"), ("unload", "free a model's memory on the server")):
        v = ms.add_parser(verb, help=what)
        v.add_argument("model", help="a model name")
        v.add_argument("--json", action="store_true", help="the result as JSON")
    ps = ms.add_parser("ps", help="what is loaded now: memory, running and waiting requests, adapters")
    ps.add_argument("--json", action="store_true", help="the loaded models as JSON")
    base_url_after_verbs(ms, "a server to ask (key from LLMAAS_API_KEY); default: in process")
    m.set_defaults(func=cmd_models)
