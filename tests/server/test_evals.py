"""The Evals API on a live server, driven by the official ``openai`` client (``client.evals``): an eval defined
once and run against two models, graded by string_check, text_similarity, multiple_choice (log-probabilities)
and label_model; a file of purpose ``evals``; refusals that name what is wrong (a grader reading a field the
items lack, python code sent over the wire, an item failing the schema by line, a model that does not exist);
privacy between keys; cancelling; one bad item that fails alone; and ``kill -9`` mid-run with every item
graded once."""

import json
import os
import signal
import sqlite3
import time

import openai
import pytest

from .conftest import CHAT, ServerProcess

SCHEMA = {"type": "object", "properties": {"question": {"type": "string"}, "choices": {"type": "array"},
                                           "answer": {"type": "integer"}, "word": {"type": "string"}},
          "required": ["question", "choices", "answer"]}
FACTS = [
    {"question": "The capital of France is", "choices": [" Paris", " Berlin", " Madrid"], "answer": 0, "word": "Paris"},
    {"question": "The opposite of hot is", "choices": [" loud", " cold", " green"], "answer": 1, "word": "cold"},
    {"question": "A week has seven", "choices": [" days", " legs", " planets"], "answer": 0, "word": "days"},
    {"question": "Water freezes at zero degrees", "choices": [" Celsius", " Kelvin"], "answer": 0, "word": "Celsius"},
]
CRITERIA = [
    {"type": "multiple_choice", "name": "choice", "input": "{{item.question}}", "choices": "{{item.choices}}",
     "answer": "{{item.answer}}"},
    {"type": "string_check", "name": "says it", "input": "{{sample.output_text}}", "reference": "{{item.word}}",
     "operation": "ilike"},
    {"type": "text_similarity", "name": "close", "input": "{{sample.output_text}}",
     "reference": "{{item.question}} {{item.word}}", "evaluation_metric": "fuzzy_match", "pass_threshold": 0.3},
    {"type": "label_model", "name": "judge", "model": CHAT, "labels": ["correct", "incorrect"],
     "passing_labels": ["correct"],
     "input": [{"role": "user", "content": "Question: {{item.question}}\nAnswer: {{sample.output_text}}\n"
                                           "Is the answer correct?"}]},
    {"type": "score_model", "name": "score", "model": CHAT, "range": [0, 10], "pass_threshold": 5,
     "input": [{"role": "user", "content": "Rate from 0 to 10 how well this completes '{{item.question}}': "
                                           "{{sample.output_text}}"}]},
]
FINAL = ("completed", "canceled", "failed")


def completions_source(items, model=CHAT, max_tokens=12, **extra):
    return {"type": "completions", "model": model,
            "input_messages": {"type": "template",
                               "template": [{"role": "user", "content": "Complete the sentence: {{item.question}}"}]},
            "sampling_params": {"temperature": 0, "max_completion_tokens": max_tokens, **extra},
            "source": items}


def content(items):
    return {"type": "file_content", "content": [{"item": x} for x in items]}


def wait(c, eval_id, run_id, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        run = c.evals.runs.retrieve(run_id, eval_id=eval_id)
        if run.status in FINAL:
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} did not finish: {run}")


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    s = ServerProcess(tmp_path_factory.mktemp("evals"))
    s.keys = {name: s.cli("keys", "create", name).strip().splitlines()[-1] for name in ("alice", "bob")}
    s.cli("models", "alias", "smol-b", CHAT)
    s.start()
    yield s
    s.stop()


def client(server, key):
    return openai.OpenAI(base_url=server.base_url, api_key=server.keys[key], max_retries=0, timeout=120)


