"""The ``hf`` provider: Hugging Face models in this process, on the continuous-batching engine.

    client = llmaas.Client()                                   # this provider, the built-in models
    client = llmaas.Client(provider="hf", provider_options={"hf": {"dtype": "float32", "threads": 1,
                                                                   "models": {"mine": "/path/to/folder"}}})
"""

from __future__ import annotations

import time
import uuid
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from llmaas._errors import BadRequestError, ConfigurationError, NotFoundError
from llmaas._options import NOT_GIVEN, RequestOptions
from llmaas._pagination import PageResult
from llmaas._provider import BaseProvider, Capability
from llmaas._threads import to_thread
from llmaas.lib.responses_service import ResponsesService
from llmaas.providers.huggingface.api import chat, completions
from llmaas.providers.huggingface.api.batches import InProcessBatches
from llmaas.providers.huggingface.api.evals import InProcessEvals
from llmaas.providers.huggingface.api.files import StoreFiles
from llmaas.providers.huggingface.api.fine_tuning import FineTuningJobs
from llmaas.providers.huggingface.api.requests import chat_prompt, completion_prompts, sampling_params
from llmaas.providers.huggingface.api.scoring import ScoreBatcher
from llmaas.providers.huggingface.engine import deadline
from llmaas.providers.huggingface.engine.loop import Engine
from llmaas.providers.huggingface.engine.sampling import SamplingParams
from llmaas.providers.huggingface.engine.streams import MeteredStream
from llmaas.providers.huggingface.management.loading import (
    MINILM,
    SMOLLM2,
    ModelSource,
    builtin_sources,
)
from llmaas.providers.huggingface.management.models import ModelCatalog
from llmaas.providers.huggingface.management.pool import ModelPool
from llmaas.providers.huggingface.model.adapters import Adapter, load_adapter
from llmaas.resources._base import build_request
from llmaas.settings import EngineSettings
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

DEFAULT_CHAT_MODEL = SMOLLM2
DEFAULT_EMBEDDING_MODEL = MINILM
LEGACY_DEFAULT_MAX_TOKENS = 16  # what OpenAI's completions endpoint defaults to


