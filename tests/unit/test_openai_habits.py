"""Code written the openai-python way runs on llmaas (in process and against any OpenAI-style server)."""

import asyncio

import llmaas
from llmaas.resources.chat import as_input_message
from llmaas.testing import StubServer
from llmaas.types import ChatCompletionMessage, ChatCompletionRequest


def test_a_replys_message_is_accepted_as_the_next_turns_input():
    message = ChatCompletionMessage.model_validate({
        "role": "assistant", "content": None, "refusal": None, "annotations": [], "audio": None,
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]})
    req = ChatCompletionRequest.model_validate({"model": "m", "messages": [
        {"role": "user", "content": "hi"}, as_input_message(message),
        {"role": "tool", "tool_call_id": "call_1", "content": "42"}]})
    assert req.messages[1].role == "assistant" and req.messages[1].tool_calls[0].id == "call_1"
    # the same message as openai-python serialises it (every field, nulls included)
    wire = {"role": "assistant", "content": "hello", "refusal": None, "annotations": None, "audio": None,
            "function_call": None, "tool_calls": None}
    ChatCompletionRequest.model_validate({"model": "m", "messages": [wire]})


def test_the_agent_loop_appends_replies_against_a_server():
    with StubServer() as server, llmaas.Client(base_url=server.base_url, api_key="k") as client:
        messages: list = [{"role": "user", "content": "Hi"}]
        for _ in range(3):
            reply = client.chat.completions.create(model="stub-model", messages=messages)
            messages.append(reply.choices[0].message)
            messages.append({"role": "user", "content": "And then?"})
        assert len(messages) == 7


def test_async_pages_iterate_without_await_and_close_is_there():
    async def main():
        with StubServer() as server:
            client = llmaas.AsyncClient(base_url=server.base_url, api_key="k")
            ids = [m.id async for m in client.models.list()]
            page = await client.models.list()
            await client.close()
            return ids, [m.id for m in page.data]

    ids, first = asyncio.run(main())
    assert ids == first == ["stub-model"]
