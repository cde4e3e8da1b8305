"""The agent helpers with any provider (a remote one here, mocked with respx): parse() and its errors,
strict schemas from pydantic models and functions, the stream helper's accumulation of tool-call deltas,
and the tool-running loop."""

import json
from typing import Annotated

import httpx
import pydantic
import pytest
import respx

import llmaas

from .conftest import BASE, chat_body
from .test_remote_client import sse

MSG = [{"role": "user", "content": "Hi"}]


class Item(pydantic.BaseModel):
    name: str
    price: float = 1.0
    tags: list[str] = []


def call_body(*calls, finish="tool_calls"):
    body = chat_body(content=None)
    body["choices"][0]["message"]["tool_calls"] = [
        {"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
        for i, (n, a) in enumerate(calls)]
    body["choices"][0]["finish_reason"] = finish
    return body


@pytest.fixture
def client():
    c = llmaas.Client(base_url=BASE, api_key="sk-test", max_retries=0)
    yield c
    c.close()


def test_strict_schemas_close_every_object_and_require_every_field():
    tool = llmaas.pydantic_function_tool(Item, description="An item")
    params = tool["function"]["parameters"]
    assert params["additionalProperties"] is False and params["required"] == ["name", "price", "tags"]

    def search(query: Annotated[str, pydantic.Field(max_length=50)], limit: int = 5) -> list[str]:
        """Search the catalogue."""
        return []

    fn = llmaas.function_tool(search)["function"]
    assert fn["name"] == "search" and fn["description"] == "Search the catalogue." and fn["strict"]
    assert fn["parameters"]["properties"]["query"]["maxLength"] == 50
    with pytest.raises(TypeError, match="named"):
        llmaas.function_tool(lambda *args: None)


@respx.mock
def test_parse_sends_the_schema_and_parses_the_answer(client):
    route = respx.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(200, json=chat_body('{"name": "pen", "price": 2.5, "tags": []}')))
    out = client.chat.completions.parse(model="m", messages=MSG, response_format=Item)
    assert out.choices[0].message.parsed == Item(name="pen", price=2.5)
    fmt = json.loads(route.calls.last.request.content)["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["additionalProperties"] is False


@respx.mock
def test_parse_errors_are_typed(client):
    respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(200, json=chat_body('{"name": 3}')))
    with pytest.raises(llmaas.StructuredOutputError) as caught:
        client.chat.completions.parse(model="m", messages=MSG, response_format=Item)
    assert caught.value.content == '{"name": 3}' and "Item" in str(caught.value)
    cut = chat_body('{"name": "p')
    cut["choices"][0]["finish_reason"] = "length"
    respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(200, json=cut))
    with pytest.raises(llmaas.LengthFinishReasonError):
        client.chat.completions.parse(model="m", messages=MSG, response_format=Item)


@respx.mock
def test_the_stream_helper_joins_tool_call_deltas(client):
    def delta(d, finish=None):
        return {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": d, "finish_reason": finish}]}

    events = [delta({"role": "assistant", "content": ""}),
              delta({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                                     "function": {"name": "look", "arguments": ""}}]}),
              delta({"tool_calls": [{"index": 0, "function": {"arguments": '{"q": '}}]}),
              delta({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                                     "function": {"name": "other", "arguments": "{}"}}]}),
              delta({"tool_calls": [{"index": 0, "function": {"arguments": '"x"}'}}]}),
              delta({}, "tool_calls")]
    respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(
        200, text=sse(*events), headers={"content-type": "text/event-stream"}))
    with client.chat.completions.stream(model="m", messages=MSG) as stream:
        seen = list(stream)
        final = stream.get_final_completion()
    assert len(seen) == len(events)
    calls = final.choices[0].message.tool_calls
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        ("call_a", "look", '{"q": "x"}'), ("call_b", "other", "{}")]
    assert final.choices[0].finish_reason == "tool_calls" and final.choices[0].message.content is None


@respx.mock
def test_run_tools_runs_the_calls_and_sends_the_results_back(client):
    ran = []

    def add(a: int, b: int) -> int:
        """Add two numbers."""
        ran.append(("add", a, b))
        return a + b

    async def shout(text: str) -> str:
        """Upper-case a text."""
        ran.append(("shout", text))
        return text.upper()

    route = respx.post(f"{BASE}/chat/completions").mock(side_effect=[
        httpx.Response(200, json=call_body(("add", {"a": 2, "b": 3}), ("shout", {"text": "hi"}),
                                           ("missing", {}), ("add", {"a": "x"}))),
        httpx.Response(200, json=chat_body("2 + 3 = 5 and HI")),
    ])
    run = client.chat.completions.run_tools(model="m", messages=MSG, tools=[add, shout])
    assert run.content == "2 + 3 = 5 and HI" and run.steps == 1
    assert sorted(ran) == [("add", 2, 3), ("shout", "hi")]
    sent = json.loads(route.calls[1].request.content)
    results = {m["tool_call_id"]: m["content"] for m in sent["messages"] if m["role"] == "tool"}
    assert results["call_0"] == "5" and results["call_1"] == "HI"
    assert results["call_2"].startswith("error: there is no function named 'missing'")
    assert results["call_3"].startswith("error: invalid arguments for add")
    first = json.loads(route.calls[0].request.content)
    assert [t["function"]["name"] for t in first["tools"]] == ["add", "shout"] and first["tool_choice"] == "auto"


@respx.mock
def test_run_tools_stops_at_max_steps(client):
    def ping() -> str:
        """Ping."""
        return "pong"

    route = respx.post(f"{BASE}/chat/completions").mock(return_value=httpx.Response(200, json=call_body(("ping", {}))))
    with pytest.raises(llmaas.ToolRunLimitError) as caught:
        client.chat.completions.run_tools(model="m", messages=MSG, tools=[ping], max_steps=2)
    assert caught.value.steps == 2 and route.call_count == 3
    assert json.loads(route.calls[2].request.content)["tool_choice"] == "none"  # the last ask is for an answer
