"""Guardrails: the server's policies over chat and text completions, whatever provider serves them.

- Input screening (``--guard-input block|annotate``): what the caller sent (user, system and developer
  text) is screened by ``llmaas-moderation-1`` before it reaches the model. ``block`` answers 400 with code
  ``content_policy_violation`` naming the categories; ``annotate`` lets it through and says what was found
  in the ``x-llmaas-moderation`` response header.
- Output screening (``--guard-output block|annotate``): a whole answer is screened before it is sent; a
  stream is held back in windows of text, each screened before its chunks go out, so a blocked stream ends
  with an error event and nothing flagged reaches the client. (A stream's headers are gone before its text
  exists, so ``annotate`` applies to whole answers only.)
- PII redaction (``--redact-pii``): personal data and secrets in prompts (``llmaas.privacy``) are replaced
  with placeholders before the request reaches a provider, local or remote.

The moderation model runs in this process on the built-in embedding model, also when the server fronts a
remote API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from llmaas._errors import APIStatusError
from llmaas.privacy import redact

WINDOW_CHARS = 400  # a stream's text is screened (and released) in pieces of about this much
OVERLAP_CHARS = 120  # each window also covers the end of the one before, so harm across a cut is seen
HEADER = "x-llmaas-moderation"


@dataclass
class GuardConfig:
    input: str | None = None  # "block" or "annotate"
    output: str | None = None
    redact_pii: bool = False

    @property
    def active(self) -> bool:
        return bool(self.input or self.output or self.redact_pii)


def violation(where: str, categories: list[str]) -> APIStatusError:
    return APIStatusError(f"the {where} was flagged by the content policy ({', '.join(categories)}) and not "
                          f"{'processed' if where == 'input' else 'sent'}", status_code=400,
                          code="content_policy_violation", param="messages" if where == "input" else None,
                          type="invalid_request_error")


def _text_of(content: Any) -> list[str]:
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    out = []
    for part in content:
        text = getattr(part, "text", None) if not isinstance(part, dict) else part.get("text")
        if isinstance(text, str):
            out.append(text)
    return out


def input_texts(body: Any) -> list[str]:
    """What the caller wrote: the text of user, system and developer messages, or the prompts."""
    messages = getattr(body, "messages", None)
    if messages is not None:
        return [t for m in messages if getattr(m, "role", "") in ("user", "system", "developer")
                for t in _text_of(getattr(m, "content", None))]
    prompt = getattr(body, "prompt", None)
    if isinstance(prompt, str):
        return [prompt]
    return [p for p in (prompt or []) if isinstance(p, str)]


def redacted(body: Any) -> Any:
    """The request with personal data in its message texts and prompts replaced by placeholders."""
    messages = getattr(body, "messages", None)
    if messages is not None:
        def clean(m: Any) -> Any:
            content = getattr(m, "content", None)
            if isinstance(content, str):
                return m.model_copy(update={"content": redact(content)})
            if isinstance(content, list):
                parts = [p.model_copy(update={"text": redact(p.text)}) if isinstance(getattr(p, "text", None), str)
                         else p for p in content]
                return m.model_copy(update={"content": parts})
            return m
        return body.model_copy(update={"messages": [clean(m) for m in messages]})
    prompt = getattr(body, "prompt", None)
    if isinstance(prompt, str):
        return body.model_copy(update={"prompt": redact(prompt)})
    if isinstance(prompt, list) and all(isinstance(p, str) for p in prompt):
        return body.model_copy(update={"prompt": [redact(p) for p in prompt]})
    return body


class Guard:
    def __init__(self, config: GuardConfig, provider: Any) -> None:
        self.config = config
        self._provider = provider  # the server's provider, if it moderates in process; else one of our own
        self._own: Any = None

    async def flagged(self, texts: list[str]) -> list[str]:
        """The categories any of ``texts`` is flagged for (empty: nothing found)."""
        texts = [t for t in texts if t.strip()]
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
        """The request to send on (redacted if so configured), and the annotation for the response."""
        if self.config.redact_pii:
            body = redacted(body)
        if not self.config.input:
            return body, None
        found = await self.flagged(input_texts(body))
        if found and self.config.input == "block":
            raise violation("input", found)
        return body, f"input={'flagged:' + ','.join(found) if found else 'ok'}"

    async def screen_answer(self, result: Any) -> str | None:
        if not self.config.output:
            return None
        texts = []
        for choice in getattr(result, "choices", []) or []:
            message = getattr(choice, "message", None)
            texts += _text_of(getattr(message, "content", None)) if message is not None else \
                _text_of(getattr(choice, "text", None))
        found = await self.flagged(texts)
        if found and self.config.output == "block":
            raise violation("output", found)
        return f"output={'flagged:' + ','.join(found) if found else 'ok'}"

    def screen_stream(self, stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """Chunks released window by window once their text is screened; a flagged window ends the stream
        with a content-policy error (sent as the stream's error event)."""
        if self.config.output != "block":
            return stream
        return _ScreenedStream(self, stream)


class _ScreenedStream:
    def __init__(self, guard: Guard, stream: AsyncIterator[Any]) -> None:
        self.guard, self.stream = guard, stream
        self.held: list[Any] = []
        self.ready: list[Any] = []
        self.text = ""  # every text so far, for the overlap
        self.screened = 0  # how much of it has been screened
        self.done = False

    def __aiter__(self) -> _ScreenedStream:
        return self

    @property
    def partial_usage(self) -> Any:
        return self.stream.partial_usage  # type: ignore[attr-defined]  # AttributeError: the stream has none

    async def __anext__(self) -> Any:
        while not self.ready:
            if self.done:
                raise StopAsyncIteration
            try:
                chunk = await self.stream.__anext__()
            except StopAsyncIteration:
                self.done = True
                await self._release()
                continue
            self.held.append(chunk)
            self.text += "".join(_chunk_text(chunk))
            if len(self.text) - self.screened >= WINDOW_CHARS:
                await self._release()
        return self.ready.pop(0)

    async def _release(self) -> None:
        window = self.text[max(0, self.screened - OVERLAP_CHARS):]
        found = await self.guard.flagged([window]) if window[OVERLAP_CHARS if self.screened else 0:].strip() else []
        if found:
            self.done = True
            self.held = []
            raise violation("output", found)
        self.screened = len(self.text)
        self.ready, self.held = self.ready + self.held, []

    async def aclose(self) -> None:
        close = getattr(self.stream, "aclose", None)
        if close is not None:
            await close()


def _chunk_text(chunk: Any) -> list[str]:
    out = []
    for choice in getattr(chunk, "choices", []) or []:
        delta = getattr(choice, "delta", None)
        text = getattr(delta, "content", None) if delta is not None else getattr(choice, "text", None)
        if isinstance(text, str):
            out.append(text)
    return out
