"""The models loaded in this process: chat engines (at most ``max_engines``, within the memory budget, the
least recently used idle one stopped to make room), embedding models, LoRA adapters and the moderation heads,
with the one thread that runs embedding and moderation work."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from llmaas._errors import APIStatusError, BadRequestError, ConflictError
from llmaas._lanes import Lane
from llmaas._threads import to_thread
from llmaas.providers.huggingface.engine.loop import Engine, EngineConfig, LoadedModel
from llmaas.providers.huggingface.management.loading import ModelSource, converted_dir, ensure_converted
from llmaas.providers.huggingface.model.adapters import AdapterCache
from llmaas.settings import EngineSettings
from llmaas.types import RunningModel

if TYPE_CHECKING:
    from llmaas.providers.huggingface.api.embeddings import Embedder
    from llmaas.providers.huggingface.api.moderation import Moderator

GIB = 2**30
T = TypeVar("T")


class ModelPool:
    def __init__(self, settings: EngineSettings, progress: bool) -> None:
        self.settings = settings
        self.progress = progress
        self.engines: dict[str, Engine] = {}  # by ModelSource.key, most recently used last
        self.embedders: dict[str, Embedder] = {}
        self.adapters = AdapterCache(settings.max_adapters)  # LoRA adapters by fine-tuned model id
        self.moderators: dict[str, Moderator] = {}  # by model id
        self._torch: Lane | None = None

    # -- chat engines -------------------------------------------------------------------------------

    def engine(self, source: ModelSource) -> Engine:
        """The engine serving the chat model ``source`` (without its adapter), started on first use."""
        found = self.engines.pop(source.key, None)
        if found is None:
            need = self.estimate(source)
            self.make_room(need)
            found = Engine(lambda: self.load_chat(source), self.engine_config(), self.settings.thread_count,
                           model_id=source.id, estimate=need)
        self.engines[source.key] = found
        return found

    def engine_config(self) -> EngineConfig:
        s = self.settings
        return EngineConfig(max_num_seqs=s.max_num_seqs, max_waiting=s.max_waiting, kv_cache_gb=s.kv_cache_gb,
                            prefill_chunk=s.prefill_chunk, prefill_tokens_per_step=max(1024, s.prefill_chunk),
                            batch_rows_busy=s.batch_rows_busy, batch_prefill_tokens=s.batch_prefill_tokens)

    def load_chat(self, source: ModelSource) -> LoadedModel:
        """Load a chat model on the engine's thread: the compact model where it implements the architecture,
        the plain transformers path otherwise, with the kernels the settings and the CPU allow."""
        import torch

        from llmaas.providers.huggingface.model.compact import SUPPORTED, CompactLM
        from llmaas.providers.huggingface.model.hf import load_causal_lm, load_tokenizer
        from llmaas.providers.huggingface.model.transformers_lm import TransformersLM

        s = self.settings
        folder = ensure_converted(source, progress=self.progress)
        tokenizer = load_tokenizer(str(folder), local_files_only=True)
        hf = load_causal_lm(str(folder), dtype=torch.float32, local_files_only=True)
        context = int(getattr(hf.config, "max_position_embeddings", 2048))
        max_len = min(context, s.max_model_len) if s.max_model_len else context
        dtype = getattr(torch, s.torch_dtype_name)
        if hf.config.model_type in SUPPORTED:
            model: CompactLM | TransformersLM = CompactLM(hf, dtype, max_len, int4=s.int4)
        else:  # an architecture the compact engine does not implement: the plain transformers path
            model = TransformersLM(hf, dtype, max_len)
        model.enable_int8_decode(s.int8_decode_batch, int8=s.int8_weights == "on")
        model.enable_native(s.native_kernels)
        if s.dynamic_int8:
            from llmaas.providers.huggingface.model.quant import CALIBRATION_TEXT

            calibration = tokenizer.encode(CALIBRATION_TEXT.read_text(), add_special_tokens=False)
            model.enable_dynamic_int8(torch.tensor(calibration, dtype=torch.long))
        stops: set[int | None] = {tokenizer.eos_token_id, *_as_list(hf.config.eos_token_id),
                                  *_as_list(getattr(hf.generation_config, "eos_token_id", None))}
        del hf
        return LoadedModel(model, tokenizer, sorted(s for s in stops if s is not None))

    def estimate(self, source: ModelSource) -> int:
        """Bytes a chat model will hold once loaded, before loading it: its parameters (from the safetensors
        headers) at the engine's dtype, their int8 copies, and the KV cache (which the engine sizes to
        ``kv_cache_gb``)."""
        from llmaas.providers.huggingface.management.model_files import parameter_count

        folder = converted_dir(source) if source.gguf_file else source.path
        params = parameter_count(folder) if folder.exists() else None
        if params is None:  # a GGUF not converted yet: its file holds about 4 bits a weight or more
            params = (source.path / (source.gguf_file or "")).stat().st_size * 2 if source.gguf_file else 0
        width = 2 if self.settings.torch_dtype_name == "bfloat16" else 4
        int8 = params if width == 2 and self.settings.int8_decode_batch > 0 else 0
        int8 += params if width == 2 and self.settings.dynamic_int8 else 0  # the W8A8 copies
        return params * width + int8 + int(self.settings.kv_cache_gb * GIB)

    def resident(self) -> int:
        total = 0
        for engine in list(self.engines.values()):
            lm = engine.model
            total += lm.memory_bytes() if lm is not None else engine.estimate
        return total

    def make_room(self, need: int) -> None:
        """Stop idle engines, least recently used first, until one more model fits: at most ``max_engines``
        of them, and their memory within ``memory_budget_gb`` (when set)."""
        limit, budget = self.settings.max_engines, self.settings.memory_budget_bytes
        if budget and need > budget:
            raise BadRequestError(f"the model needs about {need / GIB:.2f} GiB, more than the memory budget of "
                                  f"{budget / GIB:.2f} GiB (LLMAAS_MEMORY_BUDGET_GB)", status_code=400,
                                  param="model", code="model_exceeds_memory_budget")
        while len(self.engines) >= limit or (budget and self.resident() + need > budget):
            idle = next((k for k, e in self.engines.items() if e.running == 0 and e.queue_depth == 0
                         and e.ready), None)
            if idle is None:
                why = (f"{len(self.engines)} models are loaded and busy (the limit is {limit})"
                       if len(self.engines) >= limit else
                       f"the loaded models are busy and hold {self.resident() / GIB:.2f} GiB of the "
                       f"{(budget or 0) / GIB:.2f} GiB memory budget")
                raise APIStatusError(f"{why}; retry shortly", status_code=503, code="too_many_models",
                                     type="server_error", retry_after=5.0)
            engine = self.engines.pop(idle)
            threading.Thread(target=engine.shutdown, name="llmaas-engine-stop", daemon=True).start()

    def stop_engine(self, source: ModelSource, model: str) -> bool:
        """Stop the engine of ``source`` (False: none runs); 409 while it serves requests."""
        engine = self.engines.get(source.key)
        if engine is None:
            return False
        if engine.running or engine.queue_depth:
            raise ConflictError(f"model {model!r} is serving {engine.running} request(s) with {engine.queue_depth} "
                                "waiting; try again when they finish", status_code=409, param="model",
                                code="model_in_use")
        self.engines.pop(source.key, None)
        engine.shutdown()
        return True

    # -- embedding and moderation -------------------------------------------------------------------

    async def embedder(self, source: ModelSource) -> Embedder:
        found = self.embedders.get(source.key)
        if found is None:
            from llmaas.providers.huggingface.api.embeddings import Embedder

            found = await self.on_torch_thread(lambda: Embedder(str(source.path), source.id))
            self.embedders[source.key] = found
        return found

    async def moderator_on(self, embedding_model: ModelSource, model_id: str) -> Moderator:
        found = self.moderators.get(model_id)
        if found is None:
            from llmaas.providers.huggingface.api.moderation import (
                Moderator,
                heads_metadata,
                reads_sentence_vectors,
            )

            embedder = await self.embedder(embedding_model) if reads_sentence_vectors(heads_metadata(model_id)) else None
            found = await self.on_torch_thread(lambda: Moderator(model_id, embedder))
            self.moderators[model_id] = found
        return found

    async def on_torch_thread(self, fn: Callable[[], T]) -> T:
        """Embedding work runs on one long-lived thread of its own, never on a pool of many (a lane of one
        thread, without a time limit; every call waits its turn)."""
        if self._torch is None:
            self._torch = Lane("torch", 1, timeout=None, max_waiting=sys.maxsize)
        return await self._torch.run(fn)

    # -- what is loaded -----------------------------------------------------------------------------

    def running(self) -> list[RunningModel]:
        """Loaded chat engines (weights, KV cache, batch, queue, adapters) and embedding models."""
        out: list[RunningModel] = []
        adapters = self.adapters.names()
        for engine in list(self.engines.values()):
            lm = engine.model
            if lm is None:
                continue
            out.append(RunningModel(id=engine.model_id or "?", kind="chat", memory_bytes=lm.memory_bytes(),
                                    running=engine.running, waiting=engine.queue_depth, engine=lm.engine_name,
                                    adapters=[a for a, base in adapters if base == engine.model_id]))
        for embedder in list(self.embedders.values()):
            out.append(RunningModel(id=embedder.id, kind="embedding", memory_bytes=embedder.memory_bytes(),
                                    engine="sentence-transformers"))
        return out

    async def aclose(self) -> None:
        engines, self.engines = list(self.engines.values()), {}
        for engine in engines:
            await to_thread(engine.shutdown)
        self._torch = None  # its daemon thread goes idle; calls in flight finish


def _as_list(value: Any) -> list[Any]:  # a config's eos_token_id: an id, a list of them, or None
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [*value]
    return [value]
