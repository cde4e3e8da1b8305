"""A chat completion parsed into the caller's types (``client.chat.completions.parse``): the message's
``parsed`` object and each tool call's ``parsed_arguments``."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from .chat import ChatCompletion, ChatCompletionMessage, Choice, ResponseFunctionCall, ResponseToolCall

T = TypeVar("T")


class ParsedFunction(ResponseFunctionCall):
    """A tool call's function whose arguments were parsed into the tool's pydantic model (``parsed_arguments``)."""
    parsed_arguments: Any = None
    """The arguments as the tool's pydantic model, for a tool made by ``pydantic_function_tool``."""


class ParsedToolCall(ResponseToolCall):
    """A tool call of a parsed completion, with its function's arguments parsed."""
    function: ParsedFunction  # pyright: ignore[reportIncompatibleVariableOverride]


class ParsedChatCompletionMessage(ChatCompletionMessage, Generic[T]):
    """The assistant's message with its content parsed into the ``response_format`` model (``parsed``)."""
    parsed: T | None = None
    """The answer as the ``response_format`` model (None when it answered with tool calls)."""
    tool_calls: list[ParsedToolCall] | None = None  # pyright: ignore[reportIncompatibleVariableOverride]


class ParsedChoice(Choice, Generic[T]):
    """A choice of a parsed completion."""
    message: ParsedChatCompletionMessage[T]  # pyright: ignore[reportIncompatibleVariableOverride]


class ParsedChatCompletion(ChatCompletion, Generic[T]):
    """What ``chat.completions.parse`` returns: a ``ChatCompletion`` whose messages carry ``parsed``."""
    choices: list[ParsedChoice[T]]  # pyright: ignore[reportIncompatibleVariableOverride]