class HuggingFaceProvider(BaseProvider):
    """Composed of the files in the store (``files``), the loaded models (``pool``), the names and the models
    resource (``catalog``) and the fine-tuning jobs (``jobs``); its methods are the Provider protocol's."""

    name = "hf"
    capabilities: frozenset[Capability] = frozenset({Capability.CHAT, Capability.COMPLETIONS, Capability.EMBEDDINGS,
                                                     Capability.MODELS, Capability.MODELS_WRITE, Capability.MODELS_MANAGE,
                                                     Capability.FILES,
                                                     Capability.FINE_TUNING, Capability.MODERATIONS,
                                                     Capability.RESPONSES, Capability.BATCHES,
                                                     Capability.EVALS})

    def __init__(self, *, models: dict[str, str] | None = None, progress: bool = True, allow_paths: bool = True,
                 home: str | None = None, settings: EngineSettings | None = None, timeout: Any = None,
                 max_retries: int | None = None, api_key: str | None = None, base_url: str | None = None,
                 default_headers: Any = None, http_client: Any = None, **engine: Any) -> None:
        """``engine``: the settings of ``llmaas.settings.EngineSettings`` by name (``dtype="float32"``,
        ``threads=1``, ...), each winning over its ``LLMAAS_*`` variable; an unknown name is a
        ``ConfigurationError``. Or ``settings``, made whole. ``timeout`` is the client's default deadline of a
        request (a request's own wins); ``max_retries``, ``api_key``, ``base_url``, ``default_headers`` and
        ``http_client`` are the client's options for remote providers and mean nothing in process.
        ``allow_paths``: in process, a model may be any folder or GGUF on your disk; a server passes False so
        that callers reach only built-in and registered names."""
        if settings is not None and engine:
            raise ConfigurationError(f"pass engine settings either whole (settings=) or by name, not both: "
                                     f"{', '.join(sorted(engine))}")
        self.settings: EngineSettings = settings if settings is not None else EngineSettings.resolve(**engine)
        self.extra_models: dict[str, str] = dict(models or {})
        self.allow_paths = allow_paths
        # model_dirs: where models may be registered from. None: anywhere (in process, by default); a
        # server passes what --model-dir / LLMAAS_MODEL_DIRS name (none: registering is off)
        dirs = self.settings.model_dirs
        self.model_dirs: list[Path] | None = [Path(d) for d in dirs] if dirs is not None else (
            None if allow_paths else [])
        self.timeout: float | None = deadline.seconds(timeout)  # the client's default; a request's own timeout wins
        self.files: StoreFiles = StoreFiles(home)  # the store in LLMAAS_HOME (or home), shared with llmaas serve
        self.pool = ModelPool(self.settings, progress)
        self._scorers: weakref.WeakKeyDictionary[Any, ScoreBatcher] = weakref.WeakKeyDictionary()
        self.catalog = ModelCatalog(self.files.store, self.pool, self.extra_models, allow_paths, self.model_dirs,
                                    progress)
        self.jobs = FineTuningJobs(self.files.store, self.catalog.model_names, allow_paths, self.catalog.fingerprint)
        self.batches = InProcessBatches(self.files.store, self)
        self.evals = InProcessEvals(self.files.store, self)

    # -- engines ------------------------------------------------------------------------------------

    def engine(self, model: str, source: ModelSource | None = None) -> Engine:
        """The engine serving ``model`` (``ModelCatalog.engine``), started on first use."""
        return self.catalog.engine(model or DEFAULT_CHAT_MODEL, source)

    def engine_load(self) -> tuple[int, int]:
        """Sequences running and requests waiting, over every loaded chat engine (the server's metrics)."""
        engines = list(self.pool.engines.values())
        return sum(e.running for e in engines), sum(e.queue_depth for e in engines)

    def model_names(self) -> dict[str, str]:
        """Names that stand for a path: the ``models`` option and the registry's (a server's fine-tuning routes
        check a base model against them)."""
        return self.catalog.model_names()

    def base_fingerprint(self, model: str) -> str | None:
        return self.catalog.fingerprint(model)

    async def decode_tokens(self, model: str, ids: list[int]) -> str:
        engine, _ = await self._ready(model)
        size = len(engine.tokenizer)
        return engine.tokenizer.decode([i for i in ids if 0 <= i < size])

    async def _ready(self, model: str) -> tuple[Engine, Adapter | None]:
        """The engine for ``model``, loaded, and the adapter its requests carry (None for a base model)."""
        source = await to_thread(self.catalog.fine_tuned, model) if model.startswith("ft:") else None
        engine = self.engine(model, source)
        if not engine.ready:
            await to_thread(engine.wait_ready)
        engine.wait_ready(0)
        if source is None or source.adapter is None:
            return engine, None
        folder, lm = source.adapter, engine.lm
        adapters = self.pool.adapters
        adapter = adapters.cached(model, folder)
        if adapter is None:  # loaded on first use (off the event loop), then kept up to max_adapters
            adapter = await self.pool.on_torch_thread(
                lambda: adapters.get(model, folder, lambda: load_adapter(folder, lm, model)))
        return engine, adapter

    # -- chat ---------------------------------------------------------------------------------------

    def _limit(self, options: RequestOptions) -> float | None:
        return self.timeout if options.timeout is NOT_GIVEN else deadline.seconds(options.timeout)

    async def chat(self, req: ChatCompletionRequest, options: RequestOptions) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        req = with_extra_body(req, options)
        limit = self._limit(options)
        engine, adapter = await self._ready(req.model)
        tok, model = engine.tokenizer, engine.lm
        constraint = None
        if req.tools or (req.response_format is not None and req.response_format.type != "text"):
            from llmaas.providers.huggingface.engine.constrained import (
                constraint_for,  # compiled off the event loop and the engine thread
            )

            constraint = await to_thread(constraint_for, req, engine.grammar_cache())
        prompt = chat_prompt(tok, req)
        top = req.top_logprobs or 0
        if top and not req.logprobs:
            raise BadRequestError("top_logprobs requires logprobs=true", status_code=400, param="top_logprobs")
        params, n = sampling_params(req, prompt_len=len(prompt), max_len=model.max_len, vocab=model.vocab,
                                    stop_token_ids=engine.stop_ids, default_max_tokens=None,
                                    logprobs=bool(req.logprobs), top_logprobs=top,
                                    max_n=engine.config.max_num_seqs)
        params.constraint = constraint
        names = constraint.tool_names if constraint is not None and constraint.kind == "tools" else None
        events = engine.generate(prompt, params, n, adapter)
        rid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if req.stream:
            return _bounded(MeteredStream(chat.stream(events, req, rid, created, n, tok, names), [events]), limit)
        return await deadline.within(chat.collect(events, req, rid, created, n, tok, names), limit)

    # -- completions --------------------------------------------------------------------------------

    async def complete(self, req: CompletionRequest, options: RequestOptions) -> Completion | AsyncIterator[Completion]:
        req = with_extra_body(req, options)
        limit = self._limit(options)
        engine, adapter = await self._ready(req.model)
        tok, model = engine.tokenizer, engine.lm
        if req.suffix:
            raise BadRequestError("suffix (fill-in-the-middle) is not supported by this model", status_code=400,
                                  param="suffix", code="unsupported_parameter")
        if req.best_of is not None and req.best_of != (req.n or 1):
            raise BadRequestError("best_of must equal n on this server", status_code=400, param="best_of")
        prompts = completion_prompts(tok, req)
        heads: dict[int, Any] | None = None
        if req.echo and req.logprobs is not None:
            scored = await self._prompt_scores(req, prompts, engine, adapter)
            if isinstance(scored, Completion):
                return scored  # max_tokens=0: scoring only
            heads = scored
        plans: list[tuple[list[int], SamplingParams, int]] = []
        for ids in prompts:
            params, n = sampling_params(req, prompt_len=len(ids), max_len=model.max_len, vocab=model.vocab,
                                        stop_token_ids=engine.stop_ids,
                                        default_max_tokens=LEGACY_DEFAULT_MAX_TOKENS,
                                        logprobs=req.logprobs is not None, top_logprobs=req.logprobs or 0,
                                        max_n=engine.config.max_num_seqs)
            plans.append((ids, params, n))
        rid, created = f"cmpl-{uuid.uuid4().hex}", int(time.time())
        streams: completions.Streams = []
        try:
            for k, (ids, params, n) in enumerate(plans):
                streams.append((k * n, ids, engine.generate(ids, params, n, adapter)))
        except BaseException:  # a full queue part way: the prompts already queued are withdrawn
            await completions.close(streams)
            raise
        if req.stream:
            return _bounded(MeteredStream(completions.stream(streams, req, rid, created, tok),
                                          [e for _, _, e in streams]), limit)
        return await deadline.within(completions.collect(streams, req, rid, created, tok, heads), limit)

    def _scorer(self, model: Any) -> ScoreBatcher:
        """The scoring batcher of a loaded model (prompt log-probabilities, batched across requests); it goes
        with the model when the model is unloaded."""
        found = self._scorers.get(model)
        if found is None:
            found = self._scorers[model] = ScoreBatcher(model, self.pool.on_torch_thread)
        return found

    async def _prompt_scores(self, req: CompletionRequest, prompts: list[list[int]], engine: Engine,
                             adapter: Adapter | None) -> Completion | dict[int, Any]:
        """``echo`` with ``logprobs``: each prompt's own tokens scored (what a perplexity and
        lm-evaluation-harness need), by the first choice's index; with ``max_tokens=0`` the whole answer,
        scoring without generating."""
        import torch

        from llmaas.providers.huggingface.api.logprobs import prompt_logprobs

        if req.stream:
            raise BadRequestError("echo with logprobs is answered whole; ask without stream", status_code=400,
                                  param="stream", code="unsupported_parameter")
        tok, model = engine.tokenizer, engine.lm
        for k, ids in enumerate(prompts):
            if len(ids) > model.max_len:
                raise BadRequestError(f"prompt {k} has {len(ids)} tokens; this model reads at most {model.max_len}",
                                      status_code=400, param="prompt", code="context_length_exceeded")
        top, n = req.logprobs or 0, req.n or 1
        heads: dict[int, Any] = {}
        scored = await self._scorer(model).score([torch.tensor(ids, dtype=torch.long) for ids in prompts], top,
                                                  adapter)
        for k, (ids, scores) in enumerate(zip(prompts, scored, strict=True)):
            heads[k * n] = prompt_logprobs(tok, ids, scores)
        if req.max_tokens != 0:
            return heads
        total = sum(len(ids) for ids in prompts)
        return Completion.model_validate({
            "id": f"cmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": req.model,
            "usage": {"prompt_tokens": total, "completion_tokens": 0, "total_tokens": total},
            "choices": [{"index": k * n + j, "text": tok.decode(ids), "finish_reason": "length",
                         "logprobs": heads[k * n]} for k, ids in enumerate(prompts) for j in range(n)]})

    # -- embeddings ---------------------------------------------------------------------------------

    async def embed(self, req: EmbeddingRequest, options: RequestOptions) -> CreateEmbeddingResponse:
        req = with_extra_body(req, options)
        model_id = req.model or DEFAULT_EMBEDDING_MODEL
        source = await to_thread(self.catalog.resolve, model_id)
        if source.kind != "embedding":
            raise BadRequestError(f"model {model_id!r} is not an embedding model; try {DEFAULT_EMBEDDING_MODEL!r}",
                                  status_code=400, param="model", code="wrong_model_type")
        embedder = await self.pool.embedder(source)
        texts = embedder.texts(req)
        counts = embedder.count(texts)
        return await self.pool.on_torch_thread(lambda: embedder.embed(req, texts, counts))

    # -- moderations --------------------------------------------------------------------------------

    async def moderate(self, req: ModerationRequest, options: RequestOptions) -> ModerationResponse:
        """llmaas's moderation models: heads on the built-in embedding model (``api/moderation.py``)."""
        from llmaas._moderation import MODERATION_MODELS
        from llmaas.providers.huggingface.api.moderation import MODEL_ID, texts_of

        req = with_extra_body(req, options)
        if req.model is not None and req.model not in MODERATION_MODELS:
            raise NotFoundError(f"The model '{req.model}' is not a moderation model here; use one of "
                                f"{', '.join(MODERATION_MODELS)} (the default: {MODEL_ID})",
                                status_code=404, param="model", code="model_not_found")
        texts_of(req)  # refuses parts it cannot screen before any work
        moderator = await self.pool.moderator_on(builtin_sources()[DEFAULT_EMBEDDING_MODEL], req.model or MODEL_ID)
        moderator.threshold_set(req.sensitivity)  # a sensitivity the model lacks is a 400 before any work
        return await self.pool.on_torch_thread(lambda: moderator.moderate(req))

    # -- models -------------------------------------------------------------------------------------

    async def list_models(self, options: RequestOptions) -> PageResult[Model]:
        return await self.catalog.list_models(options)

    async def retrieve_model(self, model: str, options: RequestOptions) -> Model:
        return await self.catalog.retrieve_model(model, options)

    async def delete_model(self, model: str, options: RequestOptions, force: bool = False) -> ModelDeleted:
        return await self.catalog.delete_model(model, options, force)

    async def register_model(self, name: str, path: str, options: RequestOptions) -> Model:
        return await self.catalog.register_model(name, path, options)

    async def alias_model(self, alias: str, model: str, options: RequestOptions) -> Model:
        return await self.catalog.alias_model(alias, model, options)

    async def running_models(self, options: RequestOptions) -> list[RunningModel]:
        return await self.catalog.running_models(options)

    async def load_model(self, model: str, options: RequestOptions) -> RunningModel:
        return await self.catalog.load_model(model, options)

    async def unload_model(self, model: str, options: RequestOptions) -> ModelUnloaded:
        return await self.catalog.unload_model(model, options)

    # -- fine-tuning --------------------------------------------------------------------------------

    async def create_fine_tuning_job(self, req: FineTuningJobRequest, options: RequestOptions) -> FineTuningJob:
        job = await self.jobs.create(req, options)
        if job.evals:
            self.evals.start()  # the job's evals run here when it ends
        return job

    async def list_fine_tuning_jobs(self, params: dict[str, Any], options: RequestOptions) -> PageResult[FineTuningJob]:
        return await self.jobs.list_jobs(params)

    async def retrieve_fine_tuning_job(self, job_id: str, options: RequestOptions) -> FineTuningJob:
        job = await self.jobs.retrieve(job_id)
        if job.evals:
            self.evals.start()
        return job

    async def cancel_fine_tuning_job(self, job_id: str, options: RequestOptions) -> FineTuningJob:
        return await self.jobs.cancel(job_id)

    async def list_fine_tuning_events(self, job_id: str, params: dict[str, Any],
                                      options: RequestOptions) -> PageResult[FineTuningJobEvent]:
        return await self.jobs.events(job_id, params)

    async def list_fine_tuning_checkpoints(self, job_id: str, params: dict[str, Any],
                                           options: RequestOptions) -> PageResult[FineTuningJobCheckpoint]:
        return await self.jobs.checkpoints(job_id, params)

    # -- files --------------------------------------------------------------------------------------

    async def create_file(self, content: bytes, filename: str, purpose: str, options: RequestOptions) -> FileObject:
        return await self.files.create(content, filename, purpose)

    async def list_files(self, params: dict[str, Any], options: RequestOptions) -> PageResult[FileObject]:
        return await self.files.list(params)

    async def retrieve_file(self, file_id: str, options: RequestOptions) -> FileObject:
        return await self.files.retrieve(file_id)

    async def delete_file(self, file_id: str, options: RequestOptions) -> FileDeleted:
        return await self.files.delete(file_id)

    async def file_content(self, file_id: str, options: RequestOptions) -> bytes:
        return await self.files.content(file_id)

    # -- responses ----------------------------------------------------------------------------------

    def responses_service(self) -> ResponsesService:
        """The Responses API over this engine's chat, with state in the store (in process the caller sees
        every stored response, as it sees every file)."""
        from llmaas.store import ANYONE

        return ResponsesService(self.files.store(), None, ANYONE)

    async def create_response(self, req: ResponseCreateRequest, options: RequestOptions
                              ) -> Response | AsyncIterator[ResponseStreamEvent]:
        return await self.responses_service().create(req, lambda r: self.chat(r, options))

    async def retrieve_response(self, response_id: str, options: RequestOptions) -> Response:
        return await self.responses_service().retrieve(response_id)

    async def delete_response(self, response_id: str, options: RequestOptions) -> ResponseDeleted:
        return await self.responses_service().delete(response_id)

    async def cancel_response(self, response_id: str, options: RequestOptions) -> Response:
        return await self.responses_service().cancel(response_id)

    async def list_response_input_items(self, response_id: str, params: dict[str, Any],
                                        options: RequestOptions) -> ResponseInputItemList:
        return await self.responses_service().input_items(response_id, params)

    # -- batches ------------------------------------------------------------------------------------

    async def create_batch(self, req: BatchRequest, options: RequestOptions) -> Batch:
        return await self.batches.create(req)

    async def retrieve_batch(self, batch_id: str, options: RequestOptions) -> Batch:
        return await self.batches.retrieve(batch_id)

    async def list_batches(self, params: dict[str, Any], options: RequestOptions) -> PageResult[Batch]:
        return await self.batches.list(params)

    async def cancel_batch(self, batch_id: str, options: RequestOptions) -> Batch:
        return await self.batches.cancel(batch_id)

    # -- evals --------------------------------------------------------------------------------------

    async def create_eval(self, body: dict[str, Any], options: RequestOptions) -> Eval:
        return await self.evals.create(body)

    async def retrieve_eval(self, eval_id: str, options: RequestOptions) -> Eval:
        return await self.evals.retrieve(eval_id)

    async def update_eval(self, eval_id: str, body: dict[str, Any], options: RequestOptions) -> Eval:
        return await self.evals.update(eval_id, body)

    async def list_evals(self, params: dict[str, Any], options: RequestOptions) -> PageResult[Eval]:
        return await self.evals.list(params)

    async def delete_eval(self, eval_id: str, options: RequestOptions) -> EvalDeleted:
        return await self.evals.delete(eval_id)

    async def create_eval_run(self, eval_id: str, body: dict[str, Any], options: RequestOptions) -> EvalRun:
        return await self.evals.create_run(eval_id, body)

    async def retrieve_eval_run(self, eval_id: str, run_id: str, options: RequestOptions) -> EvalRun:
        return await self.evals.retrieve_run(eval_id, run_id)

    async def list_eval_runs(self, eval_id: str, params: dict[str, Any], options: RequestOptions) -> PageResult[EvalRun]:
        return await self.evals.list_runs(eval_id, params)

    async def cancel_eval_run(self, eval_id: str, run_id: str, options: RequestOptions) -> EvalRun:
        return await self.evals.cancel_run(eval_id, run_id)

    async def delete_eval_run(self, eval_id: str, run_id: str, options: RequestOptions) -> EvalRunDeleted:
        return await self.evals.delete_run(eval_id, run_id)

    async def list_eval_output_items(self, eval_id: str, run_id: str, params: dict[str, Any],
                                     options: RequestOptions) -> PageResult[EvalRunOutputItem]:
        return await self.evals.list_items(eval_id, run_id, params)

    async def retrieve_eval_output_item(self, eval_id: str, run_id: str, item_id: str,
                                        options: RequestOptions) -> EvalRunOutputItem:
        return await self.evals.retrieve_item(eval_id, run_id, item_id)

    async def aclose(self) -> None:
        await self.evals.aclose()
        await self.batches.aclose()
        self.files.close()
        await self.pool.aclose()


def _bounded(stream: Any, limit: float | None) -> Any:
    return stream if limit is None else deadline.DeadlineStream(stream, limit)


M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def with_extra_body(req: M, options: RequestOptions) -> M:
    """The request with ``extra_body`` merged in and validated again. In process there is no wire to carry
    fields the request model does not know, so those are refused (400) rather than dropped."""
    extra = options.extra_body
    if not extra:
        return req
    fields = type(req).model_fields
    aliases = {f.alias for f in fields.values() if f.alias}
    unknown = [k for k in extra if k not in fields and k not in aliases]
    if unknown:
        raise BadRequestError(f"extra_body field {unknown[0]!r} is not a request field the in-process engine "
                              f"understands; known fields: {', '.join(sorted(fields))}", status_code=400,
                              param=f"extra_body.{unknown[0]}", code="unsupported_parameter")
    return build_request(type(req), {**req.model_dump(exclude_unset=True, by_alias=True), **extra})
