"""Checking a fine-tuning file (JSONL) line by line, with the line and the problem named.

Standard library only: the server checks uploads with it, and so does the in-process provider, which
shares the store. Two formats, one per file: chat (``{"messages": [...]}``, an optional ``weight`` of 0 or 1
per assistant message) and prompt/completion (``{"prompt": str, "completion": str}``).
"""

from __future__ import annotations

import json
from typing import Any

from llmaas._json import is_array, is_object

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
MESSAGE_KEYS = frozenset({"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call"})
CHAT_KEYS = frozenset({"messages", "tools", "parallel_tool_calls", "functions"})
PROMPT_KEYS = frozenset({"prompt", "completion"})


class InvalidTrainingFile(ValueError):
    """What is wrong with a training file, and on which line."""


def check_jsonl(content: bytes) -> int:
    """Check a fine-tuning file; return its number of examples, or raise InvalidTrainingFile."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidTrainingFile(f"fine-tune files must be UTF-8 JSONL; byte {exc.start} is not UTF-8") from None
    formats: set[str] = set()
    examples = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise InvalidTrainingFile(f"line {number} is not valid JSON: {exc}") from None
        formats.add(_check_row(row, number))
        if len(formats) > 1:
            raise InvalidTrainingFile(f"line {number} is in the {_other(formats)} format; a file holds one format, "
                                      "chat ('messages') or prompt/completion")
        examples += 1
    if not examples:
        raise InvalidTrainingFile("the file holds no examples")
    return examples


def _other(formats: set[str]) -> str:
    return sorted(formats)[-1]


def _check_row(row: Any, number: int) -> str:
    where = f"line {number}"
    if not is_object(row):
        raise InvalidTrainingFile(f"{where} must be a JSON object, not {type(row).__name__}")
    if "messages" in row:
        unknown = sorted(set(row) - CHAT_KEYS)
        if unknown:
            raise InvalidTrainingFile(f"{where} has an unknown key {unknown[0]!r} (a chat example holds 'messages' "
                                      "and optionally 'tools')")
        _check_messages(row["messages"], where)
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


def _check_messages(messages: Any, where: str) -> None:
    if not is_array(messages) or not messages:
        raise InvalidTrainingFile(f"{where}: 'messages' must be a non-empty list")
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
