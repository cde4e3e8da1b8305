"""Guardrails as a server policy (``llmaas serve --guard-input/--guard-output block|annotate --redact-pii``):
the policy of ``llmaas.guardrails`` applied to every chat and text completion, whatever provider serves it.
``annotate`` reports what was found in the ``x-llmaas-moderation`` response header (whole answers only: a
stream's headers are sent before its text exists). The moderation model runs in this process on the
built-in embedding model, also when the server fronts a remote API.
"""

from __future__ import annotations

import functools
from typing import Any

from llmaas._lanes import lane
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

    async def flagged(self, texts: list[str], key_id: str | None = None, source: str = "input") -> list[str]:
        """The categories any of ``texts`` is flagged for (empty: nothing found); a flag is recorded with the
        caller's key and where it was found (``input`` or ``output``)."""
        if not texts:
            return []
        from llmaas._options import RequestOptions
        from llmaas.types import ModerationRequest

        moderator = self._provider if getattr(self._provider, "name", "") == "hf" else self._local()
        result = await moderator.moderate(ModerationRequest(input=texts), RequestOptions())
        found = sorted({c for r in result.results for c, hit in r.categories.items() if hit})
        if found and self._store is not None:
            await lane("store").run(record_flags, self._store, key_id, source, found)
        return found

    def _local(self) -> Any:
        if self._own is None:
            from llmaas.providers.huggingface.provider import HuggingFaceProvider

            self._own = HuggingFaceProvider(progress=False, allow_paths=False)
        return self._own

    async def screen_input(self, body: Any, key_id: str | None = None) -> tuple[Any, str | None]:
        decode = self._provider.decode_tokens if isinstance(self._provider, InProcess) else None
        return await screen_input(self.config, body, functools.partial(self.flagged, key_id=key_id, source="input"),
                                  decode)

    async def screen_answer(self, result: Any, key_id: str | None = None) -> str | None:
        return await screen_answer(self.config, result, functools.partial(self.flagged, key_id=key_id,
                                                                          source="output"))

    def screen_stream(self, stream: Any, key_id: str | None = None) -> Any:
        return screen_stream(self.config, stream, functools.partial(self.flagged, key_id=key_id, source="output"))
