"""Guardrails as a server policy (``llmaas serve --guard-input/--guard-output block|annotate --redact-pii``):
the policy of ``llmaas.guardrails`` applied to every chat and text completion, whatever provider serves it.
``annotate`` reports what was found in the ``x-llmaas-moderation`` response header (whole answers only: a
stream's headers are sent before its text exists). The moderation model (``--moderation-model``, by default
llmaas-moderation-2) runs in this process, also when the server fronts a remote API, at the server's
``--guard-sensitivity`` or the caller's key's own (``llmaas keys limits KEY --guard-sensitivity``).
"""

from __future__ import annotations

import functools
from typing import Any

from llmaas._lanes import lane
from llmaas._moderation import MODERATION_MODELS
from llmaas._provider import InProcess
from llmaas.guardrails import Guardrails, screen_answer, screen_input, screen_stream
from llmaas.store import Store
from llmaas.store.usage_series import record_flags

HEADER = "x-llmaas-moderation"


class Guard:
    def __init__(self, config: Guardrails, provider: Any, store: Store | None = None) -> None:
        self.config = config
        self._store = store  # where what was flagged is recorded (for the dashboard), if given
        self._provider = provider  # the server's provider, if it moderates in process; else one of our own
        self._own: Any = None

    @property
    def model(self) -> str:
        """The moderation model's name, without its provider."""
        return self.config.moderation_model.rpartition(":")[2]

    def sensitivity(self, who: Any) -> Any:
        """The caller's key's sensitivity, or the server's (always balanced with llmaas-moderation-1 pinned,
        the one threshold set it has)."""
        if self.config.single_calibration:
            return "balanced"
        return getattr(who, "guard_sensitivity", None) or self.config.sensitivity

    def with_sensitivity(self, body: Any, who: Any) -> Any:
        """A /v1/moderations request without a sensitivity of its own gets the key's, where the server's own
        engine answers it with one of llmaas's models (another provider's model has no such setting)."""
        own = getattr(self._provider, "name", "") == "hf" and (body.model is None or body.model in MODERATION_MODELS)
        if body.sensitivity is None and own and getattr(who, "guard_sensitivity", None):
            return body.model_copy(update={"sensitivity": who.guard_sensitivity})
        return body

    async def flagged(self, texts: list[str], who: Any = None, source: str = "input") -> list[str]:
        """The categories any of ``texts`` is flagged for (empty: nothing found), at the caller's sensitivity;
        a flag is recorded with the caller's key and where it was found (``input`` or ``output``)."""
        if not texts:
            return []
        from llmaas._options import RequestOptions
        from llmaas.types import ModerationRequest

        moderator = self._provider if getattr(self._provider, "name", "") == "hf" else self._local()
        req = ModerationRequest(input=texts, model=self.model, sensitivity=self.sensitivity(who))
        result = await moderator.moderate(req, RequestOptions())
        found = sorted({c for r in result.results for c, hit in r.categories.items() if hit})
        if found and self._store is not None:
            await lane("store").run(record_flags, self._store, getattr(who, "key_id", None), source, found)
        return found

    def _local(self) -> Any:
        if self._own is None:
            from llmaas.providers.huggingface.provider import HuggingFaceProvider

            self._own = HuggingFaceProvider(progress=False, allow_paths=False)
        return self._own

    async def screen_input(self, body: Any, who: Any = None) -> tuple[Any, str | None]:
        decode = self._provider.decode_tokens if isinstance(self._provider, InProcess) else None
        return await screen_input(self.config, body, functools.partial(self.flagged, who=who, source="input"),
                                  decode)

    async def screen_answer(self, result: Any, who: Any = None) -> str | None:
        return await screen_answer(self.config, result, functools.partial(self.flagged, who=who, source="output"))

    def screen_stream(self, stream: Any, who: Any = None) -> Any:
        return screen_stream(self.config, stream, functools.partial(self.flagged, who=who, source="output"))
