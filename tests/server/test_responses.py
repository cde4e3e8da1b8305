"""/v1/responses on a live server with keys: bodies and events against the reference spec, stored
conversations private to their key, bad input named in the OpenAI shape, and bounded turns (the server's
default and maximum output tokens, a key's own maximum, the generation deadline)."""

import json

import httpx
import openai
import pytest

from .conftest import CHAT, ServerProcess
from .spec import validate

DEFAULT_MAX = 24
SERVER_MAX = 200
ALICE_MAX = 64
EVENT_SCHEMAS = {  # each event type's schema in the spec (ResponseStreamEvent is the union of them)
    "response.created": "ResponseCreatedEvent", "response.in_progress": "ResponseInProgressEvent",
    "response.output_item.added": "ResponseOutputItemAddedEvent",
    "response.content_part.added": "ResponseContentPartAddedEvent",
    "response.output_text.delta": "ResponseTextDeltaEvent", "response.output_text.done": "ResponseTextDoneEvent",
    "response.content_part.done": "ResponseContentPartDoneEvent",
    "response.output_item.done": "ResponseOutputItemDoneEvent", "response.completed": "ResponseCompletedEvent",
    "response.incomplete": "ResponseIncompleteEvent",
    "response.function_call_arguments.delta": "ResponseFunctionCallArgumentsDeltaEvent",
    "response.function_call_arguments.done": "ResponseFunctionCallArgumentsDoneEvent",
}


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    s = ServerProcess(tmp_path_factory.mktemp("responses"))
    s.extra_args = ["--default-max-tokens", str(DEFAULT_MAX), "--max-output-tokens", str(SERVER_MAX)]
    s.keys = {"alice": s.cli("keys", "create", "alice", "--max-tokens", str(ALICE_MAX)).strip().splitlines()[-1],
              "bob": s.cli("keys", "create", "bob").strip().splitlines()[-1]}
    s.start()
    yield s
    s.stop()


def client(server, who):
    return openai.OpenAI(base_url=server.base_url, api_key=server.keys[who], max_retries=0)


def post(server, who, body, **kw):
    return httpx.post(server.base_url + "/responses", json=body, timeout=120,
                      headers={"Authorization": f"Bearer {server.keys[who]}", **kw.pop("headers", {})}, **kw)


def test_a_response_follows_the_spec_and_is_stored(keyed):
    body = post(keyed, "bob", {"model": CHAT, "input": "What is the capital of France?", "max_output_tokens": 20,
                               "temperature": 0, "metadata": {"case": "spec"}}).json()
    validate(body, "Response")
    assert body["status"] == "completed" and body["metadata"] == {"case": "spec"}
    assert body["usage"]["input_tokens"] > 0 and body["usage"]["output_tokens"] > 0
    bob = client(keyed, "bob")
    assert bob.responses.retrieve(body["id"]).output_text == body["output"][0]["content"][0]["text"]
    items = bob.responses.input_items.list(body["id"])
    assert [i.type for i in items.data] == ["message"] and items.data[0].content[0].text.startswith("What")


def test_stream_events_in_order_and_by_the_spec(keyed):
    with httpx.stream("POST", keyed.base_url + "/responses", timeout=120,
                      headers={"Authorization": f"Bearer {keyed.keys['bob']}"},
                      json={"model": CHAT, "input": "Say hello.", "max_output_tokens": 20, "temperature": 0,
                            "stream": True}) as r:
        lines = [line for line in r.iter_lines() if line]
    names = [line[7:] for line in lines if line.startswith("event: ")]
    events = [json.loads(line[6:]) for line in lines if line.startswith("data: ")]
    assert names == [e["type"] for e in events] and "data: [DONE]" not in lines
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert names[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert names[-4:-1] == ["response.output_text.done", "response.content_part.done", "response.output_item.done"]
    assert names[-1] in ("response.completed", "response.incomplete")
    for e in events:
        validate(e, EVENT_SCHEMAS[e["type"]])
    final = events[-1]["response"]
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert final["output"][0]["content"][0]["text"] == text
    assert client(keyed, "bob").responses.retrieve(final["id"]).output_text == text  # stored before the end


def test_function_calls_and_their_outputs_continue_a_conversation(keyed):
    bob = client(keyed, "bob")
    tools = [{"type": "function", "name": "get_weather", "description": "The weather in a city", "strict": True,
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                             "additionalProperties": False}}]
    first = bob.responses.create(model=CHAT, input="What is the weather in Paris?", tools=tools,
                                 tool_choice="required", parallel_tool_calls=False, max_output_tokens=40,
                                 temperature=0)
    call = next(o for o in first.output if o.type == "function_call")
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    second = bob.responses.create(model=CHAT, previous_response_id=first.id, tools=tools, max_output_tokens=40,
                                  temperature=0, input=[{"type": "function_call_output", "call_id": call.call_id,
                                                         "output": "sunny, 21 C"}])
    assert "21" in second.output_text or "sunny" in second.output_text.lower()


