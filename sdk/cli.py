"""The ``llmaas`` command: ``serve``, ``keys create|list|revoke|limits``, ``usage``."""

from __future__ import annotations

import argparse
import json
import sys
import time


def _store(args: argparse.Namespace) -> object:
    from llmaas.server.serve import home_dir
    from llmaas.server.store import Store

    return Store(args.home or home_dir())


def cmd_serve(args: argparse.Namespace) -> int:
    from llmaas.server.serve import serve

    serve(args.host, args.port, provider=args.provider, model=args.model, base_url=args.base_url,
          api_key=args.api_key, home=args.home, max_body_mb=args.max_body_mb)
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    store = _store(args)
    if args.action == "create":
        key_id, secret = store.create_key(args.name, args.rpm, args.tpd)
        print(f"Created key {key_id} ({args.name}). Copy the secret now: it is stored only as a hash and "
              "cannot be shown again.")
        print(secret)
    elif args.action == "list":
        rows = store.list_keys()
        if not rows:
            print("no keys: the server runs without authentication, on loopback only")
        for r in rows:
            state = "revoked" if r["revoked_at"] else "active"
            limits = f"rpm={r['rpm_limit'] or '-'} tpd={r['tpd_limit'] or '-'}"
            created = time.strftime("%Y-%m-%d %H:%M", time.gmtime(r["created_at"]))
            print(f"{r['id']}  {r['name']:<20} {r['prefix']}...  {state:<8} {limits}  created {created}")
    elif args.action == "revoke":
        if not store.revoke_key(args.key):
            print(f"no active key {args.key!r}", file=sys.stderr)
            return 1
        print(f"revoked {args.key}")
    elif args.action == "limits":
        if not store.set_limits(args.key, args.rpm, args.tpd):
            print(f"no key {args.key!r}", file=sys.stderr)
            return 1
        print(f"limits of {args.key}: rpm={args.rpm or 'unlimited'} tpd={args.tpd or 'unlimited'}")
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
    p = argparse.ArgumentParser(prog="llmaas", description="llmaas: large language models as a service")
    p.add_argument("--home", help="data directory (default: $LLMAAS_HOME or the user cache)")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the OpenAI-compatible server")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--provider", default="hf", help="provider to serve (default: the in-process engine)")
    s.add_argument("--model", help="default model to load at start")
    s.add_argument("--base-url", help="serve a remote OpenAI-style API instead")
    s.add_argument("--api-key", help="key for the remote API")
    s.add_argument("--max-body-mb", type=int, default=64)
    s.set_defaults(func=cmd_serve)

    k = sub.add_parser("keys", help="manage API keys")
    ks = k.add_subparsers(dest="action", required=True)
    c = ks.add_parser("create")
    c.add_argument("name")
    c.add_argument("--rpm", type=int, help="requests per minute")
    c.add_argument("--tpd", type=int, help="tokens per day")
    ks.add_parser("list")
    r = ks.add_parser("revoke")
    r.add_argument("key", help="key id or name")
    lim = ks.add_parser("limits")
    lim.add_argument("key")
    lim.add_argument("--rpm", type=int)
    lim.add_argument("--tpd", type=int)
    k.set_defaults(func=cmd_keys)

    u = sub.add_parser("usage", help="usage by day, key and model")
    u.add_argument("--days", type=int, default=30)
    u.add_argument("--json", action="store_true")
    u.set_defaults(func=cmd_usage)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
