"""The Provider protocol: what every backend (remote API, in-process engine, local server) implements.

A provider declares its capabilities; the SDK checks them and raises ``UnsupportedFeatureError`` before
anything goes over the network. ``BaseProvider`` gives third parties a start: every method refuses, so a
provider implements only what it declares.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

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

    def responses_service(self) -> ResponsesService: ...


@runtime_checkable
class PartialUsage(Protocol):
    """A stream that knows what it has consumed so far, so that a server meters a client that left part
    way (the in-process engine's streams are)."""

    @property
    def partial_usage(self) -> dict[str, int]: ...


@runtime_checkable
class Provider(Protocol):
    name: str
    capabilities: frozenset[Capability]

    async def chat(self, req: ChatCompletionRequest, options: RequestOptions) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]: ...
    async def complete(self, req: CompletionRequest, options: RequestOptions) -> Completion | AsyncIterator[Completion]: ...
    async def embed(self, req: EmbeddingRequest, options: RequestOptions) -> CreateEmbeddingResponse: ...
    async def moderate(self, req: ModerationRequest, options: RequestOptions) -> ModerationResponse: ...

    async def list_models(self, options: RequestOptions) -> PageResult[Model]: ...
    async def retrieve_model(self, model: str, options: RequestOptions) -> Model: ...
    async def delete_model(self, model: str, options: RequestOptions, force: bool = False) -> ModelDeleted: ...
    async def running_models(self, options: RequestOptions) -> list[RunningModel]: ...
    async def register_model(self, name: str, path: str, options: RequestOptions) -> Model: ...
    async def alias_model(self, alias: str, model: str, options: RequestOptions) -> Model: ...
    async def load_model(self, model: str, options: RequestOptions) -> RunningModel: ...
    async def unload_model(self, model: str, options: RequestOptions) -> ModelUnloaded: ...

    async def create_file(self, content: bytes, filename: str, purpose: str, options: RequestOptions) -> FileObject: ...
    async def list_files(self, params: dict[str, Any], options: RequestOptions) -> PageResult[FileObject]: ...
    async def retrieve_file(self, file_id: str, options: RequestOptions) -> FileObject: ...
    async def delete_file(self, file_id: str, options: RequestOptions) -> FileDeleted: ...
    async def file_content(self, file_id: str, options: RequestOptions) -> bytes: ...

    async def create_fine_tuning_job(self, req: FineTuningJobRequest, options: RequestOptions) -> FineTuningJob: ...
    async def list_fine_tuning_jobs(self, params: dict[str, Any], options: RequestOptions) -> PageResult[FineTuningJob]: ...
    async def retrieve_fine_tuning_job(self, job_id: str, options: RequestOptions) -> FineTuningJob: ...
    async def cancel_fine_tuning_job(self, job_id: str, options: RequestOptions) -> FineTuningJob: ...
    async def list_fine_tuning_events(self, job_id: str, params: dict[str, Any], options: RequestOptions) -> PageResult[FineTuningJobEvent]: ...
    async def list_fine_tuning_checkpoints(self, job_id: str, params: dict[str, Any], options: RequestOptions) -> PageResult[FineTuningJobCheckpoint]: ...

    async def create_response(self, req: ResponseCreateRequest, options: RequestOptions) -> Response | AsyncIterator[ResponseStreamEvent]: ...
    async def retrieve_response(self, response_id: str, options: RequestOptions) -> Response: ...
    async def delete_response(self, response_id: str, options: RequestOptions) -> ResponseDeleted: ...
    async def cancel_response(self, response_id: str, options: RequestOptions) -> Response: ...
    async def list_response_input_items(self, response_id: str, params: dict[str, Any], options: RequestOptions) -> ResponseInputItemList: ...

    async def create_batch(self, req: BatchRequest, options: RequestOptions) -> Batch: ...
    async def retrieve_batch(self, batch_id: str, options: RequestOptions) -> Batch: ...
    async def list_batches(self, params: dict[str, Any], options: RequestOptions) -> PageResult[Batch]: ...
    async def cancel_batch(self, batch_id: str, options: RequestOptions) -> Batch: ...

    async def create_eval(self, body: dict[str, Any], options: RequestOptions) -> Eval: ...
    async def retrieve_eval(self, eval_id: str, options: RequestOptions) -> Eval: ...
    async def update_eval(self, eval_id: str, body: dict[str, Any], options: RequestOptions) -> Eval: ...
    async def list_evals(self, params: dict[str, Any], options: RequestOptions) -> PageResult[Eval]: ...
    async def delete_eval(self, eval_id: str, options: RequestOptions) -> EvalDeleted: ...
    async def create_eval_run(self, eval_id: str, body: dict[str, Any], options: RequestOptions) -> EvalRun: ...
    async def retrieve_eval_run(self, eval_id: str, run_id: str, options: RequestOptions) -> EvalRun: ...
    async def list_eval_runs(self, eval_id: str, params: dict[str, Any], options: RequestOptions) -> PageResult[EvalRun]: ...
    async def cancel_eval_run(self, eval_id: str, run_id: str, options: RequestOptions) -> EvalRun: ...
    async def delete_eval_run(self, eval_id: str, run_id: str, options: RequestOptions) -> EvalRunDeleted: ...
    async def list_eval_output_items(self, eval_id: str, run_id: str, params: dict[str, Any], options: RequestOptions) -> PageResult[EvalRunOutputItem]: ...
    async def retrieve_eval_output_item(self, eval_id: str, run_id: str, item_id: str, options: RequestOptions) -> EvalRunOutputItem: ...

    async def aclose(self) -> None: ...


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
