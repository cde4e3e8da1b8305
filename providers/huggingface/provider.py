"""The ``hf`` provider: Hugging Face models in this process, on the continuous-batching engine.

    client = llmaas.Client()                                   # this provider, the built-in models
    client = llmaas.Client(provider="hf", provider_options={"hf": {"dtype": "float32", "threads": 1,
                                                                   "models": {"mine": "/path/to/folder"}}})
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from llmaas._errors import BadRequestError, ConfigurationError, NotFoundError
from llmaas._options import NOT_GIVEN, RequestOptions
from llmaas._pagination import PageResult
from llmaas._provider import BaseProvider, Capability
from llmaas.providers.huggingface.api import chat, completions
from llmaas.providers.huggingface.api.files import StoreFiles
from llmaas.providers.huggingface.api.fine_tuning import FineTuningMixin
from llmaas.providers.huggingface.api.requests import chat_prompt, completion_prompts, sampling_params
from llmaas.providers.huggingface.engine import deadline
from llmaas.providers.huggingface.engine.loop import Engine, EngineConfig, LoadedModel
from llmaas.providers.huggingface.engine.streams import MeteredStream
from llmaas.providers.huggingface.management.loading import (
    MINILM,
    SMOLLM2,
    ModelSource,
    builtin_sources,
    ensure_converted,
)
from llmaas.providers.huggingface.management.models import ModelsMixin
from llmaas.providers.huggingface.model.adapters import AdapterCache, load_adapter
from llmaas.resources._base import build_request
from llmaas.settings import EngineSettings
from llmaas.types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Completion,
    CompletionRequest,
    CreateEmbeddingResponse,
    EmbeddingRequest,
    FileDeleted,
    FileObject,
    ModerationRequest,
    ModerationResponse,
)

DEFAULT_CHAT_MODEL = SMOLLM2
DEFAULT_EMBEDDING_MODEL = MINILM
LEGACY_DEFAULT_MAX_TOKENS = 16  # what OpenAI's completions endpoint defaults to


class HuggingFaceProvider(ModelsMixin, FineTuningMixin, BaseProvider):
    name = "hf"
    capabilities: frozenset[Capability] = frozenset({Capability.CHAT, Capability.COMPLETIONS, Capability.EMBEDDINGS,
                                                     Capability.MODELS, Capability.MODELS_WRITE, Capability.MODELS_MANAGE,
                                                     Capability.FILES,
                                                     Capability.FINE_TUNING, Capability.MODERATIONS})

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
        self.progress = progress
        self._engines: dict[str, Engine] = {}
        self._embedders: dict[str, Any] = {}
        self._adapters = AdapterCache(self.settings.max_adapters)
        self._moderator: Any = None  # LoRA adapters by fine-tuned model id
        self._torch: concurrent.futures.ThreadPoolExecutor | None = None
        self._created = int(time.time())

    # -- engines ------------------------------------------------------------------------------------

    def _source(self, model: str) -> ModelSource:
        return self._resolve(model or DEFAULT_CHAT_MODEL)

    def _fine_tuned(self, model: str) -> ModelSource:
        """A model fine-tuned here: its base's files and the job's adapter (from the store, read on every
        request, so a deleted model stops being served at once)."""
        rows = self.files.store().query("SELECT base, path FROM models WHERE id = ?", (model,))
        if not rows or not rows[0]["path"]:
            raise NotFoundError(f"The model '{model}' does not exist", status_code=404, param="model",
                                code="model_not_found")
        base = self._resolve(rows[0]["base"])
        return dataclasses.replace(base, id=model, adapter=Path(rows[0]["path"]))

    def engine(self, model: str, source: ModelSource | None = None) -> Engine:
        """The engine serving ``model``, started (and the model loaded on its thread) on first use. At most
        ``max_engines`` are held: an idle one is stopped to make room, and if all are busy the request is
        refused (503) rather than load another model."""
        source = source or self._source(model)
        if source.kind != "chat":
            raise BadRequestError(f"model {model!r} is an embedding model; it cannot generate text",
                                  status_code=400, param="model", code="wrong_model_type")
        if source.adapter is not None:  # served by its base model's engine, the adapter applied per request
            source = dataclasses.replace(source, adapter=None)
        found = self._engines.pop(source.key, None)
        if found is None:
            need = self._estimate(source)
            self._make_room(need)
            found = Engine(lambda: self._load_chat(source), self._engine_config(), self.settings.thread_count,
                           model_id=source.id, estimate=need)
        self._engines[source.key] = found  # most recently used last
        return found

    def _engine_config(self) -> EngineConfig:
        s = self.settings
        return EngineConfig(max_num_seqs=s.max_num_seqs, max_waiting=s.max_waiting, kv_cache_gb=s.kv_cache_gb,
                            prefill_chunk=s.prefill_chunk, prefill_tokens_per_step=max(1024, s.prefill_chunk))

    def _load_chat(self, source: ModelSource) -> LoadedModel:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from llmaas.providers.huggingface.model.compact import SUPPORTED, CompactLM
        from llmaas.providers.huggingface.model.transformers_lm import TransformersLM

        folder = ensure_converted(source, progress=self.progress)
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        hf = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32, local_files_only=True)
        context = int(getattr(hf.config, "max_position_embeddings", 2048))
        max_len = min(context, self.settings.max_model_len) if self.settings.max_model_len else context
        dtype = getattr(torch, self.settings.torch_dtype_name)
        if hf.config.model_type in SUPPORTED:
            s = self.settings
            model: CompactLM | TransformersLM = CompactLM(hf, dtype, max_len, int4=s.int4)
        else:  # an architecture the compact engine does not implement: the plain transformers path
            model = TransformersLM(hf, dtype, max_len)
        model.enable_int8_decode(self.settings.int8_decode_batch)
        model.enable_native(self.settings.native_kernels)
        if self.settings.dynamic_int8:
            from llmaas.providers.huggingface.model.quant import CALIBRATION_TEXT

            calibration = tokenizer.encode(CALIBRATION_TEXT.read_text(), add_special_tokens=False)
            model.enable_dynamic_int8(torch.tensor(calibration, dtype=torch.long))
        stops = {tokenizer.eos_token_id, *_as_list(hf.config.eos_token_id),
                 *_as_list(getattr(hf.generation_config, "eos_token_id", None))}
        del hf
        return LoadedModel(model, tokenizer, sorted(s for s in stops if s is not None))

    async def _ready(self, model: str) -> tuple[Engine, Any]:
        """The engine for ``model``, loaded, and the adapter its requests carry (None for a base model)."""
        source = await asyncio.to_thread(self._fine_tuned, model) if model.startswith("ft:") else None
        engine = self.engine(model, source)
        if not engine.ready:
            await asyncio.to_thread(engine.wait_ready)
        engine.wait_ready(0)
        if source is None or source.adapter is None:
            return engine, None
        folder, lm = source.adapter, engine.model
        adapter = self._adapters.cached(model, folder)
        if adapter is None:  # loaded on first use (off the event loop), then kept up to max_adapters
            adapter = await self._on_torch_thread(lambda: self._adapters.get(model, folder,
                                                                             lambda: load_adapter(folder, lm, model)))
        return engine, adapter

    # -- chat ---------------------------------------------------------------------------------------

    def _limit(self, options: RequestOptions) -> float | None:
        return self.timeout if options.timeout is NOT_GIVEN else deadline.seconds(options.timeout)

    async def chat(self, req: ChatCompletionRequest, options: RequestOptions) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        req = with_extra_body(req, options)
        limit = self._limit(options)
        engine, adapter = await self._ready(req.model)
        tok, model = engine.tokenizer, engine.model
        constraint = None
        if req.tools or (req.response_format is not None and req.response_format.type != "text"):
            from llmaas.providers.huggingface.engine.constrained import (
                constraint_for,  # compiled off the event loop and the engine thread
            )

            constraint = await asyncio.to_thread(constraint_for, req, engine.grammar_cache())
        prompt = chat_prompt(tok, req)
        top = req.top_logprobs or 0
        if top and not req.logprobs:
            raise BadRequestError("top_logprobs requires logprobs=true", status_code=400, param="top_logprobs")
        params, n = sampling_params(req, prompt_len=len(prompt), max_len=model.max_len, vocab=model.vocab,
                                    stop_token_ids=engine.stop_ids, default_max_tokens=None,
                                    logprobs=bool(req.logprobs), top_logprobs=top,
                                    max_n=engine.config.max_num_seqs)
        params.constraint = constraint
        tools = params.constraint is not None and params.constraint.kind == "tools"
        events = engine.generate(prompt, params, n, adapter)
        rid, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if req.stream:
            return _bounded(MeteredStream(chat.stream(events, req, rid, created, n, tok, tools), [events]), limit)
        return await deadline.within(chat.collect(events, req, rid, created, n, tok, tools), limit)

    # -- completions --------------------------------------------------------------------------------

    async def complete(self, req: CompletionRequest, options: RequestOptions) -> Completion | AsyncIterator[Completion]:
        req = with_extra_body(req, options)
        limit = self._limit(options)
        engine, adapter = await self._ready(req.model)
        tok, model = engine.tokenizer, engine.model
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
        plans = []
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

    async def _prompt_scores(self, req: CompletionRequest, prompts: list[list[int]], engine: Engine,
                             adapter: Any) -> Completion | dict[int, Any]:
        """``echo`` with ``logprobs``: each prompt's own tokens scored (what a perplexity and
        lm-evaluation-harness need), by the first choice's index; with ``max_tokens=0`` the whole answer,
        scoring without generating."""
        import torch

        from llmaas.providers.huggingface.api.logprobs import prompt_logprobs

        if req.stream:
            raise BadRequestError("echo with logprobs is answered whole; ask without stream", status_code=400,
                                  param="stream", code="unsupported_parameter")
        if adapter is not None:
            raise BadRequestError("prompt logprobs (echo with logprobs) are served for base models only",
                                  status_code=400, param="echo", code="unsupported_parameter")
        tok, model = engine.tokenizer, engine.model
        for k, ids in enumerate(prompts):
            if len(ids) > model.max_len:
                raise BadRequestError(f"prompt {k} has {len(ids)} tokens; this model reads at most {model.max_len}",
                                      status_code=400, param="prompt", code="context_length_exceeded")
        top, n = req.logprobs or 0, req.n or 1
        heads: dict[int, Any] = {}
        for k, ids in enumerate(prompts):
            scores = await self._on_torch_thread(lambda ids=ids: model.score(torch.tensor(ids, dtype=torch.long), top))
            heads[k * n] = prompt_logprobs(tok, ids, scores)
        if req.max_tokens != 0:
            return heads
        total = sum(len(ids) for ids in prompts)
        return Completion(id=f"cmpl-{uuid.uuid4().hex}", created=int(time.time()), model=req.model, usage={
            "prompt_tokens": total, "completion_tokens": 0, "total_tokens": total}, choices=[
            {"index": k * n + j, "text": tok.decode(ids), "finish_reason": "length", "logprobs": heads[k * n]}
            for k, ids in enumerate(prompts) for j in range(n)])

    # -- embeddings ---------------------------------------------------------------------------------

    async def embed(self, req: EmbeddingRequest, options: RequestOptions) -> CreateEmbeddingResponse:
        req = with_extra_body(req, options)
        model_id = req.model or DEFAULT_EMBEDDING_MODEL
        source = await asyncio.to_thread(self._resolve, model_id)
        if source.kind != "embedding":
            raise BadRequestError(f"model {model_id!r} is not an embedding model; try {DEFAULT_EMBEDDING_MODEL!r}",
                                  status_code=400, param="model", code="wrong_model_type")
        embedder = await self._embedder(source)
        texts = embedder.texts(req)
        counts = embedder.count(texts)
        return await self._on_torch_thread(lambda: embedder.embed(req, texts, counts))

    async def _embedder(self, source: ModelSource) -> Any:
        embedder = self._embedders.get(source.key)
        if embedder is None:
            from llmaas.providers.huggingface.api.embeddings import Embedder

            embedder = await self._on_torch_thread(lambda: Embedder(str(source.path), source.id))
            self._embedders[source.key] = embedder
        return embedder

    # -- moderations --------------------------------------------------------------------------------

    async def moderate(self, req: ModerationRequest, options: RequestOptions) -> ModerationResponse:
        """``llmaas-moderation-1``: heads on the built-in embedding model (``moderation.py``)."""
        from llmaas.providers.huggingface.api.moderation import MODEL_ID, Moderator, texts_of

        req = with_extra_body(req, options)
        if req.model not in (None, MODEL_ID):
            raise NotFoundError(f"The model '{req.model}' is not a moderation model here; use '{MODEL_ID}'",
                                status_code=404, param="model", code="model_not_found")
        texts_of(req)  # refuses parts it cannot screen before any work
        if self._moderator is None:
            embedder = await self._embedder(builtin_sources()[DEFAULT_EMBEDDING_MODEL])
            self._moderator = await self._on_torch_thread(lambda: Moderator(embedder))
        moderator = self._moderator
        return await self._on_torch_thread(lambda: moderator.moderate(req))

    async def _on_torch_thread(self, fn: Any) -> Any:
        """Embedding work runs on one long-lived thread of its own, never on a pool of many."""
        if self._torch is None:
            self._torch = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="llmaas-torch")
        return await asyncio.wrap_future(self._torch.submit(fn))

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

    async def aclose(self) -> None:
        self.files.close()
        engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            await asyncio.to_thread(engine.shutdown)
        if self._torch is not None:
            self._torch.shutdown(wait=False)
            self._torch = None


def _bounded(stream: Any, limit: float | None) -> Any:
    return stream if limit is None else deadline.DeadlineStream(stream, limit)


M = TypeVar("M", bound=BaseModel)


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


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]
