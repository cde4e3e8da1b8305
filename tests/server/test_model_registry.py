"""Model management through a live server: registering is for admin keys and only under --model-dir; what is
registered is served to the official openai client; load, unload, ps and delete over HTTP; and the CLI."""

import json
import subprocess
import sys

import httpx
import openai
import pytest

import llmaas

from .conftest import CHAT, ServerProcess


@pytest.fixture(scope="module")
def managed(tmp_path_factory, model_dir):
    s = ServerProcess(tmp_path_factory.mktemp("registry"), LLMAAS_KV_CACHE_GB="0.25")
    s.extra_args = ["--model-dir", str(model_dir)]
    s.keys = {name: s.cli("keys", "create", name, *flags).strip().splitlines()[-1]
              for name, flags in (("root", ["--admin"]), ("alice", []))}
    s.start()
    yield s
    s.stop()


def test_register_serve_and_delete_over_http(managed, model_dir, tmp_path):
    admin = llmaas.Client(base_url=managed.base_url, api_key=managed.keys["root"], max_retries=0)
    user = llmaas.Client(base_url=managed.base_url, api_key=managed.keys["alice"], max_retries=0)
    official = openai.OpenAI(base_url=managed.base_url, api_key=managed.keys["alice"], max_retries=0)
    with admin, user:
        with pytest.raises(llmaas.PermissionDeniedError) as not_admin:
            user.models.register("mine", path=str(model_dir / "tiny-gpt2"))
        assert not_admin.value.code == "admin_required"
        (tmp_path / "elsewhere").mkdir()
        with pytest.raises(llmaas.PermissionDeniedError) as outside:
            admin.models.register("mine", path=str(tmp_path / "elsewhere"))
        assert outside.value.code == "path_not_allowed"

        tiny = admin.models.register("tiny", path=str(model_dir / "tiny-gpt2"))
        assert tiny.engine == "transformers" and tiny.source
        assert admin.models.alias("house", model="tiny").target == "tiny"
        listed = {m.id: m for m in official.models.list()}
        assert {"tiny", "house", CHAT} <= set(listed)
        assert listed["tiny"].model_extra.get("source") is None  # a path on the server's disk: admins only

        reply = official.chat.completions.create(model="house", messages=[{"role": "user", "content": "hi"}],
                                                 max_tokens=3)
        assert reply.usage.completion_tokens <= 3
        ps = {m.id: m for m in admin.models.ps()}
        assert ps["house"].engine == "transformers"
        with pytest.raises(llmaas.PermissionDeniedError):
            user.models.unload("tiny")
        assert admin.models.unload("house").unloaded is True
        assert admin.models.load("tiny").engine == "transformers"

        with pytest.raises(llmaas.PermissionDeniedError):
            user.models.delete("tiny")
        assert admin.models.delete("tiny").deleted  # and its alias
        with pytest.raises(openai.NotFoundError):
            official.chat.completions.create(model="house", messages=[{"role": "user", "content": "hi"}])
        assert {"tiny", "house"}.isdisjoint(m.id for m in official.models.list())


def test_bad_register_bodies_get_the_openai_error_shape(managed):
    headers = {"Authorization": f"Bearer {managed.keys['root']}"}
    for body, param in (({"name": "x"}, "path"), ({"name": 3, "path": "/x"}, "name"),
                        ({"name": "x", "path": "/x", "extra": 1}, "extra")):
        r = httpx.post(managed.base_url + "/models", json=body, headers=headers)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["param"] == param
    r = httpx.post(managed.base_url + "/models", json={"name": "x", "path": "/tmp/a\u0000b"}, headers=headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_model_path"  # a NUL byte: no 500
    r = httpx.post(managed.base_url + "/models/no-such-model/load", headers=headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


def cli(*args, home, **kw):
    return subprocess.run([sys.executable, "-m", "llmaas.cli", "--home", str(home), "models", *args],
                          capture_output=True, text=True, timeout=300, **kw)


def test_the_registry_commands(tmp_path, model_dir):
    done = cli("register", "tiny", str(model_dir / "tiny-gpt2"), home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "registered tiny" in done.stdout and "slow path" in done.stdout
    assert cli("alias", "small", "tiny", home=tmp_path).stdout.strip() == "small -> tiny"
    rows = cli("list", home=tmp_path).stdout.splitlines()
    assert any(r.split()[:4] == ["tiny", "chat", "GPT2LMHeadModel", "transformers"] for r in rows)
    assert any(r.startswith("small ") and "alias of tiny" in r for r in rows)
    clash = cli("register", "tiny", str(model_dir / "smol"), home=tmp_path)
    assert clash.returncode == 1 and "already exists" in clash.stderr
    load = cli("load", "tiny", home=tmp_path)
    assert load.returncode == 2 and "--base-url" in load.stderr
    assert cli("rm", "small", "tiny", home=tmp_path).returncode == 0
    assert {m["id"] for m in json.loads(cli("list", "--json", home=tmp_path).stdout)}.isdisjoint({"tiny", "small"})


def test_in_process_and_server_share_one_registry(tmp_path, model_dir):
    """A model registered from a script is served by `llmaas serve` on the same home, and deleted there
    it is gone for the script too."""
    with llmaas.Client(provider="hf", provider_options={"hf": {"home": str(tmp_path), "progress": False}}) as local:
        local.models.register("shared-tiny", path=str(model_dir / "tiny-gpt2"))
        server = ServerProcess(tmp_path, LLMAAS_KV_CACHE_GB="0.25").start()  # no --model-dir: it only serves it
        try:
            official = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
            reply = official.chat.completions.create(model="shared-tiny", max_tokens=2,
                                                     messages=[{"role": "user", "content": "hi"}])
            assert reply.model and reply.usage.completion_tokens <= 2
            r = httpx.post(server.base_url + "/models", json={"name": "another", "path": str(model_dir / "smol")})
            assert r.status_code == 403 and r.json()["error"]["code"] == "model_dirs_not_configured"
            official.models.delete("shared-tiny")
        finally:
            server.stop()
        assert "shared-tiny" not in [m.id for m in local.models.list()]
