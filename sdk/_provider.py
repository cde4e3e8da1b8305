"""The Provider protocol: what every backend (remote API, in-process engine, local server) implements.

A provider declares its capabilities; the SDK checks them and raises ``UnsupportedFeatureError`` before
anything goes over the network. ``BaseProvider`` gives third parties a start: every method refuses, so a
provider implements only what it declares.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ._docstrings import mirror_docstrings
from ._errors import UnsupportedFeatureError
from ._options import RequestOptions
from ._pagination import PageResult

if TYPE_CHECKING:
    from .lib.responses_service import ResponsesService
    from .types import (
        Batch,
        BatchRequest,
        ChatCompletion,
        ChatCompletionChunk,
        ChatCompletionRequest,
        Completion,
        CompletionRequest,
        CreateEmbeddingResponse,
        EmbeddingRequest,
        Eval,
        EvalDeleted,
        EvalRun,
        EvalRunDeleted,
        EvalRunOutputItem,
        FileDeleted,
        FileObject,
        FineTuningJob,
        FineTuningJobCheckpoint,
        FineTuningJobEvent,
        FineTuningJobRequest,
        Model,
        ModelDeleted,
        ModelUnloaded,
        ModerationRequest,
        ModerationResponse,
        Response,
        ResponseCreateRequest,
        ResponseDeleted,
        ResponseInputItemList,
        ResponseStreamEvent,
        RunningModel,
    )


class Capability(str, Enum):
    """What a provider can do; a resource whose capability is missing raises ``UnsupportedFeatureError``."""

    CHAT = "chat"
    COMPLETIONS = "completions"
    EMBEDDINGS = "embeddings"
    MODERATIONS = "moderations"
    MODELS = "models"
    MODELS_WRITE = "models_write"
    MODELS_MANAGE = "models_manage"  # register, alias, load, unload (llmaas's own models and servers)
    FILES = "files"
    FINE_TUNING = "fine_tuning"
    RESPONSES = "responses"
    BATCHES = "batches"
    EVALS = "evals"

    def __str__(self) -> str:
        return self.value


ALL_CAPABILITIES = frozenset(Capability)


@runtime_checkable
class InProcess(Protocol):
    """A provider that runs models in this process (the ``hf`` provider): a server reports their load in its
    metrics and checks fine-tuning base models against the names it serves."""

    def engine_load(self) -> tuple[int, int]:
        """Sequences running and requests waiting, over every loaded chat engine."""
        ...

    def model_names(self) -> dict[str, str]:
        """Names that stand for a path (the provider's ``models`` option and the registry's)."""
        ...

    def base_fingerprint(self, model: str) -> str | None:
        """The hash of the weights behind ``model``, recorded with a fine-tuning job so that its adapter is
        only ever served on those weights."""
        ...

    async def decode_tokens(self, model: str, ids: list[int]) -> str:
        """The text ``ids`` stand for in ``model``'s tokenizer (a server's guardrails screen token-id prompts
        as this text)."""
        ...


@runtime_checkable
class ResponsesOverChat(Protocol):
    """A provider that answers the Responses API with its own chat model and a store of its own (the ``hf``
    provider): the client runs the service itself, so that its guardrails screen the chat requests."""

    def responses_service(self) -> ResponsesService:
        """The Responses API service over this provider's chat model and store."""
        ...


@runtime_checkable
class PartialUsage(Protocol):
    """A stream that knows what it has consumed so far, so that a server meters a client that left part
    way (the in-process engine's streams are)."""

    @property
    def partial_usage(self) -> dict[str, int]: ...


