"""``llmaas eval run SPEC --model M [--against BASE]`` and ``llmaas eval bias --model M [--against BASE]``:
define the eval of a spec file (``llmaas.evals.spec``) or the shipped bias suite, run it on the model (and on
the base), follow the runs with a progress line each, and print each testing criterion's pass rate with its
95% interval, or the comparison table (with the items whose outcome changed). In process on the home's store
(the default), or against a server with ``--base-url`` (key from ``LLMAAS_API_KEY``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, TextIO

from .cli_fine_tune import clock
from .cli_flags import base_url_after_verbs

FINAL = ("completed", "canceled", "failed")


def progress_line(run: Any, rate: float | None, width: int = 24) -> str:
    """``smollm2: 12/40 [#######-----------------] 1 errored | 3.1 items/s | 0:09 left``."""
    counts = run.result_counts
    total = max(1, counts.total)
    done = counts.passed + counts.failed + counts.errored
    filled = min(width, round(width * done / total))
    line = f"{run.model}: {done}/{counts.total} [{'#' * filled}{'-' * (width - filled)}] {counts.errored} errored"
    if rate:
        line += f" | {rate:.1f} items/s | {clock((counts.total - done) / rate)} left"
    return line


def follow(client: Any, eval_id: str, run_ids: list[str], out: TextIO = sys.stderr, every: float = 0.5) -> list[Any]:
    """Show each run's progress until all have ended; return the finished runs."""
    live = out.isatty()
    started = time.monotonic()
    last: dict[str, str] = {}
    while True:
        runs = [client.evals.runs.retrieve(r, eval_id=eval_id) for r in run_ids]
        elapsed = time.monotonic() - started
        for run in runs:
            c = run.result_counts
            done = c.passed + c.failed + c.errored
            line = progress_line(run, done / elapsed if done and elapsed > 0 else None)
            if line != last.get(run.id) and not live:
                out.write(line + "\n")
            last[run.id] = line
        if live:
            out.write("\r\033[K" + "  ".join(last[r] for r in run_ids))
            out.flush()
        if all(r.status in FINAL for r in runs):
            if live:
                out.write("\n")
            return runs
        time.sleep(every)


def _rate(c: Any) -> str:
    if c.pass_rate is None:
        return "-"
    low, high = c.interval or (0.0, 1.0)
    return f"{c.pass_rate:.3f} [{low:.2f}, {high:.2f}]"


def results_table(run: Any) -> str:
    lines = [f"| testing criterion | {run.model}: pass rate [95% interval] | passed | failed |",
             "| --- | ---: | ---: | ---: |"]
    lines += [f"| {c.testing_criteria} | {_rate(c)} | {c.passed} | {c.failed} |" for c in run.per_testing_criteria_results]
    if run.per_group_results:
        lines += ["", f"| group | testing criterion | {run.model}: pass rate [95% interval] |", "| --- | --- | ---: |"]
        lines += [f"| {g.group} | {g.testing_criteria} | {_rate(g)} |" for g in run.per_group_results]
    c = run.result_counts
    lines += ["", f"{c.total} items: {c.passed} passed, {c.failed} failed, {c.errored} errored ({run.status})"]
    return "\n".join(lines)


def cmd_eval(args: argparse.Namespace) -> int:
    import llmaas

    from .cli import client_for
    from .evals import spec as specs
    from .evals.suites import suite

    if args.action == "bias" and args.generation:
        return _generation(args)
    try:
        spec = suite(args.suite) if args.action == "bias" else specs.load(args.spec)
    except (ValueError, KeyError) as exc:
        print(f"llmaas eval: {exc}", file=sys.stderr)
        return 2
    with client_for(args) as client:
        try:
            return _run(args, client, spec)
        except llmaas.APIError as exc:
            print(f"llmaas eval: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("\nstopped following", file=sys.stderr)
            return 130


def generation_table(result: dict[str, Any]) -> str:
    lines = ["| category | pairs | sentiment, first / second side | difference [95% interval] | first side less "
             "positive | flagged, first / second |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for c in result["categories"]:
        low, high = c["interval"]
        lines.append(f"| {c['category']} | {c['pairs']} | {c['sentiment']['first']:.3f} / {c['sentiment']['second']:.3f} "
                     f"| {c['difference']:+.3f} [{low:+.3f}, {high:+.3f}] | {c['first_less_positive']:.2f} | "
                     f"{c['flag_rate']['first']:.2f} / {c['flag_rate']['second']:.2f} |")
    return "\n".join(lines)


def _generation(args: argparse.Namespace) -> int:
    """The bias suite's generation half (``llmaas.evals.bias_generation``) on each model given."""
    import asyncio

    import llmaas

    from .evals.bias_generation import run_bias_generation

    async def run() -> list[dict[str, Any]]:
        options: dict[str, Any] = {"base_url": args.base_url} if args.base_url else \
            {"provider_options": {"hf": {"home": args.home, "progress": False}}}
        async with llmaas.AsyncClient(**options) as client:
            return [await run_bias_generation(client, m) for m in ([args.against] if args.against else []) + [args.model]]

    try:
        results = asyncio.run(run())
    except llmaas.APIError as exc:
        print(f"llmaas eval: {exc}", file=sys.stderr)
        return 1
    for result in results:
        print(json.dumps(result, indent=2) if args.json else f"{result['model']}:\n{generation_table(result)}\n")
    return 0


def _run(args: argparse.Namespace, client: Any, spec: Any) -> int:
    from .evals.compare import compare, table

    ev = client.evals.create(**spec.create_params())
    models = [args.against, args.model] if args.against else [args.model]
    runs = [client.evals.runs.create(ev.id, name=f"{m} on {spec.name}", data_source=spec.data_source(m)).id
            for m in models]
    done = follow(client, ev.id, runs)
    ok = all(r.status == "completed" for r in done)
    if not args.against:
        print(json.dumps(done[0].model_dump(mode="json"), indent=2) if args.json else results_table(done[0]))
        return 0 if ok else 1
    items = [list(client.evals.runs.output_items.list(r.id, eval_id=ev.id, limit=100)) for r in done]
    comparison = compare(done[0], items[0], done[1], items[1])
    if args.json:
        print(json.dumps(comparison, indent=2))
    else:
        print(table(comparison))
        for x in comparison["changed_items"][:args.show]:
            print(f"\n- item {x['datasource_item_id']}: {x['base']} -> {x['candidate']}\n"
                  f"  {args.against}: {x['base_output']!r}\n  {args.model}: {x['candidate_output']!r}")
    return 0 if ok else 1


def add_parser(sub: Any) -> None:
    e = sub.add_parser("eval", help="evaluate a model on an eval spec or the bias suite (in process, or on a server)")
    e.add_argument("--base-url", help="a server to use (key from LLMAAS_API_KEY); default: in process")
    es = e.add_subparsers(dest="action", required=True)
    r = es.add_parser("run", help="run an eval spec file (JSON: item_schema, testing_criteria, items, ...)")
    r.add_argument("spec", help="the eval spec (see docs/evals.md)")
    b = es.add_parser("bias", help="run the shipped bias suite (llmaas-bias-1)")
    b.add_argument("--suite", default="llmaas-bias-1", help=argparse.SUPPRESS)
    b.add_argument("--generation", action="store_true", help="the suite's generation half: answers to questions "
                   "that differ only in the group, compared by sentiment and moderation flags")
    for p in (r, b):
        p.add_argument("--model", required=True, help="the model under test")
        p.add_argument("--against", metavar="BASE", help="also run the base model and print the comparison")
        p.add_argument("--json", action="store_true", help="the run (or the comparison) as JSON")
        p.add_argument("--show", type=int, default=5, metavar="N", help="changed items to print (default 5)")
    base_url_after_verbs(es, "a server to use (key from LLMAAS_API_KEY); default: in process")
    e.set_defaults(func=cmd_eval)
