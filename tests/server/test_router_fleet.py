"""Scale-out, tested: three real llmaas servers on loopback stand in for a fleet behind one router. One is
killed while requests are in flight and none is lost (each is retried on the others); its breaker opens,
and closes again once it is back. `llmaas serve --router` fronts the fleet under one public name."""

import asyncio
import os
import signal
import subprocess
import sys

import openai
import pytest

import llmaas

from .conftest import CHAT, ServerProcess


def fleet_config(servers, path):
    lines = ['strategy = "least-busy"', "failure_threshold = 1", "cooldown = 1", ""]
    for i, s in enumerate(servers):
        lines += ["[[deployments]]", f'name = "node-{i}"', 'model = "chat"', 'provider = "openai_compat"',
                  f'base_url = "{s.base_url}"', f'target = "{CHAT}"', ""]
    path.write_text("\n".join(lines))
    return path


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    servers = [ServerProcess(tmp_path_factory.mktemp(f"node{i}"), LLMAAS_KV_CACHE_GB="0.25", LLMAAS_THREADS="1")
               for i in range(3)]
    for s in servers:
        s.start()
    yield servers
    for s in servers:
        s.stop()


def test_killing_one_of_three_servers_loses_no_request(fleet, tmp_path):
    router = llmaas.Router.from_file(fleet_config(fleet, tmp_path / "fleet.toml"))
    victim = fleet[1]

    def revive():
        victim.proc.wait(10)
        victim.log.close()
        again = ServerProcess(victim.home, LLMAAS_KV_CACHE_GB="0.25", LLMAAS_THREADS="1")
        again.port = victim.port  # the same address: the deployment's breaker decides when it is used again
        fleet[1] = again.start()

    async def run():
        async with llmaas.AsyncClient(provider=router, max_retries=0) as client:
            async def ask(i, tokens=6):
                r = await client.chat.completions.create(model="chat", max_tokens=tokens, temperature=0,
                                                         ignore_eos=True,
                                                         messages=[{"role": "user", "content": f"Count to {i}."}])
                return r.usage.completion_tokens

            tasks = [asyncio.create_task(ask(i, tokens=12)) for i in range(24)]
            # kill it while requests are in flight on it (a fixed sleep let a fast machine finish them all first)
            for _ in range(600):
                if router.stats()["chat"]["node-1"]["inflight"] >= 2:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)  # they reach the server and start generating
            assert router.stats()["chat"]["node-1"]["inflight"] >= 1, "no request reached node-1 before the kill"
            os.kill(victim.proc.pid, signal.SIGKILL)
            tokens = await asyncio.gather(*tasks)
            state = dict(router.stats()["chat"]["node-1"])
            await asyncio.to_thread(revive)
            await asyncio.sleep(1.2)  # the cooldown: the next request it gets is the probe
            closed = False
            for i in range(12):
                await ask(i, tokens=1)
                if router.stats()["chat"]["node-1"]["breaker"] == "closed":
                    closed = True
                    break
            return tokens, state, closed

    tokens, state, closed = asyncio.run(run())
    assert tokens == [12] * 24  # every request answered in full
    assert state["breaker"] in ("open", "half-open") and state["failures"] >= 1
    assert closed  # back in the rotation once its probe succeeded


def test_llmaas_serve_fronts_the_fleet_under_one_name(fleet, tmp_path):
    front = ServerProcess(tmp_path / "front")
    front.extra_args = ["--router", str(fleet_config(fleet, tmp_path / "fleet.toml"))]
    front.start()
    try:
        key = front.cli("keys", "create", "app").strip().splitlines()[-1]
        oai = openai.OpenAI(base_url=front.base_url, api_key=key, max_retries=0)
        assert [m.id for m in oai.models.list()] == ["chat"]
        reply = oai.chat.completions.create(model="chat", max_tokens=4, messages=[{"role": "user", "content": "Hi"}])
        assert reply.usage.completion_tokens >= 1
        chunks = list(oai.chat.completions.create(model="chat", max_tokens=4, stream=True,
                                                  messages=[{"role": "user", "content": "Hi"}]))
        assert chunks and all(c.choices for c in chunks)  # no usage chunk it did not ask for
        usage = front.cli("usage", "--json")
        assert '"chat"' in usage  # metered by the front under the public name
        with pytest.raises(openai.NotFoundError):
            oai.chat.completions.create(model=CHAT, max_tokens=2, messages=[{"role": "user", "content": "Hi"}])
    finally:
        front.stop()


def test_a_bad_router_file_stops_serve_with_the_reason(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[deployments]]\nmodel = "chat"\nprovider = "openai_compat"\n')
    front = ServerProcess(tmp_path / "front")
    out = subprocess.run([sys.executable, "-m", "llmaas.cli", "serve", "--port", str(front.port), "--router", str(bad)],
                         env=front.env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "needs a base_url" in out.stderr
