"""Chat completions: request, response and stream chunk (OpenAPI: CreateChatCompletion*)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from ._base import Part, RequestModel, ResponseModel
from .common import MAX_ITEMS, CompletionUsage, ItemCap, StreamOptions

# the request-side TypedDicts, importable from here under openai-python's names (openai.types.chat)
from .params import ChatCompletionAssistantMessageParam as ChatCompletionAssistantMessageParam
from .params import ChatCompletionContentPartParam as ChatCompletionContentPartParam
from .params import ChatCompletionMessageParam as ChatCompletionMessageParam
from .params import ChatCompletionStreamOptionsParam as ChatCompletionStreamOptionsParam
from .params import ChatCompletionSystemMessageParam as ChatCompletionSystemMessageParam
from .params import ChatCompletionToolChoiceOptionParam as ChatCompletionToolChoiceOptionParam
from .params import ChatCompletionToolMessageParam as ChatCompletionToolMessageParam
from .params import ChatCompletionToolParam as ChatCompletionToolParam
from .params import ChatCompletionUserMessageParam as ChatCompletionUserMessageParam

MAX_MESSAGES = MAX_ITEMS
MAX_TOOLS = 128  # as OpenAI

# -- messages -----------------------------------------------------------------------------------------


class ImageURL(Part):
    """An image by URL or ``data:`` URL, with the ``detail`` wanted."""
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class InputAudio(Part):
    """Base64 audio with its format."""
    data: str
    format: Literal["wav", "mp3"]


class FileRef(Part):
    """A file given inline or by id."""
    file_data: str | None = None
    file_id: str | None = None
    filename: str | None = None


class TextContentPart(Part):
    """A text part of a message's content."""
    type: Literal["text"] = "text"
    text: str


class ImageContentPart(Part):
    """An image part of a message's content."""
    type: Literal["image_url"] = "image_url"
    image_url: ImageURL


class AudioContentPart(Part):
    """An audio part of a message's content."""
    type: Literal["input_audio"] = "input_audio"
    input_audio: InputAudio


class FileContentPart(Part):
    """A file part of a message's content."""
    type: Literal["file"] = "file"
    file: FileRef


class RefusalContentPart(Part):
    """A refusal part of an assistant message's content."""
    type: Literal["refusal"] = "refusal"
    refusal: str


ContentPart = Annotated[
    TextContentPart | ImageContentPart | AudioContentPart | FileContentPart | RefusalContentPart,
    Field(discriminator="type"),
]


class FunctionCall(Part):
    """A function's name and its arguments as a JSON string."""
    name: str
    arguments: str


class ToolCall(Part):
    """A tool call in an assistant message of the request."""
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class SystemMessage(Part):
    """A system message of the request."""
    role: Literal["system"] = "system"
    content: str | list[TextContentPart]
    name: str | None = None


class DeveloperMessage(Part):
    """A developer message of the request."""
    role: Literal["developer"] = "developer"
    content: str | list[TextContentPart]
    name: str | None = None


class UserMessage(Part):
    """A user message of the request."""
    role: Literal["user"] = "user"
    content: str | list[ContentPart]
    name: str | None = None


class AssistantMessage(Part):
    """An assistant message of the request (an earlier answer, or its tool calls)."""
    role: Literal["assistant"] = "assistant"
    content: str | list[ContentPart] | None = None
    refusal: str | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    function_call: FunctionCall | None = None
    # what openai-python sends when a reply's message is appended to the conversation: accepted, not used
    audio: dict[str, Any] | None = None
    annotations: list[dict[str, Any]] | None = None


class ToolMessage(Part):
    """A tool's result in the request, answering ``tool_call_id``."""
    role: Literal["tool"] = "tool"
    content: str | list[TextContentPart]
    tool_call_id: str


class FunctionMessage(Part):
    """A function's result in the deprecated ``functions`` style."""
    role: Literal["function"] = "function"
    content: str | None
    name: str


ChatMessage = Annotated[
    SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage | FunctionMessage,
    Field(discriminator="role"),
]

# -- tools and formats --------------------------------------------------------------------------------


