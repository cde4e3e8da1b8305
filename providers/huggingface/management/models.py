"""``client.models`` in process (``ModelCatalog``): the built-in models, the registry in the store (models
registered from a folder or GGUF file, and aliases), fine-tuned models; loading and unloading through the
pool of loaded models (``pool.py``), under its memory budget.

The registry is the store's, so ``llmaas serve`` on the same home sees the same names at once."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from llmaas._errors import (
    APIStatusError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from llmaas._lanes import lane
from llmaas._moderation import MODERATION_MODELS
from llmaas._options import RequestOptions
from llmaas._pagination import PageResult
from llmaas.providers.huggingface.engine.loop import Engine
from llmaas.providers.huggingface.management.convert import ConversionFailed, convert_in_child
from llmaas.providers.huggingface.management.loading import (
    MINILM,
    SMOLLM2,
    ModelSource,
    builtin_sources,
    converted_dir,
    resolve_source,
)
from llmaas.providers.huggingface.management.model_files import BadModelFile, weights_sha256
from llmaas.providers.huggingface.management.pool import ModelPool
from llmaas.store import Store, registry
from llmaas.types import Model, ModelDeleted, ModelUnloaded, RunningModel

T = TypeVar("T")
CONVERSION_TIMEOUT = 1800.0  # seconds a GGUF's conversion may take at registration (a 7B model: minutes)
log: logging.Logger = logging.getLogger("llmaas.models")


async def _io(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Model file work (and the store reads beside it) in the ``models`` lane: bounded threads with a time
    limit, never the threads that serve chat or the store's."""
    return await lane("models").run(fn, *args, **kwargs)


def _not_found(model: str) -> NotFoundError:
    return NotFoundError(f"The model '{model}' does not exist", status_code=404, param="model",
                         code="model_not_found")


def _check_name(name: str) -> None:
    try:
        registry.check_name(name)
    except ValueError as exc:
        raise BadRequestError(str(exc), status_code=400, param="name", code="invalid_model_name") from None


def unavailable(model: str, exc: BaseException) -> APIStatusError:
    """A model whose files cannot be used now (changed on disk since it was registered): its own requests
    get this, nothing else is affected."""
    return APIStatusError(f"model {model!r} is unavailable: {exc}", status_code=503, param="model",
                          code="model_unavailable", type="server_error")


def _name_taken(message: str) -> ConflictError:
    return ConflictError(message, status_code=409, param="name", code="model_exists")


_HASHES: dict[tuple[str, int, int], str] = {}


def _file_hash(path: Path) -> str:
    """``weights_sha256`` of a built-in model, kept per file, size and modification time."""
    info = path.stat()
    key = (str(path), info.st_size, info.st_mtime_ns)
    if key not in _HASHES:
        _HASHES[key] = weights_sha256(path)
    return _HASHES[key]