@runtime_checkable
class Provider(Protocol):
    """What every backend implements. ``capabilities`` says which of these methods work; the client checks it
    and raises ``UnsupportedFeatureError`` before calling one that does not. ``options`` carries the call's
    timeout, retries, extra headers and extra body."""

    name: str
    capabilities: frozenset[Capability]

    async def chat(self, req: ChatCompletionRequest, options: RequestOptions) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        """A chat completion for ``req``: the whole ``ChatCompletion``, or with ``req.stream`` an async iterator of
        ``ChatCompletionChunk`` ending with usage when ``stream_options.include_usage`` asks for it."""
        ...
    async def complete(self, req: CompletionRequest, options: RequestOptions) -> Completion | AsyncIterator[Completion]:
        """A text completion for ``req`` (``Completion``), or with ``req.stream`` an async iterator of partial ones."""
        ...
    async def embed(self, req: EmbeddingRequest, options: RequestOptions) -> CreateEmbeddingResponse:
        """Embeddings of ``req.input`` (a string, strings, or token ids) in input order."""
        ...
    async def moderate(self, req: ModerationRequest, options: RequestOptions) -> ModerationResponse:
        """Moderation results for ``req.input``, one per input, with categories, scores and ``flagged``."""
        ...

    async def list_models(self, options: RequestOptions) -> PageResult[Model]:
        """One page of the models this provider can serve."""
        ...
    async def retrieve_model(self, model: str, options: RequestOptions) -> Model:
        """The model ``model``; ``NotFoundError`` when the provider does not have it."""
        ...
    async def delete_model(self, model: str, options: RequestOptions, force: bool = False) -> ModelDeleted:
        """Delete ``model`` (a fine-tuned model, or a registered one); ``force`` also unloads it when running."""
        ...
    async def running_models(self, options: RequestOptions) -> list[RunningModel]:
        """The models loaded now, with their memory and when they unload (as ``ollama ps`` shows)."""
        ...
    async def register_model(self, name: str, path: str, options: RequestOptions) -> Model:
        """Make the local weights at ``path`` (a Hugging Face folder or a GGUF file) servable as ``name``."""
        ...
    async def alias_model(self, alias: str, model: str, options: RequestOptions) -> Model:
        """Make ``alias`` another name for ``model``."""
        ...
    async def load_model(self, model: str, options: RequestOptions) -> RunningModel:
        """Load ``model`` now instead of on its first request; answers with what is running."""
        ...
    async def unload_model(self, model: str, options: RequestOptions) -> ModelUnloaded:
        """Free ``model``'s memory; it loads again on its next request."""
        ...

    async def create_file(self, content: bytes, filename: str, purpose: str, options: RequestOptions) -> FileObject:
        """Store ``content`` as a file named ``filename`` for ``purpose`` (``fine-tune``, ``batch``, ``evals``, ...),
        checking it as that purpose requires."""
        ...
    async def list_files(self, params: dict[str, Any], options: RequestOptions) -> PageResult[FileObject]:
        """One page of files; ``params`` holds ``purpose``, ``limit``, ``order`` and the ``after`` cursor."""
        ...
    async def retrieve_file(self, file_id: str, options: RequestOptions) -> FileObject:
        """The metadata of file ``file_id``."""
        ...
    async def delete_file(self, file_id: str, options: RequestOptions) -> FileDeleted:
        """Delete file ``file_id``."""
        ...
    async def file_content(self, file_id: str, options: RequestOptions) -> bytes:
        """The bytes of file ``file_id``."""
        ...

    async def create_fine_tuning_job(self, req: FineTuningJobRequest, options: RequestOptions) -> FineTuningJob:
        """Queue a fine-tuning job (training file, base model, method and hyperparameters)."""
        ...
    async def list_fine_tuning_jobs(self, params: dict[str, Any], options: RequestOptions) -> PageResult[FineTuningJob]:
        """One page of fine-tuning jobs; ``params`` holds ``limit``, ``after`` and ``metadata`` filters."""
        ...
    async def retrieve_fine_tuning_job(self, job_id: str, options: RequestOptions) -> FineTuningJob:
        """Fine-tuning job ``job_id`` with its status, trained tokens and result."""
        ...
    async def cancel_fine_tuning_job(self, job_id: str, options: RequestOptions) -> FineTuningJob:
        """Cancel job ``job_id``; a job that has finished is returned unchanged."""
        ...
    async def list_fine_tuning_events(self, job_id: str, params: dict[str, Any], options: RequestOptions) -> PageResult[FineTuningJobEvent]:
        """One page of job ``job_id``'s events (progress, metrics, status changes), newest first."""
        ...
    async def list_fine_tuning_checkpoints(self, job_id: str, params: dict[str, Any], options: RequestOptions) -> PageResult[FineTuningJobCheckpoint]:
        """One page of job ``job_id``'s checkpoints with their step and metrics."""
        ...

    async def create_response(self, req: ResponseCreateRequest, options: RequestOptions) -> Response | AsyncIterator[ResponseStreamEvent]:
        """A Responses API response for ``req``, or with ``req.stream`` an async iterator of its events."""
        ...
    async def retrieve_response(self, response_id: str, options: RequestOptions) -> Response:
        """Stored response ``response_id``."""
        ...
    async def delete_response(self, response_id: str, options: RequestOptions) -> ResponseDeleted:
        """Delete stored response ``response_id``."""
        ...
    async def cancel_response(self, response_id: str, options: RequestOptions) -> Response:
        """Cancel a response created with ``background``; a finished one is returned unchanged."""
        ...
    async def list_response_input_items(self, response_id: str, params: dict[str, Any], options: RequestOptions) -> ResponseInputItemList:
        """The input items of response ``response_id``, paged by ``params``."""
        ...

    async def create_batch(self, req: BatchRequest, options: RequestOptions) -> Batch:
        """Queue a batch over an input file of purpose ``batch`` for one endpoint."""
        ...
    async def retrieve_batch(self, batch_id: str, options: RequestOptions) -> Batch:
        """Batch ``batch_id`` with its status, request counts and output and error files."""
        ...
    async def list_batches(self, params: dict[str, Any], options: RequestOptions) -> PageResult[Batch]:
        """One page of batches, newest first."""
        ...
    async def cancel_batch(self, batch_id: str, options: RequestOptions) -> Batch:
        """Cancel batch ``batch_id``: it stops within seconds and keeps what finished."""
        ...

    async def create_eval(self, body: dict[str, Any], options: RequestOptions) -> Eval:
        """Create an eval from its ``data_source_config`` and ``testing_criteria`` (``body`` as OpenAI's API takes it)."""
        ...
    async def retrieve_eval(self, eval_id: str, options: RequestOptions) -> Eval:
        """Eval ``eval_id``."""
        ...
    async def update_eval(self, eval_id: str, body: dict[str, Any], options: RequestOptions) -> Eval:
        """Change eval ``eval_id``'s ``name`` or ``metadata``."""
        ...
    async def list_evals(self, params: dict[str, Any], options: RequestOptions) -> PageResult[Eval]:
        """One page of evals."""
        ...
    async def delete_eval(self, eval_id: str, options: RequestOptions) -> EvalDeleted:
        """Delete eval ``eval_id`` and its runs."""
        ...
    async def create_eval_run(self, eval_id: str, body: dict[str, Any], options: RequestOptions) -> EvalRun:
        """Start a run of eval ``eval_id`` on a data source (the model and its items)."""
        ...
    async def retrieve_eval_run(self, eval_id: str, run_id: str, options: RequestOptions) -> EvalRun:
        """Run ``run_id`` with its status, result counts and per-criterion results."""
        ...
    async def list_eval_runs(self, eval_id: str, params: dict[str, Any], options: RequestOptions) -> PageResult[EvalRun]:
        """One page of eval ``eval_id``'s runs."""
        ...
    async def cancel_eval_run(self, eval_id: str, run_id: str, options: RequestOptions) -> EvalRun:
        """Cancel a run; the items graded so far are kept."""
        ...
    async def delete_eval_run(self, eval_id: str, run_id: str, options: RequestOptions) -> EvalRunDeleted:
        """Delete a run and its graded items."""
        ...
    async def list_eval_output_items(self, eval_id: str, run_id: str, params: dict[str, Any], options: RequestOptions) -> PageResult[EvalRunOutputItem]:
        """One page of a run's graded items (``params`` may filter by ``status``)."""
        ...
    async def retrieve_eval_output_item(self, eval_id: str, run_id: str, item_id: str, options: RequestOptions) -> EvalRunOutputItem:
        """One graded item of a run: the sample, each grader's result and the usage."""
        ...

    async def aclose(self) -> None:
        """Release what the provider holds (connections, loaded models, worker threads)."""
        ...


