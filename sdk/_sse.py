"""Server-sent events, parsed as the HTML standard says.

Comments (``: keep-alive``) and unknown fields are skipped, ``data:`` lines of one event are joined with
newlines, ``\\r\\n``, ``\\r`` and ``\\n`` all end a line, and an event is dispatched at a blank line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerSentEvent:
    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Feed lines, get events. Keeps the state of the event being built between lines."""

    def __init__(self) -> None:
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None
        self._retry: int | None = None

    def decode(self, line: str) -> ServerSentEvent | None:
        if not line:
            if not self._data and self._event is None and self._retry is None:
                return None
            sse = ServerSentEvent("\n".join(self._data), self._event, self._id, self._retry)
            self._data, self._event, self._retry = [], None, None
            return sse
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            if "\0" not in value:
                self._id = value
        elif field == "retry":
            if value.isdigit():
                self._retry = int(value)
        return None

    def flush(self) -> ServerSentEvent | None:
        """An event left without its closing blank line when the stream ended."""
        return self.decode("") if self._data else None


def _split_lines(buffer: str) -> tuple[list[str], str]:
    lines: list[str] = []
    start = 0
    i = 0
    n = len(buffer)
    while i < n:
        ch = buffer[i]
        if ch == "\n" or ch == "\r":
            if ch == "\r" and i + 1 == n:
                break  # a lone \r at the end may be the first half of \r\n
            lines.append(buffer[start:i])
            if ch == "\r" and buffer[i + 1] == "\n":
                i += 1
            start = i + 1
        i += 1
    return lines, buffer[start:]


class EventStream:
    """Turns text chunks split anywhere into events: ``feed`` each chunk, then ``end`` once."""

    def __init__(self) -> None:
        self._decoder = SSEDecoder()
        self._rest = ""

    def feed(self, chunk: str) -> list[ServerSentEvent]:
        lines, self._rest = _split_lines(self._rest + chunk)
        return [sse for sse in map(self._decoder.decode, lines) if sse is not None]

    def end(self) -> list[ServerSentEvent]:
        events = []
        if self._rest:  # a last line without its line end (or a held-back lone "\r")
            lines, _ = _split_lines(self._rest + "\n")
            self._rest = ""
            events = [sse for sse in map(self._decoder.decode, lines) if sse is not None]
        tail = self._decoder.flush()
        return events + ([tail] if tail is not None else [])


def iter_events(chunks: Iterable[str]) -> Iterable[ServerSentEvent]:
    """Events from text chunks (for tests and sync callers)."""
    parser = EventStream()
    for chunk in chunks:
        yield from parser.feed(chunk)
    yield from parser.end()


async def aiter_events(chunks: AsyncIterator[str]) -> AsyncIterator[ServerSentEvent]:
    """Events from an async stream of text chunks."""
    parser = EventStream()
    async for chunk in chunks:
        for sse in parser.feed(chunk):
            yield sse
    for sse in parser.end():
        yield sse
