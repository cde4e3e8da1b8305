"""The Responses API over chat: items to chat messages, and chat chunks to events in OpenAI's order (a
model that fails part way ends the stream with ``response.failed``)."""

import asyncio

import pytest

import llmaas
from llmaas.lib import responses_bridge as bridge
from llmaas.resources._base import build_request
from llmaas.types import ChatCompletionChunk, ResponseCreateRequest


def chunk(delta, finish=None):
    return ChatCompletionChunk.model_validate({"id": "c", "created": 1, "model": "m", "choices": [
        {"index": 0, "delta": delta, "finish_reason": finish}]})


def events(chunks, fail=False):
    async def source():
        for c in chunks:
            yield c
        if fail:
            raise llmaas.APITimeoutError("the request did not finish within its timeout")

    async def collect():
        stored = []

        async def save(response):
            stored.append(response)

        req = ResponseCreateRequest(model="m", input="hi")
        out = [e async for e in bridge.events_from(source(), bridge.skeleton(req, "resp_1", 1, "m"), save)]
        return out, stored

    return asyncio.run(collect())


TEXT_THEN_CALL = [chunk({"role": "assistant", "content": ""}), chunk({"content": "Let me look."}),
                  chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                         "function": {"name": "f", "arguments": ""}}]}),
                  chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a":'}}]}),
                  chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}, "tool_calls")]


def test_events_in_order():
    out, stored = events(TEXT_THEN_CALL)
    assert [e.type for e in out] == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.content_part.added", "response.output_text.delta",
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.output_item.added", "response.function_call_arguments.delta",
        "response.function_call_arguments.delta", "response.function_call_arguments.done",
        "response.output_item.done", "response.completed"]
    assert [e.sequence_number for e in out] == list(range(len(out)))
    final = out[-1].response
    assert stored == [final] and final.status == "completed"
    assert [i.type for i in final.output] == ["message", "function_call"]
    assert final.output[1].arguments == '{"a":1}' and final.output[1].call_id == "call_1"


def test_cut_short_is_incomplete_and_a_failure_is_failed():
    out, _ = events([chunk({"content": "Once upon"}, "length")])
    assert out[-1].type == "response.incomplete"
    assert out[-1].response.incomplete_details.reason == "max_output_tokens"
    out, stored = events(TEXT_THEN_CALL[:3], fail=True)
    assert out[-1].type == "response.failed" and out[-1].response.status == "failed"
    assert "timeout" in out[-1].response.error.message and stored[0].status == "failed"


def test_items_become_chat_messages():
    req = build_request(ResponseCreateRequest, {"model": "m", "instructions": "Be brief.", "input": [
        {"role": "user", "content": "weather?"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]},
        {"type": "function_call", "call_id": "c1", "name": "w", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        {"type": "reasoning", "summary": []}]})
    items = bridge.input_items(req)
    assert all(i["id"] for i in items)
    messages = bridge.chat_messages(items, req.instructions)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool"]
    assert messages[2]["content"] == "Checking." and messages[2]["tool_calls"][0]["id"] == "c1"
    assert messages[3] == {"role": "tool", "tool_call_id": "c1", "content": "sunny"}


def test_a_call_output_needs_its_call():
    req = build_request(ResponseCreateRequest, {"model": "m", "input": [
        {"type": "function_call_output", "call_id": "c9", "output": "x"}]})
    with pytest.raises(llmaas.BadRequestError) as info:
        bridge.check_calls([], bridge.input_items(req))
    assert info.value.param == "input.0.call_id"
    bridge.check_calls([{"type": "function_call", "call_id": "c9"}], bridge.input_items(req))  # made earlier
