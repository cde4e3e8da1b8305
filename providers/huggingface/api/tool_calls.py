"""Reading tool calls out of an answer as the model writes it.

The constrained decoder writes calls as ``{"name":"<function>","arguments":{...}}`` (a JSON list of them
when parallel calls are allowed), the name first and literal. So an answer is a call as soon as it opens
with one of those literal prefixes, and text otherwise (plain text never opens with ``{`` or ``[``, and a
JSON answer beside tools opens with something else). ``CallReader`` follows the calls character by
character: a call's name as soon as it is complete, its arguments as they are written, and where each ends,
so a stream sends argument deltas as the model makes them and an answer cut short by ``max_tokens``
reports the calls it holds, with their partial arguments."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Literal


def prefixes(names: tuple[str, ...]) -> list[str]:
    """The literal openings of a call to each of ``names`` (alone, or first in a list)."""
    heads = ['{"name":' + json.dumps(n) + ',"arguments":' for n in names]
    return heads + ["[" + h for h in heads]


def classify(text: str, names: tuple[str, ...]) -> Literal["calls", "text"] | None:
    """"calls" if ``text`` opens like a call, "text" if it cannot be one, None while it could still be."""
    head = text.lstrip()
    if not head:
        return None
    undecided = False
    for p in prefixes(names):
        if head.startswith(p):
            return "calls"
        if p.startswith(head):
            undecided = True
    return None if undecided else "text"


@dataclass
class Call:
    id: str
    name: str
    arguments: str = ""
    complete: bool = False


@dataclass
class Delta:
    """What one piece of text added: a call that began (``started``), arguments written (``arguments``)."""

    index: int
    started: bool = False
    arguments: str = ""


@dataclass
class CallReader:
    """Follows the calls in an answer as text arrives (``feed``); ``calls`` holds what is known so far."""

    calls: list[Call] = field(default_factory=list[Call])
    _state: str = "open"
    _buffer: str = ""
    _depth: int = 0
    _in_string: bool = False
    _escaped: bool = False

    def feed(self, text: str) -> list[Delta]:
        out: dict[int, Delta] = {}
        for ch in text:
            self._step(ch, out)
        return [out[k] for k in sorted(out)]

    def _step(self, ch: str, out: dict[int, Delta]) -> None:
        state = self._state
        if state in ("open", "next", "after") and ch.isspace():
            return
        if state == "open":
            self._state, self._buffer = ("next", "") if ch == "[" else ("prefix", ch)
        elif state == "next":
            self._state, self._buffer = "prefix", ch
        elif state == "prefix":
            self._buffer += ch
            if self._buffer == '{"name":"':
                self._state, self._buffer = "name", '"'
        elif state == "name":
            self._buffer += ch
            if self._escaped:
                self._escaped = False
            elif ch == "\\":
                self._escaped = True
            elif ch == '"':
                self.calls.append(Call(id=f"call_{secrets.token_hex(12)}", name=json.loads(self._buffer)))
                out[len(self.calls) - 1] = Delta(len(self.calls) - 1, started=True)
                self._state, self._buffer = "between", ""
        elif state == "between":
            self._buffer += ch
            if self._buffer == ',"arguments":':
                self._state, self._buffer, self._depth = "arguments", "", 0
        elif state == "arguments":
            self._arguments(ch, out)
        elif state == "close":
            if ch == "}":
                self.calls[-1].complete = True
                self._state = "after"
        elif state == "after" and ch == ",":
            self._state = "next"

    def _arguments(self, ch: str, out: dict[int, Delta]) -> None:
        k = len(self.calls) - 1
        call = self.calls[k]
        delta = out.setdefault(k, Delta(k))
        call.arguments += ch
        delta.arguments += ch
        if self._in_string:
            if self._escaped:
                self._escaped = False
            elif ch == "\\":
                self._escaped = True
            elif ch == '"':
                self._in_string = False
        elif ch == '"':
            self._in_string = True
        elif ch in "{[":
            self._depth += 1
        elif ch in "}]":
            self._depth -= 1
        if self._depth == 0 and not self._in_string and call.arguments.strip():
            self._state = "close"


def read_calls(text: str) -> list[Call]:
    """The calls in a whole answer (the last one partial if the answer was cut short)."""
    reader = CallReader()
    reader.feed(text)
    return reader.calls


@dataclass
class CallStream:
    """The calls of one answer as they stream, without repeats: a call that so far repeats an earlier one
    (the same function, its arguments a prefix of that call's) is held back; if it completes as an exact
    repeat the answer ends before it (``repeat`` is then its index). A small model decoding greedily
    with parallel calls allowed tends to list one call again and again until its token limit; the answer
    it meant is the list without the repeats, and ending it there frees its slot."""

    reader: CallReader = field(default_factory=CallReader)
    repeat: int | None = None
    _held: dict[int, Delta] = field(default_factory=dict[int, Delta])

    @property
    def calls(self) -> list[Call]:
        """The calls sent: a repeat and everything after it left out, and a call still held (a partial
        repeat the token limit cut) too."""
        end = len(self.reader.calls) if self.repeat is None else self.repeat
        return [c for i, c in enumerate(self.reader.calls[:end]) if i not in self._held]

    @property
    def whole(self) -> bool:
        """Every call sent is complete (what the answer holds once a repeat is left out)."""
        calls = self.calls
        return bool(calls) and all(c.complete for c in calls)

    def feed(self, text: str) -> list[Delta]:
        out: list[Delta] = []
        if self.repeat is not None:
            return out
        for d in self.reader.feed(text):
            k, call = d.index, self.reader.calls[d.index]
            if self._repeats(k):
                held = self._held.setdefault(k, Delta(k))
                held.started |= d.started
                held.arguments += d.arguments
                if call.complete:
                    self.repeat = k
                    break
                continue
            if k in self._held:  # it turned out to be a new call: what was held goes first
                held = self._held.pop(k)
                d = Delta(k, started=held.started or d.started, arguments=held.arguments + d.arguments)
            out.append(d)
        return out

    def _repeats(self, k: int) -> bool:
        call = self.reader.calls[k]
        return any(c.complete and c.name == call.name and c.arguments.startswith(call.arguments)
                   for c in self.reader.calls[:k])
