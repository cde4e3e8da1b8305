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
    """HTTP headers added to this request (remote providers and llmaas servers)."""
    extra_query: dict[str, object] | None
    """Query parameters added to this request's URL."""
    extra_body: dict[str, object] | None  # merged into the body: fields llmaas does not model
    """Fields merged into the request body as they are: parameters a provider takes that llmaas does not
    model."""
    timeout: Timeout
    """Seconds (or an ``httpx.Timeout``) this request may take, overriding the client's ``timeout``."""
    max_retries: int | None
    """How often this request is retried on a connection error, 408, 409, 429 or 5xx, overriding the client's."""


class _SamplingParams(RequestOptionsParams, total=False):
    model: Required[str]
    """The model: a name the client resolves to a provider (``smollm2-135m-instruct``, ``openai/gpt-4o-mini``,
    a fine-tuned ``ft:...``)."""
    frequency_penalty: float | None
    """-2 to 2: lowers the logit of each token by this times the number of times it appeared so far."""
    presence_penalty: float | None
    """-2 to 2: lowers the logit of each token that appeared so far by this."""
    logit_bias: dict[str, float] | None
    """Token id (as a string) to a bias from -100 to 100 added to its logit."""
    max_tokens: int | None
    """The most tokens to generate; the answer's ``finish_reason`` is ``length`` when it stops there."""
    n: int | None
    """How many choices to generate for the prompt."""
    seed: int | None
    """Makes sampling repeatable: the same seed, model and parameters give the same tokens."""
    stop: str | list[str] | None
    """Up to 4 strings; generation stops before any of them, which is left out of the answer."""
    stream_options: ChatCompletionStreamOptionsParam | None
    """With ``stream=True``: ``{"include_usage": True}`` adds a last chunk with the usage."""
    temperature: float | None
    """0 to 2: 0 picks the most likely token (greedy); higher spreads the choice."""
    top_p: float | None
    """Nucleus sampling: sample from the smallest set of tokens whose probabilities add up to this."""
    top_k: int | None  # llmaas and vLLM extension
    """Sample from the ``top_k`` most likely tokens only (an llmaas and vLLM extension)."""
    ignore_eos: bool | None  # llmaas and vLLM extension
    """Keep generating past the end-of-sequence token until ``max_tokens`` (an llmaas and vLLM extension, for
    benchmarks)."""
    user: str | None
    """An id of the end user, recorded with the request."""


class _ChatParams(_SamplingParams, total=False):
    # a message from a reply (reply.choices[0].message) is accepted as is, as with openai-python
    messages: Required[Iterable[ChatCompletionMessageParam | ChatCompletionMessage]]
    """The conversation so far: system, developer, user, assistant and tool messages (a message from an
    earlier reply is accepted as it is)."""
    logprobs: bool | None
    """Return the log-probability of each generated token."""
    top_logprobs: int | None
    """0 to 20: with ``logprobs``, also the most likely alternatives at each position."""
    max_completion_tokens: int | None
    """The most tokens to generate (the newer name of ``max_tokens``)."""
    tool_choice: ChatCompletionToolChoiceOptionParam | None
    """``none``, ``auto``, ``required``, or a named function the model must call."""
    parallel_tool_calls: bool | None
    """Whether the model may call several tools in one answer (default true)."""
    metadata: dict[str, str] | None
    """Up to 16 string pairs stored with the completion."""
    store: bool | None
    """Whether to store the completion (OpenAI's stored completions). Forwarded to remote providers that
    support it; the in-process engine ignores it."""
    service_tier: str | None
    """The provider's service tier. Forwarded to remote providers that support it; the in-process engine
    ignores it."""
    reasoning_effort: str | None
    """For reasoning models: ``low``, ``medium`` or ``high``. Forwarded to remote providers that support it;
    the in-process engine ignores it."""
    modalities: list[str] | None
    """Output modalities (``text``, ``audio``). Forwarded to remote providers that support it; the in-process
    engine ignores it."""
    prediction: dict[str, Any] | None
    """Predicted output, for speculative decoding on OpenAI. Forwarded to remote providers that support it;
    the in-process engine ignores it."""
    audio: dict[str, Any] | None
    """Audio output settings. Forwarded to remote providers that support it; the in-process engine ignores it."""
    web_search_options: dict[str, Any] | None
    """Web search settings of search models. Forwarded to remote providers that support it; the in-process
    engine ignores it."""
    functions: Iterable[FunctionDefinitionParam] | None
    """Deprecated: use ``tools``. Refused by the in-process engine."""
    function_call: Literal["none", "auto"] | dict[str, str] | None
    """Deprecated: use ``tool_choice``."""


