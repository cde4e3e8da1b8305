"""Guardrails as a server policy (``llmaas serve --guard-input/--guard-output block|annotate --redact-pii``):
the policy of ``llmaas.guardrails`` applied to every chat and text completion, whatever provider serves it.
``annotate`` reports what was found in the ``x-llmaas-moderation`` response header (whole answers only: a
stream's headers are sent before its text exists). The moderation model runs in this process on the
built-in embedding model, also when the server fronts a remote API.
"""

from __future__ import annotations

from typing import Any

from llmaas.guardrails import Guardrails, screen_answer, screen_input, screen_stream

HEADER = "x-llmaas-moderation"


class Guard:
    def __init__(self, config: Guardrails, provider: Any) -> None:
        self.config = config
        self._provider = provider  # the server's provider, if it moderates in process; else one of our own
        self._own: Any = None

    async def flagged(self, texts: list[str]) -> list[str]:
        """The categories any of ``texts`` is flagged for (empty: nothing found)."""
        if not texts:
            return []
        from llmaas._options import RequestOptions
        from llmaas.types import ModerationRequest

        moderator = self._provider if getattr(self._provider, "name", "") == "hf" else self._local()
        result = await moderator.moderate(ModerationRequest(input=texts), RequestOptions())
        return sorted({c for r in result.results for c, hit in r.categories.items() if hit})

    def _local(self) -> Any:
        if self._own is None:
            from llmaas.providers.huggingface.provider import HuggingFaceProvider

            self._own = HuggingFaceProvider(progress=False, allow_paths=False)
        return self._own

    async def screen_input(self, body: Any) -> tuple[Any, str | None]:
        return await screen_input(self.config, body, self.flagged)

    async def screen_answer(self, result: Any) -> str | None:
        return await screen_answer(self.config, result, self.flagged)

    def screen_stream(self, stream: Any) -> Any:
        return screen_stream(self.config, stream, self.flagged)
