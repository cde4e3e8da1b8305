"""Static checks, run by pyright in strict mode (tests/test_typing.py): the exact types application code and
agents get from every call. Nothing here runs; only its types are checked."""

from __future__ import annotations

import pydantic
from typing_extensions import assert_type

import llmaas
from llmaas import AsyncPage, AsyncStream, Stream, SyncPage
from llmaas.resources.responses import ParsedResponse
from llmaas.types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    Completion,
    CreateEmbeddingResponse,
    FileDeleted,
    FileObject,
    FineTuningJob,
    FineTuningJobCheckpoint,
    FineTuningJobEvent,
    Model,
    ModelDeleted,
    ModerationResponse,
    Response,
    ResponseDeleted,
    ResponseInputItemList,
    ResponseStreamEvent,
    RunningModel,
)
from llmaas.types.params import ChatCompletionMessageParam
from llmaas.types.parsed import ParsedChatCompletion
from llmaas.types.response_params import FunctionToolParam

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hi"}]


def sync_calls(client: llmaas.Client) -> None:
    reply = client.chat.completions.create(model="m", messages=MESSAGES, temperature=0.2, max_tokens=10)
    assert_type(reply, ChatCompletion)
    assert_type(reply.choices[0].message, ChatCompletionMessage)
    assert_type(reply.choices[0].message.content, "str | None")
    stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True,
                                            stream_options={"include_usage": True})
    assert_type(stream, Stream[ChatCompletionChunk])
    for chunk in stream:
        assert_type(chunk, ChatCompletionChunk)
    either = client.chat.completions.create(model="m", messages=MESSAGES, stream=bool(reply.id))
    assert_type(either, "ChatCompletion | Stream[ChatCompletionChunk]")
    # a reply's message goes straight back into the conversation, as with openai-python
    client.chat.completions.create(model="m", messages=[*MESSAGES, reply.choices[0].message])
    client.chat.completions.create(
        model="m", messages=MESSAGES,
        tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        tool_choice="auto", response_format={"type": "json_object"}, extra_body={"ignore_eos": True}, timeout=5.0)

    assert_type(client.completions.create(model="m", prompt="Once"), Completion)
    assert_type(client.completions.create(model="m", prompt="Once", stream=True), Stream[Completion])
    assert_type(client.embeddings.create(model="e", input=["a", "b"]), CreateEmbeddingResponse)
    assert_type(client.moderations.create(input="text"), ModerationResponse)

    models = client.models.list()
    assert_type(models, SyncPage[Model])
    for model in models:
        assert_type(model, Model)
    assert_type(client.models.retrieve("m"), Model)
    assert_type(client.models.delete("ft:m"), ModelDeleted)
    assert_type(client.models.ps(), list[RunningModel])

    uploaded = client.files.create(file=b"{}", purpose="fine-tune")
    assert_type(uploaded, FileObject)
    assert_type(client.files.list(purpose="fine-tune"), SyncPage[FileObject])
    assert_type(client.files.retrieve(uploaded.id), FileObject)
    assert_type(client.files.content(uploaded.id), bytes)
    assert_type(client.files.delete(uploaded.id), FileDeleted)

    job = client.fine_tuning.jobs.create(model="m", training_file=uploaded.id,
                                         hyperparameters={"n_epochs": 2})
    assert_type(job, FineTuningJob)
    assert_type(client.fine_tuning.jobs.list(limit=5), SyncPage[FineTuningJob])
    assert_type(client.fine_tuning.jobs.retrieve(job.id), FineTuningJob)
    assert_type(client.fine_tuning.jobs.cancel(job.id), FineTuningJob)
    assert_type(client.fine_tuning.jobs.list_events(job.id), SyncPage[FineTuningJobEvent])
    assert_type(client.fine_tuning.jobs.checkpoints.list(job.id), SyncPage[FineTuningJobCheckpoint])

    tools: list[FunctionToolParam] = [{"type": "function", "name": "f", "parameters": {"type": "object"}}]
    response = client.responses.create(model="m", input="Hi", instructions="Be brief.", tools=tools,
                                       tool_choice="auto", max_output_tokens=20,
                                       text={"format": {"type": "json_schema", "name": "A", "schema": {}}})
    assert_type(response, Response)
    assert_type(response.output_text, str)
    follow = client.responses.create(model="m", previous_response_id=response.id, input=[
        {"type": "function_call_output", "call_id": "call_1", "output": "21 C"},
        {"role": "user", "content": [{"type": "input_text", "text": "And tomorrow?"}]}])
    assert_type(follow, Response)
    events = client.responses.create(model="m", input="Hi", stream=True)
    assert_type(events, Stream[ResponseStreamEvent])
    for event in events:
        assert_type(event.type, str)
    with client.responses.stream(model="m", input="Hi") as s:
        assert_type(s.get_final_response(), Response)
    assert_type(client.responses.parse(model="m", input="Hi", text_format=pydantic.BaseModel),
                ParsedResponse[pydantic.BaseModel])
    assert_type(client.responses.retrieve(response.id), Response)
    assert_type(client.responses.delete(response.id), ResponseDeleted)
    assert_type(client.responses.input_items.list(response.id, order="asc"), ResponseInputItemList)


