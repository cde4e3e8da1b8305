"""llmaas.Router against mocked remote deployments (respx): strategies, failover to another deployment and
to fallback models, the circuit breaker, streams that fall back only before their first chunk, usage and
cost, hooks, and every bad configuration."""

import json

import httpx
import pytest
import respx

import llmaas
from llmaas.router import CircuitBreaker

from .conftest import chat_body, chunk
from .test_remote_client import sse

A, B, C = "https://a.test/v1", "https://b.test/v1", "https://c.test/v1"
MSG = [{"role": "user", "content": "Hi"}]


def dep(model, url, **kw):
    return {"model": model, "provider": "openai_compat", "base_url": url, **kw}


def router(*deployments, **settings):
    return llmaas.Router({"deployments": list(deployments), **settings}, seed=1)


def client_for(r):
    return llmaas.Client(provider=r, max_retries=0)


@respx.mock
def test_round_robin_spreads_and_sends_the_target_name():
    ra = respx.post(f"{A}/chat/completions").mock(return_value=httpx.Response(200, json=chat_body("a")))
    rb = respx.post(f"{B}/chat/completions").mock(return_value=httpx.Response(200, json=chat_body("b")))
    r = router(dep("chat", A, target="small"), dep("chat", B, target="big"))
    with client_for(r) as c:
        answers = [c.chat.completions.create(model="chat", messages=MSG).choices[0].message.content for _ in range(4)]
    assert sorted(answers) == ["a", "a", "b", "b"]
    assert json.loads(ra.calls.last.request.content)["model"] == "small"
    assert json.loads(rb.calls.last.request.content)["model"] == "big"


@respx.mock
def test_a_failing_deployment_is_retried_elsewhere_and_its_breaker_opens():
    respx.post(f"{A}/chat/completions").mock(return_value=httpx.Response(503, json={"error": {"message": "down"}}))
    respx.post(f"{B}/chat/completions").mock(return_value=httpx.Response(200, json=chat_body("b")))
    r = router(dep("chat", A, name="a"), dep("chat", B, name="b"), failure_threshold=2, cooldown=60)
    with client_for(r) as c:
        for _ in range(6):
            assert c.chat.completions.create(model="chat", messages=MSG).choices[0].message.content == "b"
    stats = r.stats()["chat"]
    assert stats["a"]["breaker"] == "open" and stats["a"]["failures"] == 2  # not tried once open
    assert stats["b"]["requests"] == 6 and stats["b"]["prompt_tokens"] == 18


def test_the_breaker_probes_once_after_its_cooldown_and_closes_on_success():
    now = [0.0]
    b = CircuitBreaker(threshold=2, cooldown=10, clock=lambda: now[0])
    b.failed()
    assert b.state == "closed"
    b.failed()
    assert b.state == "open" and not b.allows()
    now[0] = 10.0
    assert b.state == "half-open" and b.allows()
    b.started()
    assert not b.allows()  # one probe at a time
    b.failed()
    assert b.state == "open"
    now[0] = 25.0
    b.started()
    b.succeeded()
    assert b.state == "closed" and b.allows()


@respx.mock
def test_fallback_models_and_the_error_that_lists_every_failure():
    respx.post(f"{A}/chat/completions").mock(side_effect=httpx.ConnectError("refused"))
    respx.post(f"{B}/chat/completions").mock(return_value=httpx.Response(500, json={"error": {"message": "boom"}}))
    respx.post(f"{C}/chat/completions").mock(return_value=httpx.Response(200, json=chat_body("remote")))
    r = router(dep("chat", A, name="local"), dep("chat-remote", C, name="remote"),
               fallbacks={"chat": ["chat-remote"]})
    with client_for(r) as c:
        assert c.chat.completions.create(model="chat", messages=MSG).choices[0].message.content == "remote"
    dead = router(dep("chat", A, name="a"), dep("chat", B, name="b"))
    with client_for(dead) as c, pytest.raises(llmaas.AllDeploymentsFailedError) as caught:
        c.chat.completions.create(model="chat", messages=MSG)
    text = str(caught.value)
    assert "'chat'" in text and "a:" not in text and "boom" not in text  # the public model, not the deployments
    assert caught.value.status_code == 503 and len(caught.value.failures) == 2
    assert [name for name, _ in caught.value.failures] == ["a", "b"]  # what failed, for the code that asks


