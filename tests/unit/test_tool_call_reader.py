"""Reading calls as the constrained decoder writes them: decided as soon as the opening shows, arguments in
the pieces they arrived in, and a call cut short kept as a call."""

import json

from hypothesis import given
from hypothesis import strategies as st

from llmaas.providers.huggingface.api.tool_calls import CallReader, CallStream, classify, read_calls

NAMES = ("get_weather", "lookup")
TWO = '[{"name":"get_weather","arguments":{"city":"Paris \\"centre\\"","days":[1,{"x":"}"}]}},' \
      '{"name":"lookup","arguments":{}}]'


def test_classify_decides_on_the_opening():
    assert classify("", NAMES) is None
    assert classify("{", NAMES) is None and classify('[{"na', NAMES) is None
    assert classify('{"name":"get_weather","arguments":', NAMES) == "calls"
    assert classify('{"answer": 4}', NAMES) == "text"  # a JSON answer beside tools is text
    assert classify("Hello", NAMES) == "text"
    assert classify('{"name":"other","arguments":{}}', NAMES) == "text"


def test_whole_answer():
    calls = read_calls(TWO)
    assert [c.name for c in calls] == ["get_weather", "lookup"] and all(c.complete for c in calls)
    assert json.loads(calls[0].arguments) == {"city": 'Paris "centre"', "days": [1, {"x": "}"}]}
    assert calls[1].arguments == "{}"


@given(st.lists(st.integers(min_value=1, max_value=len(TWO) - 1), max_size=30))
def test_pieces_add_up_to_the_whole(cuts):
    bounds = [0, *sorted(set(cuts)), len(TWO)]
    reader = CallReader()
    args: dict[int, str] = {}
    for a, b in zip(bounds, bounds[1:], strict=False):
        for d in reader.feed(TWO[a:b]):
            args[d.index] = args.get(d.index, "") + d.arguments
    assert args == {i: c.arguments for i, c in enumerate(read_calls(TWO))}


def test_a_call_cut_short_is_still_a_call():
    calls = read_calls('[{"name":"get_weather","arguments":{"city":"Par')
    assert len(calls) == 1 and calls[0].name == "get_weather" and not calls[0].complete
    assert calls[0].arguments == '{"city":"Par'
    assert read_calls('{"name":"get_wea') == []  # no name yet: no call


def test_a_repeated_call_ends_the_answer_before_it():
    same = '{"name":"get_weather","arguments":{"city":"Paris"}}'
    other = '{"name":"get_weather","arguments":{"city":"Rome"}}'
    text = "[" + ",".join([same, other, same, same]) + "]"
    stream = CallStream()
    sent: dict[int, str] = {}
    for i in range(0, len(text), 3):  # in pieces, as tokens come
        for d in stream.feed(text[i:i + 3]):
            sent[d.index] = sent.get(d.index, "") + d.arguments
    assert stream.repeat == 2
    assert [json.loads(c.arguments)["city"] for c in stream.calls] == ["Paris", "Rome"] and stream.whole
    # Rome was held while it could still have been Paris again, then sent whole: nothing of the repeat was
    assert sent == {0: '{"city":"Paris"}', 1: '{"city":"Rome"}'}


def test_a_partial_repeat_cut_by_the_limit_is_left_out():
    stream = CallStream()
    stream.feed('[{"name":"lookup","arguments":{"q":"a"}},{"name":"lookup","arguments":{"q"')
    assert stream.repeat is None and [c.arguments for c in stream.calls] == ['{"q":"a"}'] and stream.whole
