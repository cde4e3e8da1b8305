"""The keyword parameters of every resource method, once, as TypedDicts.

The async and the sync resources take ``**kwargs: Unpack[...]`` of these, so a type checker and an editor see
every parameter with its type (a misspelt ``temperture=`` or ``max_tokens="many"`` is flagged before the code
runs), and the two clients cannot drift apart. At run time the request models validate the same values.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, TypeAlias

import httpx
from typing_extensions import Required, TypedDict

from .chat import ChatCompletionMessage
from .params import (
    ChatCompletionMessageParam,
    ChatCompletionStreamOptionsParam,
    ChatCompletionToolChoiceOptionParam,
    ChatCompletionToolParam,
    CompletionPromptParam,
    EmbeddingInputParam,
    FunctionDefinitionParam,
    HyperparametersParam,
    LoraParam,
    ModerationInputParam,
    PydanticFunctionTool,
    ResponseFormatParam,
)
from .response_params import (
    FunctionToolParam,
    ResponseInputItemParam,
    ResponseTextConfigParam,
    ResponseToolChoiceParam,
)

Timeout: TypeAlias = float | httpx.Timeout | None


class RequestOptionsParams(TypedDict, total=False):
    """What every method takes beside its own parameters, for this request only."""

    extra_headers: dict[str, str] | None
    extra_query: dict[str, object] | None
    extra_body: dict[str, object] | None  # merged into the body: fields llmaas does not model
    timeout: Timeout
    max_retries: int | None


class _SamplingParams(RequestOptionsParams, total=False):
    model: Required[str]
    frequency_penalty: float | None
    presence_penalty: float | None
    logit_bias: dict[str, float] | None
    max_tokens: int | None
    n: int | None
    seed: int | None
    stop: str | list[str] | None
    stream_options: ChatCompletionStreamOptionsParam | None
    temperature: float | None
    top_p: float | None
    top_k: int | None  # llmaas and vLLM extension
    ignore_eos: bool | None  # llmaas and vLLM extension
    user: str | None


class _ChatParams(_SamplingParams, total=False):
    # a message from a reply (reply.choices[0].message) is accepted as is, as with openai-python
    messages: Required[Iterable[ChatCompletionMessageParam | ChatCompletionMessage]]
    logprobs: bool | None
    top_logprobs: int | None
    max_completion_tokens: int | None
    tool_choice: ChatCompletionToolChoiceOptionParam | None
    parallel_tool_calls: bool | None
    metadata: dict[str, str] | None
    store: bool | None
    service_tier: str | None
    reasoning_effort: str | None
    modalities: list[str] | None
    prediction: dict[str, Any] | None
    audio: dict[str, Any] | None
    web_search_options: dict[str, Any] | None
    functions: Iterable[FunctionDefinitionParam] | None
    function_call: Literal["none", "auto"] | dict[str, str] | None


class ChatCompletionCreateParams(_ChatParams, total=False):
    response_format: ResponseFormatParam | None
    tools: Iterable[ChatCompletionToolParam | PydanticFunctionTool] | None


class ChatCompletionParseParams(_ChatParams, total=False):
    """``parse()``: ``response_format`` is a pydantic model, given on its own."""

    tools: Iterable[ChatCompletionToolParam | PydanticFunctionTool] | None


class ChatCompletionRunToolsParams(_ChatParams, total=False):
    """``run_tools()``: the tools are Python functions, given on their own."""

    response_format: ResponseFormatParam | None


class CompletionCreateParams(_SamplingParams, total=False):
    prompt: Required[CompletionPromptParam]
    best_of: int | None
    echo: bool | None
    logprobs: int | None
    suffix: str | None


class EmbeddingCreateParams(RequestOptionsParams, total=False):
    model: Required[str]
    input: Required[EmbeddingInputParam]
    encoding_format: Literal["float", "base64"] | None
    dimensions: int | None
    user: str | None


class ModerationCreateParams(RequestOptionsParams, total=False):
    input: Required[ModerationInputParam]
    model: str | None


class FineTuningJobCreateParams(RequestOptionsParams, total=False):
    model: Required[str]
    training_file: Required[str]
    hyperparameters: HyperparametersParam | None
    suffix: str | None
    validation_file: str | None
    integrations: list[dict[str, Any]] | None
    seed: int | None
    method: dict[str, Any] | None
    metadata: dict[str, str] | None
    lora: LoraParam | None
    evals: list[str] | None  # llmaas: evals run on the base and the tuned model when the job succeeds


class _ResponseParams(RequestOptionsParams, total=False):
    model: Required[str]
    input: Required[str | Iterable[ResponseInputItemParam]]
    instructions: str | None
    previous_response_id: str | None
    tools: Iterable[FunctionToolParam] | None
    tool_choice: ResponseToolChoiceParam | None
    parallel_tool_calls: bool | None
    max_output_tokens: int | None
    temperature: float | None
    top_p: float | None
    store: bool | None
    metadata: dict[str, str] | None
    include: list[str] | None
    reasoning: dict[str, Any] | None
    truncation: Literal["auto", "disabled"] | None
    user: str | None
    safety_identifier: str | None
    prompt_cache_key: str | None
    service_tier: str | None
    top_logprobs: int | None
    max_tool_calls: int | None
    background: bool | None
    seed: int | None  # llmaas and vLLM extension
    top_k: int | None  # llmaas and vLLM extension


class ResponseCreateParams(_ResponseParams, total=False):
    text: ResponseTextConfigParam | None


class ResponseParseParams(_ResponseParams, total=False):
    """``responses.parse()``: ``text_format`` is a pydantic model, given on its own."""


class ResponseInputItemsListParams(RequestOptionsParams, total=False):
    limit: int | None
    after: str | None
    order: Literal["asc", "desc"] | None


class BatchCreateParams(RequestOptionsParams, total=False):
    input_file_id: Required[str]
    endpoint: Required[str]
    completion_window: str
    metadata: dict[str, str] | None
    output_expires_after: dict[str, object] | None


class PageParams(RequestOptionsParams, total=False):
    limit: int | None
    after: str | None


class FileListParams(PageParams, total=False):
    purpose: str | None
    order: Literal["asc", "desc"] | None


class JobListParams(PageParams, total=False):
    metadata: dict[str, str] | None


class ModelListParams(RequestOptionsParams, total=False):
    provider: str | None  # list another provider's models than the client's default


class EvalCreateParams(RequestOptionsParams, total=False):
    data_source_config: Required[dict[str, Any]]
    """``{"type": "custom", "item_schema": {...JSON Schema...}, "include_sample_schema": True}``."""
    testing_criteria: Required[list[dict[str, Any]]]
    """Graders: ``string_check``, ``text_similarity``, ``python``, ``label_model``, ``score_model`` and
    llmaas's ``multiple_choice``."""
    name: str
    metadata: dict[str, str] | None


class EvalUpdateParams(RequestOptionsParams, total=False):
    name: str
    metadata: dict[str, str] | None


class EvalListParams(PageParams, total=False):
    order: Literal["asc", "desc"] | None


class EvalRunCreateParams(RequestOptionsParams, total=False):
    data_source: Required[dict[str, Any]]
    """``jsonl``, ``completions`` or ``responses``, with a ``file_content`` or ``file_id`` source."""
    name: str
    metadata: dict[str, str] | None


class EvalRunListParams(PageParams, total=False):
    order: Literal["asc", "desc"] | None
    status: Literal["queued", "in_progress", "completed", "canceled", "failed"] | None


class OutputItemListParams(PageParams, total=False):
    order: Literal["asc", "desc"] | None
    status: Literal["pass", "fail", "error"] | None