@respx.mock
def test_context_and_policy_errors_fall_back_only_where_configured():
    too_long = {"error": {"message": "too long", "code": "context_length_exceeded", "param": "messages"}}
    respx.post(f"{A}/chat/completions").mock(return_value=httpx.Response(400, json=too_long))
    respx.post(f"{B}/chat/completions").mock(return_value=httpx.Response(200, json=chat_body("long")))
    routed = router(dep("short", A), dep("long", B), context_window_fallbacks={"short": ["long"]})
    plain = router(dep("short", A), dep("long", B))
    with client_for(routed) as c:
        assert c.chat.completions.create(model="short", messages=MSG).choices[0].message.content == "long"
    with client_for(plain) as c, pytest.raises(llmaas.ContextLengthExceededError):
        c.chat.completions.create(model="short", messages=MSG)
    assert plain.stats()["short"]["short-0"]["breaker"] == "closed"  # a bad request is not the deployment's fault


@respx.mock
def test_a_stream_falls_back_before_its_first_chunk_only():
    respx.post(f"{A}/chat/completions").mock(return_value=httpx.Response(502, json={"error": {"message": "bad gw"}}))
    respx.post(f"{B}/chat/completions").mock(return_value=httpx.Response(
        200, text=sse(chunk("Hel"), chunk("lo", finish="stop"),
                      chunk(usage={"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6})),
        headers={"content-type": "text/event-stream"}))
    usage = []
    r = llmaas.Router({"deployments": [dep("chat", A, name="a"), dep("chat", B, name="b", input_price=1.0,
                                                                        output_price=2.0)]},
                      on_usage=usage.append)
    with client_for(r) as c:
        chunks = list(c.chat.completions.create(model="chat", messages=MSG, stream=True))
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices) == "Hello"
    assert all(ch.choices for ch in chunks)  # the usage chunk it asked for itself is not passed on
    assert usage[0].prompt_tokens == 4 and usage[0].completion_tokens == 2 and usage[0].cost == pytest.approx(8e-6)
    sent = json.loads(respx.calls.last.request.content)
    assert sent["stream_options"] == {"include_usage": True}


@respx.mock
def test_a_stream_that_breaks_after_its_first_chunk_is_not_replayed():
    respx.post(f"{A}/chat/completions").mock(return_value=httpx.Response(
        200, text=sse(chunk("partial"), done=False), headers={"content-type": "text/event-stream"}))
    respx.post(f"{B}/chat/completions").mock(return_value=httpx.Response(200, json=chat_body("never")))
    r = router(dep("chat", A, name="a"), dep("chat", B, name="b"))
    with client_for(r) as c:
        stream = c.chat.completions.create(model="chat", messages=MSG, stream=True)
        chunks = iter(stream)
        assert next(chunks).choices[0].delta.content == "partial"
        with pytest.raises(llmaas.IncompleteStreamError):
            list(chunks)
    assert r.stats()["chat"]["b"]["requests"] == 0


@respx.mock
async def test_hooks_see_every_attempt_and_least_busy_and_latency_choose():
    respx.post(f"{A}/chat/completions").mock(return_value=httpx.Response(503, json={"error": {"message": "x"}}))
    respx.post(f"{B}/chat/completions").mock(return_value=httpx.Response(200, json=chat_body("b")))
    seen = []

    async def after(a):
        seen.append(("ok", a.deployment, a.attempt))

    r = llmaas.Router({"strategy": "least-busy", "deployments": [dep("chat", A, name="a"), dep("chat", B, name="b")]},
                      before_request=lambda a: seen.append(("try", a.deployment, a.attempt)),
                      after_response=after, on_error=lambda a: seen.append(("err", a.deployment, type(a.error).__name__)))
    async with llmaas.AsyncClient(provider=r, max_retries=0) as c:
        await c.chat.completions.create(model="chat", messages=MSG)
    assert seen == [("try", "a", 1), ("err", "a", "InternalServerError"), ("try", "b", 2), ("ok", "b", 2)]
    fast = llmaas.Router({"strategy": "latency", "deployments": [dep("chat", A, name="a"), dep("chat", B, name="b")]})
    fast.deployments[0].latency, fast.deployments[1].latency = 0.5, 0.1
    assert fast._pick("chat", set()).name == "b"
    heavy = llmaas.Router({"strategy": "weighted", "deployments": [dep("chat", A, name="a", weight=9),
                                                                   dep("chat", B, name="b", weight=1)]}, seed=3)
    picks = [heavy._pick("chat", set()).name for _ in range(200)]
    assert 150 < picks.count("a") < 195


def test_bad_configurations_say_what_to_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("FLEET_KEY", raising=False)
    cases = [
        ({"deployments": [{"model": "chat", "provider": "nope"}]}, "unknown provider 'nope'"),
        ({"deployments": [dep("a", A), dep("b", B)], "fallbacks": {"a": ["b"], "b": ["a"]}}, "cycle: a -> b -> a"),
        ({"deployments": [dep("a", A, api_key_env="FLEET_KEY")]}, "FLEET_KEY is not set"),
        ({"deployments": [dep("a", A)], "fallbacks": {"a": ["ghost"]}}, "'ghost', which no deployment serves"),
        ({"deployments": [dep("a", A)], "strategy": "fastest"}, "strategy 'fastest'"),
        ({"deployments": []}, "at least one"),
        ({"deployments": [{"model": "a", "provider": "openai_compat"}]}, "needs a base_url"),
        ({"deployments": [dep("a", A, api_key="sk-secret")]}, "api_key_env"),
    ]
    for config, message in cases:
        with pytest.raises(llmaas.ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
            llmaas.Router(config)
    bad = tmp_path / "router.toml"
    bad.write_text('strategy = "least-busy"\n\n[[deployments]]\nmodel = "chat"\nprovider = \n')
    with pytest.raises(llmaas.ConfigurationError, match="line 5"):
        llmaas.Router.from_file(bad)
    with pytest.raises(llmaas.ConfigurationError, match="'groq'.*GROQ_API_KEY"):
        monkeypatch.delenv("GROQ_API_KEY", raising=False)
        llmaas.Router({"deployments": [{"model": "chat", "provider": "groq"}]})


def test_a_yaml_config_without_pyyaml_is_a_configuration_error(tmp_path, monkeypatch):
    import sys

    path = tmp_path / "router.yaml"
    path.write_text(f"deployments:\n  - model: chat\n    provider: openai_compat\n    base_url: {A}\n")
    assert llmaas.Router.from_file(path).config.deployments[0].model == "chat"  # read with PyYAML
    monkeypatch.setitem(sys.modules, "yaml", None)  # as in an install without it: import fails
    with pytest.raises(llmaas.ConfigurationError, match="needs PyYAML.*or write the config as TOML"):
        llmaas.Router.from_file(path)


def test_a_toml_file_in_the_documented_shape(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEET_KEY", "sk-fleet")
    path = tmp_path / "router.toml"
    path.write_text(f'''
strategy = "least-busy"

[[deployments]]
model = "chat"
provider = "openai_compat"
base_url = "{A}"
target = "smollm2-135m-instruct"
api_key_env = "FLEET_KEY"
weight = 1

[[deployments]]
model = "chat-remote"
provider = "openai_compat"
base_url = "{B}"

[fallbacks]
chat = ["chat-remote"]
''')
    r = llmaas.Router.from_file(path)
    assert r.config.strategy == "least-busy" and r.config.fallbacks == {"chat": ["chat-remote"]}
    with respx.mock:
        route = respx.post(f"{A}/chat/completions").mock(return_value=httpx.Response(200, json=chat_body()))
        with client_for(r) as c:
            c.chat.completions.create(model="chat", messages=MSG)
            assert [m.id for m in c.models.list()] == ["chat", "chat-remote"]
        assert route.calls.last.request.headers["authorization"] == "Bearer sk-fleet"


@respx.mock
async def test_a_deployment_failing_its_health_check_leaves_the_rotation_until_it_recovers():
    import asyncio

    health_a = respx.get("https://a.test/health").mock(return_value=httpx.Response(503))
    respx.get("https://b.test/health").mock(return_value=httpx.Response(200, json={"status": "ok"}))
    ra = respx.post(f"{A}/chat/completions").mock(return_value=httpx.Response(200, json=chat_body("a")))
    respx.post(f"{B}/chat/completions").mock(return_value=httpx.Response(200, json=chat_body("b")))
    r = llmaas.Router({"health_check_interval": 0.02, "deployments": [dep("chat", A, name="a"), dep("chat", B, name="b")]})
    async with llmaas.AsyncClient(provider=r, max_retries=0) as c:
        await c.chat.completions.create(model="chat", messages=MSG)  # starts the checks
        await asyncio.sleep(0.1)
        answers = [(await c.chat.completions.create(model="chat", messages=MSG)).choices[0].message.content
                   for _ in range(4)]
        assert answers == ["b"] * 4 and r.stats()["chat"]["a"]["healthy"] is False
        calls_before = ra.call_count
        health_a.mock(return_value=httpx.Response(200, json={"status": "ok"}))
        await asyncio.sleep(0.1)
        answers = [(await c.chat.completions.create(model="chat", messages=MSG)).choices[0].message.content
                   for _ in range(4)]
        assert "a" in answers and ra.call_count > calls_before
    await r.aclose()


ECHO = {"error": {"message": "bad request; you sent Authorization: Bearer sk-upstream-secret from "
                             "postgresql://admin:hunter2@db.internal:5432/prod", "type": "invalid_request_error",
                  "param": "messages", "code": "invalid_value"}}


@respx.mock
def test_upstream_error_text_is_never_forwarded():
    respx.post(f"{A}/chat/completions").mock(return_value=httpx.Response(400, json=ECHO))
    r = router(dep("chat", A, name="internal-node-7"))
    with client_for(r) as c, pytest.raises(llmaas.BadRequestError) as caught:
        c.chat.completions.create(model="chat", messages=MSG)
    text = caught.value.message
    assert caught.value.status_code == 400 and caught.value.code == "invalid_value"  # status and kind kept
    assert "'chat'" in text and not any(s in text for s in ("sk-upstream", "hunter2", "db.internal", "a.test",
                                                            "internal-node-7"))
    assert caught.value.param == "messages"
    shady = {"error": {"message": "x", "type": "invalid_request_error", "param": "Bearer sk-1 at http://10.0.0.1",
                       "code": "postgresql://admin:pw@db"}}
    respx.post(f"{A}/chat/completions").mock(return_value=httpx.Response(422, json=shady))
    with client_for(r) as c, pytest.raises(llmaas.APIStatusError) as caught:
        c.chat.completions.create(model="chat", messages=MSG)
    assert caught.value.code is None and caught.value.param is None and "sk-1" not in caught.value.message


@respx.mock
def test_open_breakers_say_when_to_come_back():
    respx.post(f"{A}/chat/completions").mock(return_value=httpx.Response(500, json=ECHO))
    r = router(dep("chat", A, name="a"), failure_threshold=1, cooldown=30)
    with client_for(r) as c:
        with pytest.raises(llmaas.AllDeploymentsFailedError) as first:
            c.chat.completions.create(model="chat", messages=MSG)
        assert "hunter2" not in first.value.message
        with pytest.raises(llmaas.AllDeploymentsFailedError) as closed:  # the breaker is open now
            c.chat.completions.create(model="chat", messages=MSG)
    assert closed.value.retry_after is not None and 20 < closed.value.retry_after <= 30
    assert closed.value.should_retry is True


@respx.mock
def test_an_upstream_refusing_the_routers_key_is_not_the_callers_401():
    refused = {"error": {"message": "Incorrect API key provided: sk-router-secret", "code": "invalid_api_key"}}
    respx.post(f"{A}/chat/completions").mock(return_value=httpx.Response(401, json=refused))
    with client_for(router(dep("chat", A))) as c, pytest.raises(llmaas.APIStatusError) as caught:
        c.chat.completions.create(model="chat", messages=MSG)
    assert caught.value.status_code == 502 and caught.value.code == "upstream_auth_failed"
    assert "sk-router-secret" not in caught.value.message