class ChatCompletionCreateParams(_ChatParams, total=False):
    """The parameters of ``chat.completions.create``."""
    response_format: ResponseFormatParam | None
    """``text``, ``json_object``, or ``json_schema`` with a schema: the in-process engine constrains decoding
    so the answer parses."""
    tools: Iterable[ChatCompletionToolParam | PydanticFunctionTool] | None
    """Functions the model may call (``{"type": "function", "function": {...}}``), or pydantic tools from
    ``llmaas.pydantic_function_tool``."""


class ChatCompletionParseParams(_ChatParams, total=False):
    """``parse()``: ``response_format`` is a pydantic model, given on its own."""

    tools: Iterable[ChatCompletionToolParam | PydanticFunctionTool] | None
    """Functions the model may call; pydantic tools have their arguments parsed."""


class ChatCompletionRunToolsParams(_ChatParams, total=False):
    """``run_tools()``: the tools are Python functions, given on their own."""

    response_format: ResponseFormatParam | None
    """The format of the final answer, after the tools ran."""


class CompletionCreateParams(_SamplingParams, total=False):
    """The parameters of ``completions.create``."""
    prompt: Required[CompletionPromptParam]
    """A string, a list of strings, token ids, or a list of token-id lists; one completion (times ``n``) per
    prompt."""
    best_of: int | None
    """Candidates to generate per prompt; the in-process engine takes only ``best_of`` equal to ``n``."""
    echo: bool | None
    """Return the prompt before the completion (with ``logprobs`` and ``max_tokens=0``, scores the prompt)."""
    logprobs: int | None
    """0 to 5: return each token's log-probability and this many most likely alternatives."""
    suffix: str | None
    """Text that comes after the completion (insertion). Forwarded to remote providers that support it; the
    in-process engine ignores it."""


class EmbeddingCreateParams(RequestOptionsParams, total=False):
    """The parameters of ``embeddings.create``."""
    model: Required[str]
    """The embedding model (``all-minilm-l6-v2`` built in)."""
    input: Required[EmbeddingInputParam]
    """A string, a list of strings, token ids, or a list of token-id lists, each within the model's context."""
    encoding_format: Literal["float", "base64"] | None
    """``float`` (lists of floats) or ``base64`` (little-endian float32 bytes, base64-encoded)."""
    dimensions: int | None
    """The vector length wanted; a model not trained to be shortened (all-MiniLM-L6-v2) takes only its own."""
    user: str | None
    """An id of the end user, recorded with the request."""


class ModerationCreateParams(RequestOptionsParams, total=False):
    """The parameters of ``moderations.create``."""
    input: Required[ModerationInputParam]
    """A string, a list of strings, or a list of text parts to classify."""
    model: str | None
    """The moderation model (default the shipped classifier; ``llmaas-moderation-1`` stays loadable by name)."""


