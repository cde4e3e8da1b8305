"""``llmaas batch create|list|show|cancel``: batches from the command line, in process on the home's store (the
default) or against a server with ``--base-url`` (key from ``LLMAAS_API_KEY``).

``create FILE --endpoint E --wait`` uploads the file, creates the batch and follows it with a live progress bar
(done, failed, requests per second, time left) until it ends; interrupting the wait leaves the batch running
on a server. In process the batch runs while this command runs: without ``--wait`` it waits for the next
runner on the home (a server's, or the next ``--wait``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from .cli_fine_tune import clock
from .cli_flags import base_url_after_verbs

FINAL = ("completed", "failed", "expired", "cancelled")


def progress_line(batch: Any, rate: float | None, width: int = 24) -> str:
    """``1200/2000 [##############----------] 3 failed | 41.2 req/s | 0:19 left``."""
    counts = batch.request_counts
    total = max(1, counts.total)
    finished = counts.completed + counts.failed
    filled = min(width, round(width * finished / total))
    line = f"{finished}/{counts.total} [{'#' * filled}{'-' * (width - filled)}] {counts.failed} failed"
    if rate:
        line += f" | {rate:.1f} req/s | {clock((counts.total - finished) / rate)} left"
    return line


def follow(client: Any, batch_id: str, out: TextIO = sys.stderr, every: float = 0.5) -> Any:
    """Show the batch's progress until it ends; return the finished batch."""
    live = out.isatty()
    started, first = time.monotonic(), None
    last = ""
    while True:
        batch = client.batches.retrieve(batch_id)
        counts = batch.request_counts
        finished = counts.completed + counts.failed if counts else 0
        first = finished if first is None else first
        elapsed = time.monotonic() - started
        rate = (finished - first) / elapsed if elapsed > 0 and finished > first else None
        if counts is not None:
            line = progress_line(batch, rate)
            if line != last:
                out.write(("\r\033[K" + line) if live else line + "\n")
                out.flush()
                last = line
        if batch.status in FINAL:
            if live:
                out.write("\n")
            return batch
        time.sleep(every)


def cmd_batch(args: argparse.Namespace) -> int:
    import llmaas

    from .cli import client_for

    with client_for(args) as client:
        try:
            return _run(args, client)
        except llmaas.APIError as exc:
            print(f"llmaas batch: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("\nstopped following (llmaas batch cancel BATCH stops it)", file=sys.stderr)
            return 130


def _run(args: argparse.Namespace, client: Any) -> int:
    batches = client.batches
    if args.action == "create":
        path = Path(args.file)
        if not path.is_file():
            print(f"llmaas batch: no such file: {path}", file=sys.stderr)
            return 2
        upload = client.files.create(file=(path.name, path.read_bytes()), purpose="batch")
        pairs: list[str] = args.metadata or []
        metadata = {k: v for k, _, v in (p.partition("=") for p in pairs)}
        try:
            batch = batches.create(input_file_id=upload.id, endpoint=args.endpoint, completion_window=args.window,
                                   metadata=metadata or None)
        except Exception:  # the upload is of no use without the batch
            client.files.delete(upload.id)
            raise
        print(batch.id)
        if not args.wait:
            return 0
        done = follow(client, batch.id)
        print(f"{done.status}: {done.request_counts.completed} done, {done.request_counts.failed} failed; "
              f"output {done.output_file_id or '-'}, errors {done.error_file_id or '-'}")
        return 0 if done.status == "completed" else 1
    if args.action == "list":
        for b in batches.list(limit=args.limit):
            counts = b.request_counts
            print(f"{b.id}  {b.status:<11} {b.endpoint:<22} {counts.completed}/{counts.total} done, "
                  f"{counts.failed} failed")
        return 0
    if args.action == "show":
        print(json.dumps(batches.retrieve(args.batch).model_dump(mode="json"), indent=2))
        return 0
    print(json.dumps(batches.cancel(args.batch).model_dump(mode="json"), indent=2))
    return 0


def add_parser(sub: Any) -> None:
    b = sub.add_parser("batch", help="run a JSONL file of requests as a batch (in process, or on a server)")
    b.add_argument("--base-url", help="a server to use (key from LLMAAS_API_KEY); default: in process")
    bs = b.add_subparsers(dest="action", required=True)
    c = bs.add_parser("create", help="upload a JSONL file of requests and start a batch")
    c.add_argument("file", help="one request per line: custom_id, method, url, body")
    c.add_argument("--endpoint", required=True, help="/v1/chat/completions, /v1/completions, /v1/embeddings, "
                                                     "/v1/moderations or /v1/responses")
    c.add_argument("--window", default="24h", help="the completion window (default: 24h)")
    c.add_argument("--metadata", action="append", metavar="KEY=VALUE", help="a metadata pair (repeatable)")
    c.add_argument("--wait", action="store_true", help="follow the batch with a progress bar until it ends")
    lst = bs.add_parser("list", help="recent batches")
    lst.add_argument("--limit", type=int, default=20, help="how many, newest first")
    for name, text in (("show", "a batch as JSON"), ("cancel", "cancel a batch")):
        bs.add_parser(name, help=text).add_argument("batch", help="the batch id")
    base_url_after_verbs(bs, "a server to use (key from LLMAAS_API_KEY); default: in process")
    b.set_defaults(func=cmd_batch)
