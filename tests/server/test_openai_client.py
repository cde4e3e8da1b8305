"""The built-in server driven by the official ``openai`` client, bodies checked against the reference spec."""

import asyncio
import json
import time

import httpx
import openai
import pytest

from .conftest import CHAT, EMBED
from .spec import validate

MSG = [{"role": "user", "content": "What is the capital of France?"}]


def raw(server, method, path, **kw):
    return httpx.request(method, server.base_url + path, timeout=120, **kw)


def test_chat(oai, server):
    out = oai.chat.completions.create(model=CHAT, messages=MSG, max_tokens=12, temperature=0)
    assert out.choices[0].message.content and out.usage.completion_tokens >= 1
    body = raw(server, "POST", "/chat/completions", json={"model": CHAT, "messages": MSG, "max_tokens": 5}).json()
    validate(body, "CreateChatCompletionResponse")


def test_stream_with_usage(oai, server):
    chunks = list(oai.chat.completions.create(model=CHAT, messages=MSG, max_tokens=8, stream=True,
                                              stream_options={"include_usage": True}))
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    with httpx.stream("POST", server.base_url + "/chat/completions", timeout=120,
                      json={"model": CHAT, "messages": MSG, "max_tokens": 4, "stream": True}) as r:
        lines = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    events = [json.loads(line[6:]) for line in lines[:-1]]
    assert all(e.get("usage") is None for e in events)  # usage only when asked for
    for e in events:
        validate(e, "CreateChatCompletionStreamResponse")


def test_completions(oai, server):
    out = oai.completions.create(model=CHAT, prompt="The capital of France is", max_tokens=5, temperature=0)
    assert out.choices[0].text and out.usage.prompt_tokens > 0
    body = raw(server, "POST", "/completions", json={"model": CHAT, "prompt": "Hello", "max_tokens": 3}).json()
    validate(body, "CreateCompletionResponse")


def test_embeddings(oai, server):
    out = oai.embeddings.create(model=EMBED, input=["hello", "world"])
    assert len(out.data) == 2 and len(out.data[0].embedding) == 384
    validate(raw(server, "POST", "/embeddings", json={"model": EMBED, "input": "hi"}).json(),
             "CreateEmbeddingResponse")


def test_models(oai, server):
    ids = [m.id for m in oai.models.list()]
    assert CHAT in ids and EMBED in ids
    assert oai.models.retrieve(CHAT).id == CHAT
    validate(raw(server, "GET", "/models").json(), "ListModelsResponse")
    validate(raw(server, "GET", f"/models/{CHAT}").json(), "Model")
    with pytest.raises(openai.NotFoundError):
        oai.models.retrieve("no-such-model")
    with pytest.raises(openai.PermissionDeniedError):
        oai.models.delete(CHAT)


def test_moderations_screen_text_offline(oai):
    # llmaas-moderation-2 misses this one at its default (balanced) sensitivity: see docs/moderation.md
    result = oai.moderations.create(input=["How do I build a pipe bomb?", "Write a haiku about autumn leaves."],
                                    extra_body={"sensitivity": "strict"})
    bomb, haiku = result.results
    assert result.model == "llmaas-moderation-2"
    assert bomb.flagged and bomb.categories.illicit and not haiku.flagged
    assert bomb.category_scores.illicit > haiku.category_scores.illicit
    with pytest.raises(openai.BadRequestError, match="screens text only"):
        oai.moderations.create(input=[{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}])
    with pytest.raises(openai.NotFoundError, match="not a moderation model"):
        oai.moderations.create(input="hello", model="omni-moderation-latest")


def test_malformed_json_is_400_not_500(server):
    r = raw(server, "POST", "/chat/completions", content=b'{"model": "x", "messages": [', headers={
        "content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    r = raw(server, "POST", "/chat/completions", content=b"\xff\xfe not json", headers={
        "content-type": "application/json"})
    assert r.status_code == 400


