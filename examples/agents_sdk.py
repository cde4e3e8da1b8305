"""An openai-agents agent on the built-in model, unchanged but for the base URL: it calls a tool through the
Responses API (openai-agents' default) of a private `llmaas serve`, then answers with a typed result.

Against a server you already run, set OPENAI_BASE_URL=http://127.0.0.1:8000/v1 and leave out the
llmaas lines."""

import asyncio

from agents import Agent, ModelSettings, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled
from openai import AsyncOpenAI
from pydantic import BaseModel

import llmaas
from llmaas.providers.local import LocalProvider


class Forecast(BaseModel):
    city: str
    sunny: bool


@function_tool
def get_weather(city: str) -> str:
    """Get the weather in a city."""
    return f"It is sunny and 21 C in {city}."


async def main(base_url: str) -> None:
    set_tracing_disabled(True)  # traces go to OpenAI's servers: off for a local model
    model = OpenAIResponsesModel(model="smollm2-135m-instruct",
                                 openai_client=AsyncOpenAI(base_url=base_url, api_key="unused"))
    # tool_choice="required": the first turn calls the tool (openai-agents lifts it after a call, so the
    # next turn answers); a 135M model left to choose often answers from memory
    settings = ModelSettings(temperature=0, max_tokens=120, parallel_tool_calls=False, tool_choice="required")
    agent = Agent(name="weather", instructions="You answer questions about the weather in a few words. Use the tool.",
                  tools=[get_weather], model=model, model_settings=settings)
    result = await Runner.run(agent, "What is the weather in Paris?", max_turns=4)
    calls = [item.raw_item for item in result.new_items if item.type == "tool_call_item"]
    assert calls, "the agent called no tool"
    print("tool calls:", calls)
    print("answer:", result.final_output)
    typed = agent.clone(output_type=Forecast, model_settings=ModelSettings(temperature=0, max_tokens=120, parallel_tool_calls=False))
    forecast = (await Runner.run(typed, "What is the weather in Rome?", max_turns=4)).final_output_as(Forecast)
    print("typed answer:", forecast)


with llmaas.Client(provider="local") as client:  # a private server for this script, stopped at the end
    local = client.provider("local")
    assert isinstance(local, LocalProvider)
    client.models.list()  # starts it
    asyncio.run(main(local.base_url))
