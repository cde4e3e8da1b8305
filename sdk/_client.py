"""``AsyncClient`` (the one implementation) and ``Client`` (its sync facade)."""

from __future__ import annotations

import copy
import os
from typing import TYPE_CHECKING, Any, cast

import httpx
from typing_extensions import TypedDict, Unpack

from ._errors import UnknownProviderError
from ._http_bridge import as_async
from ._logs import setup_from_env
from ._options import NOT_GIVEN, NotGiven
from ._provider import Provider
from ._sync import Runner
from .discovery import create as create_provider
from .discovery import known_names, speaks_openai, split_model
from .resources.batches import AsyncBatches, Batches
from .resources.chat import AsyncChat, Chat
from .resources.evals import AsyncEvals, Evals

if TYPE_CHECKING:
    from .guardrails import Guardrails
from .resources.completions import AsyncCompletions, Completions
from .resources.embeddings import AsyncEmbeddings, Embeddings
from .resources.files import AsyncFiles, Files
from .resources.fine_tuning import AsyncFineTuning, FineTuning
from .resources.models import AsyncModels, Models
from .resources.moderations import AsyncModerations, Moderations
from .resources.responses import AsyncResponses, Responses
from .types.create_params import Timeout

DEFAULT_PROVIDER = "hf"


class ClientOptions(TypedDict, total=False):
    """What ``Client`` and ``AsyncClient`` take, once for both (see ``AsyncClient``)."""

    provider: str | Provider | None
    """The default provider: a registered name (``hf``, ``openai``, ``ollama``, ``groq``, ...) or a
    ``Provider`` instance. None: the in-process ``hf`` provider, or an OpenAI-style one when ``base_url``
    is given."""
    base_url: str | None
    """An OpenAI-style server (``http://127.0.0.1:8000/v1`` for ``llmaas serve``); the client then talks to
    it."""
    api_key: str | None
    """The key for ``base_url``; defaults to ``LLMAAS_API_KEY``, then ``OPENAI_API_KEY``."""
    timeout: Timeout
    """Seconds or an ``httpx.Timeout`` per request (default 600 s total, 5 s to connect)."""
    max_retries: int | None
    """Retries of a request on a connection error, 408, 409, 429 or 5xx, with backoff (default 2)."""
    default_headers: dict[str, str] | None
    """Headers sent with every request to an OpenAI-style provider."""
    http_client: httpx.AsyncClient | httpx.Client | None  # a sync httpx.Client serves the sync Client
    """The httpx client to send with (an ``httpx.AsyncClient``; a sync ``httpx.Client`` for ``Client``):
    proxies, certificates, transports."""
    provider_options: dict[str, dict[str, Any]] | None
    """Settings per provider by name, e.g. ``{"hf": {"dtype": "float32", "threads": 1}}``."""
    guardrails: Guardrails | None  # screen input and output, redact personal data (see llmaas.guardrails)
    """Screen input and output with moderation and redact personal data (see ``llmaas.guardrails``)."""


CLIENT_OPTIONS = frozenset(ClientOptions.__optional_keys__ | ClientOptions.__required_keys__)


