"""The SSE parser against the awkward streams real servers and proxies send."""

import pytest

from llmaas._sse import iter_events


def datas(chunks):
    return [e.data for e in iter_events(chunks)]


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        (["data: a\n\n", "data: b\n\n"], ["a", "b"]),
        (["data: a\r\n\r\ndata: b\r\r"], ["a", "b"]),  # CRLF and bare CR line ends
        (["da", "ta: hel", "lo\n", "\n"], ["hello"]),  # split anywhere
        (["data: a\r", "\n\r", "\n"], ["a"]),  # CRLF split across chunks
        ([": keep-alive\n\n", "data: x\n\n", ":ping\n\n"], ["x"]),  # comments and keep-alives
        (["data: line1\ndata: line2\n\n"], ["line1\nline2"]),  # multi-line data
        (["data:nospace\n\n"], ["nospace"]),
        (["event: ping\nid: 7\nretry: 100\n\n", "data: y\n\n"], ["", "y"]),
        (["unknown: field\ndata: z\n\n"], ["z"]),
        (["data: tail-without-blank-line"], ["tail-without-blank-line"]),
    ],
)
def test_parser(chunks, expected):
    assert datas(chunks) == expected


def test_event_fields():
    (e,) = list(iter_events(["event: error\nid: 3\ndata: {}\n\n"]))
    assert (e.event, e.id, e.data) == ("error", "3", "{}")
