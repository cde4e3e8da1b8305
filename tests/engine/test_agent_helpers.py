"""The SDK's agent helpers on the in-process engine: parse() into pydantic models, pydantic_function_tool,
the stream helper's final completion, and the tool-running loop with sync and async functions."""

import asyncio
from typing import Annotated

import pydantic
import pytest

import llmaas

from .conftest import CHAT


class Person(pydantic.BaseModel):
    name: str = pydantic.Field(max_length=40)
    age: int = pydantic.Field(ge=0, le=130)


class Lookup(pydantic.BaseModel):
    """Look up a city."""

    city: str = pydantic.Field(max_length=30)


def test_parse_returns_the_model(client):
    r = client.chat.completions.parse(model=CHAT, response_format=Person, max_tokens=80, temperature=0,
                                      messages=[{"role": "user", "content": "Ada Lovelace died at 36. Who was she?"}])
    person = r.choices[0].message.parsed
    assert isinstance(person, Person) and Person.model_validate_json(r.choices[0].message.content) == person


def test_parse_fills_parsed_arguments_of_pydantic_tools(client):
    tool = llmaas.pydantic_function_tool(Lookup, name="lookup")
    assert tool["function"]["strict"] and tool["function"]["parameters"]["additionalProperties"] is False
    r = client.chat.completions.parse(model=CHAT, tools=[tool], tool_choice="required", max_tokens=80,
                                      temperature=0, messages=[{"role": "user", "content": "Look up Paris."}])
    call = r.choices[0].message.tool_calls[0]
    assert isinstance(call.function.parsed_arguments, Lookup) and r.choices[0].message.parsed is None


def test_parse_refuses_an_answer_cut_short(client):
    with pytest.raises(llmaas.LengthFinishReasonError):
        client.chat.completions.parse(model=CHAT, response_format=Person, max_tokens=3,
                                      messages=[{"role": "user", "content": "Who?"}])


def test_the_stream_helper_adds_up_to_the_whole_answer(client):
    args = dict(model=CHAT, max_tokens=16, temperature=0, messages=[{"role": "user", "content": "Count to five."}])
    whole = client.chat.completions.create(**args)
    with client.chat.completions.stream(**args) as stream:
        chunks = list(stream)
        final = stream.get_final_completion()
    assert len(chunks) > 2
    assert final.choices[0].message.content == whole.choices[0].message.content
    assert final.choices[0].finish_reason == whole.choices[0].finish_reason


def test_the_tool_loop_runs_sync_and_async_functions(client):
    calls = []

    def get_weather(city: Annotated[str, pydantic.Field(max_length=20)]) -> dict:
        """The weather now in a city."""
        calls.append(("weather", city))
        return {"city": city, "sky": "sunny", "celsius": 24}

    async def get_time(city: Annotated[str, pydantic.Field(max_length=20)]) -> str:
        """The local time in a city."""
        await asyncio.sleep(0)
        calls.append(("time", city))
        return "14:05"

    run = client.chat.completions.run_tools(
        model=CHAT, tools=[get_weather, get_time], tool_choice="required", max_steps=1, max_tokens=120,
        temperature=0, parallel_tool_calls=False,  # greedy, the model lists the same call again and again
        messages=[{"role": "user", "content": "What is the weather in Rome?"}])
    assert run.steps == 1 and calls  # one round of calls ran, then a plain answer
    assert run.completion.choices[0].message.content and not run.completion.choices[0].message.tool_calls
    tool_messages = [m for m in run.messages if isinstance(m, dict) and m.get("role") == "tool"]
    assert len(tool_messages) == len(calls)
    assert any("sunny" in m["content"] or "14:05" in m["content"] for m in tool_messages)


def test_the_tool_loop_reports_a_bad_call_to_the_model(client):
    def explode(reason: Annotated[str, pydantic.Field(max_length=12)]) -> str:
        """Always fails."""
        raise RuntimeError(reason)

    run = client.chat.completions.run_tools(model=CHAT, tools=[explode], tool_choice="required", max_steps=1,
                                            max_tokens=80, temperature=0, messages=[{"role": "user", "content": "Try it."}])
    tool_message = next(m for m in run.messages if isinstance(m, dict) and m.get("role") == "tool")
    assert tool_message["content"].startswith("error: explode raised RuntimeError")
    with pytest.raises(llmaas.LengthFinishReasonError):  # a call it had to make, cut short
        client.chat.completions.run_tools(model=CHAT, tools=[explode], tool_choice="required", max_tokens=3,
                                          messages=[{"role": "user", "content": "Try it."}])