def test_an_eval_runs_against_two_models_and_grades_with_every_kind(keyed):
    alice = client(keyed, "alice")
    ev = alice.evals.create(name="facts", data_source_config={"type": "custom", "item_schema": SCHEMA,
                                                               "include_sample_schema": True},
                            testing_criteria=CRITERIA, metadata={"suite": "facts"})
    assert ev.object == "eval" and ev.data_source_config.type == "custom" and ev.metadata == {"suite": "facts"}
    upload = alice.files.create(file=("facts.jsonl", "".join(json.dumps({"item": x}) + "\n" for x in FACTS).encode()),
                                purpose="evals")
    runs = [alice.evals.runs.create(ev.id, name=f"on {m}", data_source=completions_source(
        {"type": "file_id", "id": upload.id}, model=m)) for m in (CHAT, "smol-b")]
    assert all(r.status in ("queued", "in_progress") for r in runs)
    done = [wait(alice, ev.id, r.id) for r in runs]
    for run in done:
        assert run.status == "completed" and run.result_counts.total == len(FACTS)
        assert run.result_counts.passed + run.result_counts.failed + run.result_counts.errored == len(FACTS)
        assert run.result_counts.errored == 0
        by_name = {r.testing_criteria: r for r in run.per_testing_criteria_results}
        assert set(by_name) == {"choice", "says it", "close", "judge", "score"}
        assert by_name["choice"].passed >= 3  # a 135M model knows these
        assert run.per_model_usage[0].completion_tokens > 0
        items = list(alice.evals.runs.output_items.list(run.id, eval_id=ev.id))
        assert sorted(i.datasource_item_id for i in items) == list(range(len(FACTS)))
        for item in items:
            assert {r.name for r in item.results} == {"choice", "says it", "close", "judge", "score"}
            scored = next(r for r in item.results if r.name == "score")
            assert 0 <= scored.score <= 10 and scored.passed == (scored.score >= 5)  # held to its range
            assert item.sample.output[0].content and item.sample.model
            judged = next(r for r in item.results if r.name == "judge")
            assert judged.sample["label"] in ("correct", "incorrect")  # held to its labels
        one = alice.evals.runs.output_items.retrieve(items[0].id, eval_id=ev.id, run_id=run.id)
        assert one.id == items[0].id
    # the two models are the same weights under two names, greedy: item by item the same answers
    a, b = ([i.sample.output[0].content for i in alice.evals.runs.output_items.list(r.id, eval_id=ev.id)] for r in done)
    assert a == b
    listed = alice.evals.runs.list(ev.id)
    assert {r.id for r in listed.data} == {r.id for r in done}
    assert [e.id for e in alice.evals.list().data] == [ev.id]
    assert alice.evals.update(ev.id, name="facts-2").name == "facts-2"


def test_bad_evals_are_refused_naming_what_is_wrong(keyed):
    alice = client(keyed, "alice")
    config = {"type": "custom", "item_schema": SCHEMA, "include_sample_schema": True}
    cases = [
        ([{**CRITERIA[1], "reference": "{{item.nope}}"}], "testing_criteria[0].reference", "does not declare"),
        ([{"type": "python", "name": "p", "source": "def grade(sample, item):\n    return 1\n"}],
         "testing_criteria[0].source", "never runs code"),
        ([{"type": "python", "name": "p", "function": "anything"}], "testing_criteria[0].function", "registered"),
        ([{**CRITERIA[0], "type": "made_up"}], "testing_criteria[0].type", "must be one of"),
        ([], "testing_criteria", "non-empty"),
        ([CRITERIA[1], CRITERIA[1]], "testing_criteria[1].name", "used twice"),
    ]
    for criteria, param, says in cases:
        with pytest.raises(openai.BadRequestError) as info:
            alice.evals.create(data_source_config=config, testing_criteria=criteria)
        assert info.value.body["param"] == param and says in info.value.body["message"], (param, info.value.body)
    with pytest.raises(openai.BadRequestError) as info:
        alice.evals.create(data_source_config={"type": "custom", "item_schema": {"type": "nonsense"}},
                           testing_criteria=CRITERIA[:1])
    assert "not a valid JSON Schema" in info.value.body["message"]
    ev = alice.evals.create(data_source_config=config, testing_criteria=CRITERIA[:2])
    bad_run = [
        (completions_source(content([{"question": "q", "choices": ["a", "b"]}])), "does not match the eval's "
         "item_schema: 'answer' is a required property"),
        (completions_source(content(FACTS), model="no-such-model"), "does not exist"),
        (completions_source({"type": "stored_completions"}), "not offered"),
        ({"type": "jsonl", "source": content(FACTS)}, "this run gives no sample"),
    ]
    for source, says in bad_run:
        with pytest.raises(openai.BadRequestError) as info:
            alice.evals.runs.create(ev.id, data_source=source)
        assert says in info.value.body["message"], info.value.body
    only_choice = alice.evals.create(data_source_config=config, testing_criteria=CRITERIA[:1])
    with pytest.raises(openai.BadRequestError) as info:  # log-probabilities need the model under test
        alice.evals.runs.create(only_choice.id, data_source={"type": "jsonl", "source": content(FACTS)})
    assert "multiple_choice" in info.value.body["message"]
    # an item failing the schema in a file is named by its line
    lines = [{"item": FACTS[0]}, {"item": {**FACTS[1], "answer": "one"}}]
    upload = alice.files.create(file=("bad.jsonl", "".join(json.dumps(x) + "\n" for x in lines).encode()),
                                purpose="evals")
    with pytest.raises(openai.BadRequestError) as info:
        alice.evals.runs.create(ev.id, data_source=completions_source({"type": "file_id", "id": upload.id}))
    assert "line 2 of the file" in info.value.body["message"] and "at answer" in info.value.body["message"]
    with pytest.raises(openai.BadRequestError) as info:  # not JSON, refused at upload with its line
        alice.files.create(file=("broken.jsonl", b'{"item": {}}\n{not json\n'), purpose="evals")
    assert "line 2" in info.value.body["message"]
    with pytest.raises(openai.NotFoundError):
        alice.evals.runs.create("eval_nope", data_source=completions_source(content(FACTS)))
    assert len(alice.evals.runs.list(ev.id).data) == 0  # nothing refused was stored


