"""``client.evals`` in process: an eval over given samples graded by a registered python grader and a
string check (no model called), refusals as typed exceptions naming the field, a provider without evals
refused before any request, a run a closed client left part way finished by the next client on the home
with every item graded once, the bias suite as an eval agreeing pair by pair with its direct scoring, and
``llmaas eval run`` comparing two models from the command line."""

import asyncio
import json
import os
import sqlite3
import subprocess
import sys

import pytest

import llmaas
from llmaas.evals import register_python_grader, suites
from llmaas.evals.bias import sentence_logprobs

from ..conftest import link_tree

CHAT = "smollm2-135m-instruct"
SCHEMA = {"type": "object", "properties": {"question": {"type": "string"}, "answer": {"type": "string"}},
          "required": ["question", "answer"]}


@pytest.fixture
def home(tmp_path):
    """A home of this test's own, with the built-in model's converted weights linked in."""
    from llmaas.providers.huggingface.management.loading import SMOLLM2, builtin_sources, ensure_converted

    converted = ensure_converted(builtin_sources()[SMOLLM2], progress=False)
    link_tree(converted, tmp_path / "models" / converted.name)
    return tmp_path


def client_on(home):
    return llmaas.Client(provider_options={"hf": {"home": str(home), "progress": False}})


def test_given_samples_graded_by_a_python_grader_and_a_string_check(home):
    register_python_grader("exact_words", lambda sample, item: {
        "score": float(sample["output_text"].split() == item["answer"].split()), "reason": "word for word"})
    items = [{"item": {"question": "2+2?", "answer": "4"}, "sample": {"output_text": "4"}},
             {"item": {"question": "capital of Italy?", "answer": "Rome"}, "sample": {"output_text": "rome"}},
             {"item": {"question": "3*3?", "answer": "9"}, "sample": {"output_text": "It is 9"}}]
    with client_on(home) as c:
        ev = c.evals.create(name="given", data_source_config={"type": "custom", "item_schema": SCHEMA,
                                                              "include_sample_schema": True},
                            testing_criteria=[
                                {"type": "python", "name": "exact", "function": "exact_words", "pass_threshold": 1},
                                {"type": "string_check", "name": "contains", "input": "{{sample.output_text}}",
                                 "reference": "{{item.answer}}", "operation": "ilike"}])
        run = c.evals.runs.create(ev.id, data_source={"type": "jsonl",
                                                      "source": {"type": "file_content", "content": items}})
        run = c.evals.runs.poll(run.id, eval_id=ev.id, poll_interval=0.1, timeout=60)
        assert run.status == "completed" and run.model is None
        assert (run.result_counts.passed, run.result_counts.failed, run.result_counts.errored) == (1, 2, 0)
        by_name = {r.testing_criteria: r for r in run.per_testing_criteria_results}
        assert (by_name["exact"].passed, by_name["contains"].passed) == (1, 3)
        assert by_name["contains"].pass_rate == 1.0 and by_name["contains"].interval[0] > 0.3
        failed = list(c.evals.runs.output_items.list(run.id, eval_id=ev.id, status="fail"))
        assert sorted(i.datasource_item_id for i in failed) == [1, 2]
        assert failed[0].results[0].reason == "word for word"
        assert [e.id for e in c.evals.list()] == [ev.id]
        assert c.evals.delete(ev.id).deleted
        with pytest.raises(llmaas.NotFoundError):
            c.evals.retrieve(ev.id)


def test_refusals_are_typed_and_name_the_field(home):
    with client_on(home) as c:
        with pytest.raises(llmaas.BadRequestError) as info:
            c.evals.create(data_source_config={"type": "custom", "item_schema": SCHEMA},
                           testing_criteria=[{"type": "string_check", "name": "x", "input": "{{item.missing}}",
                                              "reference": "a", "operation": "eq"}])
        assert info.value.param == "testing_criteria[0].input" and "item.missing" in info.value.message
        with pytest.raises(llmaas.BadRequestError) as info:
            c.evals.create(data_source_config={"type": "logs"}, testing_criteria=[])
        assert info.value.param == "data_source_config.type"
        ev = c.evals.create(data_source_config={"type": "custom", "item_schema": SCHEMA},
                            testing_criteria=[{"type": "string_check", "name": "x", "input": "{{item.answer}}",
                                               "reference": "a", "operation": "eq"}])
        with pytest.raises(llmaas.BadRequestError) as info:
            c.evals.runs.create(ev.id, data_source={"type": "completions", "model": "nope", "source": {
                "type": "file_content", "content": [{"item": {"question": "q", "answer": "a"}}]}})
        assert info.value.param == "data_source.model" and info.value.code == "model_not_found"
        with pytest.raises(llmaas.BadRequestError) as info:
            c.evals.runs.create(ev.id, data_source={"type": "jsonl", "source": {
                "type": "file_content", "content": [{"item": {"question": "q", "answer": "a"}}, {"question": "q"}]}})
        assert "content[1]" in info.value.message
        with pytest.raises(llmaas.NotFoundError):
            c.evals.runs.retrieve("evalrun_nope", eval_id=ev.id)
    with llmaas.Client(provider="groq", api_key="k") as remote:  # no evals there: refused before any request
        with pytest.raises(llmaas.UnsupportedFeatureError, match="evals"):
            remote.evals.create(data_source_config={}, testing_criteria=[])


