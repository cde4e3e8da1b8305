"""Fine-tuning jobs over the store, as both ways in use them: the in-process client (``client.fine_tuning``
with the Hugging Face provider) and ``llmaas serve``'s routes. ``sees`` is whose jobs and files a caller may
see (a key id, None for keyless, or ``ANYONE``); ``owner`` is who a new job belongs to.

Creating a job checks everything first (the files' owner, purpose and content, the base model, the
settings): a refused request changes nothing stored. The worker starts when none is running."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from llmaas._errors import BadRequestError, NotFoundError, RateLimitError
from llmaas._json import is_array, is_object
from llmaas._lanes import lane
from llmaas.settings import FineTuningSettings
from llmaas.store import Store
from llmaas.store.jobs.records import create_job, get_job, public, update_job
from llmaas.store.jobs.runner import JobRunner
from llmaas.store.training_files import InvalidTrainingFile, check_jsonl

MIN_TRAINING_EXAMPLES = 10  # as OpenAI
LORA_LIMITS = {"rank": (1, 256), "alpha": (1, 1024)}
LORA_TARGETS = frozenset({"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"})


def not_found(job_id: str) -> NotFoundError:
    return NotFoundError(f"Could not find fine-tune: {job_id}", status_code=404, param="fine_tuning_job_id",
                         code="fine_tune_not_found")


def check_lora(lora: Any) -> dict[str, Any]:
    """The documented LoRA extras (``lora: {rank, alpha, target_modules}``), checked."""
    if lora is None:
        return {}
    if not is_object(lora):
        raise BadRequestError("lora must be an object with rank, alpha and target_modules", status_code=400,
                              param="lora")
    unknown = sorted(set(lora) - {"rank", "alpha", "target_modules"})
    if unknown:
        raise BadRequestError(f"lora.{unknown[0]} is not a LoRA setting (rank, alpha, target_modules)",
                              status_code=400, param=f"lora.{unknown[0]}")
    for name, (low, high) in LORA_LIMITS.items():
        value = lora.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high):
            raise BadRequestError(f"lora.{name} must be an integer from {low} to {high}, got {value!r}",
                                  status_code=400, param=f"lora.{name}")
    targets = lora.get("target_modules")
    if targets is not None:
        if not is_array(targets) or not targets or not all(isinstance(t, str) for t in targets):
            raise BadRequestError("lora.target_modules must be a non-empty list of module names", status_code=400,
                                  param="lora.target_modules")
        wrong = sorted(set(targets) - LORA_TARGETS)
        if wrong:
            raise BadRequestError(f"lora.target_modules: {wrong[0]!r} is not one of {sorted(LORA_TARGETS)}",
                                  status_code=400, param="lora.target_modules")
    return dict(lora)


class FineTuningService:
    def __init__(self, store: Callable[[], Store], runner: Callable[[], JobRunner],
                 settings: FineTuningSettings | None = None) -> None:
        self._store, self._runner = store, runner
        self._settings = settings or FineTuningSettings.resolve()

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await lane("store").run(fn, *args)

    async def create(self, body: dict[str, Any], owner: str | None, sees: str | None,
                     base_path: Callable[[str], str],
                     fingerprint: Callable[[str], str | None] | None = None) -> dict[str, Any]:
        """``base_path`` maps the base model's name to what the worker loads (404/400 if it cannot train);
        ``fingerprint`` to the hash of its weights, which the fine-tuned model is tied to."""
        store = self._store()
        for param in ("training_file", "validation_file"):
            if body.get(param) is not None:
                await self._check_file(store, sees, param, body[param])
        lora = check_lora(body.pop("lora", None))
        if body.get("evals"):
            body["evals"] = await self._check_evals(store, sees, body["evals"])
        path = await self._run(base_path, body["model"])
        if fingerprint is not None:
            body["base_sha256"] = await self._run(fingerprint, body["model"])
        most = self._settings.ft_max_queued_jobs
        job = await self._run(create_job, store, owner, {**body, "lora": lora, "base_path": path}, most)
        if job is None:
            error = RateLimitError(f"this key has {most} fine-tuning jobs queued or running, the most it may "
                                   "(LLMAAS_FT_MAX_QUEUED_JOBS); wait for one to finish or cancel one",
                                   status_code=429, code="too_many_jobs", type="rate_limit_error")
            error.should_retry = False
            raise error
        self._runner().kick()
        return public(job)

    async def _check_evals(self, store: Store, sees: str | None, evals: list[str]) -> list[dict[str, Any]]:
        """Each eval the caller may see, with the run its base and tuned runs will repeat."""
        from llmaas.store.evals import records

        out: list[dict[str, Any]] = []
        for i, eval_id in enumerate(evals):
            if await self._run(records.get_eval, store, eval_id, sees) is None:
                raise BadRequestError(f"evals[{i}]: no such eval {eval_id!r}", status_code=400, param=f"evals[{i}]",
                                      code="invalid_eval")
            template = await self._run(records.latest_run, store, eval_id)
            if template is None:
                raise BadRequestError(f"evals[{i}]: eval {eval_id!r} has no run on a model yet; run it once (its "
                                      "latest run's items and data source are repeated on the base and the tuned "
                                      "model)", status_code=400, param=f"evals[{i}]", code="invalid_eval")
            out.append({"eval_id": eval_id, "template_run_id": template})
        return out

    async def _comparisons(self, job: dict[str, Any], sees: str | None) -> dict[str, Any]:
        """The job with each eval's base and tuned runs compared, once both have ended."""
        from llmaas.evals.compare import compare
        from llmaas.store.evals import records

        store = self._store()
        shown: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = job.get("evals") or []
        for given in entries:
            entry: dict[str, Any] = {k: v for k, v in given.items() if k != "comparison"}
            base_id, tuned_id = entry.get("base_run_id"), entry.get("tuned_run_id")
            if base_id and tuned_id:
                base = await self._run(records.get_run, store, entry["eval_id"], base_id, sees)
                tuned = await self._run(records.get_run, store, entry["eval_id"], tuned_id, sees)
                if base is not None and tuned is not None:
                    a = await self._run(records.run_object, store, base)
                    b = await self._run(records.run_object, store, tuned)
                    entry["status"] = "completed" if a["status"] == b["status"] == "completed" else \
                        b["status"] if a["status"] == "completed" else a["status"]
                    if a["status"] in ("completed", "canceled", "failed") and \
                            b["status"] in ("completed", "canceled", "failed"):
                        items_a, _ = await self._run(records.list_items, store, base_id, records.MAX_ITEMS_SHOWN, None)
                        items_b, _ = await self._run(records.list_items, store, tuned_id, records.MAX_ITEMS_SHOWN, None)
                        entry["comparison"] = compare(a, items_a, b, items_b)
                else:
                    entry["status"] = "deleted"
            shown.append(entry)
        return {**job, "evals": shown}

    async def _check_file(self, store: Store, sees: str | None, param: str, file_id: str) -> None:
        """The caller's file ``file_id`` holds a valid fine-tuning set (enough examples for training), or 400."""
        row = await self._run(store.get_file, file_id, sees)
        if row is None:  # missing, or another key's: the same answer
            raise BadRequestError(f"invalid {param}: no such file {file_id!r}", status_code=400, param=param,
                                  code="invalid_file")
        if row["purpose"] != "fine-tune":
            raise BadRequestError(f"{param} {file_id!r} was uploaded with purpose {row['purpose']!r}, not "
                                  "'fine-tune'", status_code=400, param=param, code="invalid_file")
        content = await self._run(store.blob_path(file_id).read_bytes)
        try:
            examples = await self._run(check_jsonl, content, self._settings.limits())
        except InvalidTrainingFile as exc:
            raise BadRequestError(f"{param} {file_id!r}: {exc}", status_code=400, param=param,
                                  code="invalid_file") from None
        least = MIN_TRAINING_EXAMPLES if param == "training_file" else 1
        if examples < least:
            raise BadRequestError(f"{param} {file_id!r} holds {examples} examples; training needs at least "
                                  f"{least}", status_code=400, param=param, code="too_few_examples")

    async def retrieve(self, job_id: str, sees: str | None) -> dict[str, Any]:
        job = await self._run(get_job, self._store(), job_id, sees)
        if job is None:
            raise not_found(job_id)
        if job["status"] in ("queued", "running"):
            self._runner().kick()  # a job a dead worker left behind gets a new one
        if job.get("evals"):
            job = await self._comparisons(job, sees)
        return public(job)

    async def list(self, sees: str | None, limit: int, after: str | None) -> tuple[list[dict[str, Any]], bool]:
        store = self._store()
        sql, args = "SELECT body, created_at, id FROM fine_tuning_jobs WHERE (? = '*' OR owner IS NOT DISTINCT FROM ?)", [sees, sees]
        if after:
            anchor = await self.retrieve(after, sees)
            sql += " AND (created_at, id) < (?, ?)"
            args += [anchor["created_at"], after]
        rows = await self._run(store.query, sql + " ORDER BY created_at DESC, id DESC LIMIT ?", (*args, limit + 1))
        return [public(json.loads(r["body"])) for r in rows[:limit]], len(rows) > limit

    async def cancel(self, job_id: str, sees: str | None) -> dict[str, Any]:
        job = await self.retrieve(job_id, sees)
        done = await self._run(lambda: update_job(self._store(), job_id, event="The job was cancelled",
                                                  only_if=frozenset({"validating_files", "queued", "running"}),
                                                  status="cancelled", finished_at=int(time.time()),
                                                  estimated_finish=None))
        if done is None:  # it had finished: that stays as it was
            raise BadRequestError(f"job {job_id} has already {job['status']}", status_code=400,
                                  param="fine_tuning_job_id", code="job_not_cancellable")
        return public(done)

    async def children(self, job_id: str, sees: str | None, table: str, limit: int,
                       after: str | None) -> tuple[list[dict[str, Any]], bool]:
        """A page of a job's events or checkpoints, newest first, after the row with id ``after``."""
        order = {"fine_tuning_events": "seq", "fine_tuning_checkpoints": "step"}[table]
        await self.retrieve(job_id, sees)
        sql, args = f"SELECT body FROM {table} WHERE job_id = ?", [job_id]
        if after:
            sql += f" AND {order} < (SELECT {order} FROM {table} WHERE id = ?)"
            args.append(after)
        rows = await self._run(self._store().query, sql + f" ORDER BY {order} DESC LIMIT ?", (*args, limit + 1))
        return [json.loads(r["body"]) for r in rows[:limit]], len(rows) > limit
