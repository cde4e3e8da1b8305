"""Every setting of the in-process engine and of the server, declared once: its type, default, range,
environment variable and help text. ``llmaas serve --help`` and ``docs/settings.md`` are made from here.

An explicit argument always wins over the environment (0 and "" included); the environment wins over the
default. An unknown name or a bad value is a ``ConfigurationError`` that names it and what is allowed::

    EngineSettings.resolve(dtype="float32")          # LLMAAS_DTYPE is not read
    EngineSettings.resolve()                         # LLMAAS_* variables, then defaults
    ServerSettings.resolve(public_metrics=True)
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ._errors import ConfigurationError

if TYPE_CHECKING:
    from llmaas.store.batch_files import BatchLimits
    from llmaas.store.training_files import TrainingLimits

PREFIX = "LLMAAS_"
S = TypeVar("S", bound="_Settings")


class _Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="forbid", frozen=True, case_sensitive=False,
                                      env_ignore_empty=True, validate_default=True)

    @classmethod
    def resolve(cls: type[S], **given: Any) -> S:
        """The settings from ``given`` (None means "not given"), then the environment, then the defaults."""
        fields = cls.model_fields
        unknown = sorted(k for k in given if k not in fields)
        if unknown:
            raise ConfigurationError(f"unknown {cls.KIND} setting {unknown[0]!r}; the settings are: "
                                     f"{', '.join(fields)}")
        explicit = {k: v for k, v in given.items() if v is not None}
        try:
            return cls(**explicit)
        except ValidationError as exc:
            raise ConfigurationError(_explain(cls, exc, explicit)) from None

    KIND: ClassVar[str] = "settings"

    @field_validator("*", mode="before")
    @classmethod
    def _lower_choices(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) and value.strip().lower() in _CHOICE_WORDS else value


# the words a choice setting accepts, so that "Float32" or "ON" read as their lower-case spelling
_CHOICE_WORDS = {"auto", "on", "off", "bfloat16", "float32", "critical", "error", "warning", "info", "debug", "trace",
                 "true", "false"}


def _explain(cls: type[_Settings], exc: ValidationError, explicit: dict[str, Any]) -> str:
    parts: list[str] = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else "?"
        where = f"{name}" if name in explicit else f"{PREFIX}{name.upper()} / {name}"
        parts.append(f"{where}: {err['msg']}, not {err.get('input')!r}")
    return f"invalid {cls.KIND} setting " + "; ".join(parts)


def _split(value: Any, sep: str) -> Any:
    if isinstance(value, str):
        return [v.strip() for v in value.split(sep) if v.strip()]
    return value


class EngineSettings(_Settings):
    """The in-process engine (the ``hf`` provider): ``HuggingFaceProvider(**settings)`` or
    ``Client(provider_options={"hf": {...}})``, or ``LLMAAS_*`` variables."""

    KIND = "engine"

    dtype: Literal["auto", "bfloat16", "float32"] = Field(
        "auto", description="compute type of chat models; auto: bfloat16 where the CPU has AMX or AVX512-BF16, "
                            "else float32 (float32 gives transformers' answers bit for bit)")
    threads: int = Field(0, ge=0, description="torch threads of each engine; 0: the CPUs, at most 8")
    max_num_seqs: int = Field(64, ge=1, description="sequences decoded together in one step (the batch)")
    max_waiting: int = Field(1024, ge=1, description="requests queued per engine before new ones get 429 queue_full")
    max_model_len: int = Field(0, ge=0, description="longest prompt plus answer in tokens; 0: the model's own context")
    kv_cache_gb: float = Field(2.0, gt=0, description="memory of each engine's KV cache, in GiB")
    int8_decode_batch: int = Field(4, ge=0, description="decode steps of at most this many sequences use int8 "
                                                        "(or exact int4) weights; 0: never")
    int4_weights: Literal["auto", "off"] = Field(
        "auto", description="exact int4 weights for small decode batches where the weights lie on a 4-bit grid "
                            "(a model converted from a Q4 GGUF)")
    int8_weights: Literal["off", "on"] = Field(
        "off", description="int8 weight-only matmuls (per-row scales) for small decode batches where the weights "
                           "are not on a 4-bit grid: faster at one stream, but they miss the fidelity gate (top-1 "
                           "agreement with float32 0.96, docs/benchmarks.md), so opt-in")
    int8_matmul: Literal["auto", "on", "off"] = Field(
        "off", description="dynamic int8 (W8A8) matmuls for larger batches and prefill: faster, but they miss "
                           "the fidelity gate (top-1 agreement with float32 0.94, docs/benchmarks.md), so "
                           "opt-in; auto: where the CPU has VNNI")
    native_kernels: Literal["auto", "on", "off"] = Field(
        "auto", description="the engine's C++ kernels for bf16 models; auto: where they build, else torch ops")
    prefill_chunk: int = Field(512, ge=16, description="prompts longer than this are prefilled a chunk per engine "
                                                       "step, between decode steps")
    batch_rows_busy: int = Field(0, ge=0, description="batch-request sequences that keep decoding while interactive "
                                                      "requests run or wait (the others give up their slots and run "
                                                      "again later); 0: interactive requests have the engine alone")
    batch_prefill_tokens: int = Field(1024, ge=1, description="batch-request prompt tokens prefilled per engine step "
                                                              "(a longer batch prompt still goes in whole, alone); "
                                                              "an interactive arrival interrupts such a step")
    max_engines: int = Field(2, ge=1, description="chat models loaded at once; an idle one is stopped to load "
                                                  "another")
    max_adapters: int = Field(8, ge=1, description="LoRA adapters (fine-tuned models) kept loaded; the least "
                                                   "recently used leave")
    memory_budget_gb: float = Field(0.0, ge=0, description="memory the loaded chat models (weights and KV caches) "
                                                           "may hold, in GiB; 0: no budget")
    model_dirs: Annotated[list[str] | None, NoDecode] = Field(
        None, description=f"folders models may be registered from ({os.pathsep}-separated); unset: anywhere in "
                          "process, nowhere on a server unless --model-dir names one")

    @field_validator("model_dirs", mode="before")
    @classmethod
    def _dirs(cls, value: Any) -> Any:
        return _split(value, os.pathsep)

    @property
    def memory_budget_bytes(self) -> int:
        return int(self.memory_budget_gb * 2**30)

    @property
    def torch_dtype_name(self) -> str:
        from llmaas.providers.huggingface.model.cpu import has_fast_bf16

        if self.dtype == "auto":
            return "bfloat16" if has_fast_bf16() else "float32"
        return self.dtype

    @property
    def dynamic_int8(self) -> bool:
        """Whether bf16 models use dynamic W8A8 for larger batches and prefill."""
        from llmaas.providers.huggingface.model.cpu import has_int8_dot

        if self.int8_matmul == "auto":
            return has_int8_dot()
        return self.int8_matmul == "on"

    @property
    def int4(self) -> bool:
        """Whether to look for exact int4 weights (only worth it where small decode batches use them)."""
        return self.int4_weights == "auto" and self.int8_decode_batch > 0

    @property
    def thread_count(self) -> int:
        return self.threads or max(1, min(os.cpu_count() or 1, 8))


class ServerSettings(_Settings):
    """``llmaas serve``: its command-line flags win over these variables."""

    KIND = "server"

    default_rpm: int | None = Field(None, ge=1, description="requests per minute of a key created without --rpm")
    default_tpd: int | None = Field(None, ge=1, description="tokens per day of a key created without --tpd")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="browser origins allowed to call the API (comma-separated); none by default")
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="other Host headers accepted without keys (comma-separated); loopback "
                                          "names always are")
    public_metrics: bool = Field(False, description="serve /metrics to anyone (default: loopback clients and admin "
                                                    "keys)")
    max_body_mb: int = Field(64, ge=1, description="largest request body (a file upload), in MiB")
    max_json_mb: float = Field(4.0, gt=0, description="largest JSON request body, in MiB")
    graceful_timeout: float = Field(30.0, ge=0, description="seconds running requests get to finish on shutdown")
    log_level: Literal["critical", "error", "warning", "info", "debug", "trace"] = Field(
        "warning", description="uvicorn's log level")
    upstream_timeout: float | None = Field(None, gt=0, description="seconds a call to the remote API may take "
                                                                   "(serving --base-url or a router)")
    store_threads: int = Field(4, ge=1, description="threads for store calls (their own: model file work never "
                                                    "takes them)")
    model_threads: int = Field(2, ge=1, description="threads for reading, converting and describing model files")
    model_timeout: float = Field(600.0, gt=0, description="seconds a request waits for model file work (a "
                                                          "registration, a conversion) before a 503")
    default_max_tokens: int | None = Field(1024, ge=1, description="output tokens of a chat or Responses request "
                                                                 "that gives no limit (agent frameworks often send none)")
    max_output_tokens: int | None = Field(None, ge=1, description="most output tokens one request may ask for; more "
                                                                  "is a 400 naming the limit (default: the context)")
    default_generation_seconds: float | None = Field(600.0, gt=0, description="seconds one generating request may "
                                                                              "run before it is cancelled (504)")
    max_generation_seconds: float | None = Field(None, gt=0, description="most seconds a request may ask for with the "
                                                                         "x-llmaas-timeout header")

    @field_validator("cors_origins", "allowed_hosts", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        return _split(value, ",")


class FineTuningSettings(_Settings):
    """Fine-tuning, on a server and in process alike: what one key may queue, and what one training file may
    hold (checked at upload, each refusal naming the line)."""

    KIND = "fine-tuning"

    ft_worker: bool = Field(True, description="start a fine-tuning worker on this machine when jobs are queued "
                                              "(false: leave training to workers on other machines sharing a "
                                              "PostgreSQL store)")
    ft_max_queued_jobs: int = Field(4, ge=1, description="fine-tuning jobs one key may have queued or running at "
                                                         "once; the next one gets 429")
    ft_max_examples: int = Field(50_000, ge=1, description="examples (lines) in one fine-tuning file")
    ft_max_messages: int = Field(256, ge=1, description="messages in one chat example")
    ft_max_example_kb: int = Field(256, ge=1, description="size of one example (one line), in KiB")

    def limits(self) -> TrainingLimits:
        from llmaas.store.training_files import TrainingLimits

        return TrainingLimits(max_examples=self.ft_max_examples, max_messages=self.ft_max_messages,
                              max_example_bytes=self.ft_max_example_kb * 1024)


class BatchSettings(_Settings):
    """Batches, on a server and in process alike: what one input file may hold (checked at upload, each refusal
    naming the line), what one key may have in flight, and how many of its requests run at once; and how many
    items of eval runs, the other offline work, are graded at once."""

    KIND = "batches"

    batch_max_requests: int = Field(50_000, ge=1, le=50_000, description="requests (lines) in one batch file; "
                                                                         "OpenAI's 50,000 is the ceiling")
    batch_max_mb: float = Field(200.0, gt=0, le=200.0, description="size of one batch file in MB; OpenAI's 200 is "
                                                                   "the ceiling")
    batch_max_in_flight: int = Field(8, ge=1, description="batches one key may have in progress at once (a key's "
                                                          "own limit, 'llmaas keys limits --batches', wins)")
    batch_max_enqueued_tokens: int | None = Field(None, ge=1, description="tokens (estimated: prompt size and "
                                                                          "output limit) one key may have enqueued "
                                                                          "in unfinished batches; none by default")
    batch_concurrency: int = Field(32, ge=1, description="batch requests kept in the engine at once; the engine "
                                                         "runs them in capacity interactive requests leave idle")
    eval_concurrency: int = Field(16, ge=1, description="eval run items graded at once by a runner (as batch work: "
                                                        "interactive requests are admitted first)")

    def limits(self) -> BatchLimits:
        from llmaas.store.batch_files import BatchLimits

        return BatchLimits(max_requests=self.batch_max_requests, max_bytes=int(self.batch_max_mb * 1_000_000))


class StoreSettings(_Settings):
    """Where the store keeps its state: every process that opens it (a server, its workers, the in-process
    client's batches and fine-tuning jobs, the CLI's key commands) reads these."""

    KIND = "store"

    database_url: str | None = Field(None, description="a PostgreSQL database for the store "
                                                       "(postgresql://user:password@host:port/name), shared by "
                                                       "several front doors (default: SQLite in LLMAAS_HOME)")
    blob_dir: str | None = Field(None, description="the folder of files, adapters and batch outputs; front doors "
                                                   "sharing a PostgreSQL store share it over a network filesystem "
                                                   "(default: LLMAAS_HOME/blobs)")


#: variables read by the SDK and the command line themselves, outside the two settings objects above:
#: name -> (type, help)
CLIENT_VARIABLES: dict[str, tuple[str, str]] = {
    "LLMAAS_HOME": ("path", "the data folder: store, blobs, converted models (default: ~/.cache/llmaas)"),
    "LLMAAS_PROVIDER": ("str", "the default provider of a Client given neither provider= nor base_url= (default: hf)"),
    "LLMAAS_BASE_URL": ("url", "the server the local provider connects to (default: it starts one of its own)"),
    "LLMAAS_API_KEY": ("str", "the key for our server: the local provider, Client(base_url=...) and the CLI's "
                              "--base-url"),
    "LLMAAS_LOG": ("debug | info", "log what the SDK sends, what comes back and every retry"),
    "LLMAAS_UPSTREAM_API_KEY": ("str", "the remote API's key when llmaas serve fronts one (--api-key-env names "
                                       "another)"),
    "LLMAAS_FT_THREADS": ("int", "torch threads of the fine-tuning worker process (default: 1)"),
    "LLMAAS_<PRESET>_BASE_URL": ("url", "another URL for a preset provider, e.g. LLMAAS_OLLAMA_BASE_URL"),
}


def _kind(annotation: Any) -> str:
    text = str(annotation).replace("typing.", "")
    if "Literal" in text:
        return " | ".join(a.strip("' ") for a in text.split("[", 1)[1].rsplit("]", 1)[0].split(","))
    return {int: "int", float: "float", bool: "bool", str: "str"}.get(annotation, text.replace("<class '", "")
                                                                     .replace("'>", ""))


def variables() -> list[tuple[str, str, str, str]]:
    """(variable, type, default, help) for every ``LLMAAS_*`` variable, engine and server settings first."""
    rows: list[tuple[str, str, str, str]] = []
    settings: tuple[type[_Settings], ...] = (EngineSettings, ServerSettings, StoreSettings, FineTuningSettings,
                                             BatchSettings)
    for cls in settings:
        for name, info in cls.model_fields.items():
            default = info.default_factory() if info.default_factory is not None else info.default  # type: ignore[call-arg]
            shown = "" if default in (None, [], "") else str(default)
            rows.append((f"{PREFIX}{name.upper()}", _kind(info.annotation), shown, info.description or ""))
    rows += [(name, kind, "", text) for name, (kind, text) in CLIENT_VARIABLES.items()]
    return rows


def help_text() -> str:
    """The variables as plain text, for ``llmaas serve --help``."""
    lines = ["environment variables (a flag wins over its variable):"]
    for name, kind, default, text in variables():
        lines.append(f"  {name} ({kind}{', default ' + default if default else ''})")
        lines.append(f"      {text}")
    return "\n".join(lines)


def markdown() -> str:
    """The variables as a Markdown table, for docs/settings.md."""
    out = ["| variable | type | default | what it sets |", "| --- | --- | --- | --- |"]
    out += [f"| `{n}` | {k.replace('|', '&#124;')} | {d or '-'} | {t} |" for n, k, d, t in variables()]
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown())
