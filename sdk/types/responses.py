"""The Responses API: request, response object, input and output items, stream events (OpenAPI:
CreateResponse, Response, InputItem, OutputItem, ResponseStreamEvent).

Input items are told apart by ``type`` (a message may leave it out, as OpenAI's easy input message does); an
unknown type is a 400 naming the item. Output items and events are response models: they keep fields a
server adds.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, cast

from pydantic import Discriminator, Field, Tag, field_validator

from ._base import InvalidValue, Part, RequestModel, ResponseModel
from .common import MAX_ITEMS, ItemCap

MAX_TOOLS = 128

# -- input items ----------------------------------------------------------------------------------------


class InputText(Part):
    """A text part of an input message."""
    type: Literal["input_text"] = "input_text"
    text: str


class OutputTextPart(Part):
    """An assistant message's text sent back as input (what a previous response's output holds)."""

    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[dict[str, Any]] | None = None
    logprobs: list[dict[str, Any]] | None = None


class RefusalPart(Part):
    """A refusal part of an assistant message in the input."""
    type: Literal["refusal"] = "refusal"
    refusal: str


class InputImage(Part):
    """An image part of an input message, by URL or file id."""
    type: Literal["input_image"] = "input_image"
    image_url: str | None = None
    file_id: str | None = None
    detail: Literal["auto", "low", "high"] | None = None


class InputFile(Part):
    """A file part of an input message, inline or by file id."""
    type: Literal["input_file"] = "input_file"
    file_id: str | None = None
    file_data: str | None = None
    file_url: str | None = None
    filename: str | None = None


InputContent = Annotated[InputText | OutputTextPart | RefusalPart | InputImage | InputFile,
                         Field(discriminator="type")]


class MessageItem(Part):
    """An input message with its role and content."""
    type: Literal["message"] = "message"
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[InputContent]
    id: str | None = None
    status: Literal["in_progress", "completed", "incomplete"] | None = None
    phase: str | None = None


class FunctionCallItem(Part):
    """A function call the model made, given back as input."""
    type: Literal["function_call"] = "function_call"
    call_id: str = Field(min_length=1)
    name: str
    arguments: str
    id: str | None = None
    status: Literal["in_progress", "completed", "incomplete"] | None = None


class FunctionCallOutputItem(Part):
    """The output of a function call (``call_id``), given as input."""
    type: Literal["function_call_output"] = "function_call_output"
    call_id: str = Field(min_length=1)
    output: str | list[InputContent]
    id: str | None = None
    status: Literal["in_progress", "completed", "incomplete"] | None = None


class ReasoningItem(Part):
    """Accepted as input and left out of the prompt: the models served here write no reasoning items."""

    type: Literal["reasoning"] = "reasoning"
    id: str | None = None
    summary: list[dict[str, Any]] = []
    content: list[dict[str, Any]] | None = None
    encrypted_content: str | None = None
    status: str | None = None


def _item_type(value: Any) -> str:
    if isinstance(value, dict):
        kind: Any = value.get("type", "message")  # type: ignore[union-attr]
        return kind if isinstance(kind, str) else "?"
    return str(getattr(value, "type", "?"))


ITEM_TYPES = ("message", "function_call", "function_call_output", "reasoning")

InputItem = Annotated[
    Annotated[MessageItem, Tag("message")]
    | Annotated[FunctionCallItem, Tag("function_call")]
    | Annotated[FunctionCallOutputItem, Tag("function_call_output")]
    | Annotated[ReasoningItem, Tag("reasoning")],
    Discriminator(_item_type, custom_error_type="invalid_item_type",
                  custom_error_message="unknown input item type: this server takes message, function_call, "
                                       "function_call_output and reasoning items"),
]

# -- tools and formats ------------------------------------------------------------------------------------


class FunctionTool(Part):
    """A function the model may call in the Responses API (flat: ``name``, ``parameters``, ``strict``)."""
    type: Literal["function"] = "function"
    name: str = Field(max_length=64, pattern=r"^[a-zA-Z0-9_-]+$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolChoiceFunction(Part):
    """``tool_choice`` forcing one function by ``name``."""
    type: Literal["function"] = "function"
    name: str


class TextFormatText(Part):
    """``text.format`` for plain text."""
    type: Literal["text"] = "text"


class TextFormatJSONObject(Part):
    """``text.format`` for any JSON object."""
    type: Literal["json_object"] = "json_object"


class TextFormatJSONSchema(Part):
    """``text.format`` for JSON matching a named schema."""
    type: Literal["json_schema"] = "json_schema"
    name: str = Field(max_length=64, pattern=r"^[a-zA-Z0-9_-]+$")
    schema_: dict[str, Any] = Field(alias="schema")
    description: str | None = None
    strict: bool | None = None


TextFormat = Annotated[TextFormatText | TextFormatJSONObject | TextFormatJSONSchema, Field(discriminator="type")]


class TextConfig(Part):
    """The ``text`` option of a response: its ``format``."""
    format: TextFormat | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class Reasoning(Part):
    """The ``reasoning`` option (effort and summary), accepted and echoed back."""
    effort: str | None = None
    summary: str | None = None
    generate_summary: str | None = None


class ResponseStreamOptions(Part):
    """Options of a streamed response."""
    include_obfuscation: bool | None = None


# -- request ----------------------------------------------------------------------------------------------


class ResponseCreateRequest(RequestModel):
    """A Responses API request as validated before it is run."""
    model: str
    input: str | Annotated[list[InputItem], ItemCap, Field(max_length=MAX_ITEMS)]
    instructions: str | None = None
    previous_response_id: str | None = None
    tools: list[FunctionTool] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_choice: Literal["none", "auto", "required"] | ToolChoiceFunction | None = None
    parallel_tool_calls: bool | None = None
    text: TextConfig | None = None
    max_output_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    store: bool | None = None
    metadata: dict[str, Annotated[str, Field(max_length=512)]] | None = Field(default=None, max_length=16)
    stream: bool | None = None
    stream_options: ResponseStreamOptions | None = None
    background: bool | None = None
    include: list[str] | None = None
    reasoning: Reasoning | None = None
    truncation: Literal["auto", "disabled"] | None = None
    user: str | None = None
    safety_identifier: str | None = None
    prompt_cache_key: str | None = None
    service_tier: str | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    max_tool_calls: int | None = Field(default=None, ge=1)
    seed: int | None = Field(default=None, description="llmaas and vLLM extension")
    top_k: int | None = Field(default=None, ge=-1, description="llmaas and vLLM extension; -1 or 0 is off")

    @field_validator("input", mode="before")
    @classmethod
    def _known_items(cls, value: object) -> object:
        """Name an input item of a type not served here by its place, before the union lists every branch."""
        items = cast("list[Any]", value) if isinstance(value, list) else []
        if items:
            for i, item in enumerate(items):
                kind = _item_type(item)
                if kind not in ITEM_TYPES:
                    raise InvalidValue(f"input.{i}.type", f"unknown input item type {kind!r}; this server takes "
                                                          f"{', '.join(ITEM_TYPES)} items")
        return cast("object", value)


# -- response ---------------------------------------------------------------------------------------------


class ResponseOutputText(ResponseModel):
    """A text part of an output message, with its annotations."""
    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[dict[str, Any]] = []
    logprobs: list[dict[str, Any]] = []


class ResponseOutputRefusal(ResponseModel):
    """A refusal part of an output message."""
    type: Literal["refusal"] = "refusal"
    refusal: str


class ResponseOutputMessage(ResponseModel):
    """A message the model wrote, as an output item."""
    type: Literal["message"] = "message"
    id: str
    role: Literal["assistant"] = "assistant"
    status: Literal["in_progress", "completed", "incomplete"] = "completed"
    content: list[ResponseOutputText | ResponseOutputRefusal] = []


class ResponseFunctionToolCall(ResponseModel):
    """A function call the model made, as an output item (its ``call_id``, ``name`` and ``arguments``)."""
    type: Literal["function_call"] = "function_call"
    id: str
    call_id: str
    name: str
    arguments: str
    status: Literal["in_progress", "completed", "incomplete"] = "completed"


OutputItem = Annotated[ResponseOutputMessage | ResponseFunctionToolCall, Field(discriminator="type")]


class InputTokensDetails(ResponseModel):
    """A breakdown of a response's input tokens (``cached_tokens``)."""
    cached_tokens: int = 0
    cache_write_tokens: int = 0


