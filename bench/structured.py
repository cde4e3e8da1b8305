"""Structured output and tools on the in-process engine, all in one run:

1. schema-valid rate of free decoding (the schema given in the prompt, as the engine also does) against
   constrained decoding, on fixed schemas sampled at temperature 1 (target: 100% constrained);
2. decode speed of constrained rows against free rows in the same batch, and of a half-constrained batch
   against an all-free one (target: at most 15% slower);
3. grammar compile time, cold and cached;
4. time per agent task (a tool round, then the answer) at 20 concurrent against one at a time.

    .venv/bin/python bench/structured.py [--samples 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Annotated, Any

import jsonschema
from pydantic import Field

import llmaas
from llmaas.providers.huggingface.engine.constrained import _json_grammar

MODEL = "smollm2-135m-instruct"
SCHEMAS: dict[str, dict[str, Any]] = {
    "person": {"type": "object", "additionalProperties": False, "required": ["name", "age"],
               "properties": {"name": {"type": "string", "maxLength": 40}, "age": {"type": "integer"}}},
    "weather": {"type": "object", "additionalProperties": False, "required": ["city", "celsius", "sky"],
                "properties": {"city": {"type": "string", "maxLength": 30}, "celsius": {"type": "number"},
                               "sky": {"enum": ["sun", "rain", "cloud", "snow"]}}},
    "todo list": {"type": "object", "additionalProperties": False, "required": ["items"],
                  "properties": {"items": {"type": "array", "minItems": 1, "maxItems": 4, "items": {
                      "type": "object", "additionalProperties": False, "required": ["task", "done"],
                      "properties": {"task": {"type": "string", "maxLength": 30}, "done": {"type": "boolean"}}}}}},
    "review": {"type": "object", "additionalProperties": False, "required": ["stars", "summary", "tags"],
               "properties": {"stars": {"type": "integer", "minimum": 1, "maximum": 5},
                              "summary": {"type": "string", "maxLength": 80},
                              "tags": {"type": "array", "maxItems": 3, "items": {"type": "string", "maxLength": 12}}}},
    "address": {"type": "object", "additionalProperties": False, "required": ["street", "zip", "country"],
                "properties": {"street": {"type": "string", "maxLength": 40},
                               "zip": {"type": "string", "pattern": "^[0-9]{5}$"},
                               "country": {"type": "string", "maxLength": 20}}},
    "any object": {"type": "object"},
}
PROMPTS = {"person": "Invent a person.", "weather": "Report the weather in a city.", "todo list": "Plan my day.",
           "review": "Review a restaurant.", "address": "Give a postal address.", "any object": "Describe a cat."}


def valid(text: str | None, schema: dict[str, Any], lenient: bool = False) -> bool:
    """Whether the answer is JSON valid for the schema; ``lenient``: the first {...} block in it is (a
    model that wraps its JSON in prose or a code fence gets the benefit of the doubt)."""
    text = text or ""
    if lenient and "{" in text and "}" in text:
        text = text[text.index("{"): text.rindex("}") + 1]
    try:
        jsonschema.validate(json.loads(text), schema)
        return True
    except (ValueError, jsonschema.ValidationError):
        return False


async def validity(client: llmaas.AsyncClient, samples: int) -> list[str]:
    rows = ["| schema | free: valid | free: a valid {...} block inside | constrained: valid |",
            "| --- | --- | --- | --- |"]
    totals = [0, 0, 0, 0]
    for name, schema in SCHEMAS.items():
        note = f"Reply with JSON that follows this JSON schema:\n{json.dumps(schema)}"
        messages = [{"role": "system", "content": note}, {"role": "user", "content": PROMPTS[name]}]
        fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema, "strict": True}}
        free = await asyncio.gather(*(client.chat.completions.create(
            model=MODEL, messages=messages, max_tokens=200, temperature=1.0, seed=s) for s in range(samples)))
        held = await asyncio.gather(*(client.chat.completions.create(
            model=MODEL, messages=[messages[1]], max_tokens=200, temperature=1.0, seed=s, response_format=fmt)
            for s in range(samples)))
        f = sum(valid(r.choices[0].message.content, schema) for r in free)
        fl = sum(valid(r.choices[0].message.content, schema, lenient=True) for r in free)
        c = sum(valid(r.choices[0].message.content, schema) for r in held)
        totals = [totals[0] + f, totals[1] + fl, totals[2] + c, totals[3] + samples]
        rows.append(f"| {name} | {f}/{samples} | {fl}/{samples} | {c}/{samples} |")
    n = totals[3]
    rows.append(f"| **all** | **{totals[0]}/{n} ({100 * totals[0] / n:.0f}%)** | **{totals[1]}/{n} "
                f"({100 * totals[1] / n:.0f}%)** | **{totals[2]}/{n} ({100 * totals[2] / n:.0f}%)** |")
    return rows


async def timed(client: llmaas.AsyncClient, constrained: bool, tokens: int, seed: int) -> tuple[int, float]:
    start = time.perf_counter()
    if constrained:  # a schema that cannot end before max_tokens: every row decodes the same length
        fmt = {"type": "json_schema", "json_schema": {"name": "s", "schema": {
            "type": "object", "required": ["story"], "properties": {"story": {"type": "string", "minLength": 2000}}}}}
        r = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "A story."}],
                                                 max_tokens=tokens, temperature=1.0, seed=seed, response_format=fmt)
    else:
        r = await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "A story."}],
                                                 max_tokens=tokens, temperature=1.0, seed=seed, ignore_eos=True)
    return (r.usage.completion_tokens if r.usage else 0), time.perf_counter() - start


async def speed(client: llmaas.AsyncClient, batch: int, tokens: int, rounds: int) -> list[str]:
    free_rates, held_rates, mixed_aggr, free_aggr = [], [], [], []
    for r in range(rounds):
        start = time.perf_counter()
        done = await asyncio.gather(*(timed(client, False, tokens, r * 100 + i) for i in range(batch)))
        free_aggr.append(sum(t for t, _ in done) / (time.perf_counter() - start))
        start = time.perf_counter()
        kinds = [i % 2 == 1 for i in range(batch)]
        done = await asyncio.gather(*(timed(client, k, tokens, r * 100 + i) for i, k in enumerate(kinds)))
        mixed_aggr.append(sum(t for t, _ in done) / (time.perf_counter() - start))
        free_rates += [t / s for (t, s), k in zip(done, kinds, strict=True) if not k]
        held_rates += [t / s for (t, s), k in zip(done, kinds, strict=True) if k]
    f, h = statistics.median(free_rates), statistics.median(held_rates)
    fa, ma = statistics.median(free_aggr), statistics.median(mixed_aggr)
    return [f"| {batch} requests, {tokens} tokens each, median of {rounds} rounds | tokens/s | ratio |",
            "| --- | --- | --- |",
            f"| free rows in the mixed batch (per request) | {f:.1f} | 1.00 |",
            f"| constrained rows in the same batch (per request) | {h:.1f} | {h / f:.2f} |",
            f"| all-free batch, aggregate | {fa:.1f} | 1.00 |",
            f"| half-constrained batch, aggregate | {ma:.1f} | {ma / fa:.2f} |"]


def compile_times(client: llmaas.AsyncClient) -> list[str]:
    provider: Any = client.provider("hf")
    grammars = provider.engine(MODEL).grammar_cache()
    import llguidance
    import llguidance.torch

    rows = ["| schema | cold: compile and first mask (ms) | cached: copy and first mask (ms) |", "| --- | --- | --- |"]
    for name, schema in SCHEMAS.items():
        salted = {**schema, "description": f"bench {time.time_ns()}"}  # never compiled before
        grammar = _json_grammar(salted, "schema")
        times = []
        for _ in range(2):
            start = time.perf_counter()
            matcher = grammars.compile(grammar, "schema").deep_copy()
            mask = llguidance.torch.allocate_token_bitmask(1, 49152)
            llguidance.torch.fill_next_token_bitmask(matcher, mask)
            times.append(time.perf_counter() - start)
        rows.append(f"| {name} | {times[0] * 1e3:.2f} | {times[1] * 1e3:.2f} |")
    return rows


async def lookup(city: Annotated[str, Field(max_length=20)]) -> dict[str, Any]:
    """The weather now in a city."""
    return {"city": city, "celsius": 21, "sky": "clear"}


async def agent_task(client: llmaas.AsyncClient, i: int) -> float:
    start = time.perf_counter()
    await client.chat.completions.run_tools(
        model=MODEL, tools=[lookup], tool_choice="required", max_steps=1, parallel_tool_calls=False, max_tokens=60,
        temperature=0, messages=[{"role": "user", "content": f"What is the weather in city number {i}?"}])
    return time.perf_counter() - start


async def agents(client: llmaas.AsyncClient, n: int) -> list[str]:
    one = [await agent_task(client, i) for i in range(3)]
    start = time.perf_counter()
    await asyncio.gather(*(agent_task(client, i) for i in range(n)))
    together = time.perf_counter() - start
    alone = statistics.median(one)
    return ["| | seconds |", "| --- | --- |",
            f"| one agent task alone (median of 3) | {alone:.2f} |",
            f"| {n} agent tasks at once, wall | {together:.2f} |",
            f"| {n} at once, per task | {together / n:.2f} ({alone * n / together:.1f}x the throughput of one at a time) |"]


async def run(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser()
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--tokens", type=int, default=48)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--agents", type=int, default=20)
    args = p.parse_args(argv)
    async with llmaas.AsyncClient(provider_options={"hf": {"progress": False}}) as client:
        await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=1)
        out = await validity(client, args.samples)
        out += [""] + await speed(client, args.batch, args.tokens, args.rounds)
        out += [""] + compile_times(client)
        out += [""] + await agents(client, args.agents)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> str:
    return asyncio.run(run(argv))


if __name__ == "__main__":
    print(main())
