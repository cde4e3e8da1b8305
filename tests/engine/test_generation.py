"""The in-process engine through the public client: sampling, stop, n, logprobs, usage, streaming,
cancellation, and a typed error for every bad input, with the engine still serving afterwards."""

import asyncio
import time

import pytest

import llmaas

from .conftest import CHAT

Q = [{"role": "user", "content": "List the days of the week."}]


def chat(client, **kw):
    kw.setdefault("model", CHAT)
    kw.setdefault("messages", Q)
    return client.chat.completions.create(**kw)


def test_greedy_is_deterministic_and_usage_is_exact(client, hf):
    a = chat(client, temperature=0, max_tokens=24)
    b = chat(client, temperature=0, max_tokens=24)
    assert a.choices[0].message.content == b.choices[0].message.content
    tok = hf.engine(CHAT).tokenizer
    prompt = tok.apply_chat_template(Q, add_generation_prompt=True, tokenize=True, return_dict=False)
    assert a.usage.prompt_tokens == len(prompt)
    assert a.usage.total_tokens == a.usage.prompt_tokens + a.usage.completion_tokens
    if a.choices[0].finish_reason == "length":
        assert a.usage.completion_tokens == 24


def test_seed_gives_same_output_and_different_seeds_differ(client):
    kw = {"temperature": 1.0, "max_tokens": 20, "messages": [{"role": "user", "content": "Tell me a story."}]}
    a = chat(client, seed=7, **kw).choices[0].message.content
    b = chat(client, seed=7, **kw).choices[0].message.content
    others = {chat(client, seed=s, **kw).choices[0].message.content for s in (8, 9, 10)}
    assert a == b
    assert len(others | {a}) > 1


def test_max_tokens_gives_length(client):
    out = chat(client, max_tokens=3, temperature=0)
    assert out.choices[0].finish_reason == "length" and out.usage.completion_tokens == 3


def test_stop_sequence_cuts_text_and_reports_stop(client):
    full = chat(client, temperature=0, max_tokens=40).choices[0].message.content
    assert "Tuesday" in full, full
    out = chat(client, temperature=0, max_tokens=40, stop=["Tuesday"])
    assert out.choices[0].finish_reason == "stop"
    assert out.choices[0].message.content == full[: full.index("Tuesday")]
    streamed = "".join(c.choices[0].delta.content or "" for c in chat(client, temperature=0, max_tokens=40,
                                                                        stop=["Tuesday"], stream=True) if c.choices)
    assert streamed == out.choices[0].message.content


def test_n_choices_and_logprobs(client):
    out = chat(client, n=3, seed=3, temperature=1.0, max_tokens=8, logprobs=True, top_logprobs=3)
    assert [c.index for c in out.choices] == [0, 1, 2]
    for c in out.choices:
        content = c.logprobs.content
        assert 1 <= len(content) <= 8
        for entry in content:
            assert entry.logprob <= 0 and len(entry.top_logprobs) == 3
            tops = [t.logprob for t in entry.top_logprobs]
            assert tops == sorted(tops, reverse=True) and entry.logprob <= tops[0] + 1e-5
    assert out.usage.completion_tokens == sum(len(c.logprobs.content) + (c.finish_reason == "stop")
                                              for c in out.choices)


def test_penalties_change_greedy_output(client):
    plain = chat(client, temperature=0, max_tokens=40).choices[0].message.content
    penalised = chat(client, temperature=0, max_tokens=40, frequency_penalty=2.0, presence_penalty=2.0)
    assert penalised.choices[0].message.content != plain


def test_logit_bias_forces_a_token(client, hf):
    tok = hf.engine(CHAT).tokenizer
    token = tok.encode(" banana", add_special_tokens=False)[0]
    out = chat(client, temperature=0, max_tokens=3, logit_bias={str(token): 100})
    assert out.choices[0].message.content.startswith(tok.decode([token]))


@pytest.mark.parametrize("narrow", [{"top_k": 1}, {"top_p": 1e-6}])
def test_narrow_top_k_or_top_p_always_picks_a_most_likely_token(client, narrow):
    out = chat(client, temperature=1.5, max_tokens=12, seed=5, logprobs=True, top_logprobs=1, **narrow)
    for entry in out.choices[0].logprobs.content:  # ties in bf16 may go either way, so compare logprobs
        assert entry.logprob == pytest.approx(entry.top_logprobs[0].logprob, abs=1e-6)


