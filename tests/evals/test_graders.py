"""Graders without a model: the text metrics against values worked by hand, templates, the string and python
graders, and every refusal naming its field before any model is called."""

import asyncio
import math

import pytest

from llmaas import BadRequestError
from llmaas.evals import Tools, parse, register_python_grader, templates
from llmaas.evals import metrics as m
from llmaas.evals.bias import summarise, wilson
from llmaas.evals.bias_data import CATEGORIES, pairs

SCHEMA = {"type": "object", "properties": {"question": {"type": "string"}, "answer": {"type": "string"},
                                           "choices": {"type": "array"}}}


def grade(spec, item, sample=None, tools=None, generates=True):
    return asyncio.run(parse(spec, "testing_criteria[0]", SCHEMA, generates).grade(item, sample, tools or Tools()))


def test_metrics_match_values_worked_by_hand():
    assert m.bleu("the cat sat on the mat", "the cat sat on the mat") == pytest.approx(1.0)
    expected = math.exp((math.log(5 / 6) + math.log(3 / 5) + math.log(1 / 4) + math.log(0.1 / 3)) / 4)
    assert m.bleu("the cat sat on the mat", "the cat is on the mat") == pytest.approx(expected)
    assert m.bleu("the cat", "the cat sat on the mat") < m.bleu("the cat sat on", "the cat sat on the mat")  # brevity
    assert m.rouge_n("the cat", "the cat sat", 1) == pytest.approx(0.8)
    assert m.rouge_n("The cat sat", "the CAT sat", 2) == pytest.approx(1.0)  # lower-cased
    assert m.rouge_l("a b c d", "a c d") == pytest.approx(2 * 0.75 / 1.75)
    assert m.gleu("a b c", "a b c") == 1.0 and m.gleu("a b", "c d") == 0.0
    assert m.fuzzy_match("abc", "abd") == pytest.approx(2 / 3) and m.fuzzy_match("", "") == 1.0
    assert m.cosine([1, 0], [0, 1]) == 0.0 and m.cosine([1, 1], [2, 2]) == pytest.approx(1.0)


def test_templates_read_items_and_samples_and_name_what_is_missing():
    item = {"question": "2+2?", "answer": "4", "choices": ["3", "4"], "meta": {"level": 1}}
    assert templates.render("Q: {{item.question}} -> {{ sample.output_text }}", item, {"output_text": "4"}) == \
        "Q: 2+2? -> 4"
    assert templates.render("{{item.meta}}", item) == '{"level": 1}'
    assert templates.lookup("{{item.choices}}", item) == ["3", "4"] and templates.lookup("{{item.choices.1}}", item) == "4"
    with pytest.raises(KeyError, match="no field 'missing'"):
        templates.render("{{item.missing}}", item)


@pytest.mark.parametrize("spec, param, says", [
    ({"type": "string_check", "name": "x", "input": "{{item.nope}}", "reference": "a", "operation": "eq"},
     "testing_criteria[0].input", "does not declare"),
    ({"type": "string_check", "name": "x", "input": "{{sample.output_text}}", "reference": "a", "operation": "is"},
     "testing_criteria[0].operation", "eq, ne, like, ilike"),
    ({"type": "string_check", "name": "x", "input": "{{items.question}}", "reference": "a", "operation": "eq"},
     "testing_criteria[0].input", "item.<field>"),
    ({"type": "text_similarity", "name": "x", "input": "a", "reference": "b", "evaluation_metric": "meteor",
      "pass_threshold": 0.5}, "testing_criteria[0].evaluation_metric", "meteor is not offered"),
    ({"type": "text_similarity", "name": "x", "input": "a", "reference": "b", "evaluation_metric": "bleu"},
     "testing_criteria[0].pass_threshold", "must be a number"),
    ({"type": "python", "name": "x", "source": "def grade(sample, item): return 1"},
     "testing_criteria[0].source", "never runs code sent in a request"),
    ({"type": "python", "name": "x", "function": "not-registered"}, "testing_criteria[0].function", "registered"),
    ({"type": "label_model", "name": "x", "model": "m", "input": [{"role": "user", "content": "hi"}],
      "labels": ["good", "bad"], "passing_labels": ["great"]}, "testing_criteria[0].passing_labels", "some of"),
    ({"type": "score_model", "name": "x", "model": "m", "input": [{"role": "user", "content": "hi"}],
      "range": [1, 0]}, "testing_criteria[0].range", "low < high"),
    ({"type": "multiple_choice", "name": "x", "input": "{{item.question}}", "choices": ["only one"],
      "answer": "0"}, "testing_criteria[0].choices", "at least two"),
    ({"type": "regex", "name": "x"}, "testing_criteria[0].type", "one of"),
    ({"type": "string_check", "input": "a", "reference": "a", "operation": "eq"}, "testing_criteria[0].name",
     "needs a name"),
])
def test_bad_graders_are_refused_naming_the_field(spec, param, says):
    with pytest.raises(BadRequestError, match=says) as err:
        parse(spec, "testing_criteria[0]", SCHEMA, generates=True)
    assert err.value.param == param and err.value.status_code == 400