class FineTuningJobCreateParams(RequestOptionsParams, total=False):
    """The parameters of ``fine_tuning.jobs.create``."""
    model: Required[str]
    """The base model to tune (a chat model the provider serves)."""
    training_file: Required[str]
    """The id of a file of purpose ``fine-tune``: JSONL of ``{"messages": [...]}`` conversations."""
    hyperparameters: HyperparametersParam | None
    """``n_epochs``, ``batch_size`` and ``learning_rate_multiplier``, each a number or ``auto``."""
    suffix: str | None
    """Up to 64 characters added to the fine-tuned model's name."""
    validation_file: str | None
    """The id of a file of purpose ``fine-tune`` whose loss is reported as the job trains."""
    integrations: list[dict[str, Any]] | None
    """Integrations such as Weights & Biases. Forwarded to remote providers that support it; the in-process
    engine ignores it."""
    seed: int | None
    """Makes the job repeatable: the same seed and data give the same adapter."""
    method: dict[str, Any] | None
    """``{"type": "supervised", "supervised": {"hyperparameters": {...}}}`` (OpenAI's newer form of
    ``hyperparameters``)."""
    metadata: dict[str, str] | None
    """Up to 16 string pairs stored with the job (``jobs.list`` filters on them)."""
    lora: LoraParam | None
    """LoRA ``rank``, ``alpha`` and ``target_modules`` of a local job (an llmaas extra)."""
    evals: list[str] | None  # llmaas: evals run on the base and the tuned model when the job succeeds
    """Ids of evals run on the base and on the tuned model when the job succeeds; the job shows the comparison
    (an llmaas extra)."""


class _ResponseParams(RequestOptionsParams, total=False):
    model: Required[str]
    """The model: a name the client resolves to a provider."""
    input: Required[str | Iterable[ResponseInputItemParam]]
    """A string (one user message) or a list of input items: messages, function calls and their outputs."""
    instructions: str | None
    """A system message put before the input (not carried over by ``previous_response_id``)."""
    previous_response_id: str | None
    """Continue the stored conversation that ended with this response."""
    tools: Iterable[FunctionToolParam] | None
    """Functions the model may call (``{"type": "function", "name": ..., "parameters": ...}``)."""
    tool_choice: ResponseToolChoiceParam | None
    """``none``, ``auto``, ``required``, or a function the model must call."""
    parallel_tool_calls: bool | None
    """Whether the model may call several tools in one answer."""
    max_output_tokens: int | None
    """The most tokens to generate; a response that stops there is ``incomplete``."""
    temperature: float | None
    """0 to 2: 0 is greedy; higher spreads the choice."""
    top_p: float | None
    """Nucleus sampling: sample from the smallest set of tokens whose probabilities add up to this."""
    store: bool | None
    """Whether to store the response so that it can be retrieved and continued (default true)."""
    metadata: dict[str, str] | None
    """Up to 16 string pairs stored with the response."""
    include: list[str] | None
    """Extra output to include (``message.output_text.logprobs``)."""
    reasoning: dict[str, Any] | None
    """Reasoning settings (``effort``, ``summary``) of reasoning models; echoed back."""
    truncation: Literal["auto", "disabled"] | None
    """``disabled`` (the default): a conversation too long for the context fails. ``auto`` is accepted and
    echoed back; the in-process engine does not drop items."""
    user: str | None
    """An id of the end user (deprecated for ``safety_identifier``)."""
    safety_identifier: str | None
    """A stable id of the end user, for abuse detection."""
    prompt_cache_key: str | None
    """A key grouping requests that share a prefix. Forwarded to remote providers that support it; the in-
    process engine ignores it."""
    service_tier: str | None
    """The provider's service tier. Forwarded to remote providers that support it; the in-process engine
    ignores it."""
    top_logprobs: int | None
    """0 to 20: the most likely alternatives of each output token."""
    max_tool_calls: int | None
    """The most tool calls the response may make."""
    background: bool | None
    """Run the response in the background: it returns ``queued`` at once; poll ``retrieve`` or ``cancel`` it."""
    seed: int | None  # llmaas and vLLM extension
    """Makes sampling repeatable (an llmaas and vLLM extension)."""
    top_k: int | None  # llmaas and vLLM extension
    """Sample from the ``top_k`` most likely tokens only (an llmaas and vLLM extension)."""


class ResponseCreateParams(_ResponseParams, total=False):
    """The parameters of ``responses.create``."""
    text: ResponseTextConfigParam | None
    """The output's ``format``: text, ``json_object``, or ``json_schema`` with a schema."""


class ResponseParseParams(_ResponseParams, total=False):
    """``responses.parse()``: ``text_format`` is a pydantic model, given on its own."""


class ResponseInputItemsListParams(RequestOptionsParams, total=False):
    """The parameters of ``responses.input_items.list``."""
    limit: int | None
    """Items per page, 1 to 100 (default 20)."""
    after: str | None
    """The id of the last item of the previous page."""
    order: Literal["asc", "desc"] | None
    """``asc`` or ``desc`` (default)."""


