"""Prompt log-probabilities on the completions route (echo with logprobs, as OpenAI's legacy completions and
vLLM give them): equal to transformers' own in float32, scoring-only with max_tokens=0, and the bad input."""

import math

import pytest

import llmaas

from .conftest import CHAT

TEXT = "The capital of France is Paris. The capital of Italy is Rome."


@pytest.fixture(scope="module")
def fp32():
    c = llmaas.Client(provider="hf", provider_options={"hf": {"progress": False, "dtype": "float32",
                                                              "kv_cache_gb": 0.25}})
    yield c
    c.close()


def test_prompt_logprobs_match_transformers_in_float32(fp32):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from llmaas.providers.huggingface.management.loading import SMOLLM2, builtin_sources, ensure_converted

    r = fp32.completions.create(model=CHAT, prompt=TEXT, echo=True, logprobs=2, max_tokens=0)
    lp = r.choices[0].logprobs
    folder = str(ensure_converted(builtin_sources()[SMOLLM2], progress=False))
    tok = AutoTokenizer.from_pretrained(folder)
    hf = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    ids = tok(TEXT, return_tensors="pt", add_special_tokens=False).input_ids
    with torch.no_grad():
        ref = torch.log_softmax(hf(ids).logits[0, :-1].float(), dim=-1).gather(1, ids[0, 1:, None])[:, 0]
    assert lp.token_logprobs[0] is None and lp.top_logprobs[0] is None
    assert len(lp.token_logprobs) == ids.shape[1]
    assert max(abs(a - b) for a, b in zip(lp.token_logprobs[1:], ref.tolist(), strict=True)) < 1e-3
    assert "".join(lp.tokens) == TEXT and lp.text_offset[1] == len(lp.tokens[0])
    assert all(len(t) == 2 for t in lp.top_logprobs[1:])
    assert r.choices[0].text == TEXT and r.usage.completion_tokens == 0 and r.choices[0].finish_reason == "length"


def test_echo_with_a_completion_puts_the_prompt_first(client):
    r = client.completions.create(model=CHAT, prompt=TEXT, echo=True, logprobs=1, max_tokens=4, temperature=0)
    lp = r.choices[0].logprobs
    n_prompt = r.usage.prompt_tokens
    assert len(lp.tokens) == n_prompt + r.usage.completion_tokens and lp.token_logprobs[0] is None
    assert r.choices[0].text.startswith(TEXT)
    perplexity = math.exp(-sum(lp.token_logprobs[1:n_prompt]) / (n_prompt - 1))
    assert 1.0 < perplexity < 100.0  # a plain English sentence is not a surprise to the model


@pytest.mark.parametrize("kwargs, param", [
    ({"stream": True}, "stream"),
    ({"prompt": "word " * 9000}, "prompt"),
])
def test_bad_scoring_requests(client, kwargs, param):
    args = {"model": CHAT, "prompt": TEXT, "echo": True, "logprobs": 1, "max_tokens": 0, **kwargs}
    with pytest.raises(llmaas.BadRequestError) as caught:
        result = client.completions.create(**args)
        list(result) if kwargs.get("stream") else None
    assert caught.value.param == param


def test_several_prompts_in_one_request_score_as_each_does_alone(client):
    """Prompts of one request are scored in one forward pass (right-padded): each gets what it gets alone,
    short and long alike, in the default dtype."""
    prompts = ["The capital of France is Paris.", "Hi", "A week has seven days, and a year has twelve months.",
               "The opposite of hot is cold."]
    together = client.completions.create(model=CHAT, prompt=prompts, echo=True, logprobs=1, max_tokens=0)
    by_index = sorted(together.choices, key=lambda c: c.index)
    for prompt, choice in zip(prompts, by_index, strict=True):
        alone = client.completions.create(model=CHAT, prompt=prompt, echo=True, logprobs=1, max_tokens=0)
        a, b = alone.choices[0].logprobs, choice.logprobs
        assert a.tokens == b.tokens
        assert max((abs(x - y) for x, y in zip(a.token_logprobs[1:], b.token_logprobs[1:], strict=True)),
                   default=0.0) < 1e-3
