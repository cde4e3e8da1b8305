"""The adapter for OpenAI-style HTTP APIs: OpenAI itself, vLLM, TGI, Ollama's /v1, Together, Groq, ...

Auth, URL and client (this class and its presets) are kept apart from the wire protocol (``http.py``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from llmaas._errors import APIStatusError, MissingAPIKeyError, UnknownProviderError, UnsupportedFeatureError
from llmaas._options import RequestOptions
from llmaas._pagination import PageResult
from llmaas._provider import ALL_CAPABILITIES, BaseProvider, Capability
from llmaas.types import (
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
from llmaas.types.responses import TERMINAL_EVENTS

from ..presets import PRESETS, Preset
from .http import DEFAULT_TIMEOUT, HTTPTransport, validate

M = TypeVar("M", bound=BaseModel)


class OpenAICompatProvider(BaseProvider):
    """Any server that speaks the OpenAI wire format."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None = None,
        name: str = "openai",
        timeout: Any = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        default_headers: dict[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        capabilities: frozenset[Capability] = ALL_CAPABILITIES,
        **transport_options: Any,
    ) -> None:
        self.name = name
        self.capabilities = capabilities
        self.http: HTTPTransport = HTTPTransport(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=max_retries,
                                  default_headers=default_headers, http_client=http_client, **transport_options)

    @classmethod
    def from_preset(cls, name: str, *, api_key: str | None = None, base_url: str | None = None,
                    **kwargs: Any) -> OpenAICompatProvider:
        preset = PRESETS.get(name)
        if preset is None:
            raise UnknownProviderError(name, list(PRESETS))
        # a named service is not an llmaas server: registering, aliases, load and unload are refused up front
        refused: set[Capability] = {Capability.MODELS_MANAGE}
        if not preset.batches:
            refused.add(Capability.BATCHES)
        if not preset.evals:
            refused.add(Capability.EVALS)
        kwargs.setdefault("capabilities", ALL_CAPABILITIES - refused)
        return cls(name=name, base_url=base_url or _preset_url(preset), api_key=_preset_key(preset, api_key), **kwargs)

    @property
    def base_url(self) -> str:
        return self.http.base_url

    # -- inference ----------------------------------------------------------------------------------

    async def chat(self, req: ChatCompletionRequest, options: RequestOptions) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        body = req.to_body(options.extra_body)
        if req.stream:
            return await self.http.stream("chat/completions", body, ChatCompletionChunk, options)
        return await self.http.json("POST", "chat/completions", ChatCompletion, options, json=body)

    async def complete(self, req: CompletionRequest, options: RequestOptions) -> Completion | AsyncIterator[Completion]:
        body = req.to_body(options.extra_body)
        if req.stream:
            return await self.http.stream("completions", body, Completion, options)
        return await self.http.json("POST", "completions", Completion, options, json=body)

    async def embed(self, req: EmbeddingRequest, options: RequestOptions) -> CreateEmbeddingResponse:
        return await self.http.json("POST", "embeddings", CreateEmbeddingResponse, options,
                                    json=req.to_body(options.extra_body))

    async def moderate(self, req: ModerationRequest, options: RequestOptions) -> ModerationResponse:
        return await self.http.json("POST", "moderations", ModerationResponse, options,
                                    json=req.to_body(options.extra_body))

    # -- responses ----------------------------------------------------------------------------------

    async def create_response(self, req: ResponseCreateRequest, options: RequestOptions
                              ) -> Response | AsyncIterator[ResponseStreamEvent]:
        """``POST /responses``. A server without the Responses API (404 or 405 for the path, not for a
        model) is an ``UnsupportedFeatureError`` naming this provider."""
        body = req.to_body(options.extra_body)
        try:
            if req.stream:
                return await self.http.stream("responses", body, ResponseStreamEvent, options, terminal=TERMINAL_EVENTS)
            return await self.http.json("POST", "responses", Response, options, json=body)
        except APIStatusError as exc:
            if exc.status_code in (404, 405) and not _about_a_model(exc):
                raise UnsupportedFeatureError(self.name, "the Responses API") from exc
            raise

    async def retrieve_response(self, response_id: str, options: RequestOptions) -> Response:
        return await self.http.json("GET", f"responses/{_seg(response_id)}", Response, options)

    async def delete_response(self, response_id: str, options: RequestOptions) -> ResponseDeleted:
        return await self.http.json("DELETE", f"responses/{_seg(response_id)}", ResponseDeleted, options)

    async def cancel_response(self, response_id: str, options: RequestOptions) -> Response:
        return await self.http.json("POST", f"responses/{_seg(response_id)}/cancel", Response, options)

    async def list_response_input_items(self, response_id: str, params: dict[str, Any],
                                        options: RequestOptions) -> ResponseInputItemList:
        query = {k: v for k, v in params.items() if v is not None}
        return await self.http.json("GET", f"responses/{_seg(response_id)}/input_items", ResponseInputItemList,
                                    options, params=query)

    # -- models -------------------------------------------------------------------------------------

    async def list_models(self, options: RequestOptions) -> PageResult[Model]:
        return await self._page("models", Model, {}, options)

    async def retrieve_model(self, model: str, options: RequestOptions) -> Model:
        return await self.http.json("GET", f"models/{_seg(model)}", Model, options)

    async def delete_model(self, model: str, options: RequestOptions, force: bool = False) -> ModelDeleted:
        params = {"force": "true"} if force else None
        return await self.http.json("DELETE", f"models/{_seg(model)}", ModelDeleted, options, params=params)

    # llmaas servers' model management (another server answers 404, raised as NotFoundError)

    async def register_model(self, name: str, path: str, options: RequestOptions) -> Model:
        return await self.http.json("POST", "models", Model, options, json={"name": name, "path": path})

    async def alias_model(self, alias: str, model: str, options: RequestOptions) -> Model:
        return await self.http.json("POST", "aliases", Model, options, json={"name": alias, "model": model})

    async def load_model(self, model: str, options: RequestOptions) -> RunningModel:
        return await self.http.json("POST", f"models/{_seg(model)}/load", RunningModel, options)

    async def unload_model(self, model: str, options: RequestOptions) -> ModelUnloaded:
        return await self.http.json("POST", f"models/{_seg(model)}/unload", ModelUnloaded, options)

    async def running_models(self, options: RequestOptions) -> list[RunningModel]:
        """``GET /ps``: llmaas servers answer it; another server's 404 comes back as NotFoundError."""
        page = await self._page("ps", RunningModel, {}, options)
        return page.data

    # -- files --------------------------------------------------------------------------------------

    async def create_file(self, content: bytes, filename: str, purpose: str, options: RequestOptions) -> FileObject:
        return await self.http.json("POST", "files", FileObject, options,
                                    files={"file": (filename, content)}, data={"purpose": purpose})

    async def list_files(self, params: dict[str, Any], options: RequestOptions) -> PageResult[FileObject]:
        return await self._page("files", FileObject, params, options)

    async def retrieve_file(self, file_id: str, options: RequestOptions) -> FileObject:
        return await self.http.json("GET", f"files/{_seg(file_id)}", FileObject, options)

    async def delete_file(self, file_id: str, options: RequestOptions) -> FileDeleted:
        return await self.http.json("DELETE", f"files/{_seg(file_id)}", FileDeleted, options)

    async def file_content(self, file_id: str, options: RequestOptions) -> bytes:
        return await self.http.raw("GET", f"files/{_seg(file_id)}/content", options)

    # -- fine-tuning --------------------------------------------------------------------------------

    async def create_fine_tuning_job(self, req: FineTuningJobRequest, options: RequestOptions) -> FineTuningJob:
        return await self.http.json("POST", "fine_tuning/jobs", FineTuningJob, options,
                                    json=req.to_body(options.extra_body))

    async def list_fine_tuning_jobs(self, params: dict[str, Any], options: RequestOptions) -> PageResult[FineTuningJob]:
        return await self._page("fine_tuning/jobs", FineTuningJob, params, options)

    async def retrieve_fine_tuning_job(self, job_id: str, options: RequestOptions) -> FineTuningJob:
        return await self.http.json("GET", f"fine_tuning/jobs/{_seg(job_id)}", FineTuningJob, options)

    async def cancel_fine_tuning_job(self, job_id: str, options: RequestOptions) -> FineTuningJob:
        return await self.http.json("POST", f"fine_tuning/jobs/{_seg(job_id)}/cancel", FineTuningJob, options)

    async def list_fine_tuning_events(self, job_id: str, params: dict[str, Any],
                                      options: RequestOptions) -> PageResult[FineTuningJobEvent]:
        return await self._page(f"fine_tuning/jobs/{_seg(job_id)}/events", FineTuningJobEvent, params, options)

    async def list_fine_tuning_checkpoints(self, job_id: str, params: dict[str, Any],
                                           options: RequestOptions) -> PageResult[FineTuningJobCheckpoint]:
        return await self._page(f"fine_tuning/jobs/{_seg(job_id)}/checkpoints", FineTuningJobCheckpoint,
                                params, options)

    async def create_batch(self, req: BatchRequest, options: RequestOptions) -> Batch:
        return await self.http.json("POST", "batches", Batch, options, json=req.to_body(options.extra_body))

    async def retrieve_batch(self, batch_id: str, options: RequestOptions) -> Batch:
        return await self.http.json("GET", f"batches/{_seg(batch_id)}", Batch, options)

    async def list_batches(self, params: dict[str, Any], options: RequestOptions) -> PageResult[Batch]:
        return await self._page("batches", Batch, params, options)

    async def cancel_batch(self, batch_id: str, options: RequestOptions) -> Batch:
        return await self.http.json("POST", f"batches/{_seg(batch_id)}/cancel", Batch, options)

    async def create_eval(self, body: dict[str, Any], options: RequestOptions) -> Eval:
        return await self.http.json("POST", "evals", Eval, options, json=_body(body, options))

    async def retrieve_eval(self, eval_id: str, options: RequestOptions) -> Eval:
        return await self.http.json("GET", f"evals/{_seg(eval_id)}", Eval, options)

    async def update_eval(self, eval_id: str, body: dict[str, Any], options: RequestOptions) -> Eval:
        return await self.http.json("POST", f"evals/{_seg(eval_id)}", Eval, options, json=_body(body, options))

    async def list_evals(self, params: dict[str, Any], options: RequestOptions) -> PageResult[Eval]:
        return await self._page("evals", Eval, params, options)

    async def delete_eval(self, eval_id: str, options: RequestOptions) -> EvalDeleted:
        return await self.http.json("DELETE", f"evals/{_seg(eval_id)}", EvalDeleted, options)

    async def create_eval_run(self, eval_id: str, body: dict[str, Any], options: RequestOptions) -> EvalRun:
        return await self.http.json("POST", f"evals/{_seg(eval_id)}/runs", EvalRun, options, json=_body(body, options))

    async def retrieve_eval_run(self, eval_id: str, run_id: str, options: RequestOptions) -> EvalRun:
        return await self.http.json("GET", f"evals/{_seg(eval_id)}/runs/{_seg(run_id)}", EvalRun, options)

    async def list_eval_runs(self, eval_id: str, params: dict[str, Any], options: RequestOptions) -> PageResult[EvalRun]:
        return await self._page(f"evals/{_seg(eval_id)}/runs", EvalRun, params, options)

    async def cancel_eval_run(self, eval_id: str, run_id: str, options: RequestOptions) -> EvalRun:
        return await self.http.json("POST", f"evals/{_seg(eval_id)}/runs/{_seg(run_id)}", EvalRun, options)

    async def delete_eval_run(self, eval_id: str, run_id: str, options: RequestOptions) -> EvalRunDeleted:
        return await self.http.json("DELETE", f"evals/{_seg(eval_id)}/runs/{_seg(run_id)}", EvalRunDeleted, options)

    async def list_eval_output_items(self, eval_id: str, run_id: str, params: dict[str, Any],
                                     options: RequestOptions) -> PageResult[EvalRunOutputItem]:
        return await self._page(f"evals/{_seg(eval_id)}/runs/{_seg(run_id)}/output_items", EvalRunOutputItem, params,
                                options)

    async def retrieve_eval_output_item(self, eval_id: str, run_id: str, item_id: str,
                                        options: RequestOptions) -> EvalRunOutputItem:
        return await self.http.json("GET", f"evals/{_seg(eval_id)}/runs/{_seg(run_id)}/output_items/{_seg(item_id)}",
                                    EvalRunOutputItem, options)

    async def _page(self, path: str, item: type[M], params: dict[str, Any], options: RequestOptions) -> PageResult[M]:
        query = {k: v for k, v in params.items() if v is not None}
        response = await self.http.send("GET", path, options, params=query)
        page = validate(response.json(), _ListBody, response)
        data = [validate(x, item, response) for x in page.data]
        return PageResult(data=data, has_more=bool(page.has_more), object=page.object)

    async def aclose(self) -> None:
        await self.http.aclose()


def _body(body: dict[str, Any], options: RequestOptions) -> dict[str, Any]:
    return {**body, **(options.extra_body or {})}


class _ListBody(BaseModel):
    model_config = {"extra": "allow"}
    object: str = "list"
    data: list[Any]
    has_more: bool | None = False


def _about_a_model(exc: APIStatusError) -> bool:
    """A 404 that names the model (an unknown model on a server that has the route), not the route."""
    return exc.param == "model" or "model" in (exc.code or "") or "model" in str(exc).lower()


def _seg(value: str) -> str:
    return quote(value, safe="")


def _preset_url(preset: Preset) -> str:
    return os.environ.get(f"LLMAAS_{preset.name.upper()}_BASE_URL") or preset.base_url


def _preset_key(preset: Preset, api_key: str | None) -> str | None:
    key = api_key or (os.environ.get(preset.api_key_env) if preset.api_key_env else None)
    if not key and preset.key_required:
        raise MissingAPIKeyError(preset.name, preset.api_key_env)
    return key