class BatchCreateParams(RequestOptionsParams, total=False):
    """The parameters of ``batches.create``."""
    input_file_id: Required[str]
    """The id of a file of purpose ``batch``: JSONL of ``{"custom_id", "method": "POST", "url", "body"}``
    lines."""
    endpoint: Required[str]
    """The endpoint every line calls: ``/v1/chat/completions``, ``/v1/completions``, ``/v1/embeddings``,
    ``/v1/moderations`` or ``/v1/responses``."""
    completion_window: str
    """How long the batch may run: ``24h`` (the default), or a number of ``s``, ``m``, ``h`` or ``d`` up to 7
    days; it then ends ``expired`` with the finished part delivered."""
    metadata: dict[str, str] | None
    """Up to 16 string pairs stored with the batch."""
    output_expires_after: dict[str, object] | None
    """When the output and error files expire (``{"anchor": "created_at", "seconds": N}``)."""


class PageParams(RequestOptionsParams, total=False):
    """The paging parameters of a ``list``: ``after`` (the last id of the previous page) and ``limit``."""
    limit: int | None
    """Items per page (default 20, at most 100)."""
    after: str | None
    """The id of the last item of the previous page: the page after it."""


class FileListParams(PageParams, total=False):
    """The parameters of ``files.list``."""
    purpose: str | None
    """Only files of this purpose."""
    order: Literal["asc", "desc"] | None
    """``desc`` (newest first, the default) or ``asc``."""


class JobListParams(PageParams, total=False):
    """The parameters of ``fine_tuning.jobs.list``."""
    metadata: dict[str, str] | None
    """Only jobs whose metadata has these pairs."""


class ModelListParams(RequestOptionsParams, total=False):
    """The parameters of ``models.list`` and ``models.ps``."""
    provider: str | None  # list another provider's models than the client's default
    """List another provider's models than the client's default (``ollama``, ``openai``, ...)."""


class EvalCreateParams(RequestOptionsParams, total=False):
    """The parameters of ``evals.create``."""
    data_source_config: Required[dict[str, Any]]
    """``{"type": "custom", "item_schema": {...JSON Schema...}, "include_sample_schema": True}``."""
    testing_criteria: Required[list[dict[str, Any]]]
    """Graders: ``string_check``, ``text_similarity``, ``python``, ``label_model``, ``score_model`` and
    llmaas's ``multiple_choice``."""
    name: str
    """A name for the eval."""
    metadata: dict[str, str] | None
    """Up to 16 string pairs; ``group_by`` names an item field whose values get results of their own."""


class EvalUpdateParams(RequestOptionsParams, total=False):
    """The parameters of ``evals.update``."""
    name: str
    """The eval's new name."""
    metadata: dict[str, str] | None
    """The eval's new metadata (replaces the old)."""


class EvalListParams(PageParams, total=False):
    """The parameters of ``evals.list``."""
    order: Literal["asc", "desc"] | None
    """``asc`` (the default) or ``desc`` by creation time."""


class EvalRunCreateParams(RequestOptionsParams, total=False):
    """The parameters of ``evals.runs.create``."""
    data_source: Required[dict[str, Any]]
    """``jsonl``, ``completions`` or ``responses``, with a ``file_content`` or ``file_id`` source."""
    name: str
    """A name for the run."""
    metadata: dict[str, str] | None
    """Up to 16 string pairs stored with the run."""


class EvalRunListParams(PageParams, total=False):
    """The parameters of ``evals.runs.list``."""
    order: Literal["asc", "desc"] | None
    """``asc`` (the default) or ``desc`` by creation time."""
    status: Literal["queued", "in_progress", "completed", "canceled", "failed"] | None
    """Only runs with this status."""


class OutputItemListParams(PageParams, total=False):
    """The parameters of ``evals.runs.output_items.list``."""
    order: Literal["asc", "desc"] | None
    """``asc`` (item order, the default here) or ``desc``."""
    status: Literal["pass", "fail", "error"] | None
    """Only items that passed, failed or errored."""
