"""Batches in process, and the engine's priorities: interactive requests are admitted before batch requests
and take the slots batch sequences hold (the batch request runs again and its answer is whole)."""

import asyncio
import json
import time

import pytest

import llmaas
from llmaas._priority import BATCH

from .conftest import CHAT

MSG = [{"role": "user", "content": "Tell me about dragons."}]


def test_client_batches_in_process_answer_every_line(client):
    lines = [{"custom_id": f"c{i}", "method": "POST", "url": "/v1/completions",
              "body": {"model": CHAT, "prompt": f"{i} plus {i} is", "max_tokens": 4, "temperature": 0}}
             for i in range(5)]
    upload = client.files.create(file=("c.jsonl", "\n".join(map(json.dumps, lines)).encode()), purpose="batch")
    batch = client.batches.create(input_file_id=upload.id, endpoint="/v1/completions")
    assert batch.completion_window == "24h" and batch.request_counts.total == 5
    deadline = time.time() + 120
    while batch.status != "completed" and time.time() < deadline:
        time.sleep(0.2)
        batch = client.batches.retrieve(batch.id)
    assert batch.status == "completed" and batch.request_counts.completed == 5
    out = [json.loads(x) for x in client.files.content(batch.output_file_id).decode().splitlines()]
    direct = client.completions.create(model=CHAT, prompt="3 plus 3 is", max_tokens=4, temperature=0)
    assert next(x for x in out if x["custom_id"] == "c3")["response"]["body"]["choices"][0]["text"] == \
        direct.choices[0].text  # the same answer as the interactive call
    assert batch.id in [b.id for b in client.batches.list()]
    with pytest.raises(llmaas.NotFoundError):
        client.batches.retrieve("batch_missing")


def test_a_provider_without_batches_refuses_before_any_call():
    with llmaas.Client(provider="deepseek", api_key="unused") as c, pytest.raises(llmaas.UnsupportedFeatureError):
        c.batches.create(input_file_id="file-x", endpoint="/v1/chat/completions")


async def test_interactive_requests_take_the_slots_of_batch_sequences():
    """Batch sequences give up their slots to an interactive request and are parked with what they generated;
    they resume afterwards (prompt and tokens prefilled again) with no error reaching their callers, and
    their answers are the ones an uninterrupted run gives."""
    from llmaas.providers.huggingface import HuggingFaceProvider

    async with llmaas.AsyncClient(provider=HuggingFaceProvider(progress=False, max_num_seqs=4)) as c:
        await c.chat.completions.create(model=CHAT, messages=MSG, max_tokens=2)
        engine = next(iter(c.provider().pool.engines.values()))
        plain = await c.chat.completions.create(model=CHAT, messages=MSG, max_tokens=48, temperature=0,
                                                extra_body={"ignore_eos": True})
        penalised = await c.chat.completions.create(model=CHAT, messages=MSG, max_tokens=48, temperature=0,
                                                    frequency_penalty=1.5, extra_body={"ignore_eos": True})

        async def batch_request(**extra):
            BATCH.set(True)
            return await c.chat.completions.create(model=CHAT, messages=MSG, max_tokens=48, temperature=0,
                                                   extra_body={"ignore_eos": True}, **extra)

        batch = [asyncio.create_task(batch_request()) for _ in range(3)]
        batch.append(asyncio.create_task(batch_request(frequency_penalty=1.5)))
        while engine.running < 4:
            await asyncio.sleep(0.01)
        while engine.running and min(s.generated for s in engine._running) < 4:  # each has tokens to keep
            await asyncio.sleep(0.01)
        steps, preempted = engine.steps, engine.preempted
        answer = await c.chat.completions.create(model=CHAT, messages=MSG, max_tokens=8, temperature=0,
                                                 extra_body={"ignore_eos": True})
        # the interactive request ran beside no batch sequence: it finished within a few steps of its own
        assert answer.usage.completion_tokens == 8 and engine.steps - steps <= 12
        done = await asyncio.gather(*batch)  # no preempted error reached a caller
        assert engine.preempted > preempted and engine.resumed >= engine.preempted - preempted
        assert all(d.usage.completion_tokens == 48 for d in done)
        # resumed from where they stopped, they answer as if never interrupted (frequency counts restored too)
        assert [d.choices[0].message.content for d in done[:3]] == [plain.choices[0].message.content] * 3
        assert done[3].choices[0].message.content == penalised.choices[0].message.content


async def test_a_batch_sequence_too_long_to_resume_in_one_pass_runs_again_from_the_start():
    """A parked sequence is prefilled again in one pass; one longer than a prefill chunk instead ends with a
    retryable ``preempted`` error, and a batch runner's retry gives the whole answer."""
    from llmaas.providers.huggingface import HuggingFaceProvider

    async with llmaas.AsyncClient(provider=HuggingFaceProvider(progress=False, max_num_seqs=2, prefill_chunk=16)) as c:
        await c.chat.completions.create(model=CHAT, messages=MSG, max_tokens=2)
        engine = next(iter(c.provider().pool.engines.values()))
        seen = []

        async def batch_request():
            BATCH.set(True)
            while True:
                try:
                    return await c.chat.completions.create(model=CHAT, messages=MSG, max_tokens=24, temperature=0,
                                                           extra_body={"ignore_eos": True})
                except llmaas.APIStatusError as exc:
                    assert exc.code == "preempted"
                    seen.append(exc)

        batch = [asyncio.create_task(batch_request()) for _ in range(2)]
        while engine.running < 2:
            await asyncio.sleep(0.01)
        await c.chat.completions.create(model=CHAT, messages=MSG, max_tokens=4)
        done = await asyncio.gather(*batch)
        assert seen and engine.resumed == 0
        assert all(d.usage.completion_tokens == 24 for d in done)
        assert len({d.choices[0].message.content for d in done}) == 1


def test_a_step_given_up_part_way_leaves_the_cache_as_it_was():
    """The engine gives up a batch-only step when an interactive request arrives; the next step over the same
    rows must give exactly the logits an uninterrupted step gives (the cache entries the partial step wrote at
    the rows' current positions are written again)."""
    import torch

    from llmaas.providers.huggingface.model.protocol import StepInterrupted

    from .conftest import engine_model

    lm, tok = engine_model(dtype="float32")
    prompts = [torch.tensor(tok.encode(t), dtype=torch.long) for t in ("The sea is", "Dragons fly over")]
    lm.allocate(2, 64)
    first = lm.prefill(prompts, [0, 1]).argmax(-1)
    positions = torch.tensor([len(p) for p in prompts], dtype=torch.long)
    reference = lm.decode(first, positions).clone()
    lm.allocate(2, 64)
    lm.prefill(prompts, [0, 1])
    asked = []
    lm.interrupt = lambda: len(asked) > 10 or asked.append(1) is not None  # give up after ten layers
    with pytest.raises(StepInterrupted):
        lm.decode(first, positions)
    lm.interrupt = None
    assert torch.equal(lm.decode(first, positions), reference)
    asked.clear()  # a prefill given up part way, then done again, gives the same first logits
    lm.interrupt = lambda: len(asked) > 10 or asked.append(1) is not None
    lm.allocate(2, 64)
    with pytest.raises(StepInterrupted):
        lm.prefill(prompts, [0, 1])
    lm.interrupt = None
    assert torch.equal(lm.prefill(prompts, [0, 1]).argmax(-1), first)
    assert torch.equal(lm.decode(first, positions), reference)
