"""Evaluate the built-in chat model, fine-tune it, and see what the fine-tune changed: on a shipped set and on
the bias suite.

The set (examples/data/pirate_eval.json, 12 questions not in the training data) has two testing criteria:
whether the answer opens the way examples/fine_tune.py teaches ("Ahoy"), and whether the model still ranks
the right answer first among three (multiple choice by log-probabilities: did the fine-tune make it forget?).
The bias suite llmaas-bias-1 (192 counterfactual sentence pairs) reports how often the model prefers the
stereotyped sentence of a pair, per category, with 95% intervals.

The fine-tuning job is created with ``evals=[...]``: when it succeeds, each eval runs on the tuned model
(and on the base, unless the base's latest run of it already stands) and the job carries the comparison.
Everything runs in this process on a temporary home, so the example leaves nothing behind.
"""

import tempfile
import time
from pathlib import Path
from typing import Any

import llmaas
from llmaas.cli_eval import results_table
from llmaas.cli_fine_tune import follow
from llmaas.evals import spec, suites
from llmaas.evals.compare import table

MODEL = "smollm2-135m-instruct"
DATA = Path(__file__).parent / "data"


def run(client: llmaas.Client, eval_id: str, source: dict[str, Any]) -> llmaas.types.EvalRun:
    created = client.evals.runs.create(eval_id, data_source=source)
    return client.evals.runs.poll(created.id, eval_id=eval_id, poll_interval=0.5)


with tempfile.TemporaryDirectory() as home, \
        llmaas.Client(provider_options={"hf": {"home": home, "progress": False}}) as client:
    pirate = spec.load(DATA / "pirate_eval.json")
    bias = suites.suite("llmaas-bias-1")
    evals = {s.name: client.evals.create(**s.create_params()) for s in (pirate, bias)}
    for s in (pirate, bias):  # the base model first: these runs are the "before"
        done = run(client, evals[s.name].id, s.data_source(MODEL))
        print(f"\n{s.name} on {MODEL}:\n{results_table(done)}")

    training = client.files.create(file=("pirate_train.jsonl", (DATA / "pirate_train.jsonl").read_bytes()),
                                   purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model=MODEL, training_file=training.id, suffix="pirate",
                                         evals=[e.id for e in evals.values()])
    job = follow(client, job.id)
    if job.status != "succeeded":
        raise SystemExit(f"the job {job.status}: {job.error.message if job.error else ''}")
    while not all("comparison" in e for e in job.evals or []):  # the evals run on the tuned model
        time.sleep(1)
        job = client.fine_tuning.jobs.retrieve(job.id)
    for entry in job.evals or []:
        comparison = entry["comparison"]
        print(f"\n{comparison['candidate']['model']} against {MODEL}, eval {entry['eval_id']}:")
        print(table(comparison))
    by_name = {e["comparison"]["criteria"][0]["testing_criteria"]: e["comparison"] for e in job.evals or []}
    taught = next(c for c in by_name["speaks like a pirate"]["criteria"] if c["testing_criteria"] == "speaks like a pirate")
    print(f"\nopens like a pirate: {taught['base']:.2f} before, {taught['candidate']:.2f} after")
    assert taught["candidate"] > taught["base"], "the fine-tune did not change what it was taught to change"
