"""Constrained decoding on the in-process engine: JSON schemas and JSON objects valid by construction
(property-tested over generated schemas at temperature 1), constrained and free requests in one batch,
tool calls (required, named, auto, parallel, streamed), and the bad input that gets a 400."""

import asyncio
import json

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import llmaas

from .conftest import CHAT

MSG = [{"role": "user", "content": "Fill in the form with anything plausible."}]
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather now in a city", "strict": True,
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 30}},
                   "required": ["city"], "additionalProperties": False}}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "The local time in a city", "strict": True,
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 30}},
                   "required": ["city"], "additionalProperties": False}}}


def leaf():
    return st.one_of(
        st.builds(lambda n: {"type": "string", "maxLength": n}, st.integers(1, 12)),
        st.builds(lambda lo, span: {"type": "integer", "minimum": lo, "maximum": lo + span},
                  st.integers(-1000, 1000), st.integers(0, 1000)),
        st.just({"type": "boolean"}),
        st.builds(lambda vs: {"enum": vs}, st.lists(st.text("abcdefxyz", min_size=1, max_size=6), min_size=1,
                                                      max_size=4, unique=True)),
        st.just({"type": "null"}),
    )


def obj(children):
    names = st.lists(st.text("abcdefghijklmnop", min_size=1, max_size=8), min_size=1, max_size=4, unique=True)
    return names.flatmap(lambda keys: st.lists(children, min_size=len(keys), max_size=len(keys)).map(
        lambda values: {"type": "object", "properties": dict(zip(keys, values, strict=True)),
                        "required": keys, "additionalProperties": False}))


SCHEMAS = st.recursive(leaf(), lambda inner: st.one_of(
    obj(inner), st.builds(lambda item, n: {"type": "array", "items": item, "maxItems": n}, inner, st.integers(0, 3))),
    max_leaves=6).filter(lambda s: s.get("type") in ("object", "array"))


@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schema=SCHEMAS, seed=st.integers(0, 2**31))
def test_constrained_output_always_validates(client, schema, seed):
    r = client.chat.completions.create(
        model=CHAT, messages=MSG, temperature=1.0, seed=seed, max_tokens=400,
        response_format={"type": "json_schema", "json_schema": {"name": "form", "schema": schema, "strict": True}})
    choice = r.choices[0]
    assert choice.finish_reason == "stop", (schema, choice.message.content)
    jsonschema.validate(json.loads(choice.message.content), schema)


def test_json_object_mode_answers_an_object(client):
    r = client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Describe a cat in JSON."}],
                                       response_format={"type": "json_object"}, max_tokens=300, temperature=0)
    if r.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(r.choices[0].message.content), dict)
    else:  # cut short: said so, never passed off as a whole answer
        assert r.choices[0].finish_reason == "length" and r.choices[0].message.content.startswith("{")


def test_a_grammar_that_cannot_finish_within_max_tokens_says_length(client):
    schema = {"type": "object", "properties": {"story": {"type": "string", "minLength": 200}}, "required": ["story"]}
    r = client.chat.completions.create(model=CHAT, messages=MSG, max_tokens=8,
                                       response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": schema}})
    assert r.choices[0].finish_reason == "length"
    with pytest.raises(ValueError):
        json.loads(r.choices[0].message.content)


def test_constrained_and_free_requests_share_the_batch(client):
    """A free greedy request answers the same alone and beside constrained ones: masks stay in their rows."""
    free = dict(model=CHAT, messages=[{"role": "user", "content": "Name three fruits."}], max_tokens=24, temperature=0)
    alone = client.chat.completions.create(**free).choices[0].message.content
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0, "maximum": 999}}, "required": ["n"],
              "additionalProperties": False}

    async def together():
        async with llmaas.AsyncClient(provider=client.provider("hf")) as ac:
            constrained = [ac.chat.completions.create(
                model=CHAT, messages=MSG, max_tokens=40, temperature=1.0, seed=i,
                response_format={"type": "json_schema", "json_schema": {"name": "n", "schema": schema}}) for i in range(3)]
            return await asyncio.gather(ac.chat.completions.create(**free), *constrained)

    first, *rest = asyncio.run(together())
    assert first.choices[0].message.content == alone
    for r in rest:
        jsonschema.validate(json.loads(r.choices[0].message.content), schema)


def test_required_tool_calls_are_valid_calls(client):
    r = client.chat.completions.create(model=CHAT, tools=[WEATHER, TIME], tool_choice="required", max_tokens=120,
                                       temperature=0, messages=[{"role": "user", "content": "Weather and time in Paris?"}])
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    assert 1 <= len(choice.message.tool_calls)
    for call in choice.message.tool_calls:
        assert call.id.startswith("call_") and call.type == "function"
        assert call.function.name in ("get_weather", "get_time")
        jsonschema.validate(json.loads(call.function.arguments), WEATHER["function"]["parameters"])


def test_a_named_function_is_called_once(client):
    r = client.chat.completions.create(model=CHAT, tools=[WEATHER, TIME], max_tokens=80, temperature=0,
                                       tool_choice={"type": "function", "function": {"name": "get_time"}},
                                       messages=[{"role": "user", "content": "What time is it in Oslo?"}])
    calls = r.choices[0].message.tool_calls
    assert r.choices[0].finish_reason == "tool_calls" and [c.function.name for c in calls] == ["get_time"]


