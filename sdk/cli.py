"""The ``llmaas`` command: ``serve``, ``keys create|list|revoke|limits``, ``usage``,
``fine-tune create|list|show|events|cancel``, ``models list|show|register|alias|rm|load|unload|ps``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from ._moderation import MODERATION_MODELS, SENSITIVITIES


def _store(args: argparse.Namespace) -> Any:
    # the store needs SQLAlchemy (and psycopg for PostgreSQL), never torch or fastapi
    from llmaas._home import cache_home
    from llmaas.store import Store

    return Store(args.home or cache_home())


def client_for(args: argparse.Namespace, progress: bool = False) -> Any:
    """The client a command uses: a server's with ``--base-url`` (key from LLMAAS_API_KEY), else in process
    on the home."""
    import llmaas

    if getattr(args, "base_url", None):
        return llmaas.Client(base_url=args.base_url)
    return llmaas.Client(provider_options={"hf": {"home": args.home, "progress": progress}})


def sensitivity(text: str) -> str | None:
    """A key's guardrail sensitivity on the command line: strict, balanced, lenient, or 'server'."""
    if text.lower() == "server":
        return None
    if text not in SENSITIVITIES:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(SENSITIVITIES)} or 'server', got {text!r}")
    return text


def limit(text: str) -> int | None:
    """A per-key limit on the command line: a whole number of at least 1, or 'unlimited'."""
    if text.lower() in ("unlimited", "none"):
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number or 'unlimited', got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"a limit must be at least 1 (or 'unlimited'), got {value}")
    return value


def cmd_serve(args: argparse.Namespace) -> int:
    from llmaas.guardrails import Guardrails
    from llmaas.server.serve import serve, upstream_key

    if args.api_key is not None:
        print("llmaas: pass the remote API's key with --api-key-env or --api-key-file (or LLMAAS_UPSTREAM_API_KEY): "
              "on the command line every user of this machine can read it in 'ps'", file=sys.stderr)
        return 2
    try:
        api_key = upstream_key(args.api_key_env, args.api_key_file)
    except (OSError, ValueError) as exc:
        print(f"llmaas: {exc}", file=sys.stderr)
        return 2
    from llmaas import ConfigurationError

    try:
        serve(args.host, args.port, provider=args.provider, model=args.model, base_url=args.base_url,
              api_key=api_key, home=args.home, max_body_mb=args.max_body_mb, max_json_mb=args.max_json_mb,
              cors_origins=args.cors_origin, allowed_hosts=args.allowed_host, public_metrics=args.public_metrics,
              guard=Guardrails(input=args.guard_input, output=args.guard_output, redact_pii=args.redact_pii,
                               screen_history=args.guard_history, sensitivity=args.guard_sensitivity,
                               moderation_model=f"hf:{args.moderation_model}"),
              model_dirs=args.model_dir, memory_budget_gb=args.memory_budget_gb, router=args.router,
              bounds={"default_max_tokens": args.default_max_tokens, "max_output_tokens": args.max_output_tokens,
                      "default_generation_seconds": args.default_generation_seconds,
                      "max_generation_seconds": args.max_generation_seconds})
    except ConfigurationError as exc:  # a router file that does not hold up, say
        print(f"llmaas: {exc}", file=sys.stderr)
        return 2
    return 0


def _limits(row: Any) -> str:
    bounds = "".join(f" {name}={row[name]}" for name in ("max_tokens", "max_seconds", "guard_sensitivity",
                                                          "max_batches", "max_batch_tokens")
                     if row[name] is not None)
    return f"rpm={row['rpm_limit'] or 'unlimited'} tpd={row['tpd_limit'] or 'unlimited'}{bounds}"


