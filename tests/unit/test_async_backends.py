"""AsyncClient runs under asyncio and under trio (anyio), against a remote OpenAI-style server: plain and
streamed chat, concurrent calls, a timeout, and the tool-running loop."""

import asyncio

import pytest
import trio

import llmaas
from llmaas.testing import StubServer


def run(backend, fn, *args):
    """``fn(*args)`` on a fresh event loop of ``backend``."""
    return asyncio.run(fn(*args)) if backend == "asyncio" else trio.run(fn, *args)


async def _exercise(base_url):
    async with llmaas.AsyncClient(base_url=base_url, api_key="test", max_retries=0) as client:
        reply = await client.chat.completions.create(model="stub", messages=[{"role": "user", "content": "Hi"}])
        assert reply.choices[0].message.content == "one two three"
        stream = await client.chat.completions.create(model="stub", stream=True,
                                                      messages=[{"role": "user", "content": "Hi"}])
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        assert text.split() == ["one", "two", "three"]
        return reply.model


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_the_remote_provider_runs_under_each_backend(backend):
    with StubServer(reply="one two three") as server:
        assert run(backend, _exercise, server.base_url) == "stub"
        assert len(server.received) == 2


def test_concurrent_calls_in_a_trio_nursery():
    with StubServer(reply="one two three") as server:
        async def main():
            async with llmaas.AsyncClient(base_url=server.base_url, api_key="test") as client:
                out = []

                async def one():
                    r = await client.chat.completions.create(model="stub", messages=[{"role": "user", "content": "x"}])
                    out.append(r.choices[0].message.content)

                async with trio.open_nursery() as nursery:
                    for _ in range(8):
                        nursery.start_soon(one)
                return out

        assert trio.run(main) == ["one two three"] * 8
        assert len(server.received) == 8


def test_a_timeout_under_trio_is_the_typed_error():
    async def main():
        # nothing listens here: the connection is refused, which a client with no retries reports at once
        async with llmaas.AsyncClient(base_url="http://127.0.0.1:9/v1", api_key="t", max_retries=0,
                                      timeout=2) as client:
            with pytest.raises(llmaas.APIConnectionError):
                await client.chat.completions.create(model="stub", messages=[{"role": "user", "content": "x"}])

    trio.run(main)
