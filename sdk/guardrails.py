"""Guardrails: screen what goes in and out of a chat or text completion, whatever provider serves it.

    client = llmaas.Client(base_url="https://api.example.com/v1",
                           guardrails=llmaas.Guardrails(input="block", output="block", redact_pii=True))

- ``input="block"``: what the caller wrote (user, system and developer text, or the prompt) is screened
  before it is sent; flagged input raises ``ContentPolicyViolationError`` naming the categories.
- ``output="block"``: a whole answer is screened before it is returned; a stream is held back in windows
  of text, each screened before its chunks are yielded, so a flagged window ends the stream with the error
  and its text is never seen.
- ``redact_pii=True``: personal data and secrets in messages and prompts (``llmaas.privacy``) are replaced
  with placeholders before the request leaves.
- ``moderation_model``: who screens; by default ``hf:llmaas-moderation-1``, offline in this process.

``llmaas serve --guard-input/--guard-output/--redact-pii`` applies the same policy on the server (with
``annotate`` as well: let through, and say what was found in a response header).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

from ._errors import ContentPolicyViolationError
from .privacy import redact

__all__ = ["Guardrails"]

WINDOW_CHARS = 400  # a stream's text is screened (and released) in pieces of about this much
OVERLAP_CHARS = 120  # each window also covers the end of the one before, so harm across a cut is seen
Flagged = Callable[[list[str]], Awaitable[list[str]]]  # texts -> the categories any of them is flagged for


@dataclass(frozen=True)
class Guardrails:
    input: Literal["block", "annotate"] | None = None
    output: Literal["block", "annotate"] | None = None
    redact_pii: bool = False
    moderation_model: str = "hf:llmaas-moderation-1"

    def __post_init__(self) -> None:
        for name in ("input", "output"):
            if getattr(self, name) not in (None, "block", "annotate"):
                raise ValueError(f"Guardrails.{name} must be 'block', 'annotate' or None, not {getattr(self, name)!r}")

    @property
    def active(self) -> bool:
        return bool(self.input or self.output or self.redact_pii)


def violation(where: str, categories: list[str]) -> ContentPolicyViolationError:
    done = "processed" if where == "input" else "returned"
    return ContentPolicyViolationError(f"the {where} was flagged by the content policy ({', '.join(categories)}) "
                                       f"and not {done}", param="messages" if where == "input" else None,
                                       type="invalid_request_error")


def _items(value: Any) -> list[Any]:
    return list(cast(list[Any], value)) if value else []


def _text_of(content: Any) -> list[str]:
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    out: list[str] = []
    for part in _items(content):
        text: Any = cast(dict[str, Any], part).get("text") if isinstance(part, dict) else getattr(part, "text", None)
        if isinstance(text, str):
            out.append(text)
    return out


def input_texts(req: Any) -> list[str]:
    """What the caller wrote: the text of user, system and developer messages, or the prompts."""
    messages = getattr(req, "messages", None)
    if messages is not None:
        return [t for m in messages if getattr(m, "role", "") in ("user", "system", "developer")
                for t in _text_of(getattr(m, "content", None))]
    prompt = getattr(req, "prompt", None)
    if isinstance(prompt, str):
        return [prompt]
    return [p for p in _items(prompt) if isinstance(p, str)]


def answer_texts(result: Any) -> list[str]:
    texts: list[str] = []
    for choice in _items(getattr(result, "choices", None)):
        message = getattr(choice, "message", None)
        texts += _text_of(getattr(message, "content", None)) if message is not None else \
            _text_of(getattr(choice, "text", None))
    return texts


def redacted(req: Any) -> Any:
    """The request with personal data in its message texts and prompts replaced by placeholders."""
    messages = getattr(req, "messages", None)
    if messages is not None:
        def clean(m: Any) -> Any:
            content = getattr(m, "content", None)
            if isinstance(content, str):
                return m.model_copy(update={"content": redact(content)})
            if isinstance(content, list):
                parts = [p.model_copy(update={"text": redact(p.text)}) if isinstance(getattr(p, "text", None), str)
                         else p for p in _items(content)]
                return m.model_copy(update={"content": parts})
            return m
        return req.model_copy(update={"messages": [clean(m) for m in messages]})
    prompt = getattr(req, "prompt", None)
    if isinstance(prompt, str):
        return req.model_copy(update={"prompt": redact(prompt)})
    texts = _items(prompt)
    if isinstance(prompt, list) and all(isinstance(p, str) for p in texts):
        return req.model_copy(update={"prompt": [redact(str(p)) for p in texts]})
    return req


async def screen_input(policy: Guardrails, req: Any, flagged: Flagged) -> tuple[Any, str | None]:
    """The request to send on (redacted if so configured), and an annotation of what was found."""
    if policy.redact_pii:
        req = redacted(req)
    if not policy.input:
        return req, None
    found = await flagged([t for t in input_texts(req) if t.strip()])
    if found and policy.input == "block":
        raise violation("input", found)
    return req, f"input={'flagged:' + ','.join(found) if found else 'ok'}"


async def screen_answer(policy: Guardrails, result: Any, flagged: Flagged) -> str | None:
    if not policy.output:
        return None
    found = await flagged([t for t in answer_texts(result) if t.strip()])
    if found and policy.output == "block":
        raise violation("output", found)
    return f"output={'flagged:' + ','.join(found) if found else 'ok'}"


def screen_stream(policy: Guardrails, stream: Any, flagged: Flagged) -> Any:
    return ScreenedStream(stream, flagged) if policy.output == "block" else stream


class ScreenedStream:
    """Chunks released window by window once their text is screened; a flagged window raises the
    content-policy error instead, and its chunks are dropped."""

    def __init__(self, stream: Any, flagged: Flagged) -> None:
        self.stream, self.flagged = stream, flagged
        self.held: list[Any] = []
        self.ready: list[Any] = []
        self.text = ""  # every text so far, for the overlap
        self.screened = 0  # how much of it has been screened
        self.done = False

    def __aiter__(self) -> ScreenedStream:
        return self

    @property
    def partial_usage(self) -> Any:
        return self.stream.partial_usage  # AttributeError where the stream has none

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
        fresh = self.text[self.screened:]
        window = self.text[max(0, self.screened - OVERLAP_CHARS):]
        found = await self.flagged([window]) if fresh.strip() else []
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

    async def close(self) -> None:
        await self.aclose()


async def guarded(client: Any, req: Any, call: Callable[[Any], Awaitable[Any]], stream: bool) -> Any:
    """``call(req)`` under the client's guardrails (the request redacted and screened, the answer or the
    stream screened); just ``call(req)`` without them."""
    policy: Guardrails | None = getattr(client, "_guardrails", None)
    if policy is None or not policy.active:
        return await call(req)

    async def flagged(texts: list[str]) -> list[str]:
        if not texts:
            return []
        result = await client.moderations.create(input=texts, model=policy.moderation_model)
        return sorted({c for r in result.results for c, hit in r.categories.items() if hit})

    req, _ = await screen_input(policy, req, flagged)
    result = await call(req)
    if stream:
        return screen_stream(policy, result, flagged)
    await screen_answer(policy, result, flagged)
    return result


def _chunk_text(chunk: Any) -> list[str]:
    out: list[str] = []
    for choice in _items(getattr(chunk, "choices", None)):
        delta = getattr(choice, "delta", None)
        text = getattr(delta, "content", None) if delta is not None else getattr(choice, "text", None)
        if isinstance(text, str):
            out.append(text)
    return out