def cmd_keys(args: argparse.Namespace) -> int:
    from llmaas.store import UNSET, KeyError_

    store = _store(args)
    try:
        if args.action == "create":
            key_id, secret = store.create_key(args.name, args.rpm, args.tpd, role="admin" if args.admin else "user",
                                              max_tokens=args.max_tokens, max_seconds=args.max_seconds,
                                              guard_sensitivity=args.guard_sensitivity)
            role = "an admin key" if args.admin else "a key"
            print(f"Created {role} {key_id} ({args.name}). Copy the secret now: it is stored only as a hash and "
                  "cannot be shown again.")
            print(secret)
        elif args.action == "list":
            rows = store.list_keys()
            if not rows:
                print("no keys: the server runs without authentication, on loopback only")
            for r in rows:
                state = "revoked" if r["revoked_at"] else "active"
                created = time.strftime("%Y-%m-%d %H:%M", time.gmtime(r["created_at"]))
                print(f"{r['id']}  {r['name']:<20} {r['prefix']}...  {state:<8} {r['role']:<5} {_limits(r)}  "
                      f"created {created}")
        elif args.action == "revoke":
            key_id = store.revoke_key(args.key)
            print(f"revoked {key_id}")
            if store.active_keys() == 0:
                print("no active key is left: the server refuses every /v1 request until you create one")
        elif args.action == "limits":
            row = store.set_limits(args.key, getattr(args, "rpm", UNSET), getattr(args, "tpd", UNSET),
                                   getattr(args, "max_tokens", UNSET), getattr(args, "max_seconds", UNSET),
                                   getattr(args, "guard_sensitivity", UNSET), getattr(args, "batches", UNSET),
                                   getattr(args, "batch_tokens", UNSET))
            print(f"limits of {row['id']} ({row['name']}): {_limits(row)}")
    except (KeyError_, ValueError) as exc:
        print(f"llmaas: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_usage(args: argparse.Namespace) -> int:
    store = _store(args)
    rows = store.usage_report(None, since=time.time() - args.days * 86400)
    names = {r["id"]: r["name"] for r in store.list_keys()}
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'day':<11} {'key':<20} {'model':<28} {'requests':>8} {'prompt':>9} {'completion':>10} {'errors':>6}")
    for r in rows:
        key = names.get(r["key_id"], r["key_id"] or "(no key)")
        print(f"{r['day']:<11} {key:<20} {str(r['model'] or '-'):<28} {r['requests']:>8} {r['prompt_tokens']:>9} "
              f"{r['completion_tokens']:>10} {r['errors']:>6}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="llmaas", description="llmaas: large language models as a service",
                                allow_abbrev=False)
    p.add_argument("--home", help="data directory (default: $LLMAAS_HOME or the user cache)")
    p.add_argument("--database-url", metavar="URL",
                   help="the store's PostgreSQL database, shared by several front doors (default: "
                        "$LLMAAS_DATABASE_URL, else SQLite in the data directory)")
    p.add_argument("--blob-dir", metavar="FOLDER",
                   help="the store's files folder, shared by front doors on a PostgreSQL store (default: "
                        "$LLMAAS_BLOB_DIR, else blobs/ in the data directory)")
    sub = p.add_subparsers(dest="command", required=True)

    from llmaas.settings import help_text

    s = sub.add_parser("serve", help="run the OpenAI-compatible server", allow_abbrev=False, epilog=help_text(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("--host", default="127.0.0.1", help="the address to listen on (0.0.0.0: every interface; keys are then required)")
    s.add_argument("--port", type=int, default=8000, help="the port to listen on")
    s.add_argument("--provider", default="hf", help="provider to serve (default: the in-process engine)")
    s.add_argument("--model", help="default model to load at start")
    s.add_argument("--model-dir", action="append", default=[], metavar="FOLDER",
                   help="a folder whose models admin keys may register (repeatable; also LLMAAS_MODEL_DIRS)")
    s.add_argument("--memory-budget-gb", type=float, metavar="GB",
                   help="memory the loaded chat models may hold; idle ones are unloaded to stay within it "
                        "(default: LLMAAS_MEMORY_BUDGET_GB, or no budget)")
    s.add_argument("--base-url", help="serve a remote OpenAI-style API instead")
    s.add_argument("--router", metavar="FILE",
                   help="serve a router (TOML or YAML, see docs/router.md): public model names backed by the local "
                        "engine, remote APIs and other servers, with fallbacks")
    s.add_argument("--api-key-env", metavar="VAR",
                   help="environment variable holding the remote API's key (default: LLMAAS_UPSTREAM_API_KEY)")
    s.add_argument("--api-key-file", metavar="PATH", help="file holding the remote API's key")
    s.add_argument("--api-key", help=argparse.SUPPRESS)  # refused with a pointer to the two above
    s.add_argument("--max-body-mb", type=int, default=None, help="largest file upload (default 64)")
    s.add_argument("--max-json-mb", type=float, default=None, help="largest JSON body (default 4)")
    s.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                   help="a browser origin allowed to call the API (repeatable); none by default")
    s.add_argument("--allowed-host", action="append", default=[], metavar="HOST",
                   help="another Host header to accept without keys (loopback names are always accepted)")
    s.add_argument("--public-metrics", action="store_true",
                   help="serve /metrics to anyone (default: loopback clients and admin keys)")
    s.add_argument("--guard-input", choices=("block", "annotate"),
                   help="screen what callers send with the moderation model: refuse it (400) or annotate it")
    s.add_argument("--guard-output", choices=("block", "annotate"),
                   help="screen answers (streams window by window): withhold them (400 / an error event) or annotate")
    s.add_argument("--guard-sensitivity", choices=SENSITIVITIES, default="balanced",
                   help="how readily the guardrails flag text: each setting moves every category's threshold to a "
                        "stated false-positive rate on safe text (docs/moderation.md); keys may have their own")
    s.add_argument("--moderation-model", choices=MODERATION_MODELS, default=MODERATION_MODELS[-1],
                   help="the moderation model the guardrails use (pin llmaas-moderation-1 to keep the model a "
                        "deployment was audited with)")
    s.add_argument("--guard-history", action="store_true",
                   help="with --guard-input, also screen earlier assistant turns and tool results (by default "
                        "only what callers write: user, system and developer text, tools, schemas, prompts)")
    s.add_argument("--default-max-tokens", type=int, metavar="N",
                   help="output tokens of a request that gives no limit (default 1024; LLMAAS_DEFAULT_MAX_TOKENS)")
    s.add_argument("--max-output-tokens", type=int, metavar="N",
                   help="most output tokens a request may ask for; more is a 400 (LLMAAS_MAX_OUTPUT_TOKENS)")
    s.add_argument("--default-generation-seconds", type=float, metavar="S",
                   help="seconds a generating request may run (default 600; LLMAAS_DEFAULT_GENERATION_SECONDS)")
    s.add_argument("--max-generation-seconds", type=float, metavar="S",
                   help="most seconds a request may ask for with x-llmaas-timeout (LLMAAS_MAX_GENERATION_SECONDS)")
    s.add_argument("--redact-pii", action="store_true",
                   help="replace personal data and secrets in prompts before any provider sees them")
    s.set_defaults(func=cmd_serve)

    k = sub.add_parser("keys", help="manage API keys")
    ks = k.add_subparsers(dest="action", required=True)
    c = ks.add_parser("create")
    c.add_argument("name", help="a name for the key (shown in usage)")
    c.add_argument("--rpm", type=limit, help="requests per minute")
    c.add_argument("--tpd", type=limit, help="tokens per day")
    c.add_argument("--admin", action="store_true", help="an admin key: sees every key's usage, manages models")
    c.add_argument("--max-tokens", type=limit, help="most output tokens of one request (default: the server's)")
    c.add_argument("--max-seconds", type=limit, help="most generation seconds of one request (default: the server's)")
    c.add_argument("--guard-sensitivity", choices=SENSITIVITIES,
                   help="how readily the guardrails flag this key's text (default: the server's --guard-sensitivity)")
    ks.add_parser("list")
    r = ks.add_parser("revoke")
    r.add_argument("key", help="key id or name")
    lim = ks.add_parser("limits", help="change a key's limits; the ones not given stay as they are")
    lim.add_argument("key", help="the key's name or id")
    lim.add_argument("--rpm", type=limit, default=argparse.SUPPRESS, help="requests per minute, or 'unlimited'")
    lim.add_argument("--tpd", type=limit, default=argparse.SUPPRESS, help="tokens per day, or 'unlimited'")
    lim.add_argument("--max-tokens", type=limit, default=argparse.SUPPRESS,
                     help="most output tokens of one request, or 'unlimited' for the server's")
    lim.add_argument("--max-seconds", type=limit, default=argparse.SUPPRESS,
                     help="most generation seconds of one request, or 'unlimited' for the server's")
    lim.add_argument("--batches", type=limit, default=argparse.SUPPRESS,
                     help="batches in flight at once, or 'unlimited' for the server's (LLMAAS_BATCH_MAX_IN_FLIGHT)")
    lim.add_argument("--batch-tokens", type=limit, default=argparse.SUPPRESS,
                     help="tokens enqueued in unfinished batches, or 'unlimited' for the server's")
    lim.add_argument("--guard-sensitivity", type=sensitivity, default=argparse.SUPPRESS,
                     help="strict, balanced or lenient guardrails for this key, or 'server' for the server's")
    k.set_defaults(func=cmd_keys)

    u = sub.add_parser("usage", help="usage by day, key and model")
    u.add_argument("--days", type=int, default=30, help="how many days back")
    u.add_argument("--json", action="store_true", help="the rows as JSON")
    u.set_defaults(func=cmd_usage)

    from . import cli_batch, cli_eval, cli_fine_tune, cli_models

    cli_batch.add_parser(sub)
    cli_eval.add_parser(sub)
    cli_fine_tune.add_parser(sub)
    cli_models.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # a flag wins over its variable, for this process and every process it starts (the fine-tuning worker)
    if args.database_url:
        os.environ["LLMAAS_DATABASE_URL"] = args.database_url
    if args.blob_dir:
        os.environ["LLMAAS_BLOB_DIR"] = os.path.abspath(args.blob_dir)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
