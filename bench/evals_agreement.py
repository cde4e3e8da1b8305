"""Multiple-choice accuracy of the built-in model on a shipped set (bench/data/facts_mc.jsonl, 40 questions,
three choices each), measured two ways against one ``llmaas serve``: through ``client.evals`` (a
``multiple_choice`` grader, log-probabilities, no generation) and through lm-evaluation-harness's
``local-completions`` model on the same set as an lm-eval task (bench/data/facts_mc.yaml). The two read the
same prompt ("Question: ...\\nAnswer:") and the same choices (lm-eval puts a space before each; so does the
grader here), so they should agree item by item, not only on the total. Also: items per second of
``client.evals`` runs in process (the model loaded first), log-probability graded and generation graded,
from the run's creation to its end as ``runs.poll`` sees it.

Usage: python bench/evals_agreement.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import llmaas  # noqa: E402
from store import Door  # noqa: E402  (bench/store.py: llmaas serve in a subprocess on a free port)

MODEL = "smollm2-135m-instruct"
DATA = Path(__file__).resolve().parent / "data"
SCHEMA = {"type": "object", "required": ["question", "choices", "answer"],
          "properties": {"question": {"type": "string"}, "choices": {"type": "array"}, "answer": {"type": "integer"},
                         "spaced": {"type": "array"}, "right": {"type": "string"}}}
CHOICE = {"type": "multiple_choice", "name": "right answer", "input": "Question: {{item.question}}\nAnswer:",
          "choices": "{{item.spaced}}", "answer": "{{item.answer}}"}


def items() -> list[dict[str, Any]]:
    rows = [json.loads(x) for x in (DATA / "facts_mc.jsonl").read_text().splitlines() if x.strip()]
    return [{**r, "spaced": [" " + c for c in r["choices"]], "right": r["choices"][r["answer"]]} for r in rows]


def through_evals(client: llmaas.Client, generate: bool = False) -> tuple[Any, list[Any], float]:
    criteria = [CHOICE]
    source: dict[str, Any] = {"type": "completions", "model": MODEL,
                              "source": {"type": "file_content", "content": [{"item": i} for i in items()]}}
    if generate:
        criteria = [{"type": "string_check", "name": "names the answer", "operation": "ilike",
                     "input": "{{sample.output_text}}", "reference": "{{item.right}}"}]
        source["input_messages"] = {"type": "template", "template": [{"role": "user", "content": "{{item.question}}"}]}
        source["sampling_params"] = {"temperature": 0, "max_completion_tokens": 16}
    ev = client.evals.create(name="facts", testing_criteria=criteria,
                             data_source_config={"type": "custom", "item_schema": SCHEMA,
                                                 "include_sample_schema": generate})
    start = time.perf_counter()
    run = client.evals.runs.create(ev.id, data_source=source)
    run = client.evals.runs.poll(run.id, eval_id=ev.id, poll_interval=0.2)
    seconds = time.perf_counter() - start
    out = sorted(client.evals.runs.output_items.list(run.id, eval_id=ev.id, limit=100),
                 key=lambda i: i.datasource_item_id)
    return run, out, seconds


def through_lm_eval(door: Door, work: Path) -> list[int]:
    from llmaas.providers.huggingface.management.loading import SMOLLM2, ensure_converted, resolve_source

    weights = ensure_converted(resolve_source(SMOLLM2), progress=False)
    tasks = work / "tasks"
    tasks.mkdir()
    (tasks / "facts_mc.yaml").write_text((DATA / "facts_mc.yaml").read_text().replace(
        "DATA_FILE", str(DATA / "facts_mc.jsonl")))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "HF_HOME": str(work / "hf"), "OPENAI_API_KEY": "unused"}
    args = (f"model={MODEL},base_url=http://127.0.0.1:{door.port}/v1/completions,tokenizer={weights},"
            "tokenizer_backend=huggingface,tokenized_requests=True,num_concurrent=4,max_retries=1")
    subprocess.run([sys.executable, "-m", "lm_eval", "--model", "local-completions", "--model_args", args,
                    "--tasks", "llmaas_facts_mc", "--include_path", str(tasks), "--batch_size", "1",
                    "--output_path", str(work / "out"), "--log_samples"], check=True, env=env,
                   capture_output=True, text=True, timeout=1800)
    found = sorted((work / "out").rglob("samples_llmaas_facts_mc_*.jsonl"))[-1]
    samples = sorted((json.loads(x) for x in found.read_text().splitlines()), key=lambda s: s["doc_id"])
    return [int(s["acc"]) for s in samples]


def main() -> str:
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as home, \
            llmaas.Client(provider_options={"hf": {"home": home, "progress": False}}) as local:
        local.chat.completions.create(model=MODEL, max_tokens=2, messages=[{"role": "user", "content": "Hi"}])
        mc, _, mc_seconds = through_evals(local)
        gen, _, gen_seconds = through_evals(local, generate=True)
    n = len(items())
    lines += ["| client.evals in process, built-in model | items | seconds | items/s | pass rate |",
              "| --- | ---: | ---: | ---: | ---: |",
              f"| multiple choice by log-probabilities (3 choices) | {n} | {mc_seconds:.1f} | {n / mc_seconds:.1f} | "
              f"{mc.per_testing_criteria_results[0].pass_rate:.3f} |",
              f"| a 16-token chat answer, then string_check | {n} | {gen_seconds:.1f} | {n / gen_seconds:.1f} | "
              f"{gen.per_testing_criteria_results[0].pass_rate:.3f} |", ""]
    with tempfile.TemporaryDirectory() as home:
        door = Door(home, {}).start()
        try:
            with llmaas.Client(base_url=f"http://127.0.0.1:{door.port}/v1", api_key="unused") as remote:
                run, graded, _ = through_evals(remote)
            ours = [int(i.status == "pass") for i in graded]
            theirs = through_lm_eval(door, Path(home))
        finally:
            door.stop()
    same = sum(a == b for a, b in zip(ours, theirs, strict=True))
    low, high = run.per_testing_criteria_results[0].interval or [0.0, 1.0]
    lines += [f"| multiple-choice accuracy on bench/data/facts_mc.jsonl ({n} items), one llmaas serve | accuracy |",
              "| --- | ---: |",
              f"| client.evals (multiple_choice grader) | {sum(ours) / n:.3f} (95% interval {low:.2f} to {high:.2f}) |",
              f"| lm-evaluation-harness, local-completions | {sum(theirs) / n:.3f} |",
              f"| items graded the same way by both | {same} of {n} |"]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