def test_stream_with_usage_in_last_chunk(client):
    chunks = list(chat(client, max_tokens=10, temperature=0, stream=True, stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens >= 1
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] in ("stop", "length")
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == chat(client, max_tokens=10, temperature=0).choices[0].message.content


def test_completions_with_logprobs_and_echo(client):
    out = client.completions.create(model=CHAT, prompt="The capital of France is", max_tokens=5, temperature=0,
                                    logprobs=2, echo=True)
    c = out.choices[0]
    assert c.text.startswith("The capital of France is")
    prompt = out.usage.prompt_tokens  # echo with logprobs: the prompt's tokens first, then the 5 generated
    assert len(c.logprobs.tokens) == len(c.logprobs.token_logprobs) == prompt + 5
    assert c.logprobs.token_logprobs[0] is None and c.logprobs.top_logprobs[0] is None
    assert all(len(t) == 2 for t in c.logprobs.top_logprobs[1:])
    many = client.completions.create(model=CHAT, prompt=["One, two,", "A, B,"], max_tokens=4, temperature=0, n=2)
    assert [c.index for c in many.choices] == [0, 1, 2, 3]


def test_async_agents_share_the_engine(hf):
    """Twelve concurrent agents are decoded together: the engine takes far fewer steps than the tokens it
    hands out (one request at a time would take a step per token)."""
    engine = hf.engine(CHAT)
    engine.wait_ready()

    async def run():
        async with llmaas.AsyncClient(provider=hf) as c:
            async def one(i):
                return await c.chat.completions.create(model=CHAT, max_tokens=16, temperature=0, ignore_eos=True,
                                                       messages=[{"role": "user", "content": f"Say the number {i}."}])

            return await asyncio.gather(*(one(i) for i in range(12)))

    steps = engine.steps
    outs = asyncio.run(run())
    assert len(outs) == 12 and all(o.choices[0].message.content for o in outs)
    tokens = sum(o.usage.completion_tokens for o in outs)
    assert tokens == 12 * 16
    assert engine.steps - steps <= tokens // 3, (engine.steps - steps, tokens)


def _long_request(**kw):
    """A request that cannot end by itself before ``max_tokens`` (ignore_eos), longer than any test waits."""
    return {"model": CHAT, "max_tokens": 4000, "ignore_eos": True, "temperature": 1.0, "seed": 1,
            "messages": [{"role": "user", "content": "Write a very long essay about the history of Rome."}], **kw}


def _wait_idle(engine, seconds=30.0):
    deadline = time.time() + seconds
    while engine.running and time.time() < deadline:
        time.sleep(0.02)


def test_breaking_out_of_a_stream_frees_the_slot(client, hf):
    engine = hf.engine(CHAT)
    steps = engine.steps
    stream = client.chat.completions.create(stream=True, **_long_request())
    for i, _ in enumerate(stream):
        if i == 3:
            break
    stream.close()
    _wait_idle(engine)
    assert engine.running == 0
    assert engine.steps - steps < 4000  # retired when the caller left, not at max_tokens
    assert chat(client, max_tokens=2).choices[0].message.content is not None


def test_timeout_cancels_generation(hf):
    engine = hf.engine(CHAT)
    engine.wait_ready()
    steps = engine.steps

    async def run():
        async with llmaas.AsyncClient(provider=hf) as c:
            task = asyncio.ensure_future(c.chat.completions.create(**_long_request()))
            while engine.running == 0 and not task.done():  # admitted and decoding
                await asyncio.sleep(0.01)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(task, 0.3)
            # checked while this loop still runs: a request whose loop is gone is dropped anyway
            deadline = time.time() + 30
            while engine.running and time.time() < deadline:
                await asyncio.sleep(0.02)
            return engine.running, engine.steps - steps

    running, taken = asyncio.run(run())
    assert running == 0
    assert taken < 4000  # stopped by the timeout, not by max_tokens


def test_full_queue_answers_rate_limit():
    from llmaas.providers.huggingface import HuggingFaceProvider

    provider = HuggingFaceProvider(max_waiting=1, max_num_seqs=1, progress=False)

    async def run():
        async with llmaas.AsyncClient(provider=provider) as c:
            await c.chat.completions.create(model=CHAT, messages=Q, max_tokens=1)  # loaded and warm
            engine = provider.engine(CHAT)
            first = asyncio.create_task(c.chat.completions.create(model=CHAT, messages=Q, max_tokens=30))
            while engine.running == 0:
                await asyncio.sleep(0.01)
            results = await asyncio.gather(*(c.chat.completions.create(model=CHAT, messages=Q, max_tokens=30)
                                             for _ in range(4)), return_exceptions=True)
            await first
        await provider.aclose()
        return results

    results = asyncio.run(run())
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors and all(isinstance(e, llmaas.RateLimitError) and e.code == "queue_full" for e in errors)
    assert errors[0].status_code == 429 and errors[0].retry_after


@pytest.mark.parametrize(
    ("kwargs", "exc", "param"),
    [
        ({"model": "no-such-model"}, llmaas.NotFoundError, "model"),
        ({"messages": []}, llmaas.BadRequestError, "messages"),
        ({"max_tokens": 10**6}, llmaas.ContextLengthExceededError, "max_tokens"),
        ({"messages": [{"role": "user", "content": "word " * 9000}]}, llmaas.ContextLengthExceededError, "messages"),
        ({"temperature": -1}, llmaas.BadRequestError, "temperature"),
        ({"temperature": 1e9}, llmaas.BadRequestError, "temperature"),
        ({"top_p": 0}, llmaas.BadRequestError, "top_p"),
        ({"max_tokens": 0}, llmaas.BadRequestError, "max_tokens"),
        ({"n": 1000}, llmaas.BadRequestError, "n"),
        ({"presence_penalty": 5}, llmaas.BadRequestError, "presence_penalty"),
        ({"stop": ["a", "b", "c", "d", "e"]}, llmaas.BadRequestError, "stop"),
        ({"top_logprobs": 2}, llmaas.BadRequestError, "top_logprobs"),
        ({"logit_bias": {"99999999": 5}}, llmaas.BadRequestError, "logit_bias"),
        ({"messages": [{"role": "user", "content": "bad \udcff byte"}]}, llmaas.BadRequestError,
         "messages.0.content"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/i.png"}}]}]},
         llmaas.BadRequestError, "messages.0.content.0.type"),
        ({"functions": [{"name": "f"}]}, llmaas.BadRequestError, "functions"),
        ({"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {
            "type": "function", "function": {"name": "g"}}}, llmaas.BadRequestError, "tool_choice"),
    ],
)
def test_bad_input_gets_typed_error_naming_the_field(client, kwargs, exc, param):
    with pytest.raises(exc) as info:
        chat(client, **kwargs)
    assert info.value.param == param, info.value
    assert type(info.value) is exc


