"""Checking a fine-tuning file (JSONL) line by line, with the line and the problem named.

Standard library only: the server checks uploads with it, and so does the in-process provider, which
shares the store. Two formats, one per file: chat (``{"messages": [...]}``, an optional ``weight`` of 0 or 1
per assistant message) and prompt/completion (``{"prompt": str, "completion": str}``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from llmaas._json import is_array, is_object

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
MESSAGE_KEYS = frozenset({"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call"})
CHAT_KEYS = frozenset({"messages", "tools", "parallel_tool_calls", "functions"})
PROMPT_KEYS = frozenset({"prompt", "completion"})


class InvalidTrainingFile(ValueError):
    """What is wrong with a training file, and on which line."""


@dataclass(frozen=True)
class TrainingLimits:
    """What one fine-tuning file may hold (``FineTuningSettings`` gives a server's and a client's)."""

    max_examples: int = 50_000
    max_messages: int = 256  # per example
    max_example_bytes: int = 256 * 1024  # per line
    max_depth: int = 32  # JSON nesting of a line


def check_jsonl(content: bytes, limits: TrainingLimits | None = None) -> int:
    """Check a fine-tuning file; return its number of examples, or raise InvalidTrainingFile."""
    limits = limits or TrainingLimits()
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidTrainingFile(f"fine-tune files must be UTF-8 JSONL; byte {exc.start} is not UTF-8") from None
    formats: set[str] = set()
    examples = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        size = len(line.encode("utf-8"))
        if size > limits.max_example_bytes:
            raise InvalidTrainingFile(f"line {number} is {size} bytes; an example may have at most "
                                      f"{limits.max_example_bytes} (LLMAAS_FT_MAX_EXAMPLE_KB)")
        examples += 1
        if examples > limits.max_examples:
            raise InvalidTrainingFile(f"line {number}: the file holds more than {limits.max_examples} examples "
                                      "(LLMAAS_FT_MAX_EXAMPLES)")
        row = _parse(line, number, limits.max_depth)
        formats.add(_check_row(row, number, limits))
        if len(formats) > 1:
            raise InvalidTrainingFile(f"line {number} is in the {_other(formats)} format; a file holds one format, "
                                      "chat ('messages') or prompt/completion")
    if not examples:
        raise InvalidTrainingFile("the file holds no examples")
    return examples


def _parse(line: str, number: int, max_depth: int) -> Any:
    """The line's JSON: nested at most ``max_depth`` deep, every string valid Unicode (no lone surrogate
    from a ``\\ud800`` escape, which no tokenizer can take)."""
    try:
        row = json.loads(line)
    except RecursionError:
        raise InvalidTrainingFile(f"line {number} is JSON nested too deep (at most {max_depth} levels)") from None
    except ValueError as exc:
        raise InvalidTrainingFile(f"line {number} is not valid JSON: {exc}") from None
    stack: list[tuple[Any, int]] = [(row, 1)]
    while stack:
        value, depth = stack.pop()
        if is_object(value) or is_array(value):
            if depth > max_depth:
                raise InvalidTrainingFile(f"line {number} is JSON nested too deep (at most {max_depth} levels)")
            items: list[Any] = [*value.keys(), *value.values()] if is_object(value) else list(value)
            stack += [(v, depth + 1) for v in items]
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidTrainingFile(f"line {number} holds a string that is not valid Unicode (a lone "
                                          "surrogate such as \\ud800)") from None
    return row


def _other(formats: set[str]) -> str:
    return sorted(formats)[-1]


def _check_row(row: Any, number: int, limits: TrainingLimits) -> str:
    where = f"line {number}"
    if not is_object(row):
        raise InvalidTrainingFile(f"{where} must be a JSON object, not {type(row).__name__}")
    if "messages" in row:
        unknown = sorted(set(row) - CHAT_KEYS)
        if unknown:
            raise InvalidTrainingFile(f"{where} has an unknown key {unknown[0]!r} (a chat example holds 'messages' "
                                      "and optionally 'tools')")
        _check_messages(row["messages"], where, limits.max_messages)
        return "chat"
    if "prompt" in row or "completion" in row:
        unknown = sorted(set(row) - PROMPT_KEYS)
        if unknown:
            raise InvalidTrainingFile(f"{where} has an unknown key {unknown[0]!r}")
        for key in ("prompt", "completion"):
            if not isinstance(row.get(key), str):
                raise InvalidTrainingFile(f"{where}: '{key}' must be a string")
        if not row["completion"].strip():
            raise InvalidTrainingFile(f"{where}: 'completion' is empty")
        return "prompt-completion"
    raise InvalidTrainingFile(f"{where} must have 'messages' (or 'prompt' and 'completion')")


def _check_messages(messages: Any, where: str, most: int) -> None:
    if not is_array(messages) or not messages:
        raise InvalidTrainingFile(f"{where}: 'messages' must be a non-empty list")
    if len(messages) > most:
        raise InvalidTrainingFile(f"{where} has {len(messages)} messages; an example may have at most {most} "
                                  "(LLMAAS_FT_MAX_MESSAGES)")
    assistant = False
    for i, message in enumerate(messages):
        at = f"{where}, message {i}"
        if not is_object(message):
            raise InvalidTrainingFile(f"{at} must be an object")
        unknown = sorted(set(message) - MESSAGE_KEYS)
        if unknown:
            raise InvalidTrainingFile(f"{at} has an unknown key {unknown[0]!r}")
        role = message.get("role")
        if role not in ROLES:
            raise InvalidTrainingFile(f"{at} has {'no role' if role is None else f'an unknown role {role!r}'} "
                                      f"(one of {', '.join(sorted(ROLES))})")
        content = message.get("content")
        if content is None and not message.get("tool_calls"):
            raise InvalidTrainingFile(f"{at} has no content")
        if content is not None and not isinstance(content, (str, list)):
            raise InvalidTrainingFile(f"{at}: content must be a string or a list of text parts")
        if "weight" in message and message["weight"] not in (0, 1):
            raise InvalidTrainingFile(f"{at}: weight must be 0 or 1")
        assistant = assistant or role == "assistant"
    if not assistant:
        raise InvalidTrainingFile(f"{where} has no assistant message to learn from")