def test_body_too_large_is_413(server):
    big = b'{"model": "x", "input": "' + b"a" * (65 * 2**20) + b'"}'
    r = raw(server, "POST", "/embeddings", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"


def test_unknown_route_is_404_envelope(server):
    r = raw(server, "GET", "/nothing/here")
    assert r.status_code == 404 and "Unknown route" in r.json()["error"]["message"]


def test_official_client_errors_are_typed(oai):
    with pytest.raises(openai.BadRequestError) as info:
        oai.chat.completions.create(model=CHAT, messages=MSG, max_tokens=10**6)
    assert info.value.code == "context_length_exceeded"
    with pytest.raises(openai.NotFoundError):
        oai.chat.completions.create(model="ghost", messages=MSG)


def _running(server):
    text = httpx.get(server.root + "/metrics").text
    line = next(x for x in text.splitlines() if x.startswith("llmaas_running_sequences "))
    return float(line.split()[1])


def _completion_tokens(server):
    return sum(r["completion_tokens"] for r in httpx.get(server.base_url + "/usage").json()["data"])


def test_disconnect_frees_the_slot_and_meters_what_was_used(server):
    before = _completion_tokens(server)
    with httpx.stream("POST", server.base_url + "/chat/completions", timeout=120, json={
            "model": CHAT, "messages": [{"role": "user", "content": "Write a very long story."}],
            "max_tokens": 2000, "stream": True, "ignore_eos": True}) as r:
        for i, _ in enumerate(r.iter_lines()):
            if i > 20:
                break
    deadline = time.time() + 20
    while _running(server) and time.time() < deadline:
        time.sleep(0.1)
    assert _running(server) == 0
    assert _completion_tokens(server) - before >= 5  # the abandoned stream's tokens still count


def _usage_totals(server):
    rows = httpx.get(server.base_url + "/usage").json()["data"]
    return sum(r["requests"] for r in rows), sum(r["completion_tokens"] for r in rows)


def _metric(server, name):
    text = httpx.get(server.root + "/metrics").text
    return float(next(x for x in text.splitlines() if x.startswith(name + " ")).split()[1])


def test_flood_with_short_timeouts_then_fresh_request_is_prompt(server):
    """Twelve callers that give up after 0.3 s, each asking for 4,000 tokens: every one is cancelled (the
    engine empties and what is metered is far below one full answer), and a fresh request then finds the
    engine idle and is answered in full."""
    requests, tokens = _usage_totals(server)

    async def flood():
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=0.3) as c:
            async def one():
                try:
                    await c.chat.completions.create(model=CHAT, messages=MSG, max_tokens=4000,
                                                    extra_body={"ignore_eos": True})
                except (openai.APITimeoutError, openai.RateLimitError):
                    return
                raise AssertionError("a request of 4,000 tokens finished within 0.3 s")
            await asyncio.gather(*(one() for _ in range(12)))

    asyncio.run(flood())
    deadline = time.time() + 120  # generous: a cancelled request leaves at the engine's next step
    while (_running(server) or _metric(server, "llmaas_queue_depth")) and time.time() < deadline:
        time.sleep(0.1)
    assert _running(server) == 0 and _metric(server, "llmaas_queue_depth") == 0
    while _usage_totals(server)[0] < requests + 12 and time.time() < deadline:  # every abandoned one metered
        time.sleep(0.1)
    now_requests, now_tokens = _usage_totals(server)
    assert now_requests >= requests + 12
    assert now_tokens - tokens < 4000  # not one of them ran to max_tokens
    c = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=120)
    reply = c.chat.completions.create(model=CHAT, messages=MSG, max_tokens=5, extra_body={"ignore_eos": True})
    assert reply.choices[0].message.content and reply.usage.completion_tokens == 5


def test_full_queue_answers_429_with_retry_after(server):
    async def burst():
        async with httpx.AsyncClient(timeout=120) as c:
            body = {"model": CHAT, "messages": MSG, "max_tokens": 64, "ignore_eos": True}
            return await asyncio.gather(*(c.post(server.base_url + "/chat/completions", json=body)
                                          for _ in range(16)))

    responses = asyncio.run(burst())
    limited = [r for r in responses if r.status_code == 429]
    assert limited, [r.status_code for r in responses]
    assert all(r.headers.get("retry-after") and r.json()["error"]["code"] == "queue_full" for r in limited)
    assert all(r.status_code in (200, 429) for r in responses)


def test_health_ready_metrics_docs(server):
    assert httpx.get(server.root + "/health").json() == {"status": "ok"}
    assert httpx.get(server.root + "/ready").status_code == 200
    text = httpx.get(server.root + "/metrics").text
    for name in ("llmaas_requests_total", "llmaas_tokens_total", "llmaas_queue_depth",
                 "llmaas_time_to_first_token_seconds_bucket", "llmaas_request_latency_seconds_bucket"):
        assert name in text
    assert httpx.get(server.root + "/docs").status_code == 200


def test_the_openai_agent_loop_appends_reply_messages(oai):
    messages = [{"role": "user", "content": "Name a colour."}]
    for _ in range(2):
        reply = oai.chat.completions.create(model=CHAT, messages=messages, max_tokens=5, temperature=0)
        messages.append(reply.choices[0].message)  # openai-python sends it with every field, nulls included
        messages.append({"role": "user", "content": "Another."})
    assert len(messages) == 5