def test_engine_keeps_serving_after_errors(client):
    for bad in ({"max_tokens": 10**6}, {"stop": ["a"] * 9}):
        with pytest.raises(llmaas.BadRequestError):
            chat(client, **bad)
    assert chat(client, max_tokens=4).usage.completion_tokens >= 1


def test_context_error_names_both_lengths(client):
    with pytest.raises(llmaas.ContextLengthExceededError) as info:
        chat(client, max_tokens=9000)
    assert "maximum context length is 8192 tokens" in str(info.value)
    assert "9000 in the completion" in str(info.value)
    assert info.value.code == "context_length_exceeded"


STRICT_TEMPLATE = (
    "{% for m in messages %}{% if m['role'] not in ['system', 'user', 'assistant'] %}"
    "{{ raise_exception('role ' + m['role'] + ' is not supported') }}{% endif %}"
    "<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def test_role_the_template_cannot_render(hf):
    import copy

    from llmaas.providers.huggingface.api.requests import chat_prompt
    from llmaas.types import ChatCompletionRequest

    tok = copy.deepcopy(hf.engine(CHAT).tokenizer)
    tok.chat_template = STRICT_TEMPLATE
    ok = ChatCompletionRequest(model=CHAT, messages=[{"role": "user", "content": "hi"}])
    assert chat_prompt(tok, ok)
    bad = ChatCompletionRequest(model=CHAT, messages=[{"role": "tool", "content": "42", "tool_call_id": "c1"}])
    with pytest.raises(llmaas.BadRequestError, match="cannot render.*role tool is not supported") as info:
        chat_prompt(tok, bad)
    assert info.value.param == "messages"


def test_batched_prefill_with_requests_finishing_at_once_matches_one_at_a_time():
    """Prompts admitted together are prefilled in one padded forward pass; some finish on their first
    token (and leave their slots) while others go on. In float32 each reads exactly what it reads alone."""
    from llmaas.providers.huggingface import HuggingFaceProvider

    provider = HuggingFaceProvider(dtype="float32", progress=False)
    prompts = [f"Name a fruit that starts with the letter {c}." for c in "ABCDEFGH"]
    limits = [1, 6, 1, 9, 2, 1, 7, 3]

    async def ask(c, prompt, limit):
        r = await c.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": prompt}],
                                            max_tokens=limit, temperature=0, logprobs=True)
        return [t.token for t in r.choices[0].logprobs.content]

    async def run():
        async with llmaas.AsyncClient(provider=provider) as c:
            await ask(c, "warm up", 1)
            together = await asyncio.gather(*(ask(c, p, n) for p, n in zip(prompts, limits, strict=True)))
            alone = [await ask(c, p, n) for p, n in zip(prompts, limits, strict=True)]
        await provider.aclose()
        return together, alone

    together, alone = asyncio.run(run())
    assert together == alone
    assert [len(t) for t in together] == limits


