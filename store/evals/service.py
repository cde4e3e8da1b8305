"""Evals over the store, as both ways in use them: the in-process client (``client.evals`` with the Hugging
Face provider) and ``llmaas serve``'s ``/v1/evals`` routes. ``sees`` is whose evals and files a caller may
see (a key id, None for keyless, or ``ANYONE``); ``owner`` is who a new eval or run belongs to.

Everything is checked before anything is stored: the data source config's schema, every grader against the
item schema (a template that reads a field the items lack is refused, naming it), every item of a run
against that schema (naming its line), and every model a run calls (the model under test and the graders')."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from llmaas._errors import BadRequestError, NotFoundError
from llmaas._json import is_array, is_object
from llmaas._lanes import lane
from llmaas.evals import graders, templates
from llmaas.evals.items import Source, content_text
from llmaas.store import Store
from llmaas.store.evals import records

MAX_ITEMS = 50_000  # items in one run (a file or inline content)
MAX_CRITERIA = 32
MAX_METADATA = 16
RUN_SOURCES = ("jsonl", "completions", "responses")
ModelCheck = Callable[[str], Awaitable[None]]  # raises NotFoundError when the caller cannot use the model


def _bad(message: str, param: str | None, code: str | None = None) -> BadRequestError:
    return BadRequestError(message, status_code=400, param=param, code=code)


def eval_not_found(eval_id: str) -> NotFoundError:
    return NotFoundError(f"No eval found with id '{eval_id}'", status_code=404, param="eval_id",
                         code="eval_not_found")


def run_not_found(run_id: str) -> NotFoundError:
    return NotFoundError(f"No eval run found with id '{run_id}'", status_code=404, param="run_id",
                         code="run_not_found")


def _metadata(metadata: Any) -> dict[str, str] | None:
    if metadata is None:
        return None
    if not is_object(metadata) or len(metadata) > MAX_METADATA:
        raise _bad(f"metadata must be an object of at most {MAX_METADATA} pairs", "metadata")
    for key, value in metadata.items():
        if not isinstance(value, str) or len(key) > 64 or len(value) > 512:
            raise _bad(f"metadata {key[:64]!r}: keys have at most 64 characters and values are strings of at most "
                       "512", "metadata")
    return metadata


def _validator(schema: dict[str, Any]) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema)


def _item_schema(config: Any) -> dict[str, Any]:
    """The data source config stored as OpenAI shows it (``schema`` wraps the item's), checked."""
    from jsonschema import Draft202012Validator, SchemaError

    if not is_object(config):
        raise _bad("data_source_config must be an object", "data_source_config")
    kind = config.get("type")
    if kind != "custom":
        raise _bad(f"data_source_config.type {kind!r} is not offered: llmaas evals take 'custom' (an item_schema; "
                   "items come from each run's data source)", "data_source_config.type", "unsupported_data_source")
    item_schema = config.get("item_schema")
    if not is_object(item_schema):
        raise _bad("data_source_config.item_schema must be a JSON Schema object", "data_source_config.item_schema")
    try:
        Draft202012Validator.check_schema(item_schema)
    except SchemaError as exc:
        raise _bad(f"data_source_config.item_schema is not a valid JSON Schema: {exc.message}",
                   "data_source_config.item_schema") from None
    return item_schema


def _criteria(raw: Any, item_schema: dict[str, Any], generates: bool) -> list[graders.Grader]:
    if not is_array(raw) or not raw:
        raise _bad("testing_criteria must be a non-empty list of graders", "testing_criteria")
    if len(raw) > MAX_CRITERIA:
        raise _bad(f"testing_criteria holds {len(raw)} graders; at most {MAX_CRITERIA}", "testing_criteria")
    parsed = [graders.parse(spec, f"testing_criteria[{i}]", item_schema, generates) for i, spec in enumerate(raw)]
    names = [g.name for g in parsed]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise _bad(f"testing_criteria[{i}].name {name!r} is used twice; each grader's results are reported by "
                       "its name", f"testing_criteria[{i}].name")
    return parsed


def _source_of(body: dict[str, Any]) -> Source:
    ds = body.get("data_source")
    if not is_object(ds):
        raise _bad("data_source must be an object", "data_source")
    kind = ds.get("type")
    if kind not in RUN_SOURCES:
        raise _bad(f"data_source.type must be one of {', '.join(RUN_SOURCES)}, got {kind!r}", "data_source.type")
    messages = ds.get("input_messages")
    if messages is not None:
        if kind == "jsonl":
            raise _bad("a jsonl data source generates nothing; input_messages belong to 'completions'",
                       "data_source.input_messages")
        if not is_object(messages) or messages.get("type") not in ("template", "item_reference"):
            raise _bad("data_source.input_messages.type must be 'template' or 'item_reference'",
                       "data_source.input_messages.type")
        if messages["type"] == "template":
            template = messages.get("template")
            if not is_array(template) or not template:
                raise _bad("data_source.input_messages.template must be a list of messages",
                           "data_source.input_messages.template")
            for i, m in enumerate(template):
                if not is_object(m) or m.get("role") not in ("system", "developer", "user", "assistant"):
                    raise _bad(f"data_source.input_messages.template[{i}] needs a role (system, developer, user or "
                               "assistant) and content", f"data_source.input_messages.template[{i}]")
                try:
                    content_text(m.get("content"))
                except ValueError as exc:
                    raise _bad(f"data_source.input_messages.template[{i}].content: {exc}",
                               f"data_source.input_messages.template[{i}].content") from None
        elif not isinstance(messages.get("item_reference"), str) or \
                not messages["item_reference"].startswith("item."):
            raise _bad("data_source.input_messages.item_reference must name a field of the item ('item.messages')",
                       "data_source.input_messages.item_reference")
    model = ds.get("model")
    if kind != "jsonl" and (not isinstance(model, str) or not model):
        raise _bad(f"a {kind} data source needs the model under test in data_source.model", "data_source.model")
    sampling = ds.get("sampling_params")
    if sampling is not None and not is_object(sampling):
        raise _bad("data_source.sampling_params must be an object", "data_source.sampling_params")
    return Source.of(ds)


def _lines(raw: bytes, where: str) -> list[dict[str, Any]]:
    """The ``{"item": ..., "sample": ...}`` lines of an evals file, each checked (numbered from 1)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad(f"{where} is not UTF-8 text", "data_source.source") from None
    out: list[dict[str, Any]] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise _bad(f"{where} line {n} is not JSON: {exc}", "data_source.source", "invalid_file") from None
        out.append(_entry(value, f"{where} line {n}"))
        if len(out) > MAX_ITEMS:
            raise _bad(f"{where} holds more than {MAX_ITEMS} items", "data_source.source", "too_many_items")
    return out


def _entry(value: Any, where: str) -> dict[str, Any]:
    if not is_object(value) or not is_object(value.get("item")):
        raise _bad(f"{where} must be an object with an 'item' object ({{\"item\": {{...}}}})", "data_source.source",
                   "invalid_item")
    sample = value.get("sample")
    if sample is not None and not is_object(sample):
        raise _bad(f"{where}: 'sample' must be an object", "data_source.source", "invalid_item")
    return {"item": value["item"], "sample": sample}


def check_evals_file(content: bytes) -> int:
    """An upload of purpose ``evals``: every line an object with an ``item`` (the line named otherwise)."""
    try:
        return len(_lines(content, "the file"))
    except BadRequestError as exc:
        raise BadRequestError(exc.message, status_code=400, param="file", code=exc.code) from None


class EvalService:
    def __init__(self, store: Callable[[], Store], kick: Callable[[], None], check_model: ModelCheck) -> None:
        self._store, self._kick, self._check_model = store, kick, check_model

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await lane("store").run(fn, *args)

    # -- evals ------------------------------------------------------------------------------------------

    async def create(self, body: dict[str, Any], owner: str | None) -> dict[str, Any]:
        config = body.get("data_source_config")
        item_schema = _item_schema(config)
        assert is_object(config)
        with_sample = bool(config.get("include_sample_schema"))
        _criteria(body.get("testing_criteria"), item_schema, generates=with_sample)
        name = body.get("name") or "eval"
        if not isinstance(name, str) or len(name) > 256:
            raise _bad("name must be a string of at most 256 characters", "name")
        wrapped: dict[str, Any] = {"type": "object", "properties": {"item": item_schema}, "required": ["item"]}
        if with_sample:
            wrapped["properties"]["sample"] = {"type": "object", "properties": {"output_text": {"type": "string"}}}
            wrapped["required"].append("sample")
        stored = {"data_source_config": {"type": "custom", "schema": wrapped, "item_schema": item_schema,
                                         "include_sample_schema": with_sample},
                  "testing_criteria": body["testing_criteria"], "metadata": _metadata(body.get("metadata"))}
        return await self._run(records.insert_eval, self._store(), owner, name, stored)

    async def _eval(self, eval_id: str, sees: str | None) -> Any:
        row = await self._run(records.get_eval, self._store(), eval_id, sees)
        if row is None:
            raise eval_not_found(eval_id)
        return row

    async def retrieve(self, eval_id: str, sees: str | None) -> dict[str, Any]:
        return records.eval_object(await self._eval(eval_id, sees))

    async def update(self, eval_id: str, body: dict[str, Any], sees: str | None) -> dict[str, Any]:
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > 256):
            raise _bad("name must be a string of at most 256 characters", "name")
        if not await self._run(records.update_eval, self._store(), eval_id, sees, name,
                               _metadata(body.get("metadata"))):
            raise eval_not_found(eval_id)
        return await self.retrieve(eval_id, sees)

    async def list(self, sees: str | None, limit: int, after: str | None,
                   order: str = "asc") -> tuple[list[dict[str, Any]], bool]:
        rows, more = await self._run(records.list_evals, self._store(), sees, limit, after, order)
        return [records.eval_object(r) for r in rows], more

    async def delete(self, eval_id: str, sees: str | None) -> dict[str, Any]:
        if not await self._run(records.delete_eval, self._store(), eval_id, sees):
            raise eval_not_found(eval_id)
        self._kick()
        return {"object": "eval.deleted", "deleted": True, "eval_id": eval_id}

    # -- runs -------------------------------------------------------------------------------------------

    async def _items(self, ds: dict[str, Any], sees: str | None) -> list[dict[str, Any]]:
        source = ds.get("source")
        if not is_object(source):
            raise _bad("data_source.source must be an object (file_content or file_id)", "data_source.source")
        kind = source.get("type")
        if kind == "file_content":
            content = source.get("content")
            if not is_array(content) or not content:
                raise _bad("data_source.source.content must be a non-empty list of {\"item\": ...}",
                           "data_source.source.content")
            if len(content) > MAX_ITEMS:
                raise _bad(f"data_source.source.content holds {len(content)} items; at most {MAX_ITEMS}",
                           "data_source.source.content", "too_many_items")
            return [_entry(v, f"data_source.source.content[{i}]") for i, v in enumerate(content)]
        if kind == "file_id":
            store = self._store()
            file_id = source.get("id")
            row = await self._run(store.get_file, file_id, sees) if isinstance(file_id, str) else None
            if row is None or not isinstance(file_id, str):
                raise _bad(f"data_source.source.id: no such file {file_id!r}", "data_source.source.id", "invalid_file")
            if row["purpose"] != "evals":
                raise _bad(f"file {file_id!r} was uploaded with purpose {row['purpose']!r}, not 'evals'",
                           "data_source.source.id", "invalid_file")
            raw = await self._run(store.blob_path(file_id).read_bytes)
            items = await self._run(_lines, raw, f"file {file_id}")
            if not items:
                raise _bad(f"file {file_id!r} holds no items", "data_source.source.id", "invalid_file")
            return items
        raise _bad(f"data_source.source.type {kind!r} is not offered: use 'file_content' or 'file_id'",
                   "data_source.source.type", "unsupported_data_source")

    async def _model(self, model: str, param: str) -> None:
        try:
            await self._check_model(model)
        except NotFoundError:
            raise _bad(f"{param}: the model {model!r} does not exist", param, "model_not_found") from None

    async def create_run(self, eval_id: str, body: dict[str, Any], owner: str | None,
                         sees: str | None) -> dict[str, Any]:
        row = await self._eval(eval_id, sees)
        stored = json.loads(row["body"])
        item_schema: dict[str, Any] = stored["data_source_config"]["item_schema"]
        source = _source_of(body)
        ds: dict[str, Any] = body["data_source"]
        items = await self._items(ds, sees)
        check = _validator(item_schema)
        file_lines = is_object(ds["source"]) and ds["source"].get("type") == "file_id"
        for n, entry in enumerate(items):
            problem = next(iter(check.iter_errors(entry["item"])), None)
            if problem is not None:
                where = f"line {n + 1} of the file" if file_lines else f"data_source.source.content[{n}]"
                at = "/".join(str(p) for p in problem.absolute_path)
                raise _bad(f"{where}: the item does not match the eval's item_schema: {problem.message}"
                           + (f" (at {at})" if at else ""), "data_source.source", "invalid_item")
        with_samples = source.generates or all(e["sample"] is not None for e in items)
        criteria = _criteria(stored["testing_criteria"], item_schema, generates=with_samples)
        if source.template is not None:
            for i, m in enumerate(source.template):
                templates.check(content_text(m["content"]), item_schema,
                                f"data_source.input_messages.template[{i}].content", sample=False)
        if source.model is not None:
            await self._model(source.model, "data_source.model")
        elif any(g.type == "multiple_choice" for g in criteria):
            raise _bad("a multiple_choice grader scores the model under test: give a 'completions' data source with "
                       "its model", "data_source.type")
        for i, g in enumerate(criteria):
            if g.type in ("label_model", "score_model"):
                await self._model(g.spec["model"], f"testing_criteria[{i}].model")
        name = body.get("name") or f"{source.model or 'jsonl'} on {row['name']}"
        if not isinstance(name, str) or len(name) > 256:
            raise _bad("name must be a string of at most 256 characters", "name")
        kept = {"data_source": ds, "metadata": _metadata(body.get("metadata"))}
        if ds["source"].get("type") == "file_content":
            kept["data_source"] = {**ds, "source": {"type": "file_content", "content": f"{len(items)} items"}}
        run = await self._run(records.insert_run, self._store(), owner, eval_id, name, source.model, kept, items)
        self._kick()
        return run

    async def _run_row(self, eval_id: str, run_id: str, sees: str | None) -> Any:
        await self._eval(eval_id, sees)
        row = await self._run(records.get_run, self._store(), eval_id, run_id, sees)
        if row is None:
            raise run_not_found(run_id)
        return row

    async def retrieve_run(self, eval_id: str, run_id: str, sees: str | None) -> dict[str, Any]:
        row = await self._run_row(eval_id, run_id, sees)
        if row["status"] in records.UNFINISHED:
            self._kick()
        return await self._run(records.run_object, self._store(), row)

    async def list_runs(self, eval_id: str, sees: str | None, limit: int, after: str | None, order: str = "asc",
                        status: str | None = None) -> tuple[list[dict[str, Any]], bool]:
        await self._eval(eval_id, sees)
        store = self._store()
        rows, more = await self._run(records.list_runs, store, eval_id, sees, limit, after, order, status)
        return [await self._run(records.run_object, store, r) for r in rows], more

    async def cancel_run(self, eval_id: str, run_id: str, sees: str | None) -> dict[str, Any]:
        row = await self._run_row(eval_id, run_id, sees)
        if row["status"] not in records.UNFINISHED:
            raise _bad(f"run {run_id} has already ended ({row['status']}); only a queued or running run can be "
                       "canceled", "run_id", "run_not_cancellable")
        await self._run(records.cancel_run, self._store(), eval_id, run_id, sees)
        self._kick()
        return await self.retrieve_run(eval_id, run_id, sees)

    async def delete_run(self, eval_id: str, run_id: str, sees: str | None) -> dict[str, Any]:
        await self._run_row(eval_id, run_id, sees)
        await self._run(records.delete_run, self._store(), eval_id, run_id, sees)
        self._kick()
        return {"object": "eval.run.deleted", "deleted": True, "run_id": run_id}

    async def list_items(self, eval_id: str, run_id: str, sees: str | None, limit: int, after: str | None,
                         order: str = "asc", status: str | None = None) -> tuple[list[dict[str, Any]], bool]:
        await self._run_row(eval_id, run_id, sees)
        if status is not None and status not in ("pass", "fail", "error"):
            raise _bad("status must be pass, fail or error", "status")
        return await self._run(records.list_items, self._store(), run_id, limit, after, order, status)

    async def retrieve_item(self, eval_id: str, run_id: str, item_id: str, sees: str | None) -> dict[str, Any]:
        await self._run_row(eval_id, run_id, sees)
        item = await self._run(records.get_item, self._store(), run_id, item_id)
        if item is None:
            raise NotFoundError(f"No output item found with id '{item_id}'", status_code=404, param="output_item_id",
                                code="output_item_not_found")
        return item
