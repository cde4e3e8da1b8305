"""Request-side shapes as TypedDicts, for the editor: what ``messages``, ``tools``, ``response_format`` and
``stream_options`` accept, with the names openai-python uses. At run time the same values are validated by
the request models in this package, so a wrong key is still a ``BadRequestError`` naming it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel
from typing_extensions import Required, TypedDict


class ChatCompletionContentPartTextParam(TypedDict, total=False):
    type: Required[Literal["text"]]
    text: Required[str]


class ImageURLParam(TypedDict, total=False):
    url: Required[str]
    detail: Literal["auto", "low", "high"]


class ChatCompletionContentPartImageParam(TypedDict, total=False):
    type: Required[Literal["image_url"]]
    image_url: Required[ImageURLParam]


class InputAudioParam(TypedDict):
    data: str
    format: Literal["wav", "mp3"]


class ChatCompletionContentPartInputAudioParam(TypedDict):
    type: Literal["input_audio"]
    input_audio: InputAudioParam


class FileParam(TypedDict, total=False):
    file_data: str
    file_id: str
    filename: str


class ChatCompletionContentPartFileParam(TypedDict):
    type: Literal["file"]
    file: FileParam


class ChatCompletionContentPartRefusalParam(TypedDict):
    type: Literal["refusal"]
    refusal: str


ChatCompletionContentPartParam: TypeAlias = ChatCompletionContentPartTextParam | ChatCompletionContentPartImageParam | ChatCompletionContentPartInputAudioParam | ChatCompletionContentPartFileParam


class FunctionCallParam(TypedDict):
    name: str
    arguments: str


class ChatCompletionMessageToolCallParam(TypedDict):
    id: str
    type: Literal["function"]
    function: FunctionCallParam


class ChatCompletionSystemMessageParam(TypedDict, total=False):
    role: Required[Literal["system"]]
    content: Required[str | Iterable[ChatCompletionContentPartTextParam]]
    name: str


class ChatCompletionDeveloperMessageParam(TypedDict, total=False):
    role: Required[Literal["developer"]]
    content: Required[str | Iterable[ChatCompletionContentPartTextParam]]
    name: str


class ChatCompletionUserMessageParam(TypedDict, total=False):
    role: Required[Literal["user"]]
    content: Required[str | Iterable[ChatCompletionContentPartParam]]
    name: str


class ChatCompletionAssistantMessageParam(TypedDict, total=False):
    role: Required[Literal["assistant"]]
    content: str | Iterable[ChatCompletionContentPartTextParam | ChatCompletionContentPartRefusalParam] | None
    refusal: str | None
    name: str
    tool_calls: Iterable[ChatCompletionMessageToolCallParam]
    function_call: FunctionCallParam | None


class ChatCompletionToolMessageParam(TypedDict):
    role: Literal["tool"]
    content: str | Iterable[ChatCompletionContentPartTextParam]
    tool_call_id: str


class ChatCompletionFunctionMessageParam(TypedDict):
    role: Literal["function"]
    content: str | None
    name: str


ChatCompletionMessageParam: TypeAlias = ChatCompletionSystemMessageParam | ChatCompletionDeveloperMessageParam | ChatCompletionUserMessageParam | ChatCompletionAssistantMessageParam | ChatCompletionToolMessageParam | ChatCompletionFunctionMessageParam


class FunctionDefinitionParam(TypedDict, total=False):
    name: Required[str]
    description: str
    parameters: dict[str, Any]
    strict: bool | None


class ChatCompletionToolParam(TypedDict):
    type: Literal["function"]
    function: FunctionDefinitionParam


class ChatCompletionNamedFunctionParam(TypedDict):
    name: str


class ChatCompletionNamedToolChoiceParam(TypedDict):
    type: Literal["function"]
    function: ChatCompletionNamedFunctionParam


ChatCompletionToolChoiceOptionParam: TypeAlias = Literal["none", "auto", "required"] | ChatCompletionNamedToolChoiceParam


class ResponseFormatTextParam(TypedDict):
    type: Literal["text"]


class ResponseFormatJSONObjectParam(TypedDict):
    type: Literal["json_object"]


class JSONSchemaParam(TypedDict, total=False):
    name: Required[str]
    description: str
    schema: dict[str, Any]
    strict: bool | None


class ResponseFormatJSONSchemaParam(TypedDict):
    type: Literal["json_schema"]
    json_schema: JSONSchemaParam


ResponseFormatParam: TypeAlias = ResponseFormatTextParam | ResponseFormatJSONObjectParam | ResponseFormatJSONSchemaParam


class ChatCompletionStreamOptionsParam(TypedDict, total=False):
    include_usage: bool
    include_obfuscation: bool


class HyperparametersParam(TypedDict, total=False):
    batch_size: Literal["auto"] | int
    learning_rate_multiplier: Literal["auto"] | float
    n_epochs: Literal["auto"] | int


class LoraParam(TypedDict, total=False):
    """LoRA settings of a local fine-tuning job (an llmaas extra; OpenAI's API has none)."""

    rank: int
    alpha: int
    target_modules: list[str]


ModerationInputParam: TypeAlias = str | Sequence[str] | Iterable[dict[str, Any]]
EmbeddingInputParam: TypeAlias = str | Sequence[str] | Iterable[int] | Iterable[Iterable[int]]
CompletionPromptParam: TypeAlias = str | Sequence[str] | Iterable[int] | Iterable[Iterable[int]]


class PydanticFunctionTool(dict[str, Any]):
    """A function tool (the dict ``tools=[...]`` takes) that remembers the pydantic model of its arguments,
    so ``parse()`` can return them as that model; made by ``llmaas.pydantic_function_tool``."""

    model: type[BaseModel]
