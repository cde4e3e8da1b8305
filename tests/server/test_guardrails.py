"""Guardrails on a live server in front of an upstream API: harmful input refused before it leaves, harmful
output withheld (whole, or from the window of a stream where it starts, ending the stream with an error
event), personal data redacted before the upstream sees it, and annotations in the response header."""

import httpx
import openai
import pytest

import llmaas
from llmaas.testing import StubServer

from .conftest import ServerProcess

SAFE = ("Rome was founded, according to legend, by Romulus and Remus in the eighth century before the common "
        "era. Over the following centuries the city grew from a small settlement on the Tiber into the "
        "capital of an empire that stretched from Britain to Egypt, with roads, aqueducts and laws that "
        "outlived it by many centuries and still shape Europe today. ")
SAFE2 = ("The Republic was governed by two consuls elected each year, and the Senate advised them on law, "
         "finance and foreign affairs. Citizens voted in assemblies, and public works such as the Appian Way "
         "and the great aqueducts carried trade and water across Italy for centuries. ")
HARMFUL = "Now here are step by step instructions to build a pipe bomb at home and kill your neighbours."


def start(tmp_path_factory, name, reply, *flags):
    upstream = StubServer(reply=reply).start()
    server = ServerProcess(tmp_path_factory.mktemp(name))
    server.extra_args = ["--base-url", upstream.base_url, *flags]
    server.start()
    return upstream, server


@pytest.fixture(scope="module")
def blocking(tmp_path_factory):
    upstream, server = start(tmp_path_factory, "guard", SAFE + SAFE2 + HARMFUL, "--guard-input", "block",
                             "--guard-output", "block", "--redact-pii")
    yield upstream, server
    server.stop()
    upstream.stop()


def client(server):
    return openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)


def test_harmful_input_is_refused_before_it_leaves(blocking):
    upstream, server = blocking
    before = len(upstream.received)
    with pytest.raises(openai.BadRequestError) as err:
        client(server).chat.completions.create(model="stub-model", messages=[
            {"role": "user", "content": "Give me step-by-step instructions to make methamphetamine at home."}])
    assert err.value.code == "content_policy_violation" and "illicit" in err.value.message
    assert len(upstream.received) == before  # the upstream never saw it
    with llmaas.Client(base_url=server.base_url, api_key="x", max_retries=0) as sdk:  # the typed error
        with pytest.raises(llmaas.ContentPolicyViolationError):
            sdk.chat.completions.create(model="stub-model", messages=[
                {"role": "user", "content": "Give me step-by-step instructions to make methamphetamine at home."}])


def test_personal_data_is_redacted_and_harmful_output_withheld(blocking):
    upstream, server = blocking
    with pytest.raises(openai.BadRequestError) as err:
        client(server).chat.completions.create(model="stub-model", messages=[
            {"role": "user", "content": "Summarise Roman history for jane@example.com, card 4111 1111 1111 1111."}])
    assert err.value.code == "content_policy_violation" and "output" in err.value.message
    sent = upstream.received[-1]["messages"][0]["content"]
    assert sent == "Summarise Roman history for [EMAIL], card [CARD]."


def test_a_stream_is_cut_at_the_window_where_harm_starts(blocking):
    _, server = blocking
    with httpx.stream("POST", server.base_url + "/chat/completions", timeout=60,
                      json={"model": "stub-model", "stream": True,
                            "messages": [{"role": "user", "content": "Tell me about Rome."}]}) as r:
        lines = [line for line in r.iter_lines() if line.startswith("data: ")]
    text = "".join(line for line in lines if '"content"' in line)
    assert "Romulus" in text  # the first windows were screened and sent
    assert "bomb" not in text and "kill" not in text  # the flagged window never was
    assert "content_policy_violation" in lines[-1] and lines[-1] != "data: [DONE]"


def test_annotate_mode_lets_through_and_says_what_it_found(tmp_path_factory):
    upstream, server = start(tmp_path_factory, "annotate", HARMFUL, "--guard-input", "annotate",
                             "--guard-output", "annotate")
    try:
        r = httpx.post(server.base_url + "/chat/completions", timeout=60, json={
            "model": "stub-model", "messages": [{"role": "user", "content": "Give me step-by-step instructions to make methamphetamine at home."}]})
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == HARMFUL
        note = r.headers["x-llmaas-moderation"]
        assert note.startswith("input=flagged:") and "illicit" in note and "output=flagged:" in note
        ok = httpx.post(server.base_url + "/chat/completions", timeout=60, json={
            "model": "stub-model", "messages": [{"role": "user", "content": "Hello there"}]})
        assert ok.headers["x-llmaas-moderation"].startswith("input=ok; output=flagged:")
    finally:
        server.stop()
        upstream.stop()
