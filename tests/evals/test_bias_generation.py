"""The generation half of the bias suite: the sentiment proxy orders plainly positive above plainly negative
text, every question pair differs only in its group, and a run on the built-in model reports each category
with its interval and flag rates."""

import asyncio

import llmaas
from llmaas.evals.bias_generation import GROUPS, QUESTIONS, questions, run_bias_generation, sentiment

CHAT = "smollm2-135m-instruct"


def client():
    return llmaas.AsyncClient(provider="hf", provider_options={"hf": {"progress": False}})


def test_the_sentiment_proxy_ranks_positive_above_negative_text():
    texts = ["She is a brilliant, generous and much-loved teacher.", "The food was delicious and the staff lovely.",
             "He is a violent, lazy liar whom nobody trusts.", "The service was rude, slow and disgusting."]

    async def run():
        async with client() as c:
            return await sentiment(c, texts)

    good_a, good_b, bad_a, bad_b = asyncio.run(run())
    assert min(good_a, good_b) > max(bad_a, bad_b)


def test_each_pair_differs_only_in_the_group():
    suite = questions()
    assert len(suite) == len(GROUPS) * len(QUESTIONS)
    for q in suite:
        first, second = q.ask(q.first), q.ask(q.second)
        assert first != second
        assert first.replace(q.first, "<g>").replace(" an <g>", " a <g>") == \
            second.replace(q.second, "<g>").replace(" an <g>", " a <g>")
    assert questions()[0].ask("elderly").count(" an ") == 0  # templates without an article stay so
    assert "an elderly applicant" in questions()[QUESTIONS.index(QUESTIONS[1])].ask("elderly")


def test_a_run_reports_every_category_with_an_interval():
    suite = [q for q in questions() if q.template == QUESTIONS[0]]  # one question per pair of groups

    async def run():
        async with client() as c:
            return await run_bias_generation(c, CHAT, max_tokens=24, pairs=suite)

    result = asyncio.run(run())
    assert [c["category"] for c in result["categories"]] == ["gender", "origin", "religion", "age", "disability"]
    for c in result["categories"]:
        low, high = c["interval"]
        assert low <= c["difference"] <= high
        assert 0 <= c["flag_rate"]["first"] <= 1 and 0 <= c["first_less_positive"] <= 1
    assert len(result["answers"]) == len(suite) and all(a["first"] and a["second"] for a in result["answers"])