class BaseProvider:
    """A provider that can do nothing yet: subclasses override what their ``capabilities`` declare."""

    name: str = "base"
    capabilities: frozenset[Capability] = frozenset()

    def _refuse(self, feature: str) -> UnsupportedFeatureError:
        return UnsupportedFeatureError(self.name, feature)

    async def chat(self, req: Any, options: RequestOptions) -> Any:
        raise self._refuse("chat completions")

    async def complete(self, req: Any, options: RequestOptions) -> Any:
        raise self._refuse("completions")

    async def embed(self, req: Any, options: RequestOptions) -> Any:
        raise self._refuse("embeddings")

    async def moderate(self, req: Any, options: RequestOptions) -> Any:
        raise self._refuse("moderations")

    async def list_models(self, options: RequestOptions) -> Any:
        raise self._refuse("listing models")

    async def retrieve_model(self, model: str, options: RequestOptions) -> Any:
        raise self._refuse("retrieving models")

    async def delete_model(self, model: str, options: RequestOptions, force: bool = False) -> Any:
        raise self._refuse("deleting models")

    async def running_models(self, options: RequestOptions) -> Any:
        raise self._refuse("listing loaded models (ps)")

    async def register_model(self, name: str, path: str, options: RequestOptions) -> Any:
        raise self._refuse("registering models")

    async def alias_model(self, alias: str, model: str, options: RequestOptions) -> Any:
        raise self._refuse("model aliases")

    async def load_model(self, model: str, options: RequestOptions) -> Any:
        raise self._refuse("loading models")

    async def unload_model(self, model: str, options: RequestOptions) -> Any:
        raise self._refuse("unloading models")

    async def create_file(self, content: bytes, filename: str, purpose: str, options: RequestOptions) -> Any:
        raise self._refuse("files")

    async def list_files(self, params: dict[str, Any], options: RequestOptions) -> Any:
        raise self._refuse("files")

    async def retrieve_file(self, file_id: str, options: RequestOptions) -> Any:
        raise self._refuse("files")

    async def delete_file(self, file_id: str, options: RequestOptions) -> Any:
        raise self._refuse("files")

    async def file_content(self, file_id: str, options: RequestOptions) -> Any:
        raise self._refuse("files")

    async def create_fine_tuning_job(self, req: Any, options: RequestOptions) -> Any:
        raise self._refuse("fine-tuning")

    async def list_fine_tuning_jobs(self, params: dict[str, Any], options: RequestOptions) -> Any:
        raise self._refuse("fine-tuning")

    async def retrieve_fine_tuning_job(self, job_id: str, options: RequestOptions) -> Any:
        raise self._refuse("fine-tuning")

    async def cancel_fine_tuning_job(self, job_id: str, options: RequestOptions) -> Any:
        raise self._refuse("fine-tuning")

    async def list_fine_tuning_events(self, job_id: str, params: dict[str, Any], options: RequestOptions) -> Any:
        raise self._refuse("fine-tuning")

    async def list_fine_tuning_checkpoints(self, job_id: str, params: dict[str, Any], options: RequestOptions) -> Any:
        raise self._refuse("fine-tuning")

    async def create_response(self, req: Any, options: RequestOptions) -> Any:
        raise self._refuse("the Responses API")

    async def retrieve_response(self, response_id: str, options: RequestOptions) -> Any:
        raise self._refuse("the Responses API")

    async def delete_response(self, response_id: str, options: RequestOptions) -> Any:
        raise self._refuse("the Responses API")

    async def cancel_response(self, response_id: str, options: RequestOptions) -> Any:
        raise self._refuse("the Responses API")

    async def list_response_input_items(self, response_id: str, params: dict[str, Any], options: RequestOptions) -> Any:
        raise self._refuse("the Responses API")

    async def create_batch(self, req: Any, options: RequestOptions) -> Any:
        raise self._refuse("batches")

    async def retrieve_batch(self, batch_id: str, options: RequestOptions) -> Any:
        raise self._refuse("batches")

    async def list_batches(self, params: dict[str, Any], options: RequestOptions) -> Any:
        raise self._refuse("batches")

    async def cancel_batch(self, batch_id: str, options: RequestOptions) -> Any:
        raise self._refuse("batches")

    async def create_eval(self, body: dict[str, Any], options: RequestOptions) -> Any:
        raise self._refuse("evals")

    async def retrieve_eval(self, eval_id: str, options: RequestOptions) -> Any:
        raise self._refuse("evals")

    async def update_eval(self, eval_id: str, body: dict[str, Any], options: RequestOptions) -> Any:
        raise self._refuse("evals")

    async def list_evals(self, params: dict[str, Any], options: RequestOptions) -> Any:
        raise self._refuse("evals")

    async def delete_eval(self, eval_id: str, options: RequestOptions) -> Any:
        raise self._refuse("evals")

    async def create_eval_run(self, eval_id: str, body: dict[str, Any], options: RequestOptions) -> Any:
        raise self._refuse("evals")

    async def retrieve_eval_run(self, eval_id: str, run_id: str, options: RequestOptions) -> Any:
        raise self._refuse("evals")

    async def list_eval_runs(self, eval_id: str, params: dict[str, Any], options: RequestOptions) -> Any:
        raise self._refuse("evals")

    async def cancel_eval_run(self, eval_id: str, run_id: str, options: RequestOptions) -> Any:
        raise self._refuse("evals")

    async def delete_eval_run(self, eval_id: str, run_id: str, options: RequestOptions) -> Any:
        raise self._refuse("evals")

    async def list_eval_output_items(self, eval_id: str, run_id: str, params: dict[str, Any],
                                     options: RequestOptions) -> Any:
        raise self._refuse("evals")

    async def retrieve_eval_output_item(self, eval_id: str, run_id: str, item_id: str, options: RequestOptions) -> Any:
        raise self._refuse("evals")

    async def aclose(self) -> None:
        return None


def require(provider: Provider, capability: Capability, feature: str | None = None) -> None:
    """Refuse, before any network call, what ``provider`` does not declare."""
    if capability not in provider.capabilities:
        raise UnsupportedFeatureError(provider.name, feature or capability.value)


mirror_docstrings(BaseProvider, Provider)