def test_evals_are_private_to_their_key(keyed):
    alice, bob = client(keyed, "alice"), client(keyed, "bob")
    ev = alice.evals.create(data_source_config={"type": "custom", "item_schema": SCHEMA},
                            testing_criteria=CRITERIA[:1])
    run = alice.evals.runs.create(ev.id, data_source={"type": "completions", "model": CHAT, "source": content(FACTS)})
    for call in (lambda: bob.evals.retrieve(ev.id), lambda: bob.evals.runs.retrieve(run.id, eval_id=ev.id),
                 lambda: bob.evals.runs.list(ev.id), lambda: bob.evals.delete(ev.id),
                 lambda: bob.evals.runs.create(ev.id, data_source={"type": "completions", "model": CHAT,
                                                                  "source": content(FACTS)})):
        with pytest.raises(openai.NotFoundError):
            call()
    assert ev.id not in {e.id for e in bob.evals.list().data}
    done = wait(alice, ev.id, run.id)  # no generation: log-probabilities only
    assert done.status == "completed" and done.result_counts.passed >= 3
    assert alice.evals.delete(ev.id).deleted
    with pytest.raises(openai.NotFoundError):
        alice.evals.runs.retrieve(run.id, eval_id=ev.id)


def test_one_bad_item_fails_alone_and_a_cancelled_run_keeps_what_was_graded(keyed):
    alice = client(keyed, "alice")
    ev = alice.evals.create(data_source_config={"type": "custom", "item_schema": SCHEMA,
                                                "include_sample_schema": True}, testing_criteria=CRITERIA[1:2])
    items = FACTS[:2] + [{k: v for k, v in FACTS[2].items() if k != "word"}]  # item 2 lacks the optional word
    run = wait(alice, ev.id, alice.evals.runs.create(ev.id, data_source=completions_source(content(items))).id)
    assert run.status == "completed" and run.result_counts.errored == 1 and run.result_counts.total == 3
    errored = list(alice.evals.runs.output_items.list(run.id, eval_id=ev.id, status="error"))
    assert [i.datasource_item_id for i in errored] == [2] and "word" in errored[0].sample.error.message

    long = alice.evals.runs.create(ev.id, data_source=completions_source(content(FACTS * 20), max_tokens=48,
                                                                        ignore_eos=True))
    deadline = time.time() + 120
    while alice.evals.runs.retrieve(long.id, eval_id=ev.id).result_counts.passed + \
            alice.evals.runs.retrieve(long.id, eval_id=ev.id).result_counts.failed < 2 and time.time() < deadline:
        time.sleep(0.2)
    cancelled = alice.evals.runs.cancel(long.id, eval_id=ev.id)
    assert cancelled.status == "canceled"
    graded = cancelled.result_counts.passed + cancelled.result_counts.failed + cancelled.result_counts.errored
    time.sleep(3)
    later = alice.evals.runs.retrieve(long.id, eval_id=ev.id)
    assert later.status == "canceled" and 2 <= graded < 80
    assert later.result_counts.passed + later.result_counts.failed + later.result_counts.errored == graded
    with pytest.raises(openai.BadRequestError):
        alice.evals.runs.cancel(long.id, eval_id=ev.id)


def test_kill_9_mid_run_resumes_with_every_item_graded_once(tmp_path):
    server = ServerProcess(tmp_path).start()
    c = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=60)
    ev = c.evals.create(data_source_config={"type": "custom", "item_schema": SCHEMA, "include_sample_schema": True},
                        testing_criteria=CRITERIA[1:3])
    items = [{**FACTS[i % 4], "question": f"{FACTS[i % 4]['question']} ({i})"} for i in range(40)]
    run = c.evals.runs.create(ev.id, data_source=completions_source(content(items), max_tokens=24, ignore_eos=True))
    deadline = time.time() + 120
    while c.evals.runs.retrieve(run.id, eval_id=ev.id).result_counts.failed + \
            c.evals.runs.retrieve(run.id, eval_id=ev.id).result_counts.passed < 4 and time.time() < deadline:
        time.sleep(0.2)
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(30)
    db = sqlite3.connect(tmp_path / "llmaas.db")
    graded = db.execute("SELECT COUNT(*) FROM eval_run_items WHERE run_id = ?", (run.id,)).fetchone()[0]
    db.close()
    assert 4 <= graded < 40  # killed part way
    server.start()
    try:
        c = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=60)
        done = wait(c, ev.id, run.id)
        assert done.status == "completed" and done.result_counts.total == 40
        assert done.result_counts.passed + done.result_counts.failed + done.result_counts.errored == 40
        ids = [i.datasource_item_id for i in c.evals.runs.output_items.list(run.id, eval_id=ev.id, limit=100)]
        assert sorted(ids) == list(range(40))  # each once
        db = sqlite3.connect(tmp_path / "llmaas.db")
        metered = db.execute("SELECT COUNT(*) FROM usage WHERE endpoint = 'evals.runs'").fetchone()[0]
        db.close()
        assert metered == 40  # each item metered once
    finally:
        server.stop()