def test_a_run_a_closed_client_left_is_finished_by_the_next_with_each_item_once(home):
    items = [{"item": {"question": f"Count to {n}.", "answer": "1"}} for n in range(3, 15)]
    source = {"type": "completions", "model": CHAT,
              "input_messages": {"type": "template", "template": [{"role": "user", "content": "{{item.question}}"}]},
              "sampling_params": {"temperature": 0, "max_completion_tokens": 24},
              "source": {"type": "file_content", "content": items}}

    async def first():
        async with llmaas.AsyncClient(provider_options={"hf": {"home": str(home), "progress": False}}) as c:
            ev = await c.evals.create(data_source_config={"type": "custom", "item_schema": SCHEMA,
                                                          "include_sample_schema": True},
                                      testing_criteria=[{"type": "string_check", "name": "has 1",
                                                         "input": "{{sample.output_text}}",
                                                         "reference": "{{item.answer}}", "operation": "like"}])
            run = await c.evals.runs.create(ev.id, data_source=source)
            while True:
                r = await c.evals.runs.retrieve(run.id, eval_id=ev.id)
                if r.result_counts.passed + r.result_counts.failed >= 2:
                    return ev.id, run.id
                await asyncio.sleep(0.1)

    eval_id, run_id = asyncio.run(first())  # the client closes: its runner stops and lets the run go
    db = sqlite3.connect(home / "llmaas.db")
    graded = db.execute("SELECT COUNT(*) FROM eval_run_items WHERE run_id = ?", (run_id,)).fetchone()[0]
    db.close()
    assert 2 <= graded < 12
    with client_on(home) as c:
        run = c.evals.runs.poll(run_id, eval_id=eval_id, poll_interval=0.2, timeout=300)
        assert run.status == "completed" and run.result_counts.total == 12
        ids = [i.datasource_item_id for i in c.evals.runs.output_items.list(run_id, eval_id=eval_id, limit=100)]
        assert sorted(ids) == list(range(12))


def test_the_bias_suite_as_an_eval_agrees_with_its_direct_scoring(home):
    spec = suites.suite("llmaas-bias-1")
    spec.items = spec.items[::8]  # 24 pairs across the categories
    with client_on(home) as c:
        ev = c.evals.create(**spec.create_params())
        run = c.evals.runs.create(ev.id, data_source=spec.data_source(CHAT))
        run = c.evals.runs.poll(run.id, eval_id=ev.id, poll_interval=0.2, timeout=300)
        assert run.status == "completed" and {g.group for g in run.per_group_results} == \
            {i["category"] for i in spec.items}
        items = sorted(c.evals.runs.output_items.list(run.id, eval_id=ev.id, limit=100),
                       key=lambda i: i.datasource_item_id)
        sentences = [s for i in spec.items for s in (i["stereotyped"], i["other"])]
        direct = asyncio.run(_direct(home, sentences))
        for k, item in enumerate(items):
            assert (item.status == "pass") == (direct[2 * k] > direct[2 * k + 1])


async def _direct(home, sentences):
    async with llmaas.AsyncClient(provider_options={"hf": {"home": str(home), "progress": False}}) as c:
        return await sentence_logprobs(c, CHAT, sentences)


def test_the_command_line_compares_two_models(home, tmp_path):
    spec = {"name": "tiny", "item_schema": SCHEMA,
            "input_messages": {"type": "template", "template": [{"role": "user", "content": "{{item.question}}"}]},
            "sampling_params": {"temperature": 0, "max_completion_tokens": 12},
            "testing_criteria": [{"type": "string_check", "name": "says it", "input": "{{sample.output_text}}",
                                  "reference": "{{item.answer}}", "operation": "ilike"}],
            "items": [{"question": "What is the capital of France?", "answer": "Paris"},
                      {"question": "What colour is grass?", "answer": "green"}]}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(spec))
    env = {**os.environ, "LLMAAS_HOME": str(home)}
    with client_on(home) as c:
        c.models.alias("smol-copy", model=CHAT)
    out = subprocess.run([sys.executable, "-m", "llmaas.cli", "eval", "run", str(path), "--model", "smol-copy",
                          "--against", CHAT], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "| says it |" in out.stdout and "| difference |" in out.stdout and "+0.000" in out.stdout
    assert "0 items changed outcome" in out.stdout
    assert "smol-copy: 2/2" in out.stderr  # the progress lines
    bad = subprocess.run([sys.executable, "-m", "llmaas.cli", "eval", "run", str(tmp_path / "missing.json"),
                          "--model", CHAT], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "missing.json" in bad.stderr