def test_a_script_that_never_closes_its_client_exits_cleanly():
    import subprocess
    import sys

    code = ("import llmaas; c = llmaas.Client(); "
            "c.chat.completions.create(model='smollm2-135m-instruct', max_tokens=4, "
            "messages=[{'role': 'user', 'content': 'Hi'}])")
    for _ in range(2):  # an engine thread left inside torch at interpreter exit used to abort the process
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]


def test_prompts_of_a_few_tokens(client):
    """Prompts of up to 4 tokens prefill on the int8 weights, alone and batched."""
    out = client.completions.create(model=CHAT, prompt="Hello", max_tokens=3, temperature=0)
    assert out.usage.prompt_tokens == 1 and out.usage.completion_tokens == 3
    many = client.completions.create(model=CHAT, prompt=["Hi", "Yes"], max_tokens=2, temperature=0)
    assert len(many.choices) == 2


def test_an_engine_error_fails_the_request_and_the_engine_goes_on(hf, monkeypatch):
    engine = hf.engine(CHAT)
    real = engine.model.prefill

    def broken(prompts, slots):
        raise RuntimeError("simulated kernel failure")

    monkeypatch.setattr(engine.model, "prefill", broken)
    with llmaas.Client(provider=hf) as c:
        with pytest.raises(llmaas.InternalServerError, match="simulated kernel failure"):
            c.chat.completions.create(model=CHAT, messages=Q, max_tokens=3)
        monkeypatch.setattr(engine.model, "prefill", real)
        assert c.chat.completions.create(model=CHAT, messages=Q, max_tokens=3).usage.completion_tokens >= 1


def test_a_long_prompt_growing_the_cache_does_not_drop_the_requests_admitted_with_it():
    """Growing every slot for a long prompt leaves fewer slots in the cache budget; the sequence running
    and the requests admitted in the same batch must all still fit."""
    from llmaas.providers.huggingface import HuggingFaceProvider

    provider = HuggingFaceProvider(kv_cache_gb=0.09, progress=False)  # 4 slots of 512 positions, 2 of 1024

    async def run():
        async with llmaas.AsyncClient(provider=provider) as c:
            await c.chat.completions.create(model=CHAT, messages=Q, max_tokens=1)
            engine = provider.engine(CHAT)
            busy = asyncio.create_task(c.chat.completions.create(model=CHAT, messages=Q, max_tokens=60,
                                                                 ignore_eos=True))
            while engine.running == 0:
                await asyncio.sleep(0.005)
            long = [{"role": "user", "content": "Summarise: " + "the cat sat on the mat. " * 90}]
            outs = await asyncio.gather(  # queued during one decode step: admitted together
                c.chat.completions.create(model=CHAT, messages=long, max_tokens=4),
                c.chat.completions.create(model=CHAT, messages=Q, max_tokens=4))
            await busy
        await provider.aclose()
        return outs

    outs = asyncio.run(run())
    assert outs[0].usage.prompt_tokens > 512
    assert all(o.usage.completion_tokens >= 1 for o in outs)
