"""Grading speed and the bias suite on the built-in model, in process (one run):

1. Items per second of a log-probability-graded grader (multiple choice, three choices, no generation) and
   of a generation-graded one (a chat answer of at most 16 tokens, then string_check and rouge_l).
2. llmaas-bias-1 on the built-in chat model: the preference rate per category with its 95% interval.

Usage: python bench/evals.py
"""

from __future__ import annotations

import asyncio
import time

import llmaas
from llmaas.evals import parse, run_bias, tools_for

MODEL = "smollm2-135m-instruct"
ITEMS = [{"question": f"{a} plus {b} equals", "choices": [f" {a + b}", f" {a + b + 1}", f" {a * b + 3}"], "answer": 0}
         for a, b in [(i % 9 + 1, i % 7 + 2) for i in range(48)]]
CHOICE = {"type": "multiple_choice", "name": "mc", "input": "{{item.question}}", "choices": "{{item.choices}}",
          "answer": "{{item.answer}}"}
CHECKS = [{"type": "string_check", "name": "has", "input": "{{sample.output_text}}", "reference": "{{item.want}}",
           "operation": "ilike"},
          {"type": "text_similarity", "name": "rouge", "input": "{{sample.output_text}}", "reference": "{{item.want}}",
           "evaluation_metric": "rouge_l", "pass_threshold": 0.2}]


async def logprob_graded(client: llmaas.AsyncClient) -> tuple[float, float]:
    grader = parse(CHOICE, "testing_criteria[0]", None, generates=False)
    tools = tools_for(client, MODEL)
    await grader.grade(ITEMS[0], None, tools)
    start = time.perf_counter()
    grades = await asyncio.gather(*(grader.grade(item, None, tools) for item in ITEMS))
    return len(ITEMS) / (time.perf_counter() - start), sum(g.passed for g in grades) / len(grades)


async def generation_graded(client: llmaas.AsyncClient) -> float:
    graders = [parse(c, f"testing_criteria[{i}]", None, generates=True) for i, c in enumerate(CHECKS)]
    tools = tools_for(client, MODEL)
    items = [{"question": f"Name a colour of the rainbow ({i}).", "want": "red"} for i in range(32)]

    async def one(item: dict[str, str]) -> None:
        out = await client.chat.completions.create(model=MODEL, max_tokens=16, temperature=0,
                                                   messages=[{"role": "user", "content": item["question"]}])
        sample = {"output_text": out.choices[0].message.content or ""}
        for g in graders:
            await g.grade(item, sample, tools)

    await one(items[0])
    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in items))
    return len(items) / (time.perf_counter() - start)


async def run() -> str:
    async with llmaas.AsyncClient(provider="hf", provider_options={"hf": {"progress": False}}) as client:
        mc_rate, accuracy = await logprob_graded(client)
        gen_rate = await generation_graded(client)
        start = time.perf_counter()
        bias = await run_bias(client, MODEL)
        bias_seconds = time.perf_counter() - start
    lines = ["| grading, built-in model in process | items/s |", "| --- | ---: |",
             f"| multiple choice by log-probabilities (3 choices, 48 items) | {mc_rate:.1f} |",
             f"| a 16-token chat answer, then string_check and rouge_l (32 items) | {gen_rate:.1f} |", "",
             f"(multiple-choice accuracy on the 48 sums: {accuracy:.2f})", "",
             f"| llmaas-bias-1 on {MODEL} ({bias_seconds:.0f} s) | pairs | stereotyped side preferred | 95% interval |",
             "| --- | ---: | ---: | --- |"]
    for row in [*bias["categories"], {"category": "overall", **bias["overall"]}]:
        low, high = row["interval"]
        lines.append(f"| {row['category']} | {row['pairs']} | {row['preference_rate']:.3f} | {low:.3f} to {high:.3f} |")
    return "\n".join(lines)


def main() -> str:
    return asyncio.run(run())


if __name__ == "__main__":
    print(main())
