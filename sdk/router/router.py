"""``llmaas.Router``: a provider that spreads each public model over named deployments (any providers) and
falls back across them and across models, with per-deployment circuit breakers, optional health checks,
client-side usage and cost accounting, and hooks on every attempt.

    router = llmaas.Router.from_file("router.toml")
    client = llmaas.Client(provider=router)      # or AsyncClient; `llmaas serve --router router.toml`
    client.chat.completions.create(model="chat", messages=[...])
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import itertools
import logging
import os
import random
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from .._errors import (
    APIConnectionError,
    APIStatusError,
    ConfigurationError,
    ContentPolicyViolationError,
    ContextLengthExceededError,
    MissingAPIKeyError,
    NotFoundError,
)
from .._options import RequestOptions
from .._pagination import PageResult
from .._provider import BaseProvider, Capability
from ..discovery import create as create_provider
from ..discovery import is_known
from ..types.models import Model
from .breaker import CircuitBreaker
from .config import DeploymentConfig, RouterConfig, load_file, parse

ROUTED = frozenset({Capability.CHAT, Capability.COMPLETIONS, Capability.EMBEDDINGS, Capability.MODERATIONS})
log: logging.Logger = logging.getLogger("llmaas.router")
LATENCY_WEIGHT = 0.3  # of the newest sample in a deployment's moving average


class AllDeploymentsFailedError(APIStatusError):
    """Every deployment that could serve the model (and its fallbacks) failed; ``failures`` holds each
    deployment's error, in the order they were tried. The message names the public model only: what the
    upstreams said (which may echo headers, URLs or secrets) and the deployments' names are logged, never
    sent on. ``retry_after`` is when the first open circuit breaker lets a request through again."""

    def __init__(self, model: str, failures: list[tuple[str, BaseException | str]],
                 retry_after: float | None = None) -> None:
        tried = sum(1 for _, err in failures if not isinstance(err, str))
        super().__init__(f"every deployment for model {model!r} failed ({tried} tried, "
                         f"{len(failures) - tried} unavailable); try again later", status_code=503,
                         code="all_deployments_failed", type="server_error", retry_after=retry_after)
        self.failures = failures
        self.should_retry = retry_after is not None
        for name, err in failures:
            log.warning("model %r: deployment %s failed: %s", model, name, _describe(err))


def _describe(err: BaseException | str) -> str:
    """A failure for the log: its class, status and the start of its text."""
    if isinstance(err, str):
        return err
    status = getattr(err, "status_code", None)
    return f"{type(err).__name__}{f' {status}' if status else ''}: {str(err)[:200]}"


SAFE_FIELD = re.compile(r"[A-Za-z0-9_.\[\]-]{1,64}")


def public_error(model: str, exc: BaseException) -> BaseException:
    """``exc`` as the caller may see it: its class, status, kind and (when they look like identifiers) code
    and param, with a message of the router's own that names the public model. The upstream's words are
    logged here, never forwarded."""
    if not isinstance(exc, (APIStatusError, APIConnectionError)):
        log.warning("model %r: a deployment raised %s", model, _describe(exc))
        return APIStatusError(f"a deployment for model {model!r} failed ({type(exc).__name__})", status_code=502,
                              code="upstream_error", type="server_error")
    log.warning("model %r: a deployment refused the request: %s", model, _describe(exc))
    if isinstance(exc, APIStatusError) and exc.status_code in (401, 403, 407):  # the router's key, not the caller's
        return APIStatusError(f"a deployment for model {model!r} refused the router's credentials", status_code=502,
                              code="upstream_auth_failed", type="server_error")
    out = copy.copy(exc)
    status = getattr(exc, "status_code", None)
    code = exc.code if exc.code and SAFE_FIELD.fullmatch(exc.code) else None
    what = "refused the request" if status is not None and status < 500 else "failed"
    detail = ", ".join(str(x) for x in (status, code) if x)
    message = f"the upstream for model {model!r} {what}{f' ({detail})' if detail else ''}"
    out.message, out.args, out.code, out.body = message, (message,), code, None
    out.param = exc.param if exc.param and SAFE_FIELD.fullmatch(exc.param) else None
    if isinstance(out, APIStatusError):
        out.response = None
    return out


@dataclass
class Attempt:
    """What the hooks get for every attempt: which model and deployment, the how-manyth try, and after it
    its duration and error (if any)."""

    model: str
    deployment: str
    endpoint: str
    attempt: int
    stream: bool
    elapsed: float | None = None
    error: BaseException | None = None


@dataclass
class UsageRecord:
    """One answered request's tokens and cost (from the deployment's prices), for ``on_usage``."""

    model: str
    deployment: str
    prompt_tokens: int
    completion_tokens: int
    cost: float
    latency: float


class Deployment:
    def __init__(self, config: DeploymentConfig, provider: Any, breaker: CircuitBreaker) -> None:
        self.config = config
        self.provider = provider
        self.breaker = breaker
        self.inflight = 0
        self.latency: float | None = None
        self.healthy = True
        self.requests = 0
        self.failures = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cost = 0.0

    @property
    def name(self) -> str:
        return self.config.name

    def observe(self, seconds: float) -> None:
        self.latency = seconds if self.latency is None else (
            LATENCY_WEIGHT * seconds + (1 - LATENCY_WEIGHT) * self.latency)

    def stats(self) -> dict[str, Any]:
        return {"requests": self.requests, "failures": self.failures, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "cost": round(self.cost, 6),
                "inflight": self.inflight, "latency_ms": None if self.latency is None else round(self.latency * 1e3, 1),
                "breaker": self.breaker.state, "healthy": self.healthy}


def _kind(exc: BaseException) -> str:
    """How the router treats an error: "retry" another deployment, a context or policy fallback, or "raise"."""
    if isinstance(exc, ContextLengthExceededError):
        return "context"
    if isinstance(exc, ContentPolicyViolationError):
        return "policy"
    if isinstance(exc, APIConnectionError):  # timeouts and broken streams too
        return "retry"
    if isinstance(exc, APIStatusError) and (exc.status_code >= 500 or exc.status_code == 429):
        return "retry"
    return "raise"


Hook = Callable[[Attempt], Any]


class Router(BaseProvider):
    name = "router"

    def __init__(self, config: RouterConfig | dict[str, Any] | None = None, *, before_request: Hook | None = None,
                 after_response: Hook | None = None, on_error: Hook | None = None,
                 on_usage: Callable[[UsageRecord], Any] | None = None, seed: int | None = None,
                 **settings: Any) -> None:
        if config is None:
            config = dict(settings)
        elif settings:
            raise TypeError("pass the router's settings either as a config or as keywords, not both")
        self.config: RouterConfig = config if isinstance(config, RouterConfig) else parse(config, is_known)
        self._hooks = {"before_request": before_request, "after_response": after_response, "on_error": on_error}
        self._on_usage = on_usage
        self._rng = random.Random(seed)
        self._turns: dict[str, itertools.count[int]] = {}
        self.deployments: list[Deployment] = [
            Deployment(d, self._build(d), CircuitBreaker(self.config.failure_threshold, self.config.cooldown))
            for d in self.config.deployments]
        self._by_model: dict[str, list[Deployment]] = {}
        for d in self.deployments:
            self._by_model.setdefault(d.config.model, []).append(d)
        caps: set[Capability] = set()
        for d in self.deployments:
            caps |= set(getattr(d.provider, "capabilities", ROUTED)) & ROUTED
        self.capabilities = frozenset({*caps, Capability.MODELS})
        self._health_task: asyncio.Task[None] | None = None
        self._created = int(time.time())

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **kwargs: Any) -> Router:
        """A router from a TOML file (or YAML, by its .yaml/.yml suffix); see docs/router.md."""
        return cls(parse(load_file(path), is_known), **kwargs)

    def _build(self, d: DeploymentConfig) -> Any:
        if d.instance is not None:
            return d.instance
        key = os.environ.get(d.api_key_env) if d.api_key_env else None
        timeout = {"timeout": self.config.timeout} if self.config.timeout else {}
        try:
            if d.provider == "openai_compat":
                from llmaas.providers.openai_compat import OpenAICompatProvider

                return OpenAICompatProvider(base_url=d.base_url or "", api_key=key, name=d.name, max_retries=0,
                                            **timeout, **d.options)
            return create_provider(d.provider, base_url=d.base_url, api_key=key, max_retries=0, **timeout,
                                    **d.options)
        except MissingAPIKeyError as exc:
            raise ConfigurationError(f"deployment {d.name!r}: {exc}; name its variable in api_key_env") from None

    # -- choosing -----------------------------------------------------------------------------------

    def _pick(self, model: str, exclude: set[str]) -> Deployment | None:
        candidates = [d for d in self._by_model.get(model, []) if d.name not in exclude and d.healthy
                      and d.breaker.allows()]
        if not candidates:
            return None
        turn = next(self._turns.setdefault(model, itertools.count()))
        strategy = self.config.strategy
        if strategy == "least-busy":
            low = min(d.inflight for d in candidates)
            candidates = [d for d in candidates if d.inflight == low]
        elif strategy == "weighted":
            return self._rng.choices(candidates, weights=[d.config.weight for d in candidates])[0]
        elif strategy == "latency":
            return min(candidates, key=lambda d: d.latency if d.latency is not None else 0.0)
        return candidates[turn % len(candidates)]

    # -- calling ------------------------------------------------------------------------------------

    async def chat(self, req: Any, options: RequestOptions) -> Any:
        return await self._route("chat", req, options, bool(req.stream))

    async def complete(self, req: Any, options: RequestOptions) -> Any:
        return await self._route("complete", req, options, bool(req.stream))

    async def embed(self, req: Any, options: RequestOptions) -> Any:
        return await self._route("embed", req, options, False)

    async def moderate(self, req: Any, options: RequestOptions) -> Any:
        return await self._route("moderate", req, options, False)

    async def _route(self, endpoint: str, req: Any, options: RequestOptions, stream: bool) -> Any:
        self._start_health_checks()
        asked = req.model
        if asked not in self._by_model:
            raise NotFoundError(f"The model '{asked}' is not routed here; models: {', '.join(sorted(self._by_model))}",
                                status_code=404, param="model", code="model_not_found")
        queue, seen = [asked], set[str]()
        failures: list[tuple[str, BaseException | str]] = []
        attempt = 0
        while queue:
            model = queue.pop(0)
            if model in seen:
                continue
            seen.add(model)
            tried: set[str] = set()
            kind = "retry"
            while True:
                dep = self._pick(model, tried)
                if dep is None:
                    failures += [(d.name, "circuit breaker open" if not d.breaker.allows() else "failing health checks")
                                 for d in self._by_model[model] if d.name not in tried]
                    break
                tried.add(dep.name)
                attempt += 1
                try:
                    return await self._attempt(dep, endpoint, req, options, stream, attempt)
                except Exception as exc:  # noqa: BLE001 - classified: another deployment, a fallback, or raised
                    failures.append((dep.name, exc))
                    kind = _kind(exc)
                    if kind == "retry":
                        continue
                    if kind in ("context", "policy"):
                        table = (self.config.context_window_fallbacks if kind == "context"
                                 else self.config.content_policy_fallbacks)
                        if not table.get(model):
                            raise public_error(asked, exc) from exc
                        queue[0:0] = table[model]
                        break
                    raise public_error(asked, exc) from exc
            if kind == "retry":
                queue.extend(self.config.fallbacks.get(model, []))
        raise AllDeploymentsFailedError(asked, failures, self._reopens_in(seen))

    def _reopens_in(self, models: set[str]) -> float | None:
        """Seconds until the first open breaker among ``models``' deployments lets a probe through."""
        waits = [d.breaker.reopens_in() for m in models for d in self._by_model.get(m, [])]
        known = [w for w in waits if w is not None]
        return max(1.0, min(known)) if known else None

    async def _attempt(self, dep: Deployment, endpoint: str, req: Any, options: RequestOptions, stream: bool,
                       number: int) -> Any:
        info = Attempt(dep.config.model, dep.name, endpoint, number, stream)
        wanted_usage = True
        sent = req.model_copy(update={"model": dep.config.target})
        if stream and endpoint in ("chat", "complete"):  # usage is counted from the final chunk: always ask
            so = getattr(req, "stream_options", None)
            wanted_usage = bool(so and so.include_usage)
            if not wanted_usage:
                from ..types.common import StreamOptions

                sent = sent.model_copy(update={"stream_options": StreamOptions(include_usage=True)})
        await self._hook("before_request", info)
        dep.inflight += 1
        dep.requests += 1
        dep.breaker.started()
        started = time.perf_counter()
        relayed = False
        try:
            result = await getattr(dep.provider, endpoint)(sent, options)
            if stream:
                iterator = aiter(result)
                try:
                    first = await anext(iterator)
                except StopAsyncIteration:
                    first = None
                relayed = True
                return self._relay(dep, info, iterator, first, wanted_usage, started)
            self._succeeded(dep, info, started, getattr(result, "usage", None))
            await self._hook("after_response", info)
            return result
        except Exception as exc:
            await self._attempt_failed(dep, info, started, exc)
            raise
        finally:
            if not relayed:
                dep.inflight -= 1

    async def _relay(self, dep: Deployment, info: Attempt, iterator: AsyncIterator[Any], first: Any,
                     wanted_usage: bool, started: float) -> AsyncIterator[Any]:
        """The stream after its first chunk: no fallback from here on (the caller has text already)."""
        usage = None
        try:
            chunk = first
            while chunk is not None:
                if getattr(chunk, "usage", None) is not None:
                    usage = chunk.usage
                    if not wanted_usage and not getattr(chunk, "choices", None):
                        chunk = await anext(iterator, None)
                        continue
                yield chunk
                chunk = await anext(iterator, None)
            self._succeeded(dep, info, started, usage)
            await self._hook("after_response", info)
        except Exception as exc:
            await self._attempt_failed(dep, info, started, exc)
            raise public_error(info.model, exc) from exc
        finally:
            dep.inflight -= 1
            closer = getattr(iterator, "aclose", None)
            if closer is not None:
                await closer()

    def _succeeded(self, dep: Deployment, info: Attempt, started: float, usage: Any) -> None:
        elapsed = time.perf_counter() - started
        info.elapsed = elapsed
        dep.breaker.succeeded()
        dep.observe(elapsed)
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        cost = (prompt * dep.config.input_price + completion * dep.config.output_price) / 1e6
        dep.prompt_tokens += prompt
        dep.completion_tokens += completion
        dep.cost += cost
        if self._on_usage is not None:
            self._on_usage(UsageRecord(dep.config.model, dep.name, prompt, completion, cost, elapsed))

    async def _attempt_failed(self, dep: Deployment, info: Attempt, started: float, exc: BaseException) -> None:
        self._failed(dep, exc)
        info.elapsed, info.error = time.perf_counter() - started, exc
        await self._hook("on_error", info)

    def _failed(self, dep: Deployment, exc: BaseException) -> None:
        if _kind(exc) == "retry":  # the deployment's fault: counts toward its breaker
            dep.failures += 1
            dep.breaker.failed()
        else:  # a bad request proves the deployment answers
            dep.breaker.succeeded()

    async def _hook(self, name: str, info: Attempt) -> None:
        hook = self._hooks[name]
        if hook is not None:
            out = hook(info)
            if inspect.isawaitable(out):
                await out

    # -- health -------------------------------------------------------------------------------------

    def _start_health_checks(self) -> None:
        if self.config.health_check_interval <= 0 or self._health_task is not None:
            return
        self._health_task = asyncio.get_running_loop().create_task(self._check_health())

    async def _check_health(self) -> None:
        import httpx

        async with httpx.AsyncClient(timeout=2.0) as http:
            while True:
                for d in self.deployments:
                    if d.config.base_url:
                        root = d.config.base_url.rstrip("/").removesuffix("/v1")
                        try:
                            d.healthy = (await http.get(f"{root}/health")).status_code == 200
                        except httpx.HTTPError:
                            d.healthy = False
                await asyncio.sleep(self.config.health_check_interval)

    # -- models and stats -----------------------------------------------------------------------------

    async def list_models(self, options: RequestOptions) -> PageResult[Model]:
        return PageResult(data=[Model(id=m, created=self._created, owned_by="router") for m in self._by_model])

    async def retrieve_model(self, model: str, options: RequestOptions) -> Model:
        if model not in self._by_model:
            raise NotFoundError(f"The model '{model}' is not routed here", status_code=404, param="model",
                                code="model_not_found")
        return Model(id=model, created=self._created, owned_by="router")

    def stats(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Per public model and deployment: requests, failures, tokens, cost, requests in flight, latency
        (moving average), breaker state and health."""
        return {model: {d.name: d.stats() for d in deps} for model, deps in self._by_model.items()}

    async def aclose(self) -> None:
        if self._health_task is not None:
            self._health_task.cancel()
            self._health_task = None
        for d in self.deployments:
            if d.config.instance is None:
                await d.provider.aclose()
