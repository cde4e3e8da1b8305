"""Many concurrent calls from async code share one in-process engine (continuous batching): here eight
"agents" ask at once, and their answers stream back interleaved."""

import asyncio
import time

import llmaas

TOPICS = ["the sea", "mountains", "a city at night", "autumn", "a library", "the desert", "rain", "a garden"]


async def agent(client: llmaas.AsyncClient, topic: str) -> tuple[str, int, float]:
    start = time.perf_counter()
    reply = await client.chat.completions.create(
        model="smollm2-135m-instruct",
        messages=[{"role": "user", "content": f"Describe {topic} in one sentence."}],
        max_tokens=40,
        temperature=0.7,
        seed=len(topic),
    )
    tokens = reply.usage.completion_tokens if reply.usage else 0
    return reply.choices[0].message.content or "", tokens, time.perf_counter() - start


async def main() -> None:
    async with llmaas.AsyncClient() as client:
        await agent(client, "warm-up")  # load the model once
        start = time.perf_counter()
        results = await asyncio.gather(*(agent(client, t) for t in TOPICS))
        elapsed = time.perf_counter() - start
    for topic, (text, tokens, seconds) in zip(TOPICS, results, strict=True):
        print(f"{topic:>16} ({tokens:>2} tokens, {seconds:.1f} s): {text.strip()[:90]}")
    total = sum(tokens for _, tokens, _ in results)
    print(f"{len(TOPICS)} agents, {total} tokens in {elapsed:.1f} s: {total / elapsed:.0f} tokens/s together")


asyncio.run(main())
