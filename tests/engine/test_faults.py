"""Fault containment: a sequence whose sampling fails fails its own request; the requests beside it in the
batch, admitted with it or already running, get their answers, and the engine keeps serving."""

import asyncio

import pytest
import torch

from llmaas._errors import InternalServerError
from llmaas.providers.huggingface.engine.sampling import SamplingParams, sample_rows

from .conftest import CHAT


def test_sample_rows_isolates_a_row_that_cannot_be_sampled():
    logits = torch.randn(4, 50)
    logits[2] = float("nan")
    params = [SamplingParams(max_tokens=1, temperature=0.7) for _ in range(4)]
    gens = [torch.Generator().manual_seed(i) for i in range(4)]
    out = sample_rows(logits, params, gens, None)
    assert isinstance(out[2], Exception)
    assert all(not isinstance(out[i], Exception) and 0 <= out[i].token < 50 for i in (0, 1, 3))


def test_a_temperature_too_small_to_divide_by_is_greedy():
    logits = torch.randn(2, 50)
    out = sample_rows(logits, [SamplingParams(max_tokens=1, temperature=1e-40)] * 2, [None, None], None)
    assert [c.token for c in out] == logits.argmax(-1).tolist()


async def _collect(stream):
    tokens = 0
    async for event in stream:
        tokens += getattr(event, "token", None) is not None
    return tokens


@pytest.mark.parametrize("poisoned_at", ["admission", "running"])
async def test_a_poisoned_request_fails_alone(hf, poisoned_at):
    engine = hf.engine(CHAT)
    await asyncio.to_thread(engine.wait_ready)
    prompt = engine.tokenizer.encode("Once upon a time")
    normal = SamplingParams(max_tokens=12, temperature=0.8, seed=1, ignore_eos=True)
    # long enough to be decoding still when the poisoned request arrives
    long = SamplingParams(max_tokens=200, temperature=0.8, seed=1, ignore_eos=True)
    # a NaN temperature cannot come through validation; it stands for any fault in one row
    poison = SamplingParams(max_tokens=12, temperature=float("nan"), ignore_eos=True)
    first = [engine.generate(prompt, long if poisoned_at == "running" else normal) for _ in range(2)]
    seen = [0, 0]
    if poisoned_at == "running":  # the first ones have started decoding: each has streamed a token
        for i, stream in enumerate(first):
            event = await asyncio.wait_for(stream.__anext__(), 60)
            seen[i] = getattr(event, "token", None) is not None
        assert engine.running >= 2  # both decoding (a stray sequence of another test may run beside them)
    bad = engine.generate(prompt, poison)
    rest = [engine.generate(prompt, normal, n=2) for _ in range(2)]
    results = await asyncio.wait_for(asyncio.gather(*(_collect(s) for s in [*first, bad, *rest]),
                                                    return_exceptions=True), 120)
    assert isinstance(results[2], InternalServerError) and results[2].status_code == 500
    expected = 200 if poisoned_at == "running" else 12
    assert [seen[0] + results[0], seen[1] + results[1]] == [expected, expected] and results[3:] == [24, 24]
    assert await asyncio.wait_for(_collect(engine.generate(prompt, normal)), 60) == 12  # still serving


def test_a_top_p_that_underflows_keeps_the_most_likely_token():
    """Found by the fuzzer: top_p=1e-252 is 0.0 in float32, which masked every token and made sampling
    fail (a 500)."""
    logits = torch.randn(2, 50)
    params = [SamplingParams(max_tokens=1, temperature=1.0, top_p=1e-252)] * 2
    out = sample_rows(logits, params, [torch.Generator().manual_seed(0), None], None)
    assert [c.token for c in out] == logits.argmax(-1).tolist()
