"""Per-request options in process: a timeout cancels the generation, extra_body fields the engine knows
are used and the ones it does not are refused, never dropped."""

import time

import pytest

import llmaas

from .conftest import CHAT

MSG = [{"role": "user", "content": "Write a very long story about the sea."}]


def test_a_timeout_cancels_the_generation_and_the_engine_goes_on(client, hf):
    start = time.monotonic()
    with pytest.raises(llmaas.APITimeoutError, match="timeout of 0.5 s"):
        client.chat.completions.create(model=CHAT, messages=MSG, max_tokens=3000, timeout=0.5,
                                       extra_body={"ignore_eos": True})
    assert time.monotonic() - start < 10
    deadline = time.monotonic() + 10
    while hf.engine(CHAT).running and time.monotonic() < deadline:  # its slot is freed at the next step
        time.sleep(0.05)
    assert hf.engine(CHAT).running == 0
    assert client.chat.completions.create(model=CHAT, messages=MSG, max_tokens=3).choices[0].message.content


def test_a_streams_timeout_ends_it_with_a_timeout_error(client):
    stream = client.chat.completions.create(model=CHAT, messages=MSG, max_tokens=3000, stream=True, timeout=0.5,
                                            extra_body={"ignore_eos": True})
    chunks = 0
    with pytest.raises(llmaas.APITimeoutError):
        for _ in stream:
            chunks += 1
    assert chunks >= 1


def test_a_client_wide_timeout_applies_in_process():
    with llmaas.Client(timeout=0.5, provider_options={"hf": {"progress": False}}) as c:
        # loads the model (never timed), then 2 tokens: on a loaded machine that alone may pass 0.5 s
        c.chat.completions.create(model=CHAT, messages=MSG, max_tokens=2, timeout=120)
        with pytest.raises(llmaas.APITimeoutError):
            c.chat.completions.create(model=CHAT, messages=MSG, max_tokens=3000, extra_body={"ignore_eos": True})


def test_extra_body_is_honoured_or_refused(client):
    out = client.chat.completions.create(model=CHAT, messages=MSG, max_tokens=12, temperature=0,
                                         extra_body={"ignore_eos": True})
    assert out.usage is not None and out.usage.completion_tokens == 12
    with pytest.raises(llmaas.BadRequestError) as err:
        client.chat.completions.create(model=CHAT, messages=MSG, max_tokens=2, extra_body={"mirostat": 2})
    assert err.value.param == "extra_body.mirostat"
    with pytest.raises(llmaas.BadRequestError):
        client.chat.completions.create(model=CHAT, messages=MSG, max_tokens=2, extra_body={"temperature": "hot"})
