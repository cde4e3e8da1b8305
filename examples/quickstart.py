"""Quickstart: the built-in models, in this process, with no network and no configuration.

A chat, a streamed chat and an embedding, the same calls you would make against any OpenAI-style API.
The first run converts the bundled GGUF once (about 20 s); later runs load from the cache in seconds.
"""

import math
import time

import llmaas

start = time.perf_counter()
with llmaas.Client() as client:  # the in-process engine: smollm2-135m-instruct and all-minilm-l6-v2
    reply = client.chat.completions.create(
        model="smollm2-135m-instruct",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
        max_tokens=40,
        temperature=0,
    )
    print(f"chat ({time.perf_counter() - start:.1f} s from Client() to the answer):")
    print("  ", reply.choices[0].message.content)
    if reply.usage:
        print("   usage:", reply.usage.prompt_tokens, "prompt +", reply.usage.completion_tokens, "completion tokens")

    print("stream:")
    print("   ", end="")
    for chunk in client.chat.completions.create(
        model="smollm2-135m-instruct",
        messages=[{"role": "user", "content": "Give me three tips for staying focused."}],
        max_tokens=80,
        temperature=0.7,
        seed=1,
        stream=True,
    ):
        print(chunk.choices[0].delta.content or "", end="", flush=True)
    print()

    texts = ["A cat sits on the mat.", "A kitten rests on a rug.", "Interest rates rose again."]
    vectors = [d.vector() for d in client.embeddings.create(model="all-minilm-l6-v2", input=texts).data]

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))

    print(f"embeddings: {len(vectors)} x {len(vectors[0])}")
    for i in (1, 2):
        print(f"   similarity({texts[0]!r}, {texts[i]!r}) = {cosine(vectors[0], vectors[i]):.2f}")
