"""Chunked prefill: a prompt longer than ``prefill_chunk`` is prefilled a chunk per engine step, with the
running streams decoding in between, and the answer is the one an unchunked prefill gives."""

import asyncio

import pytest

import llmaas

from .conftest import CHAT

LONG = " ".join(f"Item {i}: the {['red', 'green', 'blue'][i % 3]} box holds {i * 7 % 13} marbles." for i in range(40))


def _client(**options):
    return llmaas.AsyncClient(provider="hf", provider_options={"hf": {
        "progress": False, "dtype": "float32", "kv_cache_gb": 0.25, **options}})


async def _greedy(client, prompt, max_tokens=12):
    r = await client.completions.create(model=CHAT, prompt=prompt, max_tokens=max_tokens, temperature=0,
                                        logprobs=1)
    return r.choices[0].text, r.choices[0].logprobs.token_logprobs


async def test_a_chunked_prompt_gets_the_unchunked_answer():
    async with _client(prefill_chunk=64) as chunked, _client(prefill_chunk=4096) as whole:
        engine = chunked.provider("hf").engine(CHAT)
        text, lps = await _greedy(chunked, LONG)
        ref_text, ref_lps = await _greedy(whole, LONG)
        prompt_tokens = len(engine.tokenizer.encode(LONG, add_special_tokens=False))
    assert prompt_tokens > 4 * 64  # several chunks
    assert text == ref_text
    assert max(abs(a - b) for a, b in zip(lps, ref_lps, strict=True)) < 1e-3


async def test_running_streams_decode_between_the_chunks_of_a_long_prompt():
    async with _client(prefill_chunk=32) as client:
        engine = client.provider("hf").engine(CHAT)
        running = await client.chat.completions.create(
            model=CHAT, messages=[{"role": "user", "content": "Count to a hundred."}], max_tokens=200,
            temperature=0, ignore_eos=True, stream=True)
        got = 0
        async for _ in running:
            got += 1
            if got == 3:
                break
        chunks = -(-len(engine.tokenizer.encode(LONG, add_special_tokens=False)) // 32)
        before = engine.steps
        long = await client.completions.create(model=CHAT, prompt=LONG, max_tokens=1, temperature=0, stream=True)
        async for _ in long:
            break
        during = engine.steps - before
        await running.aclose()
    assert chunks >= 8
    assert during >= chunks - 1  # a decode step for the running stream after (nearly) every chunk


@pytest.mark.parametrize("chunk", [8, 100000])
def test_prefill_chunk_is_a_checked_setting(chunk):
    from llmaas.providers.huggingface import HuggingFaceProvider

    if chunk < 16:
        with pytest.raises(llmaas.ConfigurationError, match="prefill_chunk.*greater than or equal to 16"):
            HuggingFaceProvider(prefill_chunk=chunk)
    else:
        assert HuggingFaceProvider(prefill_chunk=chunk).settings.prefill_chunk == chunk


async def test_cancelling_a_request_mid_prefill_frees_the_engine():
    async with _client(prefill_chunk=16) as client:
        engine = client.provider("hf").engine(CHAT)
        task = asyncio.ensure_future(client.completions.create(model=CHAT, prompt=LONG, max_tokens=4))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        r = await client.completions.create(model=CHAT, prompt="Hello", max_tokens=3, temperature=0)
        assert r.choices[0].text
        assert engine.queue_depth == 0


async def test_a_stream_finishing_mid_prefill_moves_the_staging_slot_and_the_answer_is_unchanged():
    async with _client(prefill_chunk=32) as client, _client(prefill_chunk=4096) as whole:
        ref_text, _ = await _greedy(whole, LONG)
        short = [asyncio.ensure_future(client.completions.create(model=CHAT, prompt=f"Say {i}", max_tokens=2 + i,
                                                                 temperature=0)) for i in range(3)]
        await asyncio.sleep(0)
        text, _ = await _greedy(client, LONG)
        for s in short:
            assert (await s).choices[0].finish_reason == "length"
    assert text == ref_text
