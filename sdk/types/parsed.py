"""A chat completion parsed into the caller's types (``client.chat.completions.parse``): the message's
``parsed`` object and each tool call's ``parsed_arguments``."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from .chat import ChatCompletion, ChatCompletionMessage, Choice, ResponseFunctionCall, ResponseToolCall

T = TypeVar("T")


class ParsedFunction(ResponseFunctionCall):
    parsed_arguments: Any = None
    """The arguments as the tool's pydantic model, for a tool made by ``pydantic_function_tool``."""


class ParsedToolCall(ResponseToolCall):
    function: ParsedFunction  # pyright: ignore[reportIncompatibleVariableOverride]


class ParsedChatCompletionMessage(ChatCompletionMessage, Generic[T]):
    parsed: T | None = None
    """The answer as the ``response_format`` model (None when it answered with tool calls)."""
    tool_calls: list[ParsedToolCall] | None = None  # pyright: ignore[reportIncompatibleVariableOverride]


class ParsedChoice(Choice, Generic[T]):
    message: ParsedChatCompletionMessage[T]  # pyright: ignore[reportIncompatibleVariableOverride]


class ParsedChatCompletion(ChatCompletion, Generic[T]):
    choices: list[ParsedChoice[T]]  # pyright: ignore[reportIncompatibleVariableOverride]