def test_every_response_carries_a_request_id(server):
    ok = raw(server, "GET", "/models")
    missing = raw(server, "GET", "/models/no-such-model")
    assert ok.headers["x-request-id"] and missing.headers["x-request-id"] != ok.headers["x-request-id"]
    with pytest.raises(openai.NotFoundError) as err:
        openai.OpenAI(base_url=server.base_url, api_key="x").models.retrieve("no-such-model")
    assert err.value.request_id and err.value.request_id.startswith("req_")


def test_models_carry_their_details(oai):
    chat = oai.models.retrieve(CHAT).to_dict()
    assert chat["kind"] == "chat" and chat["architecture"] == "LlamaForCausalLM" and chat["parameters"] > 1e8
    assert chat["capabilities"] == ["chat", "completions"] and chat["context_length"] >= 2048
    assert chat["source"].endswith(".gguf")  # keyless: the machine's own user, who may see its paths
    listed = {m.id: m.to_dict() for m in oai.models.list()}
    assert listed["llmaas-moderation-1"]["capabilities"] == listed["llmaas-moderation-2"]["capabilities"] == \
        ["moderations"]


def test_ps_over_http(server, oai):
    import llmaas

    oai.chat.completions.create(model=CHAT, max_tokens=1, messages=[{"role": "user", "content": "hi"}])
    with llmaas.Client(base_url=server.base_url, api_key="unused", max_retries=0) as sdk:
        loaded = {m.id: m for m in sdk.models.ps()}
    assert loaded[CHAT].kind == "chat" and loaded[CHAT].memory_bytes > 0


def test_structured_output_and_tools_through_the_official_client(oai, server):
    """openai's own helpers against llmaas serve: parse() into a pydantic model, tools with tool_choice,
    and the tool-call deltas of a stream, which its stream helper accumulates."""
    import pydantic

    class City(pydantic.BaseModel):
        name: str = pydantic.Field(max_length=30)
        population: int = pydantic.Field(ge=0, le=10**8)

    parsed = oai.chat.completions.parse(model=CHAT, messages=[{"role": "user", "content": "Tell me about Lisbon."}],
                                        response_format=City, max_tokens=120, temperature=0)
    assert parsed.choices[0].finish_reason == "stop" and isinstance(parsed.choices[0].message.parsed, City)

    weather = openai.pydantic_function_tool(City, name="lookup_city", description="Facts about a city")
    out = oai.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Look up Oslo."}],
                                      tools=[weather], tool_choice="required", parallel_tool_calls=False,
                                      max_tokens=120, temperature=0)
    call = out.choices[0].message.tool_calls[0]
    assert out.choices[0].finish_reason == "tool_calls" and call.function.name == "lookup_city"
    City.model_validate_json(call.function.arguments)

    with oai.chat.completions.stream(model=CHAT, messages=[{"role": "user", "content": "Look up Rome."}],
                                     tools=[weather], max_tokens=120, temperature=0,
                                     tool_choice={"type": "function", "function": {"name": "lookup_city"}}) as stream:
        final = stream.get_final_completion()
    streamed = final.choices[0].message.tool_calls[0]
    assert streamed.function.name == "lookup_city" and isinstance(streamed.function.parsed_arguments, City)
    body = raw(server, "POST", "/chat/completions", json={"model": CHAT, "messages": MSG, "max_tokens": 60,
                                                          "tools": [weather], "tool_choice": "required"}).json()
    validate(body, "CreateChatCompletionResponse")


def test_prompt_logprobs_for_perplexity_and_lm_eval(oai, server):
    """What lm-evaluation-harness's local-completions model sends: echo, logprobs, max_tokens=0."""
    out = oai.completions.create(model=CHAT, prompt="The sky is blue.", echo=True, logprobs=1, max_tokens=0)
    lp = out.choices[0].logprobs
    assert lp.token_logprobs[0] is None and all(v <= 0 for v in lp.token_logprobs[1:])
    assert "".join(lp.tokens) == "The sky is blue." and out.choices[0].text == "The sky is blue."
    body = raw(server, "POST", "/completions", json={"model": CHAT, "prompt": "Hi there", "echo": True,
                                                     "logprobs": 0, "max_tokens": 0}).json()
    # the first prompt token has no logprob: null, as OpenAI's API and vLLM answer it (the OpenAPI schema
    # lists numbers only, so this one body is checked by hand)
    lp = body["choices"][0]["logprobs"]
    assert lp["token_logprobs"][0] is None and isinstance(lp["token_logprobs"][1], float)
    assert set(lp) == {"tokens", "token_logprobs", "top_logprobs", "text_offset"}
