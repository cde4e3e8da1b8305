"""The Evals API: an eval (a data source config and testing criteria), its runs against models, and each
run's graded items, in OpenAI's shapes. Graders and data sources are plain JSON objects (``dict``), as
OpenAI's evals write them; the server checks them and names what is wrong."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from ._base import ResponseModel

EvalRunStatus = Literal["queued", "in_progress", "completed", "canceled", "failed"]


class Eval(ResponseModel):
    """An eval: its data source config (the items' schema) and testing criteria (the graders)."""
    keep_null: ClassVar[frozenset[str]] = frozenset({"metadata"})
    id: str
    object: Literal["eval"] = "eval"
    name: str
    created_at: int
    data_source_config: dict[str, Any]
    """``{"type": "custom", "schema": ...}`` as OpenAI shows it; llmaas keeps the ``item_schema`` it was given."""
    testing_criteria: list[dict[str, Any]]
    metadata: dict[str, str] | None = None


class EvalDeleted(ResponseModel):
    """The answer to deleting an eval."""
    object: str = "eval.deleted"
    deleted: bool
    eval_id: str


class EvalRunResultCounts(ResponseModel):
    """How many items of a run passed, failed, errored, and in all."""
    total: int
    passed: int
    failed: int
    errored: int


class EvalRunCriterionResult(ResponseModel):
    """One testing criterion's result over a run: passed and failed counts, with llmaas's ``pass_rate``, its 95%
    Wilson interval and ``mean_score``."""
    testing_criteria: str
    passed: int
    failed: int
    pass_rate: float | None = None
    """llmaas's addition: passed / (passed + failed)."""
    interval: list[float] | None = None
    """llmaas's addition: the pass rate's 95% Wilson interval."""
    mean_score: float | None = None
    """llmaas's addition: the mean of the grader's scores."""


class EvalRunGroupResult(EvalRunCriterionResult):
    """A criterion's result within one group of items (the value of the item field named by the eval's
    ``metadata.group_by``)."""
    group: str
    """The value of the item field the eval's ``metadata.group_by`` names."""


class EvalRunModelUsage(ResponseModel):
    """The tokens one model used in a run (the model answering and any grader models)."""
    model_name: str
    invocation_count: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cached_tokens: int = 0


class EvalRunError(ResponseModel):
    """Why a run failed."""
    code: str
    message: str


class EvalRun(ResponseModel):
    """A run of an eval on a data source: status, ``result_counts``, per-criterion results and usage."""
    keep_null: ClassVar[frozenset[str]] = frozenset({"metadata", "error"})
    id: str
    object: Literal["eval.run"] = "eval.run"
    eval_id: str
    name: str
    model: str | None = None
    status: EvalRunStatus
    created_at: int
    data_source: dict[str, Any]
    error: EvalRunError | None = None
    metadata: dict[str, str] | None = None
    result_counts: EvalRunResultCounts
    per_testing_criteria_results: list[EvalRunCriterionResult] = Field(default_factory=list[EvalRunCriterionResult])
    per_model_usage: list[EvalRunModelUsage] = Field(default_factory=list[EvalRunModelUsage])
    per_group_results: list[EvalRunGroupResult] | None = None
    """llmaas's addition, when the eval's ``metadata.group_by`` names an item field: each criterion per value."""
    report_url: str | None = None
    completed_at: int | None = None

    @property
    def done(self) -> bool:
        """Whether the run has ended (completed, canceled or failed)."""
        return self.status in ("completed", "canceled", "failed")


class EvalRunDeleted(ResponseModel):
    """The answer to deleting a run."""
    object: str = "eval.run.deleted"
    deleted: bool
    run_id: str


class EvalGraderResult(ResponseModel):
    """One grader's result on one item: score, passed, and the grader's details."""
    name: str
    type: str | None = None
    score: float
    passed: bool
    reason: str | None = None
    sample: dict[str, Any] | None = None


class EvalRunOutputItem(ResponseModel):
    """One graded item of a run: the item, the model's sample, each grader's result and the status."""
    id: str
    object: Literal["eval.run.output_item"] = "eval.run.output_item"
    run_id: str
    eval_id: str
    created_at: int
    status: Literal["pass", "fail", "error"]
    datasource_item_id: int
    datasource_item: dict[str, Any]
    results: list[EvalGraderResult] = Field(default_factory=list[EvalGraderResult])
    sample: dict[str, Any] | None = None