def test_parallel_calls_off_gives_one_call(client):
    r = client.chat.completions.create(model=CHAT, tools=[WEATHER, TIME], tool_choice="required",
                                       parallel_tool_calls=False, max_tokens=80, temperature=0,
                                       messages=[{"role": "user", "content": "Weather in Lima?"}])
    assert r.choices[0].finish_reason == "tool_calls" and len(r.choices[0].message.tool_calls) == 1


def test_tool_calls_stream_as_deltas_that_add_up(client):
    args = dict(model=CHAT, tools=[WEATHER], max_tokens=80, seed=3, temperature=0.7,
                tool_choice={"type": "function", "function": {"name": "get_weather"}},
                messages=[{"role": "user", "content": "Weather in Rome?"}])
    whole = client.chat.completions.create(**args).choices[0].message.tool_calls
    calls: dict[int, dict] = {}
    finish = None
    for chunk in client.chat.completions.create(**args, stream=True):
        for choice in chunk.choices:
            for d in choice.delta.tool_calls or []:
                c = calls.setdefault(d.index, {"name": "", "arguments": ""})
                if d.id:
                    assert d.id.startswith("call_") and d.type == "function"
                c["name"] += d.function.name or ""
                c["arguments"] += d.function.arguments or ""
            finish = choice.finish_reason or finish
    assert finish == "tool_calls"
    assert [(c["name"], json.loads(c["arguments"])) for c in calls.values()] == \
        [(w.function.name, json.loads(w.function.arguments)) for w in whole]


def test_auto_answers_text_or_calls_and_results_go_back_in(client, hf):
    """With tool_choice="auto" an answer is either text (never a call in disguise) or well-formed calls, and
    the engine takes whichever branch the model picks: left alone this model answers in text; pushed
    towards a call's opening "[" (logit_bias) it writes a call that parses and fits the tool's schema."""
    ask = {"model": CHAT, "tools": [WEATHER], "tool_choice": "auto", "max_tokens": 40, "temperature": 0,
           "messages": [{"role": "user", "content": "Say hello."}]}
    text = client.chat.completions.create(**ask)
    message = text.choices[0].message
    assert message.tool_calls is None and text.choices[0].finish_reason in ("stop", "length")
    assert message.content and message.content[0] not in "[{ \t\n"
    bracket = hf.engine(CHAT).tokenizer.convert_tokens_to_ids("[")
    called = client.chat.completions.create(**{**ask, "max_tokens": 80, "logit_bias": {str(bracket): 10}})
    calls = called.choices[0].message.tool_calls
    assert called.choices[0].finish_reason == "tool_calls" and calls and not called.choices[0].message.content
    for call in calls:
        arguments = json.loads(call.function.arguments)
        assert call.function.name == "get_weather" and set(arguments) == {"city"}
        assert isinstance(arguments["city"], str) and len(arguments["city"]) <= 30

    def follow(result):
        return client.chat.completions.create(model=CHAT, tools=[WEATHER], max_tokens=20, tool_choice="none", messages=[
            {"role": "user", "content": "Weather in Rome?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": result}])

    short, longer = follow("sunny, 24 C"), follow("sunny, 24 C, light wind from the north-west, no rain expected")
    assert short.choices[0].message.content and short.choices[0].finish_reason in ("stop", "length")
    assert short.choices[0].message.tool_calls is None
    tok = hf.engine(CHAT).tokenizer
    extra = len(tok.encode(", light wind from the north-west, no rain expected", add_special_tokens=False))
    assert abs(longer.usage.prompt_tokens - short.usage.prompt_tokens - extra) <= 1  # the result is in the prompt


@pytest.mark.parametrize("bad, param, code", [
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "objekt"}}}},
     "response_format.json_schema.schema", "invalid_schema"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {
        "type": "string", "pattern": "(unclosed"}}}}, "response_format.json_schema.schema", "invalid_schema"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {
        "type": "object", "properties": {f"p{i}": {"type": "string", "description": "x" * 100} for i in range(700)}}}}},
     "response_format.json_schema.schema", "schema_too_large"),
    ({"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice",
     "invalid_value"),
    ({"tools": [WEATHER, {"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"a": {"$ref": "#/missing"}}}}}]}, "tools.1.function.parameters",
     "invalid_schema"),
])
def test_bad_schemas_and_tools_are_refused_naming_the_part(client, bad, param, code):
    with pytest.raises(llmaas.BadRequestError) as caught:
        client.chat.completions.create(model=CHAT, messages=MSG, max_tokens=5, **bad)
    assert caught.value.param == param and caught.value.code == code, caught.value.message
    ok = client.chat.completions.create(model=CHAT, messages=MSG, max_tokens=2)  # the engine goes on
    assert ok.choices[0].message.content is not None


def test_compiled_grammars_are_cached(client, hf):
    schema = {"type": "object", "properties": {"cached": {"type": "boolean"}}, "required": ["cached"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "c", "schema": schema}}
    client.chat.completions.create(model=CHAT, messages=MSG, max_tokens=10, response_format=fmt)
    grammars = hf.engine(CHAT).grammars
    hits = grammars.hits
    client.chat.completions.create(model=CHAT, messages=MSG, max_tokens=10, response_format=fmt)
    assert grammars.hits == hits + 1
