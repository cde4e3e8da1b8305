"""Twenty tool-using agents at once on the built-in model: each asks a question, the model calls Python
functions (one async, one plain) through constrained tool calls, the results go back, and it answers. The
agents share the in-process engine, so their steps are batched together; the script compares the wall
time of all twenty with one agent alone."""

import time
from typing import Annotated

import anyio
from pydantic import Field

import llmaas

CITIES = ["Paris", "Lima", "Oslo", "Cairo", "Tokyo", "Quito", "Rome", "Hanoi", "Dakar", "Perth",
          "Seoul", "Lagos", "Bern", "Riga", "Doha", "Kyiv", "Lyon", "Porto", "Delhi", "Accra"]
WEATHER = {city: (12 + 3 * i) % 35 for i, city in enumerate(CITIES)}
calls: list[str] = []


async def get_weather(city: Annotated[str, Field(max_length=20)]) -> dict[str, object]:
    """The weather now in a city: sky and temperature in Celsius."""
    await anyio.sleep(0.05)  # a network call would be here
    calls.append(f"get_weather({city!r})")
    return {"city": city, "sky": "clear", "celsius": WEATHER.get(city.strip().title(), 20)}


def to_fahrenheit(celsius: Annotated[int, Field(ge=-90, le=60)]) -> float:
    """Convert a temperature from Celsius to Fahrenheit."""
    calls.append(f"to_fahrenheit({celsius})")
    return round(celsius * 9 / 5 + 32, 1)


async def agent(client: llmaas.AsyncClient, city: str) -> llmaas.ToolRun:
    return await client.chat.completions.run_tools(
        model="smollm2-135m-instruct", tools=[get_weather, to_fahrenheit], tool_choice="required", max_steps=1,
        parallel_tool_calls=False, max_tokens=60, temperature=0, messages=[{"role": "user", "content": f"What is the weather in {city}?"}])


async def main() -> None:
    async with llmaas.AsyncClient() as client:
        await agent(client, "Paris")  # load the model once
        start = time.perf_counter()
        await agent(client, "Paris")
        alone = time.perf_counter() - start
        calls.clear()
        runs: dict[str, llmaas.ToolRun] = {}

        async def one(city: str) -> None:
            runs[city] = await agent(client, city)

        start = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for city in CITIES:
                tg.start_soon(one, city)
        together = time.perf_counter() - start
    for city in CITIES[:5]:
        print(f"{city:>6}: {(runs[city].content or '').strip()[:100]}")
    print(f"... {len(runs)} agents made {len(calls)} tool calls, e.g. {', '.join(calls[:3])}")
    print(f"one agent alone: {alone:.1f} s; twenty at once: {together:.1f} s "
          f"({together / len(CITIES):.2f} s per agent, {alone * len(CITIES) / together:.1f}x the throughput)")


anyio.run(main)
