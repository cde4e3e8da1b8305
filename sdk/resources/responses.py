"""``client.responses``: OpenAI's Responses API on every provider that has it.

In process (the ``hf`` provider) the built-in engine answers it through chat completions, with conversation
state in the store (``previous_response_id``); our server and remote APIs that have it are called over HTTP;
a provider without it raises ``UnsupportedFeatureError`` before any call."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Any, Generic, Literal, TypeVar, cast, overload

from pydantic import BaseModel
from typing_extensions import Unpack

from .._errors import LengthFinishReasonError, StructuredOutputError, UnsupportedFeatureError
from .._provider import Capability, ResponsesOverChat, require
from .._streaming import AsyncStream, Stream
from .._sync import SyncResource, sync_child
from ..guardrails import guarded
from ..lib.structured import strict_schema
from ..types.create_params import ResponseCreateParams, ResponseInputItemsListParams, ResponseParseParams
from ..types.responses import (
    TERMINAL_EVENTS,
    Response,
    ResponseCreateRequest,
    ResponseDeleted,
    ResponseInputItemList,
    ResponseStreamEvent,
)
from ._base import AsyncAPIResource, build_request

T = TypeVar("T", bound=BaseModel)


class ParsedResponse(Response, Generic[T]):
    """A ``Response`` whose text was parsed into the ``text_format`` model."""
    output_parsed: T | None = None
    """The answer's text as the ``text_format`` model (None when it answered with function calls)."""


class AsyncResponses(AsyncAPIResource):
    """``client.responses``: the Responses API (instructions, input items, tools, stored conversations with
    ``previous_response_id``, background runs)."""
    input_items: AsyncInputItems

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.input_items = AsyncInputItems(client)

    @overload
    async def create(self, *, stream: Literal[False] | None = None,
                     **params: Unpack[ResponseCreateParams]) -> Response: ...

    @overload
    async def create(self, *, stream: Literal[True],
                     **params: Unpack[ResponseCreateParams]) -> AsyncStream[ResponseStreamEvent]: ...

    @overload
    async def create(self, *, stream: bool | None = None,
                     **params: Unpack[ResponseCreateParams]) -> Response | AsyncStream[ResponseStreamEvent]: ...

    async def create(self, *, stream: bool | None = None,
                     **params: Unpack[ResponseCreateParams]) -> Response | AsyncStream[ResponseStreamEvent]:
        """Create a model response from ``input`` (text, or items: messages, ``function_call`` and
        ``function_call_output``), with ``instructions``, function ``tools``, ``text={"format": ...}`` for
        JSON output, and ``previous_response_id`` to continue a stored conversation. With ``stream=True``, an
        ``AsyncStream`` of events (``response.created``, ``response.output_text.delta``, ...,
        ``response.completed``)."""
        fields, options = self._split(params)
        provider, name = self._client.resolve(fields.pop("model"))
        require(provider, Capability.RESPONSES, "the Responses API")
        req = build_request(ResponseCreateRequest, {**fields, "model": name, "stream": stream or None})
        result: Any
        if isinstance(provider, ResponsesOverChat):  # the chat requests go through the client's guardrails
            service = provider.responses_service()

            async def chat(r: Any) -> Any:
                return await guarded(self._client, r, lambda x: provider.chat(x, options), bool(r.stream))

            result = await service.create(req, chat)
        else:
            policy = getattr(self._client, "_guardrails", None)
            if policy is not None and policy.active:  # never a way around the client's policy
                raise UnsupportedFeatureError(provider.name, "guardrails on a remote Responses API (they screen "
                                              "chat requests: use chat.completions, or a server that applies them)")
            result = await provider.create_response(req, options)
        return AsyncStream(_until_terminal(result)) if stream else result

    def stream(self, **params: Unpack[ResponseCreateParams]) -> AsyncResponseStream:
        """``async with client.responses.stream(...) as s``: iterate ``s`` for the events, then
        ``await s.get_final_response()`` for the finished response."""
        return AsyncResponseStream(lambda: self.create(stream=True, **params))

    @overload
    async def parse(self, *, text_format: type[T], **params: Unpack[ResponseParseParams]) -> ParsedResponse[T]: ...

    @overload
    async def parse(self, *, text_format: None = None, **params: Unpack[ResponseParseParams]) -> ParsedResponse[Any]: ...

    async def parse(self, *, text_format: type[BaseModel] | None = None,
                    **params: Unpack[ResponseParseParams]) -> ParsedResponse[Any]:
        """A response whose text is parsed into ``text_format`` (a pydantic model, sent as a strict JSON
        schema) as ``output_parsed``. An answer cut short raises LengthFinishReasonError; one that is not the
        model's type, StructuredOutputError."""
        fields: dict[str, Any] = dict(params)
        if text_format is not None:
            fields["text"] = {"format": {"type": "json_schema", "name": text_format.__name__, "strict": True,
                                         "schema": strict_schema(text_format.model_json_schema())}}
        response = cast("Response", await self.create(**fields))
        return parse_response(response, text_format)

    async def retrieve(self, response_id: str, **options: Any) -> Response:
        """A stored response by id (only the caller's own)."""
        provider, opts = self._backend(options)
        return await provider.retrieve_response(response_id, opts)

    async def delete(self, response_id: str, **options: Any) -> ResponseDeleted:
        """Delete stored response ``response_id``."""
        provider, opts = self._backend(options)
        return await provider.delete_response(response_id, opts)

    async def cancel(self, response_id: str, **options: Any) -> Response:
        """Cancel a background response (OpenAI refuses a finished one with 400, as this does)."""
        provider, opts = self._backend(options)
        return await provider.cancel_response(response_id, opts)

    def _backend(self, options: dict[str, Any]) -> tuple[Any, Any]:
        fields, opts = self._split(options)
        if fields:
            raise TypeError(f"unexpected argument(s): {', '.join(sorted(fields))}")
        return self._default_backend(Capability.RESPONSES, "the Responses API"), opts


