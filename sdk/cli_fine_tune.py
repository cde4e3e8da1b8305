"""``llmaas fine-tune create|list|show|events|cancel``: fine-tuning from the command line, in process on the
home's store (the default) or against a server with ``--base-url`` (key from ``LLMAAS_API_KEY``).

``create FILE --model M --wait`` uploads the file, creates the job and follows it with a live progress bar
(step, loss, tokens/s, time left) until it finishes; interrupting the wait leaves the job running."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from .cli_flags import base_url_after_verbs

FINAL = ("succeeded", "failed", "cancelled")


def clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


def progress_line(data: dict[str, Any], eta: float | None, width: int = 24) -> str:
    """One line of the bar: ``step 5/9 [#######-----] loss 1.2345 | 210 tok/s | 0:12 left``."""
    step, total = int(data.get("step", 0)), max(1, int(data.get("total_steps", 1)))
    filled = min(width, round(width * step / total))
    line = f"step {step}/{total} [{'#' * filled}{'-' * (width - filled)}] loss {float(data['train_loss']):.4f}"
    if data.get("valid_loss") is not None:
        line += f" (validation {float(data['valid_loss']):.4f})"
    line += f" | {float(data.get('tokens_per_second', 0)):.0f} tok/s"
    if eta is not None:
        line += f" | {clock(eta)} left"
    return line


def follow(client: Any, job_id: str, out: TextIO = sys.stderr, every: float = 1.0) -> Any:
    """Show the job's progress until it finishes; return the finished job."""
    seen: set[str] = set()
    live = out.isatty()
    last = ""
    while True:
        job = client.fine_tuning.jobs.retrieve(job_id)
        fresh = [e for e in client.fine_tuning.jobs.list_events(job_id, limit=100) if e.id not in seen]
        for event in reversed(fresh):  # oldest first
            seen.add(event.id)
            if event.type == "metrics" and event.data:
                eta = job.estimated_finish - time.time() if job.estimated_finish else None
                last = progress_line(event.data, eta)
                out.write(("\r\033[K" + last) if live else last + "\n")
            else:
                out.write(("\r\033[K" if live else "") + event.message + "\n")
                if live and last:
                    out.write(last)
            out.flush()
        if job.status in FINAL:
            if live:
                out.write("\n")
            return job
        time.sleep(every)


def _show(job: Any) -> str:
    return json.dumps(job.model_dump(mode="json"), indent=2)


def cmd_fine_tune(args: argparse.Namespace) -> int:
    import llmaas

    from .cli import client_for

    with client_for(args) as client:
        try:
            return _run(args, client)
        except llmaas.APIError as exc:
            print(f"llmaas fine-tune: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("\nstopped following; the job goes on (llmaas fine-tune cancel JOB stops it)", file=sys.stderr)
            return 130


def _run(args: argparse.Namespace, client: Any) -> int:
    jobs = client.fine_tuning.jobs
    if args.action == "create":
        path = Path(args.file)
        if not path.is_file():
            print(f"llmaas fine-tune: no such file: {path}", file=sys.stderr)
            return 2
        training = client.files.create(file=(path.name, path.read_bytes()), purpose="fine-tune")
        params: dict[str, Any] = {"model": args.model, "training_file": training.id}
        if args.validation:
            vpath = Path(args.validation)
            params["validation_file"] = client.files.create(file=(vpath.name, vpath.read_bytes()),
                                                            purpose="fine-tune").id
        hyper = {k: v for k, v in (("n_epochs", args.epochs), ("batch_size", args.batch_size),
                                   ("learning_rate_multiplier", args.lr_multiplier)) if v is not None}
        if hyper:
            params["hyperparameters"] = hyper
        if args.suffix:
            params["suffix"] = args.suffix
        try:
            job = jobs.create(**params)
        except Exception:  # the uploads are of no use without the job
            for file_id in (training.id, params.get("validation_file")):
                if file_id:
                    client.files.delete(file_id)
            raise
        print(job.id)
        if not args.wait:
            return 0
        done = follow(client, job.id)
        if done.status != "succeeded":
            print(f"job {done.id} {done.status}" + (f": {done.error.message}" if done.error else ""), file=sys.stderr)
            return 1
        print(done.fine_tuned_model)
        return 0
    if args.action == "list":
        for job in jobs.list(limit=args.limit):
            print(f"{job.id}  {job.status:<10} {job.model}  {job.fine_tuned_model or ''}")
        return 0
    if args.action == "show":
        print(_show(jobs.retrieve(args.job)))
        return 0
    if args.action == "events":
        if args.follow:
            follow(client, args.job, sys.stdout)
            return 0
        for event in reversed(list(jobs.list_events(args.job, limit=args.limit))):
            print(f"{time.strftime('%H:%M:%S', time.localtime(event.created_at))}  {event.message}")
        return 0
    print(_show(jobs.cancel(args.job)))
    return 0


def add_parser(sub: Any) -> None:
    f = sub.add_parser("fine-tune", help="fine-tune a model (in process, or on a server with --base-url)")
    f.add_argument("--base-url", help="a server to use (key from LLMAAS_API_KEY); default: in process")
    fs = f.add_subparsers(dest="action", required=True)
    c = fs.add_parser("create", help="upload a JSONL file and start a job")
    c.add_argument("file", help="training examples, one JSON object per line")
    c.add_argument("--model", required=True, help="the base model")
    c.add_argument("--suffix", help="part of the fine-tuned model's name")
    c.add_argument("--epochs", type=int, help="n_epochs (default: auto)")
    c.add_argument("--batch-size", type=int, help="examples per step (default: auto)")
    c.add_argument("--lr-multiplier", type=float, help="learning_rate_multiplier (default: auto)")
    c.add_argument("--validation", help="a JSONL file of held-out examples (validation loss per epoch)")
    c.add_argument("--wait", action="store_true", help="follow the job with a progress bar until it ends")
    lst = fs.add_parser("list", help="recent jobs")
    lst.add_argument("--limit", type=int, default=20, help="how many, newest first")
    for name, text in (("show", "a job as JSON"), ("cancel", "cancel a job")):
        fs.add_parser(name, help=text).add_argument("job", help="the job id")
    e = fs.add_parser("events", help="a job's events, oldest first")
    e.add_argument("job", help="the job id")
    e.add_argument("--limit", type=int, default=100, help="how many events")
    e.add_argument("--follow", action="store_true", help="keep showing progress until the job ends")
    base_url_after_verbs(fs, "a server to use (key from LLMAAS_API_KEY); default: in process")
    f.set_defaults(func=cmd_fine_tune)