class ModelCatalog:
    """Names to models, and the models resource over them; what is loaded is the pool's."""

    def __init__(self, store: Callable[[], Store], pool: ModelPool, extra_models: dict[str, str], allow_paths: bool,
                 model_dirs: list[Path] | None, progress: bool) -> None:
        self._store = store  # the store of the provider's home, opened on first use
        self.pool = pool
        self.extra_models = extra_models
        self.allow_paths = allow_paths
        self.model_dirs = model_dirs
        self.progress = progress
        self._created = int(time.time())

    # -- names --------------------------------------------------------------------------------------

    def model_names(self) -> dict[str, str]:
        """Names that stand for a path: the provider's own ``models`` option and the registry's."""
        rows = self._store().query("SELECT id, path FROM registered_models WHERE path IS NOT NULL")
        return {**self.extra_models, **{r["id"]: r["path"] for r in rows}}

    def resolve(self, model: str) -> ModelSource:
        """The files behind ``model``: an alias is followed, a fine-tuned model is its base plus adapter."""
        target = registry.resolve(self._store(), model)
        if target.startswith("ft:"):
            source = self.fine_tuned(target)
        else:
            source = resolve_source(target, self.model_names(), self.allow_paths)
        return dataclasses.replace(source, id=model) if target != model else source

    def fine_tuned(self, model: str) -> ModelSource:
        """A model fine-tuned here: its base's files and the job's adapter (from the store, read on every
        request, so a deleted model stops being served at once)."""
        rows = self._store().query("SELECT base, path, base_sha256 FROM models WHERE id = ?", (model,))
        if not rows or not rows[0]["path"]:
            raise _not_found(model)
        base = self.resolve(rows[0]["base"])
        trained_on = rows[0]["base_sha256"]
        if trained_on is not None and trained_on != self.fingerprint(rows[0]["base"], base):
            raise ConflictError(f"model {model!r} was trained on other weights than the model now named "
                                f"{rows[0]['base']!r} (it was replaced); it is not served on them", status_code=409,
                                param="model", code="base_model_changed")
        return dataclasses.replace(base, id=model, adapter=Path(rows[0]["path"]))

    def fingerprint(self, model: str, source: ModelSource | None = None) -> str | None:
        """The hash of the weights behind base model ``model``: the registry's (taken at registration), or for
        a built-in model its file's (once per process)."""
        entry = registry.get(self._store(), registry.resolve(self._store(), model))
        if entry is not None:
            return entry["weights_sha256"]
        source = source or self.resolve(model)
        if source.kind != "chat":
            return None
        return _file_hash(source.path / source.gguf_file if source.gguf_file else source.path)

    def engine(self, model: str, source: ModelSource | None = None) -> Engine:
        """The engine serving ``model``, started (and the model loaded on its thread) on first use. At most
        ``max_engines`` are held: an idle one is stopped to make room, and if all are busy the request is
        refused (503) rather than load another model."""
        source = source or self.resolve(model)
        if source.kind != "chat":
            raise BadRequestError(f"model {model!r} is an embedding model; it cannot generate text",
                                  status_code=400, param="model", code="wrong_model_type")
        if source.adapter is not None:  # served by its base model's engine, the adapter applied per request
            source = dataclasses.replace(source, adapter=None)
        try:
            return self.pool.engine(source)
        except BadModelFile as exc:
            raise unavailable(model, exc) from None

    # -- reading ------------------------------------------------------------------------------------

    async def list_models(self, options: RequestOptions) -> PageResult[Model]:
        def ids() -> list[str]:
            store = self._store()
            names = [*builtin_sources(), *MODERATION_MODELS, *self.extra_models]
            names += [r["id"] for r in registry.entries(store)]
            names += [r["id"] for r in store.query("SELECT id FROM models ORDER BY created_at")]
            return names

        out: list[Model] = []
        for name in await _io(ids):
            try:
                out.append(await _io(self._model, name))
            except NotFoundError:  # deleted meanwhile, or its files are gone: listed no more
                continue
            except Exception as exc:  # noqa: BLE001 - one broken model never breaks the list for everyone
                log.warning("model %s cannot be described: %s", name, exc)
                out.append(Model(id=name, created=self._created, owned_by="user", note=f"unavailable: {exc}"[:300]))
        return PageResult(data=out)

    async def retrieve_model(self, model: str, options: RequestOptions) -> Model:
        """OpenAI's four fields, and what the model is (``details.describe``)."""
        try:
            return await _io(self._model, model)
        except BadModelFile as exc:
            raise unavailable(model, exc) from None

    def _model(self, model: str) -> Model:
        from llmaas.providers.huggingface.api.moderation import HEADS, heads_metadata, reads_sentence_vectors
        from llmaas.providers.huggingface.management.details import describe

        if model in MODERATION_MODELS:  # heads on the embedding model, or on the chat model's states
            sentence = reads_sentence_vectors(heads_metadata(model))
            folder = builtin_sources()[MINILM].path if sentence else None
            return Model(id=model, created=self._created, owned_by="llmaas",
                         **describe("moderation", HEADS[model], folder, model in self.pool.moderators,
                                    base=MINILM if sentence else SMOLLM2))
        entry = registry.get(self._store(), model)
        if entry is not None and entry["target"] is not None:
            target = self._model(entry["target"])
            return target.model_copy(update={"id": model, "created": entry["created_at"], "target": target.id})
        if model.startswith("ft:"):
            return self._tuned_model(model)
        source = resolve_source(model, self.model_names(), self.allow_paths)  # NotFoundError if it cannot
        files = source.path / source.gguf_file if source.gguf_file else source.path
        config = converted_dir(source) if source.gguf_file else source.path
        loaded = source.key in (self.pool.engines if source.kind == "chat" else self.pool.embedders)
        extra = describe(source.kind, files, config if config.exists() else None, loaded)
        if entry is not None:
            return Model.model_validate({**extra, "id": model, "created": entry["created_at"],
                                         "owned_by": entry["owner"] or "user",
                                         "engine": entry["engine"] or extra.get("engine")})
        return Model.model_validate({**extra, "id": source.id, "created": self._created, "owned_by": "llmaas"})

    def _tuned_model(self, model: str) -> Model:
        from llmaas.providers.huggingface.management.details import describe

        source = self.fine_tuned(model)  # NotFoundError once deleted
        rows = self._store().query("SELECT base, created_at FROM models WHERE id = ?", (model,))
        if not rows:  # deleted in between
            raise _not_found(model)
        row, adapter = rows[0], source.adapter
        base = dataclasses.replace(source, adapter=None)
        loaded = adapter is not None and base.key in self.pool.engines and self.pool.adapters.cached(model, adapter) is not None
        return Model(id=model, created=row["created_at"], owned_by="user",
                     **describe("fine-tuned", adapter, adapter, loaded, base=row["base"]), engine="compact")

    async def running_models(self, options: RequestOptions) -> list[RunningModel]:
        """Loaded chat engines (weights, KV cache, batch, queue, adapters) and embedding models."""
        return self.pool.running()

    # -- changing -----------------------------------------------------------------------------------

    async def register_model(self, name: str, path: str, options: RequestOptions) -> Model:
        """Register the model at ``path`` (a folder or a GGUF file) as ``name``. Every file it reads is checked
        first (regular files only, sizes and headers bounded, links confined to the model folders); a GGUF
        is converted now, once, with a progress bar. Nothing is stored unless every check and the conversion
        succeed, and the model can be described."""
        from llmaas.providers.huggingface.management.inspection import (
            allowed_roots,
            check_allowed,
            inspect_path,
        )

        _check_name(name)
        await _io(self._check_free, name)
        real = check_allowed(Path(path), self.model_dirs)
        candidate = await _io(inspect_path, real, allowed_roots(self.model_dirs))
        if candidate.path.is_file():
            source = ModelSource(name, candidate.path.parent, gguf_file=candidate.path.name)
            try:  # in a child process: a crafted file cannot hold this process's interpreter for minutes
                await lane("convert").run(convert_in_child, source, self.progress, CONVERSION_TIMEOUT)
            except ConversionFailed as exc:
                log.warning("converting %s failed: %s", candidate.path, exc)
                raise BadRequestError(f"{path!r} is a GGUF file llmaas cannot convert: {exc}", status_code=400,
                                      param="path", code="invalid_model_file") from None
        sha = await _io(weights_sha256, candidate.path) if candidate.kind == "chat" else None
        await self._add(name, candidate.kind, path=str(real), engine=candidate.engine, weights_sha256=sha)
        try:
            model = await _io(self._model, name)
        except Exception as exc:
            await _io(registry.remove, self._store(), name)  # stored only if it can be served
            if isinstance(exc, (BadModelFile, OSError)):
                raise BadRequestError(f"{path!r} cannot be registered: {exc}", status_code=400, param="path",
                                      code="invalid_model_file") from None
            raise
        return model.model_copy(update={"note": candidate.note})

    def _builtin_names(self) -> frozenset[str]:
        return frozenset([*builtin_sources(), *MODERATION_MODELS, *self.extra_models])

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
            await _io(registry.add, self._store(), name, None, kind, taken=self._builtin_names(),
                                    **fields)
        except registry.NameTaken as exc:
            raise _name_taken(str(exc)) from None

    async def delete_model(self, model: str, options: RequestOptions, force: bool = False) -> ModelDeleted:
        """Delete a fine-tuned model, a registered model (``force`` also deletes the models fine-tuned from
        it, which refuse to go otherwise) or an alias. Built-in models stay; a model serving requests now
        is not deleted (409)."""
        store = self._store()
        entry = await _io(registry.get, store, model)
        if entry is not None and entry["target"] is not None:
            await _io(registry.remove, store, model)
            return ModelDeleted(id=model, deleted=True)
        if entry is not None:
            return await self._delete_registered(entry, force)
        if not model.startswith("ft:"):
            await self.retrieve_model(model, options)  # 404 for a model that is not here
            raise PermissionDeniedError(f"model {model!r} is a built-in model and cannot be deleted", status_code=403,
                                        param="model", code="model_not_deletable")
        if not await _io(self._delete_tuned, [model]):
            raise _not_found(model)
        return ModelDeleted(id=model, deleted=True)

    def _delete_tuned(self, models: list[str]) -> int:
        with self._store().transaction() as db:
            count = sum(db.execute("DELETE FROM models WHERE id = ?", (m,)).rowcount for m in models)
        for m in models:
            self.pool.adapters.forget(m)
        return count

    async def _delete_registered(self, entry: Any, force: bool) -> ModelDeleted:
        name, store = entry["id"], self._store()
        tuned = await _io(registry.tuned_from, store, name)
        jobs = await _io(registry.jobs_on, store, name)
        if tuned and not force:
            raise ConflictError(f"{len(tuned)} fine-tuned model(s) use {name!r} as their base ({', '.join(tuned)}); "
                                "delete them first, or pass force=True to delete them too", status_code=409,
                                param="model", code="model_has_adapters")
        if jobs and not force:
            raise ConflictError(f"{len(jobs)} fine-tuning job(s) queued or running train on {name!r} "
                                f"({', '.join(jobs)}); cancel them first, or pass force=True to cancel them too",
                                status_code=409, param="model", code="model_has_jobs")
        source = self.resolve(name)
        self._unload_source(source, name)  # 409 while it serves requests
        await _io(registry.cancel_jobs, store, jobs, f"its base model {name!r} was deleted")
        paths = await _io(registry.adapter_paths, store, tuned, jobs)
        await _io(self._delete_tuned, tuned)
        await _io(registry.remove, store, name)
        for path in paths:  # the adapters' blobs, under the store's own folder only
            await _io(shutil.rmtree, path, True)
        if source.gguf_file and not await _io(self._copy_in_use, source):
            await _io(shutil.rmtree, converted_dir(source), True)  # made when it was registered
        return ModelDeleted(id=name, deleted=True)

    def _copy_in_use(self, source: ModelSource) -> bool:
        """Whether a GGUF's converted copy serves another name: a built-in model, or another registration."""
        if any(s.key == source.key for s in builtin_sources().values()):
            return True
        gguf = str(source.path / (source.gguf_file or ""))
        return any(r["path"] == gguf for r in registry.entries(self._store()))

    async def load_model(self, model: str, options: RequestOptions) -> RunningModel:
        """Load ``model`` now (as its first request would), within the memory budget; what ``ps`` shows."""
        source = await _io(self.resolve, model)
        if source.kind == "embedding":
            await self.pool.embedder(source)
        else:
            engine = self.engine(model, source)
            await _io(engine.wait_ready)
            engine.wait_ready(0)
        for running in await self.running_models(options):
            if running.id in (model, source.id) or model in running.adapters:
                return running
        return (await self.running_models(options))[-1]

    async def unload_model(self, model: str, options: RequestOptions) -> ModelUnloaded:
        """Free what ``model`` holds (a chat engine, an embedding model or an adapter); 409 while it serves."""
        source = await _io(self.resolve, model)
        return ModelUnloaded(id=model, unloaded=self._unload_source(source, model))

    def _unload_source(self, source: ModelSource, model: str) -> bool:
        if source.adapter is not None:
            was = self.pool.adapters.cached(source.id, source.adapter) is not None
            self.pool.adapters.forget(registry.resolve(self._store(), model))
            return was
        if source.kind == "embedding":
            return self.pool.embedders.pop(source.key, None) is not None
        return self.pool.stop_engine(source, model)
