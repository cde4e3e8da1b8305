"""A fine-tuning file's problems are named with their line, as the issue asks, table-driven."""

import pytest

from llmaas.store.training_files import InvalidTrainingFile, check_jsonl

GOOD_CHAT = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo", "weight": 1}]}'


@pytest.mark.parametrize(("lines", "problem"), [
    (["not json"], "line 1 is not valid JSON"),
    (["[1, 2]"], "line 1 must be a JSON object"),
    (['{"text": "x"}'], "line 1 must have 'messages'"),
    ([GOOD_CHAT, '{"messages": []}'], "line 2: 'messages' must be a non-empty list"),
    (['{"messages": [{"content": "x"}]}'], "line 1, message 0 has no role"),
    (['{"messages": [{"role": "robot", "content": "x"}]}'], "unknown role 'robot'"),
    (['{"messages": [{"role": "user"}]}'], "line 1, message 0 has no content"),
    (['{"messages": [{"role": "user", "content": "x", "mood": "happy"}]}'], "unknown key 'mood'"),
    (['{"messages": [{"role": "user", "content": "x"}]}'], "no assistant message"),
    (['{"messages": [{"role": "assistant", "content": "x", "weight": 0.5}]}'], "weight must be 0 or 1"),
    (['{"messages": [{"role": "assistant", "content": "x"}], "extra": 1}'], "unknown key 'extra'"),
    (['{"prompt": "p", "completion": 3}'], "'completion' must be a string"),
    ([GOOD_CHAT, '{"prompt": "p", "completion": "c"}'], "line 2 is in the prompt-completion format"),
    (["", "  "], "holds no examples"),
])
def test_each_problem_is_named_with_its_line(lines, problem):
    with pytest.raises(InvalidTrainingFile, match=problem.replace("(", r"\(").replace(")", r"\)")):
        check_jsonl("\n".join(lines).encode())


def test_not_utf8():
    with pytest.raises(InvalidTrainingFile, match="byte 0 is not UTF-8"):
        check_jsonl(b"\xff\xfe")


def test_good_files_count_their_examples():
    assert check_jsonl((GOOD_CHAT + "\n\n" + GOOD_CHAT + "\n").encode()) == 2
    assert check_jsonl(b'{"prompt": "a", "completion": "b"}\n{"prompt": "c", "completion": "d"}') == 2