class AsyncClient:
    """One typed client for every model, wherever it runs.

    - ``AsyncClient()``: the in-process engine with the built-in models (no network).
    - ``AsyncClient(base_url="http://host:8000/v1", api_key=...)``: any OpenAI-style server.
    - ``AsyncClient(provider="groq")`` or ``provider=MyProvider()``: a registered or hand-made provider.
    - ``model="openai:gpt-4o-mini"``: a ``provider:model`` id picks the provider per request.

    ``timeout`` (seconds or an ``httpx.Timeout``; default 600 s total, 5 s connect) and ``max_retries``
    (default 2) apply to every provider the client creates; ``with_options(...)`` gives a client that
    overrides them per request. ``api_key`` defaults to ``LLMAAS_API_KEY``, then ``OPENAI_API_KEY``, when
    ``base_url`` is given. ``default_headers`` and ``http_client`` (an ``httpx.AsyncClient``; a sync
    ``httpx.Client`` for the sync ``Client``) reach every OpenAI-style provider the client makes.
    ``provider_options={"hf": {"dtype": "float32", "threads": 1}}`` passes settings to one provider.
    ``LLMAAS_LOG=debug`` logs requests, responses and retries.
    """

    chat: AsyncChat
    completions: AsyncCompletions
    embeddings: AsyncEmbeddings
    models: AsyncModels
    files: AsyncFiles
    fine_tuning: AsyncFineTuning
    moderations: AsyncModerations
    responses: AsyncResponses
    batches: AsyncBatches
    evals: AsyncEvals

    def __init__(self, **options: Unpack[ClientOptions]) -> None:
        unknown = sorted(set(options) - CLIENT_OPTIONS)
        if unknown:
            raise TypeError(f"unexpected client option {unknown[0]!r}; the options are {', '.join(sorted(CLIENT_OPTIONS))}"
                            " (settings for one provider go in provider_options={name: {...}})")
        setup_from_env()
        provider, base_url, api_key = options.get("provider"), options.get("base_url"), options.get("api_key")
        timeout, max_retries = options.get("timeout"), options.get("max_retries")
        default_headers, http_client = options.get("default_headers"), options.get("http_client")
        provider_options = options.get("provider_options")
        if isinstance(http_client, httpx.Client):
            http_client = as_async(http_client)
        self._request_defaults: dict[str, Any] = {}
        self._shared: dict[str, Any] = {"timeout": timeout, "max_retries": max_retries}
        self._http: dict[str, Any] = {"default_headers": default_headers, "http_client": http_client}
        self._provider_options = provider_options or {}
        self._guardrails: Guardrails | None = options.get("guardrails")
        self._providers: dict[str, Provider] = {}
        self._default_kwargs: dict[str, Any] = {}
        self._borrowed: set[str] = set()
        if isinstance(provider, str) or provider is None:
            if base_url is not None and provider is None:
                from llmaas.providers.openai_compat import OpenAICompatProvider

                api_key = api_key or os.environ.get("LLMAAS_API_KEY") or os.environ.get("OPENAI_API_KEY")
                instance = OpenAICompatProvider(base_url=base_url, api_key=api_key, **self._options_for("openai"),
                                                **{k: v for k, v in self._http.items() if v is not None})
                self._default_name = instance.name
                self._providers[instance.name] = cast(Provider, instance)
                self._explicit = True
            else:
                chosen = provider or os.environ.get("LLMAAS_PROVIDER") or None
                self._default_name = chosen or DEFAULT_PROVIDER
                self._explicit = chosen is not None  # LLMAAS_PROVIDER names the default as provider= does
                self._default_kwargs = {"api_key": api_key, "base_url": base_url}
        else:
            self._default_name = provider.name
            self._providers[provider.name] = provider
            self._explicit = True
            self._borrowed.add(provider.name)  # the caller's to close, not ours

        self._attach_resources()

    def _attach_resources(self) -> None:
        self.chat = AsyncChat(self)
        self.completions = AsyncCompletions(self)
        self.embeddings = AsyncEmbeddings(self)
        self.models = AsyncModels(self)
        self.files = AsyncFiles(self)
        self.fine_tuning = AsyncFineTuning(self)
        self.moderations = AsyncModerations(self)
        self.responses = AsyncResponses(self)
        self.batches = AsyncBatches(self)
        self.evals = AsyncEvals(self)

    @property
    def request_defaults(self) -> dict[str, Any]:
        """Options applied to every request of this client (set by ``with_options``)."""
        return self._request_defaults

    def _options_for(self, name: str) -> dict[str, Any]:
        opts = {k: v for k, v in self._shared.items() if v is not None}
        opts.update(self._provider_options.get(name, {}))
        return opts

    def provider(self, name: str | None = None) -> Provider:
        """The provider registered as ``name`` (default: this client's default), created on first use."""
        name = name or self._default_name
        found = self._providers.get(name)
        if found is None:
            kwargs = self._options_for(name)
            if name == self._default_name:
                kwargs.update({k: v for k, v in self._default_kwargs.items() if v is not None})
            if name == self._default_name or speaks_openai(name):
                kwargs.update({k: v for k, v in self._http.items() if v is not None})
            found = self._providers[name] = create_provider(name, **kwargs)
        return found

    @property
    def default_provider(self) -> str:
        """The name of the provider a model id without a ``provider:`` prefix goes to."""
        return self._default_name

    def resolve(self, model: str) -> tuple[Provider, str]:
        """Which provider serves ``model``, and the id it knows the model by."""
        if model.startswith(self._default_name + ":"):
            return self.provider(), model[len(self._default_name) + 1:]
        if model.startswith("ft:"):  # a fine-tuned model's id (ft:<base>:<suffix>:<job>): the default provider's
            return self.provider(), model
        prefix, rest = split_model(model)
        if prefix is not None:
            return self.provider(prefix), rest
        head, sep, _ = model.partition(":")
        if sep and not self._explicit:
            raise UnknownProviderError(head, known_names())
        return self.provider(), model

    async def aclose(self) -> None:
        """Close every provider this client created (a provider instance passed in stays open)."""
        for name, provider in list(self._providers.items()):
            if name not in self._borrowed:
                await provider.aclose()
                del self._providers[name]

    def with_options(self, *, timeout: Timeout | NotGiven = NOT_GIVEN, max_retries: int | None = None,
                     extra_headers: dict[str, str] | None = None) -> AsyncClient:
        """A client that shares this one's providers (and connections) and applies these options to every
        request it makes, as openai-python's ``with_options``."""
        clone = copy.copy(self)
        defaults = dict(self._request_defaults)
        if timeout is not NOT_GIVEN:
            defaults["timeout"] = timeout
        if max_retries is not None:
            defaults["max_retries"] = max_retries
        if extra_headers:
            defaults["extra_headers"] = {**defaults.get("extra_headers", {}), **extra_headers}
        clone._request_defaults = defaults
        clone._attach_resources()
        return clone

    async def close(self) -> None:
        """The same as ``aclose()``, under openai-python's name."""
        await self.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class Client:
    """The sync client: the same resources, each call run on the async client's event-loop thread."""

    chat: Chat
    completions: Completions
    embeddings: Embeddings
    models: Models
    files: Files
    fine_tuning: FineTuning
    moderations: Moderations
    responses: Responses
    batches: Batches
    evals: Evals

    def __init__(self, **options: Unpack[ClientOptions]) -> None:
        self._runner = Runner()
        self._async = AsyncClient(**options)
        self._attach_resources()

    def _attach_resources(self) -> None:
        r = self._runner
        self.chat = Chat(self._async.chat, r)
        self.completions = Completions(self._async.completions, r)
        self.embeddings = Embeddings(self._async.embeddings, r)
        self.models = Models(self._async.models, r)
        self.files = Files(self._async.files, r)
        self.fine_tuning = FineTuning(self._async.fine_tuning, r)
        self.moderations = Moderations(self._async.moderations, r)
        self.responses = Responses(self._async.responses, r)
        self.batches = Batches(self._async.batches, r)
        self.evals = Evals(self._async.evals, r)

    __init__.__doc__ = AsyncClient.__doc__

    @property
    def async_client(self) -> AsyncClient:
        return self._async

    def with_options(self, *, timeout: Timeout | NotGiven = NOT_GIVEN, max_retries: int | None = None,
                     extra_headers: dict[str, str] | None = None) -> Client:
        """A client sharing this one's providers and loop, applying these options to every request."""
        clone = copy.copy(self)
        clone._async = self._async.with_options(timeout=timeout, max_retries=max_retries, extra_headers=extra_headers)
        clone._attach_resources()
        return clone

    def provider(self, name: str | None = None) -> Provider:
        """The provider registered as ``name`` (default: this client's default), created on first use."""
        return self._async.provider(name)

    @property
    def default_provider(self) -> str:
        """The name of the provider a model id without a ``provider:`` prefix goes to."""
        return self._async.default_provider

    def close(self) -> None:
        """Close the providers this client created (in-process engines stop, connections close) and its
        event-loop thread; a closed client refuses further calls. ``with llmaas.Client() as client:`` calls it."""
        if not self._runner.closed:
            self._runner.run(self._async.aclose())
            self._runner.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
