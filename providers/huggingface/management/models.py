"""``client.models`` in process: the built-in models, the registry in the store (models registered from a
folder or GGUF file, and aliases), fine-tuned models; loading and unloading under a memory budget.

The registry is the store's, so ``llmaas serve`` on the same home sees the same names at once."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import threading
from pathlib import Path
from typing import Any

from llmaas._errors import (
    APIStatusError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from llmaas._options import RequestOptions
from llmaas._pagination import PageResult
from llmaas.providers.huggingface.management.loading import (
    MINILM,
    ModelSource,
    builtin_sources,
    converted_dir,
    ensure_converted,
    resolve_source,
)
from llmaas.store import registry
from llmaas.types import Model, ModelDeleted, ModelUnloaded, RunningModel

GIB = 2**30


def _not_found(model: str) -> NotFoundError:
    return NotFoundError(f"The model '{model}' does not exist", status_code=404, param="model",
                         code="model_not_found")


def _check_name(name: str) -> None:
    try:
        registry.check_name(name)
    except ValueError as exc:
        raise BadRequestError(str(exc), status_code=400, param="name", code="invalid_model_name") from None


def _name_taken(message: str) -> ConflictError:
    return ConflictError(message, status_code=409, param="name", code="model_exists")


class ModelsMixin:
    """The model methods of the Hugging Face provider (which supplies the attributes below)."""

    files: Any
    settings: Any
    extra_models: dict[str, str]
    allow_paths: bool
    model_dirs: list[Path] | None
    progress: bool
    _engines: dict[str, Any]
    _embedders: dict[str, Any]
    _adapters: Any
    _moderator: Any
    _created: int

    _fine_tuned: Any  # (model) -> ModelSource, the provider's
    _embedder: Any  # async (source) -> the loaded embedding model, the provider's
    engine: Any  # (model, source) -> the chat engine, started if need be

    # -- names --------------------------------------------------------------------------------------

    def _store(self) -> Any:
        return self.files.store()

    def model_names(self) -> dict[str, str]:
        """Names that stand for a path: the provider's own ``models`` option and the registry's."""
        rows = self._store().query("SELECT id, path FROM registered_models WHERE path IS NOT NULL")
        return {**self.extra_models, **{r["id"]: r["path"] for r in rows}}

    def _resolve(self, model: str) -> ModelSource:
        """The files behind ``model``: an alias is followed, a fine-tuned model is its base plus adapter."""
        target = registry.resolve(self._store(), model)
        if target.startswith("ft:"):
            source = self._fine_tuned(target)
        else:
            source = resolve_source(target, self.model_names(), self.allow_paths)
        return dataclasses.replace(source, id=model) if target != model else source

    # -- memory -------------------------------------------------------------------------------------

    def _estimate(self, source: ModelSource) -> int:
        """Bytes a chat model will hold once loaded, before loading it: its parameters (from the safetensors
        headers) at the engine's dtype, their int8 copies, and the KV cache (which the engine sizes to
        ``kv_cache_gb``)."""
        from llmaas.providers.huggingface.management.details import parameter_count

        folder = converted_dir(source) if source.gguf_file else source.path
        params = parameter_count(folder) if folder.exists() else None
        if params is None:  # a GGUF not converted yet: its file holds about 4 bits a weight or more
            params = (source.path / (source.gguf_file or "")).stat().st_size * 2 if source.gguf_file else 0
        width = 2 if self.settings.torch_dtype_name == "bfloat16" else 4
        int8 = params if width == 2 and self.settings.int8_decode_batch > 0 else 0
        int8 += params if width == 2 and self.settings.dynamic_int8 else 0  # the W8A8 copies
        return params * width + int8 + int(self.settings.kv_cache_gb * GIB)

    def _resident(self) -> int:
        total = 0
        for engine in list(self._engines.values()):
            lm = engine.model
            total += lm.memory_bytes() if lm is not None else engine.estimate
        return total

    def _make_room(self, need: int) -> None:
        """Stop idle engines, least recently used first, until one more model fits: at most ``max_engines``
        of them, and their memory within ``memory_budget_gb`` (when set)."""
        limit, budget = self.settings.max_engines, self.settings.memory_budget_bytes
        if budget and need > budget:
            raise BadRequestError(f"the model needs about {need / GIB:.2f} GiB, more than the memory budget of "
                                  f"{budget / GIB:.2f} GiB (LLMAAS_MEMORY_BUDGET_GB)", status_code=400,
                                  param="model", code="model_exceeds_memory_budget")
        while len(self._engines) >= limit or (budget and self._resident() + need > budget):
            idle = next((k for k, e in self._engines.items() if e.running == 0 and e.queue_depth == 0
                         and e.ready), None)
            if idle is None:
                why = (f"{len(self._engines)} models are loaded and busy (the limit is {limit})"
                       if len(self._engines) >= limit else
                       f"the loaded models are busy and hold {self._resident() / GIB:.2f} GiB of the "
                       f"{(budget or 0) / GIB:.2f} GiB memory budget")
                raise APIStatusError(f"{why}; retry shortly", status_code=503, code="too_many_models",
                                     type="server_error", retry_after=5.0)
            engine = self._engines.pop(idle)
            threading.Thread(target=engine.shutdown, name="llmaas-engine-stop", daemon=True).start()

    # -- reading ------------------------------------------------------------------------------------

    async def list_models(self, options: RequestOptions) -> PageResult[Model]:
        def ids() -> list[str]:
            store = self._store()
            names = [*builtin_sources(), "llmaas-moderation-1", *self.extra_models]
            names += [r["id"] for r in registry.entries(store)]
            names += [r["id"] for r in store.query("SELECT id FROM models ORDER BY created_at")]
            return names

        out = []
        for name in await asyncio.to_thread(ids):
            try:
                out.append(await asyncio.to_thread(self._model, name))
            except NotFoundError:  # deleted meanwhile, or its files are gone: listed no more
                continue
        return PageResult(data=out)

    async def retrieve_model(self, model: str, options: RequestOptions) -> Model:
        """OpenAI's four fields, and what the model is (``details.describe``)."""
        return await asyncio.to_thread(self._model, model)

    def _model(self, model: str) -> Model:
        from llmaas.providers.huggingface.api.moderation import HEADS, MODEL_ID
        from llmaas.providers.huggingface.management.details import describe

        if model == MODEL_ID:
            embedder = builtin_sources()[MINILM]
            return Model(id=model, created=self._created, owned_by="llmaas",
                         **describe("moderation", HEADS, embedder.path, self._moderator is not None, base=MINILM))
        entry = registry.get(self._store(), model)
        if entry is not None and entry["target"] is not None:
            target = self._model(entry["target"])
            return target.model_copy(update={"id": model, "created": entry["created_at"], "target": target.id})
        if model.startswith("ft:"):
            return self._tuned_model(model)
        source = resolve_source(model, self.model_names(), self.allow_paths)  # NotFoundError if it cannot
        files = source.path / source.gguf_file if source.gguf_file else source.path
        config = converted_dir(source) if source.gguf_file else source.path
        loaded = source.key in (self._engines if source.kind == "chat" else self._embedders)
        extra = describe(source.kind, files, config if config.exists() else None, loaded)
        if entry is not None:
            return Model(id=model, created=entry["created_at"], owned_by=entry["owner"] or "user",
                         **{**extra, "engine": entry["engine"] or extra.get("engine")})
        return Model(id=source.id, created=self._created, owned_by="llmaas", **extra)

    def _tuned_model(self, model: str) -> Model:
        from llmaas.providers.huggingface.management.details import describe

        source = self._fine_tuned(model)  # NotFoundError once deleted
        rows = self._store().query("SELECT base, created_at FROM models WHERE id = ?", (model,))
        if not rows:  # deleted in between
            raise _not_found(model)
        row, adapter = rows[0], source.adapter
        base = dataclasses.replace(source, adapter=None)
        loaded = adapter is not None and base.key in self._engines and self._adapters.cached(model, adapter) is not None
        return Model(id=model, created=row["created_at"], owned_by="user",
                     **describe("fine-tuned", adapter, adapter, loaded, base=row["base"]), engine="compact")

    async def running_models(self, options: RequestOptions) -> list[RunningModel]:
        """Loaded chat engines (weights, KV cache, batch, queue, adapters) and embedding models."""
        out = []
        adapters = self._adapters.names()
        for engine in list(self._engines.values()):
            lm = engine.model
            if lm is None:
                continue
            out.append(RunningModel(id=engine.model_id or "?", kind="chat", memory_bytes=lm.memory_bytes(),
                                    running=engine.running, waiting=engine.queue_depth, engine=lm.engine_name,
                                    adapters=[a for a, base in adapters if base == engine.model_id]))
        for embedder in list(self._embedders.values()):
            params = sum(p.numel() * p.element_size() for p in embedder.model.parameters())
            out.append(RunningModel(id=embedder.id, kind="embedding", memory_bytes=params,
                                    engine="sentence-transformers"))
        return out

    # -- changing -----------------------------------------------------------------------------------

    async def register_model(self, name: str, path: str, options: RequestOptions) -> Model:
        """Register the model at ``path`` (a folder or a GGUF file) as ``name``. A GGUF is converted now,
        once, with a progress bar; nothing is stored unless every check and the conversion succeed."""
        from llmaas.providers.huggingface.management.inspection import check_allowed, inspect_path

        _check_name(name)
        await asyncio.to_thread(self._check_free, name)
        real = check_allowed(Path(path), self.model_dirs)
        candidate = await asyncio.to_thread(inspect_path, real)
        if candidate.path.is_file():
            source = ModelSource(name, candidate.path.parent, gguf_file=candidate.path.name)
            await asyncio.to_thread(ensure_converted, source, self.progress)
        await self._add(name, candidate.kind, path=str(real), engine=candidate.engine)
        model = await self.retrieve_model(name, options)
        return model.model_copy(update={"note": candidate.note})

    def _builtin_names(self) -> frozenset[str]:
        from llmaas.providers.huggingface.api.moderation import MODEL_ID

        return frozenset([*builtin_sources(), MODEL_ID, *self.extra_models])

    def _check_free(self, name: str) -> None:
        if name in self._builtin_names() or registry.get(self._store(), name) is not None:
            raise _name_taken(f"a model named {name!r} already exists; pick another name or delete it first")

    async def alias_model(self, alias: str, model: str, options: RequestOptions) -> Model:
        """Make ``alias`` another name for ``model`` (an alias of an alias names the model itself)."""
        _check_name(alias)
        target = await self.retrieve_model(model, options)  # 404 for an unknown model
        await self._add(alias, "alias", target=target.target or target.id)
        return await self.retrieve_model(alias, options)

    async def _add(self, name: str, kind: str, **fields: Any) -> None:
        """Store ``name`` in the registry; 409 if it clashes with any model's name meanwhile."""
        try:
            await asyncio.to_thread(registry.add, self._store(), name, None, kind, taken=self._builtin_names(),
                                    **fields)
        except registry.NameTaken as exc:
            raise _name_taken(str(exc)) from None

    async def delete_model(self, model: str, options: RequestOptions, force: bool = False) -> ModelDeleted:
        """Delete a fine-tuned model, a registered model (``force`` also deletes the models fine-tuned from
        it, which refuse to go otherwise) or an alias. Built-in models stay; a model serving requests now
        is not deleted (409)."""
        store = self._store()
        entry = await asyncio.to_thread(registry.get, store, model)
        if entry is not None and entry["target"] is not None:
            await asyncio.to_thread(registry.remove, store, model)
            return ModelDeleted(id=model, deleted=True)
        if entry is not None:
            return await self._delete_registered(entry, force)
        if not model.startswith("ft:"):
            await self.retrieve_model(model, options)  # 404 for a model that is not here
            raise PermissionDeniedError(f"model {model!r} is a built-in model and cannot be deleted", status_code=403,
                                        param="model", code="model_not_deletable")
        if not await asyncio.to_thread(self._delete_tuned, [model]):
            raise _not_found(model)
        return ModelDeleted(id=model, deleted=True)

    def _delete_tuned(self, models: list[str]) -> int:
        with self._store().transaction() as db:
            count = sum(db.execute("DELETE FROM models WHERE id = ?", (m,)).rowcount for m in models)
        for m in models:
            self._adapters.forget(m)
        return count

    async def _delete_registered(self, entry: Any, force: bool) -> ModelDeleted:
        name, store = entry["id"], self._store()
        tuned = await asyncio.to_thread(registry.tuned_from, store, name)
        if tuned and not force:
            raise ConflictError(f"{len(tuned)} fine-tuned model(s) use {name!r} as their base ({', '.join(tuned)}); "
                                "delete them first, or pass force=True to delete them too", status_code=409,
                                param="model", code="model_has_adapters")
        source = self._resolve(name)
        self._unload_source(source, name)  # 409 while it serves requests
        await asyncio.to_thread(self._delete_tuned, tuned)
        await asyncio.to_thread(registry.remove, store, name)
        if source.gguf_file and not await asyncio.to_thread(self._copy_in_use, source):
            await asyncio.to_thread(shutil.rmtree, converted_dir(source), True)  # made when it was registered
        return ModelDeleted(id=name, deleted=True)

    def _copy_in_use(self, source: ModelSource) -> bool:
        """Whether a GGUF's converted copy serves another name: a built-in model, or another registration."""
        if any(s.key == source.key for s in builtin_sources().values()):
            return True
        gguf = str(source.path / (source.gguf_file or ""))
        return any(r["path"] == gguf for r in registry.entries(self._store()))

    async def load_model(self, model: str, options: RequestOptions) -> RunningModel:
        """Load ``model`` now (as its first request would), within the memory budget; what ``ps`` shows."""
        source = await asyncio.to_thread(self._resolve, model)
        if source.kind == "embedding":
            await self._embedder(source)
        else:
            engine = self.engine(model, source)
            await asyncio.to_thread(engine.wait_ready)
            engine.wait_ready(0)
        for running in await self.running_models(options):
            if running.id in (model, source.id) or model in running.adapters:
                return running
        return (await self.running_models(options))[-1]

    async def unload_model(self, model: str, options: RequestOptions) -> ModelUnloaded:
        """Free what ``model`` holds (a chat engine, an embedding model or an adapter); 409 while it serves."""
        source = await asyncio.to_thread(self._resolve, model)
        return ModelUnloaded(id=model, unloaded=self._unload_source(source, model))

    def _unload_source(self, source: ModelSource, model: str) -> bool:
        if source.adapter is not None:
            was = self._adapters.cached(source.id, source.adapter) is not None
            self._adapters.forget(registry.resolve(self._store(), model))
            return was
        if source.kind == "embedding":
            return self._embedders.pop(source.key, None) is not None
        engine = self._engines.get(source.key)
        if engine is None:
            return False
        if engine.running or engine.queue_depth:
            raise ConflictError(f"model {model!r} is serving {engine.running} request(s) with {engine.queue_depth} "
                                "waiting; try again when they finish", status_code=409, param="model",
                                code="model_in_use")
        self._engines.pop(source.key, None)
        engine.shutdown()
        return True
