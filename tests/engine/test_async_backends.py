"""The in-process engine under asyncio and under trio: answers, streams, concurrent requests decoded
together, per-request timeouts that free the engine, embeddings."""

import asyncio
import time

import pytest
import trio

import llmaas

from .conftest import CHAT, EMBED

MSG = [{"role": "user", "content": "List the days of the week."}]


def run(backend, fn, *args):
    return asyncio.run(fn(*args)) if backend == "asyncio" else trio.run(fn, *args)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_answers_and_streams_under_each_backend(hf, backend):
    async def main():
        async with llmaas.AsyncClient(provider=hf) as client:
            whole = await client.chat.completions.create(model=CHAT, messages=MSG, max_tokens=12, temperature=0)
            stream = await client.chat.completions.create(model=CHAT, messages=MSG, max_tokens=12, temperature=0,
                                                          stream=True)
            streamed = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
            vectors = await client.embeddings.create(model=EMBED, input=["a cat", "a kitten"])
            return whole, streamed, vectors

    whole, streamed, vectors = run(backend, main)
    assert whole.choices[0].message.content and streamed == whole.choices[0].message.content
    assert whole.usage.completion_tokens == 12 or whole.choices[0].finish_reason == "stop"
    assert len(vectors.data) == 2 and len(vectors.data[0].embedding) == 384


def test_a_trio_nursery_of_agents_shares_the_engine(hf):
    engine = hf.engine(CHAT)
    engine.wait_ready()
    steps = engine.steps

    async def main():
        async with llmaas.AsyncClient(provider=hf) as client:
            out = []

            async def one(i):
                r = await client.chat.completions.create(model=CHAT, max_tokens=16, temperature=0, ignore_eos=True,
                                                         messages=[{"role": "user", "content": f"Say {i}."}])
                out.append(r.usage.completion_tokens)

            async with trio.open_nursery() as nursery:
                for i in range(8):
                    nursery.start_soon(one, i)
            return out

    tokens = trio.run(main)
    assert tokens == [16] * 8
    assert engine.steps - steps <= sum(tokens) // 3  # decoded together, not one at a time


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_request_timeout_frees_the_engine_under_each_backend(hf, backend):
    engine = hf.engine(CHAT)
    engine.wait_ready()
    steps = engine.steps

    async def main():
        async with llmaas.AsyncClient(provider=hf) as client:
            with pytest.raises(llmaas.APITimeoutError):
                await client.chat.completions.create(model=CHAT, messages=MSG, max_tokens=4000, ignore_eos=True,
                                                     timeout=0.5)
            deadline = time.time() + 30  # checked while this loop runs: the request left the engine
            while engine.running and time.time() < deadline:
                await (asyncio.sleep(0.02) if backend == "asyncio" else trio.sleep(0.02))
            return engine.running

    assert run(backend, main) == 0
    assert engine.steps - steps < 4000
