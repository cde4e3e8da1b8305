"""The agent frameworks people point at an OpenAI-style server, unchanged but for the base URL, against a live
``llmaas serve`` on the built-in model: openai-agents (the Responses API by default), pydantic-ai (tool,
native and prompted output, each beside a tool; chat and Responses models), instructor (TOOLS,
JSON_SCHEMA, partial objects while the call streams) and openai-python's ``responses`` calls. Greedy
decoding and bounded tokens keep them deterministic; each row of ``bench/agent_clients.py`` is here."""

import asyncio
import json
import os

import httpx
import openai
import pytest
from pydantic import BaseModel

from .conftest import CHAT

os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")


class City(BaseModel):
    name: str
    country: str


class Weather(BaseModel):
    city: str
    sunny: bool


def _weather(city: str) -> str:
    """Get the weather in a city."""
    return f"It is sunny and 21 C in {city}."


# -- openai-agents ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def agents_model(server):
    from agents import OpenAIResponsesModel, set_tracing_disabled

    set_tracing_disabled(True)
    return OpenAIResponsesModel(model=CHAT, openai_client=openai.AsyncOpenAI(base_url=server.base_url, api_key="x"))


def _agent(model, **kw):
    from agents import Agent, ModelSettings, function_tool

    settings = ModelSettings(temperature=0, max_tokens=kw.pop("max_tokens", 120), parallel_tool_calls=False,
                             tool_choice=kw.pop("tool_choice", None))
    return Agent(name="weather", instructions="You answer questions about the weather in a few words. Use the tool.",
                 tools=[function_tool(_weather, name_override="get_weather")], model=model, model_settings=settings,
                 **kw)


def test_openai_agents_tool_agent(agents_model):
    from agents import Runner

    calls = []
    result = asyncio.run(Runner.run(_agent(agents_model, tool_choice="required", tool_use_behavior="run_llm_again",
                                           reset_tool_choice=True),
                                    "What is the weather in Paris?", max_turns=4))
    calls = [item for item in result.new_items if item.type == "tool_call_item"]
    assert calls and "Paris" in calls[0].raw_item.arguments
    assert isinstance(result.final_output, str) and result.final_output.strip()


def test_openai_agents_output_type_with_a_tool(agents_model):
    from agents import Runner

    result = asyncio.run(Runner.run(_agent(agents_model, output_type=Weather), "What is the weather in Paris?",
                                    max_turns=4))
    assert isinstance(result.final_output, Weather) and result.final_output.city == "Paris"


def test_openai_agents_streamed(agents_model):
    from agents import Runner

    async def run():
        res = Runner.run_streamed(_agent(agents_model, output_type=Weather), "What is the weather in Rome?",
                                  max_turns=4)
        kinds = [ev.type async for ev in res.stream_events()]
        return res, kinds

    res, kinds = asyncio.run(run())
    assert "raw_response_event" in kinds and isinstance(res.final_output, Weather)


def test_openai_agents_default_settings_are_bounded(server):
    """No max_tokens from the framework: the server's default bounds the turn, and the agent returns."""
    from agents import Agent, ModelSettings, OpenAIResponsesModel, Runner

    model = OpenAIResponsesModel(model=CHAT, openai_client=openai.AsyncOpenAI(base_url=server.base_url, api_key="x"))
    agent = Agent(name="plain", instructions="Be brief.", model=model, model_settings=ModelSettings(temperature=0))
    result = asyncio.run(Runner.run(agent, "Say hello.", max_turns=2))
    assert isinstance(result.final_output, str) and result.final_output


# -- pydantic-ai --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["ToolOutput", "NativeOutput", "PromptedOutput"])
@pytest.mark.parametrize("model_class", ["OpenAIChatModel", "OpenAIResponsesModel"])
def test_pydantic_ai_output_modes_beside_a_tool(server, output, model_class):
    import pydantic_ai
    import pydantic_ai.models.openai as models
    from pydantic_ai.providers.openai import OpenAIProvider

    model = getattr(models, model_class)(CHAT, provider=OpenAIProvider(base_url=server.base_url, api_key="x"))
    agent = pydantic_ai.Agent(model, output_type=getattr(pydantic_ai, output)(City),
                              instructions="Extract the city. Use the lookup tool if you need to.",
                              model_settings={"temperature": 0, "max_tokens": 120, "seed": 1})

    @agent.tool_plain
    def lookup_country(city: str) -> str:
        """The country a city is in."""
        return "France"

    out = agent.run_sync("Paris is a lovely city in France.").output
    assert isinstance(out, City) and out.name == "Paris" and out.country.lower() == "france"


