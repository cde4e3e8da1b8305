"""``client.responses`` against a remote API that has the Responses API (mocked with respx): the body as
sent, the stream ending at its terminal event without ``[DONE]``, a cut stream raising, an unknown model's
404 kept as such."""

import json

import httpx
import pytest
import respx

import llmaas

from .conftest import BASE

RESPONSE = {"id": "resp_1", "object": "response", "created_at": 1, "status": "completed", "model": "m",
            "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": "Hello", "annotations": []}]}],
            "error": None, "incomplete_details": None, "instructions": None, "metadata": {},
            "parallel_tool_calls": True, "temperature": 1, "top_p": 1, "tool_choice": "auto", "tools": [],
            "usage": {"input_tokens": 3, "output_tokens": 1, "total_tokens": 4}}


def events(*kinds):
    out = []
    for n, kind in enumerate(kinds):
        body = {"type": kind, "sequence_number": n}
        if kind in ("response.created", "response.completed"):
            body["response"] = RESPONSE
        if kind == "response.output_text.delta":
            body.update(item_id="msg_1", output_index=0, content_index=0, delta="Hello")
        out.append(f"event: {kind}\ndata: {json.dumps(body)}\n\n")
    return "".join(out)


@pytest.fixture
def client():
    c = llmaas.Client(base_url=BASE, api_key="sk-test", max_retries=0)
    yield c
    c.close()


@respx.mock
def test_create_sends_the_request_and_reads_the_response(client):
    route = respx.post(f"{BASE}/responses").mock(return_value=httpx.Response(200, json=RESPONSE))
    out = client.responses.create(model="m", input="Hi", instructions="Be brief.", max_output_tokens=5,
                                  text={"format": {"type": "json_object"}})
    assert out.output_text == "Hello" and out.usage.total_tokens == 4
    sent = json.loads(route.calls[0].request.content)
    assert sent == {"model": "m", "input": "Hi", "instructions": "Be brief.", "max_output_tokens": 5,
                    "text": {"format": {"type": "json_object"}}}


@respx.mock
def test_a_stream_ends_at_its_terminal_event(client):
    respx.post(f"{BASE}/responses").mock(return_value=httpx.Response(200, text=events(
        "response.created", "response.output_text.delta", "response.completed")))
    with client.responses.stream(model="m", input="Hi") as s:
        kinds = [e.type for e in s]
        assert s.get_final_response().output_text == "Hello"
    assert kinds == ["response.created", "response.output_text.delta", "response.completed"]


@respx.mock
def test_a_cut_stream_raises(client):
    respx.post(f"{BASE}/responses").mock(return_value=httpx.Response(200, text=events(
        "response.created", "response.output_text.delta")))
    with pytest.raises(llmaas.IncompleteStreamError, match="final event"):
        list(client.responses.create(model="m", input="Hi", stream=True))


@respx.mock
def test_an_unknown_model_is_not_mistaken_for_a_missing_api(client):
    respx.post(f"{BASE}/responses").mock(return_value=httpx.Response(404, json={"error": {
        "message": "The model 'x' does not exist", "type": "invalid_request_error", "param": "model",
        "code": "model_not_found"}}))
    with pytest.raises(llmaas.NotFoundError) as info:
        client.responses.create(model="x", input="Hi")
    assert not isinstance(info.value, llmaas.UnsupportedFeatureError)