class AsyncInputItems(AsyncAPIResource):
    """``client.responses.input_items``: the input items a stored response was given."""
    async def list(self, response_id: str, **params: Unpack[ResponseInputItemsListParams]) -> ResponseInputItemList:
        """The input items a stored response read, newest first unless ``order="asc"``."""
        fields, options = self._split(params)
        provider = self._default_backend(Capability.RESPONSES, "the Responses API")
        return await provider.list_response_input_items(response_id, {k: v for k, v in fields.items() if v is not None},
                                                        options)


async def _until_terminal(events: AsyncIterator[ResponseStreamEvent]) -> AsyncIterator[ResponseStreamEvent]:
    async for event in events:
        yield event
        if event.type in TERMINAL_EVENTS:
            return


def parse_response(response: Response, text_format: type[BaseModel] | None) -> ParsedResponse[Any]:
    """``response`` with ``output_parsed`` filled in from its text."""
    data = response.model_dump(mode="json", by_alias=True)
    calls = any(item.get("type") == "function_call" for item in data["output"])
    if text_format is not None and not calls:
        if response.status == "incomplete":
            raise LengthFinishReasonError(None)
        text = response.output_text
        try:
            data["output_parsed"] = text_format.model_validate_json(text)
        except ValueError as exc:
            raise StructuredOutputError(f"the answer is not a valid {text_format.__name__}: {exc}", text) from None
    return ParsedResponse[Any].model_validate(data)


class AsyncResponseStream:
    """A streamed response: the events as they come, then the finished response."""

    def __init__(self, open_stream: Any) -> None:
        self._open = open_stream
        self._stream: AsyncStream[ResponseStreamEvent] | None = None
        self._final: Response | None = None

    async def __aenter__(self) -> AsyncResponseStream:
        self._stream = await self._open()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._stream is not None:
            await self._stream.aclose()

    async def __aiter__(self) -> AsyncIterator[ResponseStreamEvent]:
        assert self._stream is not None, "use the stream in an `async with` block"
        async for event in self._stream:
            if event.type in TERMINAL_EVENTS and event.response is not None:
                self._final = event.response
            yield event

    async def get_final_response(self) -> Response:
        """Read the rest of the stream and return the finished ``Response``."""
        async for _ in self:
            pass
        if self._final is None:
            raise StructuredOutputError("the stream ended without its final response", "")
        return self._final


class ResponseStream:
    """The sync view of a streamed response."""

    def __init__(self, open_stream: Any) -> None:
        self._open = open_stream
        self._stream: Stream[ResponseStreamEvent] | None = None
        self._final: Response | None = None

    def __enter__(self) -> ResponseStream:
        self._stream = self._open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._stream is not None:
            self._stream.close()

    def __iter__(self) -> Iterator[ResponseStreamEvent]:
        assert self._stream is not None, "use the stream in a `with` block"
        for event in self._stream:
            if event.type in TERMINAL_EVENTS and event.response is not None:
                self._final = event.response
            yield event

    def get_final_response(self) -> Response:
        """Read the rest of the stream and return the finished ``Response``."""
        for _ in self:
            pass
        if self._final is None:
            raise StructuredOutputError("the stream ended without its final response", "")
        return self._final


class InputItems(SyncResource[AsyncInputItems]):
    def list(self, response_id: str, **params: Unpack[ResponseInputItemsListParams]) -> ResponseInputItemList:
        return self._call(self._async.list(response_id, **params))


class Responses(SyncResource[AsyncResponses]):
    input_items: sync_child[InputItems] = sync_child("input_items", InputItems)

    @overload
    def create(self, *, stream: Literal[False] | None = None, **params: Unpack[ResponseCreateParams]) -> Response: ...

    @overload
    def create(self, *, stream: Literal[True], **params: Unpack[ResponseCreateParams]) -> Stream[ResponseStreamEvent]: ...

    @overload
    def create(self, *, stream: bool | None = None,
               **params: Unpack[ResponseCreateParams]) -> Response | Stream[ResponseStreamEvent]: ...

    def create(self, *, stream: bool | None = None,
               **params: Unpack[ResponseCreateParams]) -> Response | Stream[ResponseStreamEvent]:
        """Create a model response (see ``AsyncResponses.create``)."""
        return self._call(self._async.create(stream=stream, **params))

    def stream(self, **params: Unpack[ResponseCreateParams]) -> ResponseStream:
        """``with client.responses.stream(...) as s``: the events, then ``s.get_final_response()``."""
        return ResponseStream(lambda: self.create(stream=True, **params))

    @overload
    def parse(self, *, text_format: type[T], **params: Unpack[ResponseParseParams]) -> ParsedResponse[T]: ...

    @overload
    def parse(self, *, text_format: None = None, **params: Unpack[ResponseParseParams]) -> ParsedResponse[Any]: ...

    def parse(self, *, text_format: type[BaseModel] | None = None,
              **params: Unpack[ResponseParseParams]) -> ParsedResponse[Any]:
        """The response's text parsed into ``text_format`` (see ``AsyncResponses.parse``)."""
        return self._call(self._async.parse(text_format=text_format, **params))

    def retrieve(self, response_id: str, **options: Any) -> Response:
        return self._call(self._async.retrieve(response_id, **options))

    def delete(self, response_id: str, **options: Any) -> ResponseDeleted:
        return self._call(self._async.delete(response_id, **options))

    def cancel(self, response_id: str, **options: Any) -> Response:
        return self._call(self._async.cancel(response_id, **options))