class OutputTokensDetails(ResponseModel):
    """A breakdown of a response's output tokens (``reasoning_tokens``)."""
    reasoning_tokens: int = 0


class ResponseUsage(ResponseModel):
    """The tokens a response used: ``input_tokens``, ``output_tokens``, ``total_tokens``."""
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_details: InputTokensDetails = InputTokensDetails()
    output_tokens_details: OutputTokensDetails = OutputTokensDetails()


class ResponseError(ResponseModel):
    """Why a response failed: ``code`` and ``message``."""
    code: str
    message: str


class IncompleteDetails(ResponseModel):
    """Why a response is ``incomplete`` (``max_output_tokens`` or ``content_filter``)."""
    reason: Literal["max_output_tokens", "content_filter"] | str


ResponseStatus = Literal["completed", "failed", "in_progress", "cancelled", "queued", "incomplete"]


class Response(ResponseModel):
    """A Responses API response: its status, output items, ``output_text``, usage and what it was asked."""
    keep_null: ClassVar[frozenset[str]] = frozenset({
        "error", "incomplete_details", "instructions", "metadata", "previous_response_id", "max_output_tokens",
        "temperature", "top_p", "completed_at"})
    id: str
    object: Literal["response"] = "response"
    created_at: int
    completed_at: int | None = None
    status: ResponseStatus = "completed"
    model: str
    output: list[OutputItem] = []
    error: ResponseError | None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: str | None = None
    metadata: dict[str, str] | None = None
    previous_response_id: str | None = None
    max_output_tokens: int | None = None
    parallel_tool_calls: bool = True
    temperature: float | None = None
    top_p: float | None = None
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] = "auto"
    tools: list[dict[str, Any]] = []
    text: dict[str, Any] = {"format": {"type": "text"}}
    truncation: str = "disabled"
    reasoning: dict[str, Any] = {"effort": None, "summary": None}
    background: bool = False
    store: bool = True
    usage: ResponseUsage | None = None
    user: str | None = None

    @property
    def output_text(self) -> str:
        """The text of every output message, joined (openai-python's ``response.output_text``)."""
        return "".join(part.text for item in self.output if isinstance(item, ResponseOutputMessage)
                       for part in item.content if isinstance(part, ResponseOutputText))


class ResponseDeleted(ResponseModel):
    """The answer to deleting a stored response."""
    id: str
    object: Literal["response"] = "response"
    deleted: bool = True


class ResponseInputItemList(ResponseModel):
    """``GET /v1/responses/{id}/input_items``: the items as the response read them, each with its id."""

    object: Literal["list"] = "list"
    data: list[dict[str, Any]]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class ResponseStreamEvent(ResponseModel):
    """One event of a streamed response: ``type`` says which (``response.created``,
    ``response.output_item.added``, ``response.output_text.delta``, ``response.function_call_arguments.delta``,
    ``response.completed``, ...) and ``sequence_number`` its place. The fields are the type's, as OpenAI sends
    them: ``response``, ``item``, ``output_index``, ``item_id``, ``content_index``, ``delta``, ``text``,
    ``arguments``, ``part``."""

    type: str
    sequence_number: int
    response: Response | None = None
    item: dict[str, Any] | None = None
    output_index: int | None = None
    item_id: str | None = None
    content_index: int | None = None
    delta: str | None = None
    text: str | None = None
    arguments: str | None = None
    part: dict[str, Any] | None = None


TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
