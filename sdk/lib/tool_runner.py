"""A small tool-running loop: the model is asked with Python functions as tools; the calls it makes are
run (async functions awaited, plain ones on a worker thread, a round's calls concurrently), their results
go back as tool messages, and so on until it answers in text or ``max_steps`` rounds are done."""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio
from pydantic import BaseModel, ValidationError

from llmaas._threads import to_thread

from .._errors import LengthFinishReasonError, ToolRunLimitError
from ..types.chat import ChatCompletion, ResponseToolCall
from .structured import PydanticFunctionTool, function_tool


@dataclass
class ToolRun:
    completion: ChatCompletion
    """The last answer (text, unless the loop stopped at ``max_steps`` on a provider that still called)."""
    messages: list[Any] = field(default_factory=list[Any])
    """The whole conversation: the messages given, each answer, and each tool result."""
    steps: int = 0
    """Rounds of tool calls that were run."""

    @property
    def content(self) -> str | None:
        return self.completion.choices[0].message.content


def _result_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps(value, default=str, ensure_ascii=False)


async def _run_call(call: ResponseToolCall, tools: dict[str, tuple[Callable[..., Any], PydanticFunctionTool]]) -> str:
    """The text of one call's result; a call the model got wrong, or a function that raised, answers with
    an error the model can read and correct."""
    found = tools.get(call.function.name)
    if found is None:
        return f"error: there is no function named {call.function.name!r}; use one of: {', '.join(tools)}"
    fn, tool = found
    try:
        args = tool.model.model_validate_json(call.function.arguments or "{}")
    except ValidationError as exc:
        return f"error: invalid arguments for {call.function.name}: {exc}"
    kwargs = {name: getattr(args, name) for name in type(args).model_fields}
    try:
        if inspect.iscoroutinefunction(fn):
            return _result_text(await fn(**kwargs))
        return _result_text(await to_thread(fn, **kwargs))
    except Exception as exc:  # noqa: BLE001 - the model hears what went wrong
        return f"error: {call.function.name} raised {type(exc).__name__}: {exc}"


async def run_tools(create: Callable[..., Awaitable[ChatCompletion]], functions: Sequence[Callable[..., Any]],
                    messages: Iterable[Any], max_steps: int, params: dict[str, Any]) -> ToolRun:
    if max_steps < 1:
        raise ValueError("max_steps must be at least 1")
    tools: dict[str, tuple[Callable[..., Any], PydanticFunctionTool]] = {}
    for fn in functions:
        tool = function_tool(fn)
        tools[tool["function"]["name"]] = (fn, tool)
    schemas = [tool for _, tool in tools.values()]
    conversation: list[Any] = list(messages)
    choice = params.pop("tool_choice", None) or "auto"
    from ..resources.chat import as_input_message

    for step in range(max_steps + 1):
        last = step == max_steps  # the rounds are spent: ask for an answer without tools
        completion = await create(messages=conversation, tools=schemas, tool_choice="none" if last else choice,
                                  **params)
        message = completion.choices[0].message
        conversation.append(as_input_message(message))
        if not last and choice != "auto" and completion.choices[0].finish_reason == "length":
            raise LengthFinishReasonError(completion)  # a call it had to make was cut short: raise max_tokens
        if not message.tool_calls:
            return ToolRun(completion, conversation, step)
        if last:
            raise ToolRunLimitError(step, conversation)
        results = await _gather([partial(_run_call, call, tools) for call in message.tool_calls])
        conversation += [{"role": "tool", "tool_call_id": call.id, "content": text}
                         for call, text in zip(message.tool_calls, results, strict=True)]
    raise AssertionError("unreachable")


async def _gather(calls: list[Callable[[], Awaitable[str]]]) -> list[str]:
    """Run ``calls`` concurrently (under asyncio or trio); their results in order."""
    results = [""] * len(calls)

    async def one(i: int) -> None:
        results[i] = await calls[i]()

    async with anyio.create_task_group() as group:
        for i in range(len(calls)):
            group.start_soon(one, i)
    return results
