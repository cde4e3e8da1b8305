"""Graders that call models, on the built-in models: multiple choice scored by log-probabilities in process
and through a live server (the two agree), cosine similarity over the embedding model, a label_model judge held
to its labels, and the bias suite llmaas-bias-1 on the built-in chat model."""

import asyncio

import pytest

import llmaas
from llmaas.evals import Tools, parse, run_bias, tools_for
from llmaas.evals.tools import continuation_logprob

from .conftest import CHAT

FACTS = [
    {"question": "The capital of France is", "choices": [" Paris", " Berlin", " Madrid"], "answer": 0},
    {"question": "Water freezes at a temperature of zero degrees", "choices": [" Celsius", " Kelvin"], "answer": 0},
    {"question": "The opposite of hot is", "choices": [" loud", " cold", " green"], "answer": 1},
    {"question": "A week has seven", "choices": [" days", " legs", " planets"], "answer": 0},
]
CHOICE = {"type": "multiple_choice", "name": "mc", "input": "{{item.question}}", "choices": "{{item.choices}}",
          "answer": "{{item.answer}}"}


def in_process():
    return llmaas.AsyncClient(provider="hf", provider_options={"hf": {"progress": False}})


async def _grade_all(client, spec, items, samples=None):
    grader = parse(spec, "testing_criteria[0]", None, generates=samples is not None)
    tools = tools_for(client, CHAT)
    return [await grader.grade(item, (samples or [None] * len(items))[i], tools) for i, item in enumerate(items)]


def test_multiple_choice_by_logprobs_agrees_in_process_and_through_the_server(server):
    async def both():
        async with in_process() as local, llmaas.AsyncClient(base_url=server.base_url, api_key="x") as remote:
            return await _grade_all(local, CHOICE, FACTS), await _grade_all(remote, CHOICE, FACTS)

    here, there = asyncio.run(both())
    assert sum(g.passed for g in here) >= 3  # a 135M model knows these
    for a, b in zip(here, there, strict=True):
        assert a.passed == b.passed and a.details["chosen"] == b.details["chosen"]
        assert a.details["logprobs"] == pytest.approx(b.details["logprobs"], abs=0.05)


def test_a_continuations_logprob_is_its_tokens_after_the_context():
    async def run():
        async with in_process() as c:
            whole = await c.completions.create(model=CHAT, prompt="The capital of France is Paris", echo=True,
                                               logprobs=1, max_tokens=0)
            scores = await tools_for(c, CHAT).score_choices("The capital of France is", [" Paris"])
            return whole.choices[0].logprobs, scores[0]

    lp, score = asyncio.run(run())
    tail = [v for o, v in zip(lp.text_offset, lp.token_logprobs, strict=True) if o >= len("The capital of France is")]
    assert score == pytest.approx(sum(tail)) == pytest.approx(continuation_logprob(lp, 24)) and score < 0


def test_cosine_similarity_and_a_label_model_judge_on_the_built_in_models():
    item = {"answer": "The cat sat on the mat."}
    cosine = {"type": "text_similarity", "name": "cos", "input": "{{sample.output_text}}",
              "reference": "{{item.answer}}", "evaluation_metric": "cosine", "pass_threshold": 0.7}
    judge = {"type": "label_model", "name": "judge", "model": CHAT, "labels": ["correct", "incorrect"],
             "passing_labels": ["correct"], "input": [
                 {"role": "system", "content": "Say whether the answer matches the reference."},
                 {"role": "user", "content": "Reference: {{item.answer}}\nAnswer: {{sample.output_text}}"}]}

    async def run():
        async with in_process() as c:
            near = await _grade_all(c, cosine, [item], [{"output_text": "A cat was sitting on the mat."}])
            far = await _grade_all(c, cosine, [item], [{"output_text": "Stock prices fell sharply on Monday."}])
            label = await _grade_all(c, judge, [item], [{"output_text": "The cat sat on the mat."}])
            return near[0], far[0], label[0]

    near, far, label = asyncio.run(run())
    assert near.passed and not far.passed and near.score > far.score + 0.3
    assert label.details["label"] in ("correct", "incorrect")  # constrained to the labels, whatever it thinks


def test_a_grader_without_the_tool_it_needs_says_so():
    grader = parse(CHOICE, "testing_criteria[0]", None, generates=False)
    with pytest.raises(RuntimeError, match="log-probabilities"):
        asyncio.run(grader.grade(FACTS[0], None, Tools()))


def test_the_bias_suite_reports_each_category_with_its_interval():
    async def run():
        async with in_process() as c:
            return await run_bias(c, CHAT)

    report = asyncio.run(run())
    assert report["suite"] == "llmaas-bias-1" and report["model"] == CHAT
    assert [r["category"] for r in report["categories"]] == ["gender", "origin", "religion", "age", "disability"]
    for row in report["categories"]:
        low, high = row["interval"]
        assert row["pairs"] >= 36 and low <= row["preference_rate"] <= high and high - low < 0.35
    assert report["overall"]["pairs"] == sum(r["pairs"] for r in report["categories"])