async def async_calls(client: llmaas.AsyncClient) -> None:
    reply = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert_type(reply, ChatCompletion)
    stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    assert_type(stream, AsyncStream[ChatCompletionChunk])
    async for chunk in stream:
        assert_type(chunk, ChatCompletionChunk)
    assert_type(await client.completions.create(model="m", prompt="x", stream=True), AsyncStream[Completion])
    assert_type(await client.embeddings.create(model="e", input="a"), CreateEmbeddingResponse)

    page = await client.models.list()
    assert_type(page, AsyncPage[Model])
    async for model in client.models.list():  # iterated directly, without await, as with openai-python
        assert_type(model, Model)
    async for f in client.files.list():
        assert_type(f, FileObject)
    async for event in client.fine_tuning.jobs.list_events("ftjob-1"):
        assert_type(event, FineTuningJobEvent)
    answer = await client.responses.create(model="m", input="Hi")
    assert_type(answer, Response)
    async for ev in await client.responses.create(model="m", input="Hi", stream=True):
        assert_type(ev, ResponseStreamEvent)
    await client.close()


def errors(exc: Exception) -> None:
    if isinstance(exc, llmaas.RateLimitError):
        assert_type(exc.status_code, int)
        assert_type(exc.retry_after, "float | None")
    if isinstance(exc, llmaas.APIStatusError):
        assert_type(exc.request_id, "str | None")
        assert_type(exc.body, "object | None")
    if isinstance(exc, llmaas.BadRequestError):
        assert_type(exc.param, "str | None")


def misspelt(client: llmaas.Client) -> None:
    # each line is an error the checker must report: were it not, its ignore comment would be one
    client.chat.completions.create(model="m", messages=MESSAGES, temperture=0.2)  # pyright: ignore[reportCallIssue]
    client.chat.completions.create(model="m", messages=MESSAGES, max_tokens="many")  # pyright: ignore[reportCallIssue, reportArgumentType]
    client.embeddings.create(model="e", input="x", dimensions="all")  # pyright: ignore[reportArgumentType]
    client.embeddings.create(model="e")  # pyright: ignore[reportCallIssue]
    client.files.create(file=b"x", purpose="fine-tune", timeout="soon")  # pyright: ignore[reportArgumentType]
    llmaas.Client(base_ur="http://x")  # pyright: ignore[reportCallIssue]
    llmaas.AsyncClient(max_retries="2")  # pyright: ignore[reportArgumentType]


def raw_responses(client: llmaas.Client) -> None:
    raw = client.chat.completions.with_raw_response.create(model="m", messages=MESSAGES)
    assert_type(raw.request_id, "str | None")
    assert_type(raw.parse(), "ChatCompletion | Stream[ChatCompletionChunk]")
    assert_type(client.models.with_raw_response.list().parse(), SyncPage[Model])
    assert_type(client.embeddings.with_raw_response.create(model="e", input="x").parse(), CreateEmbeddingResponse)
    assert_type(client.completions.with_raw_response.create(model="m", prompt="x").parse(),
                "Completion | Stream[Completion]")
    assert_type(client.moderations.with_raw_response.create(input="x").parse(), ModerationResponse)
    assert_type(client.files.with_raw_response.content("file-1").parse(), bytes)
    assert_type(client.files.with_raw_response.list().parse(), SyncPage[FileObject])
    assert_type(client.fine_tuning.jobs.with_raw_response.retrieve("ftjob-1").parse(), FineTuningJob)


async def async_raw_responses(client: llmaas.AsyncClient) -> None:
    raw = await client.chat.completions.with_raw_response.create(model="m", messages=MESSAGES)
    assert_type(raw.parse(), "ChatCompletion | AsyncStream[ChatCompletionChunk]")
    assert_type((await client.models.with_raw_response.list()).parse(), AsyncPage[Model])
    assert_type((await client.files.with_raw_response.retrieve("file-1")).parse(), FileObject)


class _Answer(pydantic.BaseModel):
    value: int


def agent_helpers(client: llmaas.Client) -> None:
    parsed = client.chat.completions.parse(model="m", messages=MESSAGES, response_format=_Answer)
    assert_type(parsed, ParsedChatCompletion[_Answer])
    assert_type(parsed.choices[0].message.parsed, "_Answer | None")
    tool = llmaas.pydantic_function_tool(_Answer, name="answer")
    calls = client.chat.completions.parse(model="m", messages=MESSAGES, tools=[tool])
    assert_type(calls, ParsedChatCompletion[None])
    with client.chat.completions.stream(model="m", messages=MESSAGES, max_tokens=5) as stream:
        for chunk in stream:
            assert_type(chunk, ChatCompletionChunk)
        assert_type(stream.get_final_completion(), ChatCompletion)

    def double(x: int) -> int:
        return 2 * x

    run = client.chat.completions.run_tools(model="m", messages=MESSAGES, tools=[double], max_steps=3)
    assert_type(run, llmaas.ToolRun)
    assert_type(run.content, "str | None")


async def async_agent_helpers(client: llmaas.AsyncClient) -> None:
    parsed = await client.chat.completions.parse(model="m", messages=MESSAGES, response_format=_Answer)
    assert_type(parsed.choices[0].message.parsed, "_Answer | None")
    async with client.chat.completions.stream(model="m", messages=MESSAGES) as stream:
        async for chunk in stream:
            assert_type(chunk, ChatCompletionChunk)
        assert_type(await stream.get_final_completion(), ChatCompletion)
    run = await client.chat.completions.run_tools(model="m", messages=MESSAGES, tools=[len], tool_choice="required")
    assert_type(run.completion, ChatCompletion)