def test_a_tool_call_cut_off_by_max_tokens_is_never_text(oai):
    """pydantic-ai's forced calls with runaway arguments: the cut call is reported as a call, finish
    "length", as OpenAI does; never as text content."""
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}}}]
    out = oai.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "weather in Paris"}],
                                      tools=tools, tool_choice="required", max_tokens=8, temperature=0)
    choice = out.choices[0]
    assert choice.finish_reason == "length" and choice.message.content is None
    assert choice.message.tool_calls and choice.message.tool_calls[0].function.name == "get_weather"
    streamed = list(oai.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "weather in Paris"}],
                                                tools=tools, tool_choice="required", max_tokens=8, temperature=0,
                                                stream=True))
    assert not any(c.choices and c.choices[0].delta.content for c in streamed)
    assert streamed[-1].choices[0].finish_reason == "length"


# -- instructor ---------------------------------------------------------------------------------------------

PARIS = [{"role": "user", "content": "Paris is in France."}]


@pytest.mark.parametrize("mode", ["TOOLS", "JSON_SCHEMA"])
def test_instructor_modes(server, mode):
    import instructor

    client = instructor.from_openai(openai.OpenAI(base_url=server.base_url, api_key="x"),
                                    mode=getattr(instructor.Mode, mode))
    city = client.chat.completions.create(model=CHAT, response_model=City, messages=PARIS, max_tokens=80,
                                          temperature=0)
    assert city.name == "Paris" and city.country == "France"


def test_instructor_partial_objects_arrive_before_the_end(server):
    import instructor

    client = instructor.from_openai(openai.OpenAI(base_url=server.base_url, api_key="x"), mode=instructor.Mode.TOOLS)
    parts = [p.model_dump() for p in client.chat.completions.create_partial(
        model=CHAT, response_model=City, messages=PARIS, max_tokens=80, temperature=0)]
    final = parts[-1]
    assert final == {"name": "Paris", "country": "France"}
    # the name was known while the country was still being written: the arguments streamed in pieces
    assert any(p["name"] == "Paris" and p["country"] is None for p in parts)
    assert len(parts) > 3


def test_tool_call_arguments_stream_as_they_are_written(oai):
    tools = [{"type": "function", "function": {"name": "get_weather", "strict": True, "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
        "additionalProperties": False}}}]
    chunks = list(oai.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Weather in Rome?"}],
                                              tools=tools, tool_choice="required", parallel_tool_calls=False,
                                              max_tokens=40, temperature=0, stream=True))
    deltas = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert deltas[0].id and deltas[0].function.name == "get_weather" and deltas[0].function.arguments == ""
    pieces = [d.function.arguments for d in deltas[1:]]
    assert len(pieces) > 2 and '"city"' in "".join(pieces)
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


# -- openai-python: responses -------------------------------------------------------------------------------


def test_openai_responses_create_stream_parse(oai):
    r = oai.responses.create(model=CHAT, input="What is the capital of France?", max_output_tokens=30,
                             temperature=0)
    assert r.status == "completed" and "Paris" in r.output_text
    follow = oai.responses.create(model=CHAT, input="And of Germany?", previous_response_id=r.id,
                                  max_output_tokens=30, temperature=0)
    assert "Berlin" in follow.output_text
    with oai.responses.stream(model=CHAT, input="Say hello.", max_output_tokens=80, temperature=0) as s:
        kinds = [e.type for e in s]
        final = s.get_final_response()
    assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert "response.output_text.delta" in kinds and kinds[-1] == "response.completed"
    assert final.output_text
    parsed = oai.responses.parse(model=CHAT, input="Paris is a city in France. Extract it.", text_format=City,
                                 max_output_tokens=60, temperature=0)
    assert parsed.output_parsed == City(name="Paris", country="France")


def test_structured_output_beside_tools_follows_the_schema(server):
    schema = {"type": "object", "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}},
              "required": ["answer", "confidence"], "additionalProperties": False}
    tools = [{"type": "function", "function": {"name": "calculator", "parameters": {
        "type": "object", "properties": {"expression": {"type": "string"}}}}}]
    body = {"model": CHAT, "messages": [{"role": "user", "content": "What is 2+2?"}], "tools": tools,
            "response_format": {"type": "json_schema", "json_schema": {"name": "A", "schema": schema, "strict": True}},
            "max_tokens": 80, "temperature": 0}
    out = httpx.post(server.base_url + "/chat/completions", json=body, timeout=120).json()
    message = out["choices"][0]["message"]
    assert not message.get("tool_calls")  # greedy, the model answers in text: that text is the schema's
    answer = json.loads(message["content"])
    assert set(answer) == {"answer", "confidence"} and isinstance(answer["confidence"], (int, float))
