"""Guardrails: screen what goes in and out of a chat or text completion, whatever provider serves it.

    client = llmaas.Client(base_url="https://api.example.com/v1",
                           guardrails=llmaas.Guardrails(input="block", output="block", redact_pii=True))

- ``input="block"``: everything the caller wrote that reaches the model is screened before it is sent;
  flagged input raises ``ContentPolicyViolationError`` naming the categories. Per part of a request:

  - user, system and developer messages: screened;
  - tools (names, descriptions, parameter schemas) and a ``response_format`` schema: screened, as text;
  - completion prompts: screened; prompts given as token ids are decoded with the model's tokenizer where
    it is in this process (``llmaas serve`` on its own engine) and refused with 400 ``unscreenable_input``
    where it is not (a remote API);
  - base64 inside any of these: decoded and screened as well;
  - earlier assistant turns and tool results: not screened by default (they are the model's own words and
    what tools returned, screened as output when they were made); ``screen_history=True``
    (``llmaas serve --guard-history``) screens them too.
- ``output="block"``: a whole answer is screened before it is returned; a stream is held back in windows
  of text, each screened before its chunks are yielded, so a flagged window ends the stream with the error
  and its text is never seen.
- ``redact_pii=True``: personal data and secrets in messages and prompts (``llmaas.privacy``) are replaced
  with placeholders before the request leaves.
- ``moderation_model``: who screens; by default ``hf:llmaas-moderation-2``, offline in this process
  (``hf:llmaas-moderation-1`` keeps the earlier model, for a deployment audited with it).
- ``sensitivity``: which of the moderation model's calibrated threshold sets decides (``strict``,
  ``balanced``, ``lenient``; each set for a stated false-positive rate on safe text, see
  docs/moderation.md). It applies to llmaas's own moderation models; another provider's model decides alone.

``llmaas serve --guard-input/--guard-output/--redact-pii`` applies the same policy on the server (with
``annotate`` as well: let through, and say what was found in a response header).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, cast

from ._errors import BadRequestError, ConfigurationError, ContentPolicyViolationError
from ._moderation import MODERATION_MODELS, SENSITIVITIES, Sensitivity
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
    moderation_model: str = "hf:llmaas-moderation-2"
    screen_history: bool = False  # also screen earlier assistant turns and tool results (see input_texts)
    sensitivity: Sensitivity = "balanced"

    def __post_init__(self) -> None:
        for name in ("input", "output"):
            if getattr(self, name) not in (None, "block", "annotate"):
                raise ValueError(f"Guardrails.{name} must be 'block', 'annotate' or None, not {getattr(self, name)!r}")
        if self.sensitivity not in SENSITIVITIES:
            raise ConfigurationError(f"Guardrails.sensitivity must be one of {', '.join(SENSITIVITIES)}, "
                                     f"not {self.sensitivity!r}")
        if self.single_calibration and self.sensitivity != "balanced":
            raise ConfigurationError(f"{self.moderation_model} has one calibrated threshold set (balanced), the "
                                     f"one it was audited with: sensitivity {self.sensitivity!r} needs "
                                     f"{MODERATION_MODELS[-1]}")

    @property
    def single_calibration(self) -> bool:
        """Whether the moderation model is llmaas-moderation-1, which has only its balanced thresholds."""
        return self.moderation_model.rpartition(":")[2] == MODERATION_MODELS[0]

    @property
    def calibrated(self) -> bool:
        """Whether the moderation model is one of llmaas's own, whose thresholds ``sensitivity`` chooses."""
        return self.moderation_model.rpartition(":")[2] in MODERATION_MODELS

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


CALLER_ROLES = ("user", "system", "developer")
HISTORY_ROLES = ("assistant", "tool", "function")
BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")


