"""Fine-tuning jobs, their events and checkpoints (OpenAPI: FineTuningJob*)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from ._base import Part, RequestModel, ResponseModel

JobStatus = Literal["validating_files", "queued", "running", "succeeded", "failed", "cancelled"]


class Hyperparameters(Part):
    """Fine-tuning hyperparameters as requested (numbers or ``auto``)."""
    batch_size: Literal["auto"] | Annotated[int, Field(ge=1, le=256)] | None = None
    learning_rate_multiplier: Literal["auto"] | Annotated[float, Field(gt=0, le=10)] | None = None
    n_epochs: Literal["auto"] | Annotated[int, Field(ge=1, le=50)] | None = None


class FineTuningJobRequest(RequestModel):
    """A fine-tuning job request as validated before it reaches a provider."""
    model: str
    training_file: str
    hyperparameters: Hyperparameters | None = None
    # it becomes part of a model id (ft:<base>:<suffix>:<job>): letters, digits, '-', '_' and '.'
    suffix: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    validation_file: str | None = None
    integrations: list[dict[str, Any]] | None = None
    seed: int | None = None
    method: dict[str, Any] | None = None
    metadata: dict[str, str] | None = None
    lora: dict[str, Any] | None = None
    """An llmaas extra: LoRA settings ``{"rank": 8, "alpha": 16, "target_modules": ["q_proj", ...]}``."""
    evals: list[str] | None = Field(default=None, max_length=8)
    """An llmaas extra: eval ids to run, when the job succeeds, on the base and on the tuned model (each eval's
    latest run gives the items and how the model is asked); the job then shows the comparison."""


class JobError(ResponseModel):
    """Why a fine-tuning job failed: ``code``, ``message`` and the ``param`` at fault."""
    keep_null: ClassVar[frozenset[str]] = frozenset({'param', 'code'})
    code: str | None = None
    message: str
    param: str | None = None


class JobHyperparameters(ResponseModel):
    """The hyperparameters a job ran with, ``auto`` resolved."""
    batch_size: Literal["auto"] | int | None = None
    learning_rate_multiplier: Literal["auto"] | float | None = None
    n_epochs: Literal["auto"] | int | None = None


class FineTuningJob(ResponseModel):
    """A fine-tuning job: status, base model, hyperparameters, trained tokens, and ``fine_tuned_model`` once it
    succeeded."""
    keep_null: ClassVar[frozenset[str]] = frozenset({'fine_tuned_model', 'metadata', 'validation_file', 'estimated_finish', 'finished_at', 'integrations', 'error', 'seed', 'trained_tokens'})
    id: str
    object: Literal["fine_tuning.job"] = "fine_tuning.job"
    created_at: int
    error: JobError | None = None
    fine_tuned_model: str | None = None
    finished_at: int | None = None
    hyperparameters: JobHyperparameters = Field(default_factory=JobHyperparameters)
    model: str
    organization_id: str = ""
    result_files: list[str] = Field(default_factory=list)
    status: JobStatus
    trained_tokens: int | None = None
    training_file: str
    validation_file: str | None = None
    integrations: list[dict[str, Any]] | None = None
    seed: int | None = None
    estimated_finish: int | None = None
    method: dict[str, Any] | None = None
    metadata: dict[str, str] | None = None
    evals: list[dict[str, Any]] | None = None
    """llmaas's addition, for a job created with ``evals``: per eval, the runs on the base and the tuned model
    (``base_run_id``, ``tuned_run_id``) and, once both have ended, ``comparison`` (``llmaas.evals.compare``)."""


class FineTuningJobEvent(ResponseModel):
    """An event of a job: a level and a message; a ``metrics`` event carries its step and loss in ``data``."""
    id: str
    object: Literal["fine_tuning.job.event"] = "fine_tuning.job.event"
    created_at: int
    level: Literal["info", "warn", "error"]
    message: str
    type: Literal["message", "metrics"] | None = None
    data: dict[str, Any] | None = None


class CheckpointMetrics(ResponseModel):
    """A checkpoint's metrics (step, train loss, validation loss)."""
    step: float | None = None
    train_loss: float | None = None
    train_mean_token_accuracy: float | None = None
    valid_loss: float | None = None
    valid_mean_token_accuracy: float | None = None
    full_valid_loss: float | None = None
    full_valid_mean_token_accuracy: float | None = None


class FineTuningJobCheckpoint(ResponseModel):
    """A checkpoint a job saved: its step, metrics and the model name it can be served under."""
    id: str
    object: Literal["fine_tuning.job.checkpoint"] = "fine_tuning.job.checkpoint"
    created_at: int
    fine_tuned_model_checkpoint: str
    fine_tuning_job_id: str
    metrics: CheckpointMetrics
    step_number: int
