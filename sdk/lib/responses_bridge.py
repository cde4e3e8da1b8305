"""The Responses API over Chat Completions: a response request and the conversation before it become one
chat request; the chat answer becomes the response's output items, and a chunk stream becomes the
Responses stream events, in OpenAI's order.

Pure translation, no I/O: the service (``responses_service``) adds the store and the model call, so the
in-process client and ``llmaas serve`` answer the Responses API the same way over any chat provider.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

from .._errors import BadRequestError
from ..types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChoiceLogprobs
from ..types.common import CompletionUsage
from ..types.responses import (
    MessageItem,
    Response,
    ResponseCreateRequest,
    ResponseStreamEvent,
    ResponseUsage,
)

Item = dict[str, Any]  # an item as JSON, as the store keeps it and input_items lists it


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(24)}"


def _bad(message: str, param: str, code: str = "invalid_value") -> BadRequestError:
    return BadRequestError(message, status_code=400, param=param, code=code, type="invalid_request_error")


# -- input --------------------------------------------------------------------------------------------------

_ITEM_PREFIX = {"message": "msg", "function_call": "fc", "function_call_output": "fco", "reasoning": "rs"}


def input_items(req: ResponseCreateRequest) -> list[Item]:
    """The request's input as items, each with an id (``input_items`` lists them so)."""
    if isinstance(req.input, str):
        return [{"id": new_id("msg"), "type": "message", "role": "user", "status": "completed",
                 "content": [{"type": "input_text", "text": req.input}]}]
    items: list[Item] = []
    for item in req.input:
        data: Item = item.model_dump(mode="json", by_alias=True, exclude_none=True)
        data["type"] = item.type
        data.setdefault("id", new_id(_ITEM_PREFIX[item.type]))
        if isinstance(item, MessageItem) and isinstance(item.content, str):
            kind = "output_text" if item.role == "assistant" else "input_text"
            data["content"] = [{"type": kind, "text": item.content}]
        items.append(data)
    return items


def check_calls(history: list[Item], items: list[Item]) -> None:
    """Each ``function_call_output`` answers a call made before it (in the conversation or this input)."""
    made = {i["call_id"] for i in history if i.get("type") == "function_call"}
    for n, item in enumerate(items):
        if item["type"] == "function_call":
            made.add(item["call_id"])
        elif item["type"] == "function_call_output" and item["call_id"] not in made:
            raise _bad(f"No tool call found for function call output with call_id {item['call_id']}.",
                       f"input.{n}.call_id", "invalid_call_id")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts: list[Any] = content
    return "".join(str(p.get("text") or p.get("refusal") or "") for p in parts)


