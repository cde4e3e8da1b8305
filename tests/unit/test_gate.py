"""The gate's decisions for clients a test subprocess cannot be: other machines. In process, over ASGI."""

import pytest
from fastapi.testclient import TestClient

import llmaas
from llmaas.server.app import create_app
from llmaas.server.state import ServerConfig
from llmaas.store import Store

REMOTE = ("203.0.113.9", 40000)
LOOPBACK = ("127.0.0.1", 40000)


class ModelsOnly(llmaas.BaseProvider):
    name = "models-only"
    capabilities = frozenset({llmaas.Capability.MODELS})

    async def list_models(self, options):
        from llmaas._pagination import PageResult

        return PageResult(data=[])


def client_for(store, client, **config):
    """An app over its own connection to ``store``'s home (an app closes its store when it stops)."""
    app = create_app(ModelsOnly(), Store(store.home), ServerConfig(warm_up=False, bound_host="0.0.0.0", **config))
    return TestClient(app, base_url="http://server.example", client=client)


def test_keyless_mode_refuses_other_machines(tmp_path):
    with client_for(Store(tmp_path), REMOTE) as c:
        r = c.get("/v1/models")
        assert r.status_code == 401 and "answers only its own machine" in r.json()["error"]["message"]
        assert c.get("/health").status_code == 200


@pytest.fixture
def keyed_store(tmp_path):
    store = Store(tmp_path)
    store.keys = {"admin": store.create_key("root", role="admin")[1], "user": store.create_key("u")[1]}
    return store


def test_metrics_need_an_admin_key_from_other_machines(keyed_store):
    keys = keyed_store.keys
    with client_for(keyed_store, REMOTE) as c:
        assert c.get("/metrics").status_code == 401
        r = c.get("/metrics", headers={"Authorization": f"Bearer {keys['user']}"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "admin_required"
        assert c.get("/metrics", headers={"Authorization": f"Bearer {keys['admin']}"}).status_code == 200
    with client_for(keyed_store, REMOTE, public_metrics=True) as c:
        assert c.get("/metrics").status_code == 200
    with client_for(keyed_store, LOOPBACK) as c:
        assert c.get("/metrics").status_code == 200


def test_keyed_servers_accept_any_host_header(keyed_store):
    with client_for(keyed_store, REMOTE) as c:  # behind a proxy the Host is the public name; the key decides
        r = c.get("/v1/models", headers={"Authorization": f"Bearer {keyed_store.keys['user']}"})
        assert r.status_code == 200


def test_a_limiter_bug_never_fails_the_caller(keyed_store, monkeypatch):
    with client_for(keyed_store, REMOTE) as c:
        state = c.app.state.llmaas

        def broken(*args):
            raise IndexError("a bug")

        monkeypatch.setattr(state.limiter, "check_rate", broken)
        r = c.get("/v1/models", headers={"Authorization": f"Bearer {keyed_store.keys['user']}"})
        assert r.status_code == 200


def test_a_zero_limit_written_by_hand_is_a_clear_429(keyed_store):
    with keyed_store.transaction() as db:
        db.execute("UPDATE api_keys SET rpm_limit = 0 WHERE name = 'u'")
    with client_for(keyed_store, REMOTE) as c:
        r = c.get("/v1/models", headers={"Authorization": f"Bearer {keyed_store.keys['user']}"})
        assert r.status_code == 429 and r.headers["x-should-retry"] == "false"
        assert "may not make requests" in r.json()["error"]["message"]


def test_the_limiter_counts_requests_per_minute(keyed_store):
    keyed_store.set_limits("u", rpm_limit=2)
    with client_for(keyed_store, REMOTE) as c:
        auth = {"Authorization": f"Bearer {keyed_store.keys['user']}"}
        assert [c.get("/v1/models", headers=auth).status_code for _ in range(3)] == [200, 200, 429]
        r = c.get("/v1/models", headers=auth)
        assert 0 < int(r.headers["retry-after"]) <= 60 and r.headers["x-should-retry"] == "true"