def input_texts(req: Any, history: bool = False) -> list[str]:
    """Every text of a request that reaches the model and the caller wrote: user, system and developer
    messages (with ``history``, earlier assistant turns and tool results too), every string of the tools'
    definitions and of a ``response_format`` schema, and the prompts. Token-id prompts are not here:
    ``token_prompts`` gives them, for the caller to decode."""
    out: list[str] = []
    roles = CALLER_ROLES + (HISTORY_ROLES if history else ())
    messages = getattr(req, "messages", None)
    if messages is not None:
        out += [t for m in messages if getattr(m, "role", "") in roles for t in _text_of(getattr(m, "content", None))]
    for tool in _items(getattr(req, "tools", None)):
        out.append(" ".join(_strings(_plain(tool))))
    fmt = getattr(req, "response_format", None)
    if fmt is not None:
        out.append(" ".join(_strings(_plain(fmt))))
    prompt = getattr(req, "prompt", None)
    if isinstance(prompt, str):
        out.append(prompt)
    else:
        out += [p for p in _items(prompt) if isinstance(p, str)]
    return [t for t in out if t.strip()]


def token_prompts(req: Any) -> list[list[int]]:
    """A completion's prompts given as token ids (``[ids]`` or ``[[ids], ...]``)."""
    prompt = getattr(req, "prompt", None)
    items = _items(prompt) if isinstance(prompt, list) else []
    if items and all(isinstance(t, int) for t in items):
        return [cast(list[int], items)]
    return [cast(list[int], p) for p in items if isinstance(p, list)]


def _plain(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    return dump(by_alias=True, exclude_none=True) if callable(dump) else value


def _strings(value: Any) -> list[str]:
    """Every string in a JSON-like value, keys included (a tool's name, description, parameter names and
    descriptions, enum values: all of it is rendered into the prompt)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in cast(dict[Any, Any], value).items() for t in (*_strings(k), *_strings(v))]
    if isinstance(value, (list, tuple)):
        return [t for v in cast(list[Any], value) for t in _strings(v)]
    return []


def decoded_base64(texts: list[str]) -> list[str]:
    """The text hidden as base64 in ``texts`` (runs of 24 or more base64 characters that decode to readable
    UTF-8), so that encoding harm does not carry it past the screen."""
    found: list[str] = []
    for text in texts:
        for run in BASE64_RUN.findall(text):
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                try:
                    plain = decode(run + "=" * (-len(run) % 4)).decode("utf-8")
                except (ValueError, UnicodeDecodeError):
                    continue
                if plain.strip() and sum(c.isprintable() or c.isspace() for c in plain) >= 0.9 * len(plain):
                    found.append(plain)
                    break
    return found


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


Decode = Callable[[str, list[int]], Awaitable[str]]  # (model, token ids) -> their text


async def screen_input(policy: Guardrails, req: Any, flagged: Flagged,
                       decode: Decode | None = None) -> tuple[Any, str | None]:
    """The request to send on (redacted if so configured), and an annotation of what was found. Token-id
    prompts are screened as the text they decode to; without ``decode`` (a remote API's tokenizer is not
    here) they cannot be screened, and ``block`` refuses them."""
    if policy.redact_pii:
        req = redacted(req)
    if not policy.input:
        return req, None
    texts = input_texts(req, policy.screen_history)
    ids = token_prompts(req)
    if ids and decode is None:
        if policy.input == "block":
            raise BadRequestError("prompts given as token ids cannot be screened by this server's content policy "
                                  "(the model's tokenizer is not here); send the prompt as text",
                                  status_code=400, param="prompt", code="unscreenable_input")
    elif ids and decode is not None:
        texts += [await decode(str(getattr(req, "model", "")), p) for p in ids]
    texts += decoded_base64(texts)
    found = await flagged([t for t in texts if t.strip()])
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
        extra = {"extra_body": {"sensitivity": policy.sensitivity}} if policy.calibrated else {}
        result = await client.moderations.create(input=texts, model=policy.moderation_model, **extra)
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