def test_a_sample_is_refused_where_the_run_generates_none():
    spec = {"type": "string_check", "name": "x", "input": "{{sample.output_text}}", "reference": "a", "operation": "eq"}
    with pytest.raises(BadRequestError, match="gives no sample"):
        parse(spec, "testing_criteria[0]", SCHEMA, generates=False)


def test_string_checks_and_text_similarity_grade_an_item():
    item = {"question": "capital of France?", "answer": "Paris"}
    check = {"type": "string_check", "name": "exact", "input": "{{sample.output_text}}",
             "reference": "{{item.answer}}", "operation": "eq"}
    assert grade(check, item, {"output_text": "Paris"}).passed
    assert not grade(check, item, {"output_text": "paris"}).passed
    assert grade({**check, "operation": "ilike"}, item, {"output_text": "It is PARIS."}).passed
    assert not grade({**check, "operation": "like"}, item, {"output_text": "It is PARIS."}).passed
    assert grade({**check, "operation": "ne"}, item, {"output_text": "Lyon"}).score == 1.0
    similar = {"type": "text_similarity", "name": "f", "input": "{{sample.output_text}}", "reference": "{{item.answer}}",
               "evaluation_metric": "fuzzy_match", "pass_threshold": 0.8}
    result = grade(similar, item, {"output_text": "Pari"})
    assert result.passed and result.score == pytest.approx(m.fuzzy_match("Pari", "Paris"))
    assert "fuzzy_match" in result.reason


def test_a_registered_python_grader_runs_in_process():
    register_python_grader("length_ok", lambda sample, item: {"score": float(len(sample["output_text"]) <= 5),
                                                              "reason": "short enough"})
    spec = {"type": "python", "name": "short", "function": "length_ok", "pass_threshold": 1}
    assert grade(spec, {}, {"output_text": "four"}).passed
    assert not grade(spec, {}, {"output_text": "a long answer"}).passed


def test_the_bias_suite_is_balanced_and_its_intervals_mean_something():
    suite = pairs()
    by = {c: [p for p in suite if p.category == c] for c in CATEGORIES}
    assert all(len(v) >= 36 for v in by.values())
    assert len({(p.stereotyped, p.other) for p in suite}) == len(suite)  # no pair twice
    assert all(p.stereotyped != p.other and len(p.stereotyped.split()) >= 4 for p in suite)
    low, high = wilson(50, 100)
    assert low < 0.5 < high and high - low == pytest.approx(0.192, abs=0.01)
    fair = summarise([(p, 0.0, -1.0) if i % 2 else (p, -1.0, 0.0) for i, p in enumerate(by["age"])])[0]
    assert fair.low < 0.5 < fair.high
    biased = summarise([(p, 0.0, -1.0) for p in by["age"]])[0]
    assert biased.rate == 1.0 and biased.low > 0.9
