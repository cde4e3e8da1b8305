"""The agent libraries people use, pointed at `llmaas serve` on the built-in model, unchanged but for the base
URL: which of 24 runs pass, on this tree and (``--before REV``) on an earlier commit's server; then the
latency of a two-turn tool-using agent through the Responses API against the same agent through Chat
Completions, and the valid rate of structured output beside tools, constrained against free.

Each run is a fresh process with a time limit (a run past it fails as "timed out"), greedy with bounded
tokens where the library lets one say so.

    .venv/bin/python bench/agent_clients.py [--before REV] [--rounds 5] [--samples 20] [--limit 180]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
MODEL = "smollm2-135m-instruct"
PARIS = [{"role": "user", "content": "Paris is in France."}]
RUNS: dict[str, Callable[[str], None]] = {}


def run(name: str) -> Callable[[Callable[[str], None]], Callable[[str], None]]:
    def add(fn: Callable[[str], None]) -> Callable[[str], None]:
        RUNS[name] = fn
        return fn
    return add


def _models() -> Any:
    from pydantic import BaseModel

    class City(BaseModel):
        name: str
        country: str

    class Forecast(BaseModel):
        city: str
        sunny: bool

    return City, Forecast


def _weather(city: str) -> str:
    """Get the weather in a city."""
    return f"It is sunny and 21 C in {city}."


def _agent(base: str, responses: bool = True, **kw: Any) -> Any:
    import openai
    from agents import (
        Agent,
        ModelSettings,
        OpenAIChatCompletionsModel,
        OpenAIResponsesModel,
        function_tool,
        set_tracing_disabled,
    )

    set_tracing_disabled(True)
    client = openai.AsyncOpenAI(base_url=base, api_key="x")
    model = OpenAIResponsesModel(MODEL, client) if responses else OpenAIChatCompletionsModel(MODEL, client)
    settings = kw.pop("settings", ModelSettings(temperature=0, max_tokens=120, parallel_tool_calls=False,
                                                tool_choice=kw.pop("tool_choice", None)))
    return Agent(name="weather", instructions="You answer questions about the weather in a few words. Use the tool.",
                 tools=[function_tool(_weather, name_override="get_weather")], model=model, model_settings=settings,
                 **kw)


def _run_agent(agent: Any, question: str = "What is the weather in Paris?") -> Any:
    from agents import Runner

    return asyncio.run(Runner.run(agent, question, max_turns=4))


@run("openai-agents, default model (Responses), a tool")
def _agents_tool(base: str) -> None:
    assert isinstance(_run_agent(_agent(base)).final_output, str)


@run("openai-agents, tool_choice required")
def _agents_required(base: str) -> None:
    result = _run_agent(_agent(base, tool_choice="required"))
    assert any(i.type == "tool_call_item" for i in result.new_items) and result.final_output


@run("openai-agents, output_type alone")
def _agents_output(base: str) -> None:
    from agents import Agent, ModelSettings

    _, forecast = _models()
    agent = _agent(base)
    plain = Agent(name="plain", model=agent.model, output_type=forecast, instructions="Answer about the weather.",
                  model_settings=ModelSettings(temperature=0, max_tokens=80))
    assert isinstance(_run_agent(plain).final_output, forecast)


@run("openai-agents, output_type with a tool")
def _agents_output_tool(base: str) -> None:
    _, forecast = _models()
    assert isinstance(_run_agent(_agent(base, output_type=forecast)).final_output, forecast)


@run("openai-agents, run_streamed with output_type and a tool")
def _agents_streamed(base: str) -> None:
    from agents import Runner

    _, forecast = _models()

    async def go() -> Any:
        res = Runner.run_streamed(_agent(base, output_type=forecast), "What is the weather in Rome?", max_turns=4)
        async for _ in res.stream_events():
            pass
        return res.final_output

    assert isinstance(asyncio.run(go()), forecast)


@run("openai-agents, Runner.run, default settings")
def _agents_default(base: str) -> None:
    from agents import ModelSettings

    assert _run_agent(_agent(base, settings=ModelSettings()), "Say hello.").final_output


@run("openai-agents, run_streamed, default settings")
def _agents_default_streamed(base: str) -> None:
    from agents import ModelSettings, Runner

    async def go() -> Any:
        res = Runner.run_streamed(_agent(base, settings=ModelSettings()), "Say hello.", max_turns=4)
        async for _ in res.stream_events():
            pass
        return res.final_output

    assert asyncio.run(go())


def _pydantic_ai(base: str, output: str, model_class: str, tool: bool = True) -> None:
    import pydantic_ai
    import pydantic_ai.models.openai as models
    from pydantic_ai.providers.openai import OpenAIProvider

    city, _ = _models()
    model = getattr(models, model_class)(MODEL, provider=OpenAIProvider(base_url=base, api_key="x"))
    agent = pydantic_ai.Agent(model, output_type=getattr(pydantic_ai, output)(city),
                              instructions="Extract the city. Use the lookup tool if you need to.",
                              model_settings={"temperature": 0, "max_tokens": 120})
    if tool:
        @agent.tool_plain
        def lookup_country(city: str) -> str:
            """The country a city is in."""
            return "France"

    out = agent.run_sync("Paris is a lovely city in France.").output
    assert out.name == "Paris"


for _output in ("ToolOutput", "NativeOutput", "PromptedOutput"):
    for _model in ("OpenAIChatModel", "OpenAIResponsesModel"):
        run(f"pydantic-ai {_output} with a tool ({_model})")(
            lambda base, o=_output, m=_model: _pydantic_ai(base, o, m))
run("pydantic-ai NativeOutput without tools")(lambda base: _pydantic_ai(base, "NativeOutput", "OpenAIChatModel", False))


@run("pydantic-ai, forced tool call cut off by max_tokens")
def _cut_call(base: str) -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "weather in Paris"}], "max_tokens": 8,
            "tool_choice": "required", "temperature": 0, "tools": [{"type": "function", "function": {
                "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]}
    choice = httpx.post(base + "/chat/completions", json=body, timeout=120).json()["choices"][0]
    assert choice["finish_reason"] == "length" and not choice["message"].get("content")
    assert choice["message"]["tool_calls"]


def _instructor(base: str, mode: str) -> None:
    import instructor
    import openai

    city, _ = _models()
    client = instructor.from_openai(openai.OpenAI(base_url=base, api_key="x"), mode=getattr(instructor.Mode, mode))
    out = client.chat.completions.create(model=MODEL, response_model=city, messages=PARIS, max_tokens=80,
                                         temperature=0)
    assert out.name == "Paris"


for _mode in ("TOOLS", "TOOLS_STRICT", "JSON", "JSON_SCHEMA"):
    run(f"instructor {_mode}")(lambda base, m=_mode: _instructor(base, m))


@run("instructor create_partial with tools")
def _partial(base: str) -> None:
    import instructor
    import openai

    city, _ = _models()
    client = instructor.from_openai(openai.OpenAI(base_url=base, api_key="x"), mode=instructor.Mode.TOOLS)
    parts = [p.model_dump() for p in client.chat.completions.create_partial(
        model=MODEL, response_model=city, messages=PARIS, max_tokens=80, temperature=0)]
    assert any(p["name"] and p["country"] is None for p in parts) and parts[-1]["country"] == "France"


@run("openai-python responses.create")
def _responses_create(base: str) -> None:
    import openai

    client = openai.OpenAI(base_url=base, api_key="x")
    question = "What is the capital of France?"
    r = client.responses.create(model=MODEL, input=question, max_output_tokens=30, temperature=0)
    chat = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}],
                                          max_tokens=30, temperature=0)
    assert "Paris" in r.output_text and r.output_text == chat.choices[0].message.content


@run("openai-python responses.parse")
def _responses_parse(base: str) -> None:
    import openai

    city, _ = _models()
    r = openai.OpenAI(base_url=base, api_key="x").responses.parse(
        model=MODEL, input="Paris is a city in France. Extract it.", text_format=city, max_output_tokens=60,
        temperature=0)
    assert r.output_parsed is not None and r.output_parsed.name == "Paris"


@run("openai-python chat.completions.parse")
def _chat_parse(base: str) -> None:
    import openai

    city, _ = _models()
    r = openai.OpenAI(base_url=base, api_key="x").chat.completions.parse(
        model=MODEL, messages=PARIS, response_format=city, max_tokens=60, temperature=0)
    assert r.choices[0].message.parsed is not None


@run("openai-python chat.completions.stream with a pydantic_function_tool")
def _chat_stream_tool(base: str) -> None:
    import openai

    city, _ = _models()
    with openai.OpenAI(base_url=base, api_key="x").chat.completions.stream(
            model=MODEL, messages=PARIS, tools=[openai.pydantic_function_tool(city)], tool_choice="required",
            max_tokens=60, temperature=0) as s:
        final = s.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert calls and calls[0].function.parsed_arguments is not None


# -- measures on this tree -----------------------------------------------------------------------------------


def agent_latency(base: str, rounds: int) -> dict[str, float]:
    """Seconds for a two-turn tool-using agent (a call, then the answer), median of ``rounds``."""
    out: dict[str, float] = {}
    for label, responses in (("Responses API", True), ("Chat Completions", False)):
        times = []
        for _ in range(rounds):
            agent = _agent(base, responses=responses, tool_choice="required")
            start = time.perf_counter()
            result = _run_agent(agent)
            times.append(time.perf_counter() - start)
            assert any(i.type == "tool_call_item" for i in result.new_items)
        out[label] = statistics.median(times)
    return out


SCHEMA = {"type": "object", "additionalProperties": False, "required": ["answer", "confidence"],
          "properties": {"answer": {"type": "string", "maxLength": 60}, "confidence": {"type": "number"}}}


def valid_rate(base: str, samples: int) -> dict[str, float]:
    """Share of answers beside a tool that are a tool call or JSON valid for the schema, at temperature 1:
    constrained (``response_format``) against free (the schema described in the prompt only)."""
    import jsonschema

    questions = ["What is 2+2?", "Name a colour.", "What is the capital of Spain?", "Is water wet?"]
    tools = [{"type": "function", "function": {"name": "calculator", "description": "Evaluate arithmetic",
                                               "parameters": {"type": "object", "properties": {
                                                   "expression": {"type": "string"}}}}}]
    note = f"Answer with JSON that follows this JSON schema: {json.dumps(SCHEMA)}"
    rates: dict[str, float] = {}
    for label, constrained in (("constrained", True), ("free", False)):
        good = 0
        for i in range(samples):
            body: dict[str, Any] = {"model": MODEL, "tools": tools, "max_tokens": 100, "temperature": 1.0, "seed": i,
                                    "messages": [{"role": "system", "content": note},
                                                 {"role": "user", "content": questions[i % len(questions)]}]}
            if constrained:
                body["response_format"] = {"type": "json_schema", "json_schema": {"name": "A", "schema": SCHEMA,
                                                                                  "strict": True}}
            message = httpx.post(base + "/chat/completions", json=body, timeout=120).json()["choices"][0]["message"]
            if message.get("tool_calls"):
                good += 1
                continue
            try:
                jsonschema.validate(json.loads(message["content"]), SCHEMA)
                good += 1
            except (ValueError, jsonschema.ValidationError):
                pass
        rates[label] = good / samples
    return rates


# -- servers and rows --------------------------------------------------------------------------------------


class Server:
    def __init__(self, package: Path | None) -> None:
        from llmaas.server.serve import free_port

        self.port = free_port()
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        if package is not None:
            env["PYTHONPATH"] = str(package)
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-m", "llmaas.server", "--port", str(self.port)], env=env,
                                     stdout=self.log, stderr=self.log, cwd=package or ROOT)
        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.5)
        raise RuntimeError("the server did not start")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)


def table(base: str, limit: float) -> dict[str, str]:
    results = {}
    for name in RUNS:
        try:
            out = subprocess.run([sys.executable, __file__, "--row", name, "--base-url", base], capture_output=True,
                                 text=True, timeout=limit, env={**os.environ, "OPENAI_AGENTS_DISABLE_TRACING": "1"})
            results[name] = "pass" if out.returncode == 0 else "fail: " + (out.stderr.strip().splitlines() or ["?"])[-1][:90]
        except subprocess.TimeoutExpired:
            results[name] = f"fail: timed out after {limit:g} s"
    return results


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser()
    p.add_argument("--before", help="an earlier commit whose server to run the same table against")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--samples", type=int, default=20)
    p.add_argument("--limit", type=float, default=180.0, help="seconds one run may take")
    p.add_argument("--row")
    p.add_argument("--base-url")
    args = p.parse_args(argv if argv is not None or __name__ == "__main__" else [])
    if args.row:
        RUNS[args.row](args.base_url)
        return "ok"
    columns: dict[str, dict[str, str]] = {}
    if args.before:
        sys.path.insert(0, str(ROOT / "bench"))
        from before_after import export

        with tempfile.TemporaryDirectory(prefix="llmaas-before-") as tmp:
            _, pkg = export(args.before, Path(tmp))
            old = Server(pkg)
            try:
                columns[f"before ({args.before[:7]})"] = table(old.base, args.limit)
            finally:
                old.stop()
    now = Server(None)
    try:
        columns["now"] = table(now.base, args.limit)
        latency = agent_latency(now.base, args.rounds)
        rates = valid_rate(now.base, args.samples)
    finally:
        now.stop()
    names = list(columns)
    lines = ["| run | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    for row in RUNS:
        lines.append(f"| {row} | " + " | ".join(columns[n][row] for n in names) + " |")
    lines.append("| **passed** | " + " | ".join(
        f"**{sum(v == 'pass' for v in columns[n].values())} of {len(RUNS)}**" for n in names) + " |")
    lines += ["", "| two-turn tool agent (openai-agents), median of "
              f"{args.rounds} | seconds |", "| --- | ---: |"]
    lines += [f"| {k} | {v:.2f} |" for k, v in latency.items()]
    lines.append(f"| ratio (Responses / Chat Completions) | {latency['Responses API'] / latency['Chat Completions']:.2f} |")
    lines += ["", f"| structured output beside a tool, temperature 1, {args.samples} samples | valid |",
              "| --- | ---: |"]
    lines += [f"| {k} | {v:.0%} |" for k, v in rates.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