def test_bad_input_is_named(keyed):
    cases = [
        ({"input": [{"type": "web_search_call", "id": "x"}]}, 400, "input.0.type"),
        ({"input": [{"type": "function_call_output", "call_id": "call_nowhere", "output": "x"}]}, 400,
         "input.0.call_id"),
        ({"input": "hi", "previous_response_id": "resp_nothing"}, 404, "previous_response_id"),
        ({"input": "hi", "tools": [{"type": "web_search"}]}, 400, "tools.0.type"),
        ({"input": "hi", "text": {"format": {"type": "json_schema", "name": "x"}}}, 400, None),
        ({"input": "hi", "conversation": "conv_1"}, 400, "conversation"),
        ({"input": "hi", "background": True}, 400, "background"),
        ({"input": "hi", "max_output_tokens": SERVER_MAX + 1}, 400, "max_output_tokens"),
    ]
    for extra, status, param in cases:
        r = post(keyed, "bob", {"model": CHAT, "max_output_tokens": 5, **extra})
        assert r.status_code == status, (extra, r.text)
        error = r.json()["error"]
        assert error["message"] and error["type"]
        if param is not None:
            assert error["param"] == param, (extra, error)


def test_stored_responses_are_private_to_their_key(keyed):
    alice, bob = client(keyed, "alice"), client(keyed, "bob")
    mine = alice.responses.create(model=CHAT, input="Remember the word 'heron'.", max_output_tokens=10, temperature=0)
    for call in (lambda: bob.responses.retrieve(mine.id), lambda: bob.responses.delete(mine.id),
                 lambda: bob.responses.input_items.list(mine.id), lambda: bob.responses.cancel(mine.id),
                 lambda: bob.responses.create(model=CHAT, input="What word?", previous_response_id=mine.id,
                                              max_output_tokens=5)):
        with pytest.raises(openai.NotFoundError):
            call()
    assert alice.responses.retrieve(mine.id).output_text == mine.output_text  # nothing of hers was touched
    with pytest.raises(openai.BadRequestError, match="background"):
        alice.responses.cancel(mine.id)  # finished: only background responses can be cancelled
    alice.responses.delete(mine.id)
    with pytest.raises(openai.NotFoundError):
        alice.responses.retrieve(mine.id)


def test_turns_are_bounded_by_default_and_by_key(keyed):
    chat = {"model": CHAT, "messages": [{"role": "user", "content": "Tell me a long story."}], "ignore_eos": True}
    headers = {"Authorization": f"Bearer {keyed.keys['bob']}"}
    out = httpx.post(keyed.base_url + "/chat/completions", json=chat, headers=headers, timeout=120).json()
    assert out["usage"]["completion_tokens"] == DEFAULT_MAX  # no max_tokens: the server's default
    r = post(keyed, "bob", {"model": CHAT, "input": "Tell me a long story.", "temperature": 0})
    assert r.json()["usage"]["output_tokens"] <= DEFAULT_MAX
    over = httpx.post(keyed.base_url + "/chat/completions", json={**chat, "max_tokens": SERVER_MAX + 1},
                      headers=headers, timeout=120)
    assert over.status_code == 400 and over.json()["error"]["param"] == "max_tokens"
    assert str(SERVER_MAX) in over.json()["error"]["message"]
    ok = httpx.post(keyed.base_url + "/chat/completions", json={**chat, "max_tokens": ALICE_MAX + 1},
                    headers=headers, timeout=120)
    assert ok.status_code == 200  # bob has the server's maximum
    alice = httpx.post(keyed.base_url + "/chat/completions", json={**chat, "max_tokens": ALICE_MAX + 1},
                       headers={"Authorization": f"Bearer {keyed.keys['alice']}"}, timeout=120)
    assert alice.status_code == 400 and str(ALICE_MAX) in alice.json()["error"]["message"]


def test_the_generation_deadline_header(keyed):
    headers = {"Authorization": f"Bearer {keyed.keys['bob']}"}
    chat = {"model": CHAT, "messages": [{"role": "user", "content": "Tell me a long story."}], "ignore_eos": True,
            "max_tokens": SERVER_MAX}
    bad = httpx.post(keyed.base_url + "/chat/completions", json=chat, timeout=120,
                     headers={**headers, "x-llmaas-timeout": "soon"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "x-llmaas-timeout"
    late = httpx.post(keyed.base_url + "/chat/completions", json=chat, timeout=120,
                      headers={**headers, "x-llmaas-timeout": "0.05"})
    assert late.status_code >= 400 and "timeout" in late.json()["error"]["message"]