class FunctionDefinition(Part):
    """A function the model may call: name, description, JSON-schema parameters, strict."""
    name: str = Field(max_length=64, pattern=r"^[a-zA-Z0-9_-]+$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(Part):
    """A tool of the request (``type: function``)."""
    type: Literal["function"] = "function"
    function: FunctionDefinition


class NamedFunction(Part):
    """The function a named tool choice names."""
    name: str


class NamedToolChoice(Part):
    """``tool_choice`` forcing one function."""
    type: Literal["function"] = "function"
    function: NamedFunction


class JSONSchema(Part):
    """A named JSON schema for structured output."""
    name: str
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormatText(Part):
    """``response_format`` for plain text."""
    type: Literal["text"] = "text"


class ResponseFormatJSONObject(Part):
    """``response_format`` for any JSON object."""
    type: Literal["json_object"] = "json_object"


class ResponseFormatJSONSchema(Part):
    """``response_format`` for JSON matching a schema."""
    type: Literal["json_schema"] = "json_schema"
    json_schema: JSONSchema


ResponseFormat = Annotated[
    ResponseFormatText | ResponseFormatJSONObject | ResponseFormatJSONSchema,
    Field(discriminator="type"),
]

# -- request ------------------------------------------------------------------------------------------


class ChatCompletionRequest(RequestModel):
    """A chat completion request as validated before it reaches a provider: what a provider's ``chat`` receives."""
    model: str
    messages: Annotated[list[ChatMessage], ItemCap] = Field(min_length=1, max_length=MAX_MESSAGES)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    logit_bias: dict[str, float] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: int | None = Field(default=None, ge=1, le=128)
    response_format: ResponseFormat | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    top_k: int | None = Field(default=None, ge=-1, description="llmaas and vLLM extension; -1 or 0 is off")
    ignore_eos: bool | None = Field(default=None, description="llmaas and vLLM extension: generate max_tokens")
    tools: list[Tool] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    service_tier: str | None = None
    reasoning_effort: str | None = None
    modalities: list[str] | None = None
    prediction: dict[str, Any] | None = None
    audio: dict[str, Any] | None = None
    web_search_options: dict[str, Any] | None = None
    functions: list[FunctionDefinition] | None = None
    function_call: Literal["none", "auto"] | NamedFunction | None = None

    @property
    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    @property
    def token_limit(self) -> int | None:
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens


# -- response -----------------------------------------------------------------------------------------


class TopLogprob(ResponseModel):
    """One of the most likely tokens at a position, with its log-probability."""
    keep_null: ClassVar[frozenset[str]] = frozenset({'bytes'})
    token: str
    logprob: float
    bytes: list[int] | None = None


class TokenLogprob(ResponseModel):
    """A generated token, its log-probability and the most likely alternatives (``top_logprobs``)."""
    keep_null: ClassVar[frozenset[str]] = frozenset({'bytes'})
    token: str
    logprob: float
    bytes: list[int] | None = None
    top_logprobs: list[TopLogprob] = []  # pydantic copies a mutable default per instance


class ChoiceLogprobs(ResponseModel):
    """The log-probabilities of a choice's content tokens."""
    keep_null: ClassVar[frozenset[str]] = frozenset({'content', 'refusal'})
    content: list[TokenLogprob] | None = None
    refusal: list[TokenLogprob] | None = None


class ResponseFunctionCall(ResponseModel):
    """The function of a tool call the model made: ``name`` and ``arguments`` (a JSON string)."""
    name: str
    arguments: str


class ResponseToolCall(ResponseModel):
    """A tool call the model made, with the ``id`` its result must answer."""
    id: str
    type: Literal["function"] = "function"
    function: ResponseFunctionCall


class ChatCompletionMessage(ResponseModel):
    """The model's message: ``content``, or ``tool_calls``, or a ``refusal``."""
    keep_null: ClassVar[frozenset[str]] = frozenset({'content', 'refusal'})
    role: Literal["assistant"] = "assistant"
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ResponseToolCall] | None = None
    function_call: ResponseFunctionCall | None = None
    annotations: list[dict[str, Any]] | None = None
    audio: dict[str, Any] | None = None


FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]


class Choice(ResponseModel):
    """One answer of a chat completion: ``message``, ``finish_reason`` (``stop``, ``length``, ``tool_calls``,
    ``content_filter``) and ``logprobs``."""
    keep_null: ClassVar[frozenset[str]] = frozenset({'logprobs', 'finish_reason'})
    index: int
    message: ChatCompletionMessage
    finish_reason: FinishReason | None = None
    logprobs: ChoiceLogprobs | None = None


class ChatCompletion(ResponseModel):
    """The answer of ``chat.completions.create``: its choices, the model, and the usage."""
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None


# -- stream -------------------------------------------------------------------------------------------


class ChoiceDeltaFunctionCall(ResponseModel):
    """A piece of a streamed tool call's function (its name, then its arguments in parts)."""
    name: str | None = None
    arguments: str | None = None


class ChoiceDeltaToolCall(ResponseModel):
    """A piece of a streamed tool call, by ``index``."""
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: ChoiceDeltaFunctionCall | None = None


class ChoiceDelta(ResponseModel):
    """What a streamed chunk adds to a choice's message."""
    role: Literal["system", "developer", "user", "assistant", "tool"] | None = None
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ChoiceDeltaToolCall] | None = None
    function_call: ChoiceDeltaFunctionCall | None = None


class ChunkChoice(ResponseModel):
    """One choice of a streamed chunk: its ``delta`` and, at the end, the ``finish_reason``."""
    keep_null: ClassVar[frozenset[str]] = frozenset({'finish_reason'})
    index: int
    delta: ChoiceDelta
    finish_reason: FinishReason | None = None
    logprobs: ChoiceLogprobs | None = None


class ChatCompletionChunk(ResponseModel):
    """One chunk of a streamed chat completion; the last, with ``include_usage``, carries the usage and no
    choices."""
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = None
    system_fingerprint: str | None = None
    service_tier: str | None = None