def _chat_part(part: dict[str, Any], param: str) -> dict[str, Any]:
    kind = part["type"]
    if kind in ("input_text", "output_text"):
        return {"type": "text", "text": part["text"]}
    if kind == "refusal":
        return {"type": "text", "text": part["refusal"]}
    if kind == "input_image":
        if not part.get("image_url"):
            raise _bad("input_image needs an image_url here (file_id images are not served)", param,
                       "unsupported_content")
        image: dict[str, Any] = {"url": part["image_url"]}
        if part.get("detail"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    file = {k: part[k] for k in ("file_id", "file_data", "filename") if part.get(k)}
    return {"type": "file", "file": file}


def chat_messages(items: list[Item], instructions: str | None) -> list[dict[str, Any]]:
    """The conversation as chat messages: a function call joins the assistant message before it, a call's
    output is a tool message, reasoning items are left out."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": instructions}] if instructions else []
    for n, item in enumerate(items):
        kind = item["type"]
        if kind == "message":
            role, content = item["role"], item["content"]
            if role in ("system", "developer") or isinstance(content, str):
                messages.append({"role": role, "content": _text(content)})
            elif role == "assistant":
                messages.append({"role": "assistant", "content": _text(content)})
            else:
                messages.append({"role": role, "content": [_chat_part(p, f"input.{n}.content.{j}")
                                                           for j, p in enumerate(content)]})
        elif kind == "function_call":
            call = {"id": item["call_id"], "type": "function",
                    "function": {"name": item["name"], "arguments": item["arguments"]}}
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":
                last.setdefault("tool_calls", []).append(call)
                last["content"] = last.get("content") or None
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": item["call_id"], "content": _text(item["output"])})
    return messages


def chat_request(req: ResponseCreateRequest, model: str, conversation: list[Item], limit: int | None = None
                 ) -> ChatCompletionRequest:
    """The chat request that answers ``req`` after ``conversation`` (earlier items and this input)."""
    from ..resources._base import build_request

    messages = chat_messages(conversation, req.instructions)
    if not messages:
        raise _bad("input must hold at least one message", "input", "empty_input")
    fields: dict[str, Any] = {"model": model, "messages": messages, "temperature": req.temperature,
                              "top_p": req.top_p, "seed": req.seed, "top_k": req.top_k, "user": req.user,
                              "max_completion_tokens": req.max_output_tokens if limit is None else limit,
                              "parallel_tool_calls": req.parallel_tool_calls}
    if req.tools:
        fields["tools"] = [{"type": "function", "function": t.model_dump(exclude={"type"}, exclude_none=True)}
                           for t in req.tools]
    choice = req.tool_choice
    if choice is not None:
        fields["tool_choice"] = choice if isinstance(choice, str) else {"type": "function",
                                                                         "function": {"name": choice.name}}
    fmt = req.text.format if req.text is not None else None
    if fmt is not None and fmt.type == "json_object":
        fields["response_format"] = {"type": "json_object"}
    elif fmt is not None and fmt.type == "json_schema":
        schema: dict[str, Any] = {"name": fmt.name, "schema": fmt.schema_, "strict": fmt.strict}
        if fmt.description:
            schema["description"] = fmt.description
        fields["response_format"] = {"type": "json_schema", "json_schema": schema}
    if req.top_logprobs:
        fields.update(logprobs=True, top_logprobs=req.top_logprobs)
    if req.stream:
        fields.update(stream=True, stream_options={"include_usage": True})
    return build_request(ChatCompletionRequest, {k: v for k, v in fields.items() if v is not None})


# -- output -------------------------------------------------------------------------------------------------


def skeleton(req: ResponseCreateRequest, rid: str, created: int, model: str) -> Response:
    """The response before any output: what ``response.created`` carries."""
    fmt = req.text.format.model_dump(by_alias=True, exclude_none=True) if req.text and req.text.format else {
        "type": "text"}
    return Response.model_validate({
        "id": rid, "created_at": created, "status": "in_progress", "model": model,
        "instructions": req.instructions, "metadata": req.metadata or {},
        "previous_response_id": req.previous_response_id, "max_output_tokens": req.max_output_tokens,
        "parallel_tool_calls": req.parallel_tool_calls is not False,
        "temperature": 1.0 if req.temperature is None else req.temperature,
        "top_p": 1.0 if req.top_p is None else req.top_p,
        "tool_choice": (req.tool_choice if isinstance(req.tool_choice, str) or req.tool_choice is None
                        else req.tool_choice.model_dump()) or "auto",
        "tools": [t.model_dump(exclude_none=True) for t in req.tools or []],
        "text": {"format": fmt}, "truncation": req.truncation or "disabled", "background": bool(req.background),
        "store": req.store is not False, "user": req.user, "usage": None})


def usage_of(usage: CompletionUsage | None) -> ResponseUsage | None:
    if usage is None:
        return None
    cached = usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else None
    return ResponseUsage.model_validate({
        "input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "input_tokens_details": {"cached_tokens": cached or 0, "cache_write_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 0}})


def _finished(base: Response, output: list[Item], finish: str | None, usage: ResponseUsage | None) -> Response:
    incomplete = finish in ("length", "content_filter")
    data = base.model_dump(mode="json", by_alias=True)
    data.update(output=output, usage=usage.model_dump() if usage else None, completed_at=int(time.time()),
                status="incomplete" if incomplete else "completed",
                incomplete_details={"reason": "max_output_tokens" if finish == "length" else "content_filter"}
                if incomplete else None)
    return Response.model_validate(data)


def response_from(completion: ChatCompletion, base: Response) -> Response:
    """The finished response for a whole chat answer (its first choice)."""
    choice = completion.choices[0]
    status = "incomplete" if choice.finish_reason in ("length", "content_filter") else "completed"
    output: list[Item] = []
    message = choice.message
    if message.content or message.refusal or not message.tool_calls:
        part: Item = ({"type": "refusal", "refusal": message.refusal} if message.refusal and not message.content
                      else {"type": "output_text", "text": message.content or "", "annotations": [],
                            "logprobs": _logprobs(choice.logprobs)})
        output.append({"type": "message", "id": new_id("msg"), "role": "assistant", "status": status,
                       "content": [part]})
    for call in message.tool_calls or []:
        output.append({"type": "function_call", "id": new_id("fc"), "call_id": call.id,
                       "name": call.function.name, "arguments": call.function.arguments, "status": status})
    return _finished(base, output, choice.finish_reason, usage_of(completion.usage))


def _logprobs(logprobs: ChoiceLogprobs | None) -> list[Item]:
    content = logprobs.content if logprobs is not None else None
    return [lp.model_dump(mode="json") for lp in content or []]


class _Events:
    """Numbers the events of one stream."""

    def __init__(self) -> None:
        self.seq = 0

    def __call__(self, kind: str, **fields: Any) -> ResponseStreamEvent:
        event = ResponseStreamEvent.model_validate({"type": kind, "sequence_number": self.seq, **fields})
        self.seq += 1
        return event


async def events_from(chunks: AsyncIterator[ChatCompletionChunk], base: Response,
                      finished: Any = None) -> AsyncIterator[ResponseStreamEvent]:
    """The Responses events for a chat chunk stream: ``response.created`` and ``response.in_progress``,
    then per output item ``output_item.added``, its deltas (``output_text.delta`` or
    ``function_call_arguments.delta``, as the model writes them) and its ``.done`` events, and last
    ``response.completed`` (``response.incomplete`` when the token limit cut it, ``response.failed`` when
    the model failed part way). ``finished``, if given, is awaited with the final response before its last
    event is sent (the service stores it)."""
    writer = _StreamWriter(base)
    yield writer.ev("response.created", response=base)
    yield writer.ev("response.in_progress", response=base)
    try:
        async for chunk in chunks:
            for event in writer.chunk(chunk):
                yield event
    except Exception as exc:  # noqa: BLE001 - the response fails, as OpenAI's does, and says why
        failed = writer.failed(exc)
        if finished is not None:
            await finished(failed)
        yield writer.ev("response.failed", response=failed)
        return
    for event in writer.close():
        yield event
    final = _finished(base, writer.output, writer.finish, usage_of(writer.usage))
    if finished is not None:
        await finished(final)
    kind = "response.incomplete" if final.status == "incomplete" else "response.completed"
    yield writer.ev(kind, response=final)


class _StreamWriter:
    """The output items of one streamed response as its chunks arrive, and the events that tell them."""

    def __init__(self, base: Response) -> None:
        self.base = base
        self.ev = _Events()
        self.output: list[Item] = []
        self.text_at: int | None = None  # the output index of the open message
        self.calls: dict[int, int] = {}  # a chunk's tool-call index -> its output index
        self.finish: str | None = None
        self.usage: CompletionUsage | None = None

    def chunk(self, chunk: ChatCompletionChunk) -> list[ResponseStreamEvent]:
        if chunk.usage is not None:
            self.usage = chunk.usage
        out: list[ResponseStreamEvent] = []
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta.content:
                out += self._text(delta.content)
            for tc in delta.tool_calls or []:
                out += self._call(tc.index, tc.id, tc.function.name if tc.function else None,
                                  tc.function.arguments if tc.function else None)
            if choice.finish_reason:
                self.finish = choice.finish_reason
        return out

    def _text(self, text: str) -> list[ResponseStreamEvent]:
        ev, out = self.ev, list[ResponseStreamEvent]()
        if self.text_at is None:
            self.text_at = len(self.output)
            item: Item = {"type": "message", "id": new_id("msg"), "role": "assistant", "status": "in_progress",
                          "content": []}
            self.output.append(item)
            out.append(ev("response.output_item.added", output_index=self.text_at, item=dict(item, content=[])))
            part: Item = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            item["content"].append(part)
            out.append(ev("response.content_part.added", item_id=item["id"], output_index=self.text_at,
                          content_index=0, part=dict(part)))
        message = self.output[self.text_at]
        message["content"][0]["text"] += text
        out.append(ev("response.output_text.delta", item_id=message["id"], output_index=self.text_at,
                      content_index=0, delta=text, logprobs=[]))
        return out

    def _call(self, index: int, call_id: str | None, name: str | None, args: str | None) -> list[ResponseStreamEvent]:
        out: list[ResponseStreamEvent] = []
        if index not in self.calls:
            out += self._close_text()
            self.calls[index] = len(self.output)
            call: Item = {"type": "function_call", "id": new_id("fc"), "call_id": call_id or new_id("call"),
                          "name": name or "", "arguments": "", "status": "in_progress"}
            self.output.append(call)
            out.append(self.ev("response.output_item.added", output_index=self.calls[index], item=dict(call)))
        if args:
            at = self.calls[index]
            self.output[at]["arguments"] += args
            out.append(self.ev("response.function_call_arguments.delta", item_id=self.output[at]["id"],
                               output_index=at, delta=args))
        return out

    def _status(self) -> str:
        return "incomplete" if self.finish == "length" else "completed"

    def _close_text(self) -> list[ResponseStreamEvent]:
        if self.text_at is None:
            return []
        at, self.text_at = self.text_at, None
        item = self.output[at]
        part = item["content"][0]
        item["status"] = self._status()
        return [self.ev("response.output_text.done", item_id=item["id"], output_index=at, content_index=0,
                        text=part["text"], logprobs=[]),
                self.ev("response.content_part.done", item_id=item["id"], output_index=at, content_index=0,
                        part=part),
                self.ev("response.output_item.done", output_index=at, item=item)]

    def close(self) -> list[ResponseStreamEvent]:
        """The ``.done`` events of every open item (an empty answer is one empty message, as whole)."""
        out = self._close_text()
        for at in self.calls.values():
            call = self.output[at]
            call["status"] = self._status()
            out.append(self.ev("response.function_call_arguments.done", item_id=call["id"], output_index=at,
                               arguments=call["arguments"], name=call["name"]))
            out.append(self.ev("response.output_item.done", output_index=at, item=call))
        if not self.output:
            self.output.append({"type": "message", "id": new_id("msg"), "role": "assistant", "status": "completed",
                                "content": [{"type": "output_text", "text": "", "annotations": [], "logprobs": []}]})
        return out

    def failed(self, exc: Exception) -> Response:
        used = usage_of(self.usage)
        data = self.base.model_dump(mode="json", by_alias=True)
        for item in self.output:
            item["status"] = "incomplete"
        data.update(output=self.output, status="failed", completed_at=None,
                    error={"code": "server_error", "message": str(exc) or type(exc).__name__},
                    usage=used.model_dump() if used is not None else None)
        return Response.model_validate(data)
