"""Token quotas hold under concurrency, every request is metered with what it consumed, and a daily quota's 429
says when to come back: against a real server subprocess."""

import asyncio
import sqlite3
import time

import httpx
import openai
import pytest

import llmaas
from llmaas.testing import StubServer

from .conftest import CHAT, ServerProcess

MSG = [{"role": "user", "content": "Tell me a story about a dragon."}]


def usage_rows(home, endpoint="chat.completions"):
    db = sqlite3.connect(f"{home}/llmaas.db")
    try:
        return db.execute("SELECT prompt_tokens, completion_tokens, status FROM usage WHERE endpoint = ? "
                          "ORDER BY id", (endpoint,)).fetchall()
    finally:
        db.close()


@pytest.fixture(scope="module")
def quota(tmp_path_factory):
    s = ServerProcess(tmp_path_factory.mktemp("quota"))
    s.keys = {"small": s.cli("keys", "create", "small", "--tpd", "400").strip().splitlines()[-1],
              "big": s.cli("keys", "create", "big").strip().splitlines()[-1]}
    s.start()
    yield s
    s.stop()


async def test_concurrent_requests_cannot_overrun_a_token_quota(quota):
    async with openai.AsyncOpenAI(base_url=quota.base_url, api_key=quota.keys["small"], max_retries=0) as c:
        async def one():
            return await c.chat.completions.create(model=CHAT, messages=MSG, max_tokens=40,
                                                   extra_body={"ignore_eos": True})

        results = await asyncio.gather(*(one() for _ in range(8)), return_exceptions=True)
    served = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, openai.RateLimitError)]
    assert served and refused and len(served) + len(refused) == 8, results
    assert refused[0].body["code"] == "tokens_per_day"
    used = sum(p + c for p, c, _ in usage_rows(quota.home))
    assert used <= 400, used
    assert used == sum(r.usage.total_tokens for r in served)


def test_a_request_larger_than_the_quota_is_refused_without_a_retry(quota):
    r = httpx.post(quota.base_url + "/chat/completions", headers={"Authorization": f"Bearer {quota.keys['small']}"},
                   json={"model": CHAT, "messages": MSG, "max_tokens": 500}, timeout=60)
    assert r.status_code == 429 and r.headers["x-should-retry"] == "false"
    assert "more than this key's limit of 400" in r.json()["error"]["message"]


def test_an_exhausted_daily_quota_says_when_tokens_free_up(quota):
    key = quota.keys["small"]
    c = openai.OpenAI(base_url=quota.base_url, api_key=key, max_retries=0)
    used = sum(p + c for p, c, _ in usage_rows(quota.home))
    try:  # spend what is left
        c.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "x"}],
                                  max_tokens=max(1, 400 - used - 40), extra_body={"ignore_eos": True})
    except openai.RateLimitError:
        pass
    r = httpx.post(quota.base_url + "/chat/completions", headers={"Authorization": f"Bearer {key}"},
                   json={"model": CHAT, "messages": MSG, "max_tokens": 50}, timeout=60)
    assert r.status_code == 429
    wait = int(r.headers["retry-after"])
    assert 23 * 3600 < wait <= 24 * 3600  # the oldest usage leaves the 24-hour window then
    assert r.headers["x-should-retry"] == "false"  # the SDK would only sleep for nothing
    assert "enough frees up in" in r.json()["error"]["message"]
    # the SDK reads it and does not retry
    start = time.monotonic()
    with pytest.raises(openai.RateLimitError):
        openai.OpenAI(base_url=quota.base_url, api_key=key, max_retries=2).chat.completions.create(
            model=CHAT, messages=MSG, max_tokens=50)
    with llmaas.Client(base_url=quota.base_url, api_key=key, max_retries=2) as client:
        with pytest.raises(llmaas.RateLimitError) as err:
            client.chat.completions.create(model=CHAT, messages=MSG, max_tokens=50)
    assert err.value.code == "tokens_per_day"
    assert time.monotonic() - start < 10  # neither SDK slept on a quota that frees up tomorrow


def _running(server):
    text = httpx.get(server.root + "/metrics").text
    return float(next(x for x in text.splitlines() if x.startswith("llmaas_running_sequences ")).split()[1])


async def test_a_non_streaming_request_abandoned_by_its_client_is_metered(quota):
    """The client goes away once the engine is generating its answer (not after a fixed time, which a busy
    machine may spend before the first token): the request is metered with what it consumed, status 499."""
    before = len(usage_rows(quota.home))
    async with httpx.AsyncClient(timeout=None) as client:
        call = asyncio.ensure_future(client.post(
            quota.base_url + "/chat/completions", headers={"Authorization": f"Bearer {quota.keys['big']}"},
            json={"model": CHAT, "messages": MSG, "max_tokens": 4000, "ignore_eos": True}))
        while not _running(quota) and not call.done():  # admitted: its first token is sampled
            await asyncio.sleep(0.05)
        assert not call.done()
        call.cancel()  # the connection closes
        with pytest.raises(asyncio.CancelledError):
            await call
    abandoned: list[tuple[int, int, int]] = []
    deadline = time.time() + 120
    while time.time() < deadline and not abandoned:  # rows of earlier requests may land meanwhile
        abandoned = [r for r in usage_rows(quota.home)[before:] if r[2] == 499]
        await asyncio.sleep(0.2)
    assert abandoned, usage_rows(quota.home)[before:]
    prompt, completion, _ = abandoned[0]
    assert prompt > 0 and 0 < completion < 4000


@pytest.fixture(scope="module")
def fronting(tmp_path_factory):
    """The server in front of an upstream whose streams carry no usage chunk."""
    upstream = StubServer(reply="one two three four five six").start()
    s = ServerProcess(tmp_path_factory.mktemp("front"))
    s.extra_args = ["--base-url", upstream.base_url]
    s.start()
    yield s
    s.stop()
    upstream.stop()


def test_a_remote_stream_without_usage_is_metered_from_what_it_sent(fronting):
    c = openai.OpenAI(base_url=fronting.base_url, api_key="x", max_retries=0)
    chunks = list(c.chat.completions.create(model="stub-model", messages=MSG, stream=True))
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices).split() == \
        "one two three four five six".split()
    prompt, completion, status = usage_rows(fronting.home)[-1]
    assert status == 200 and completion == 6 and prompt > 0
