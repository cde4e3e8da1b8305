"""Who may call: keyless mode only for loopback while no key was ever made, Host and Origin checks, CORS,
roles, authentication before the body, body limits, and what the store leaves on disk. Each against a real
server subprocess."""

import os
import stat
import subprocess
import sys

import httpx
import openai
import pytest

from .conftest import CHAT, ServerProcess

MSG = [{"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    """A server with an admin, two ordinary keys and a revoked one; small limits for the body tests."""
    s = ServerProcess(tmp_path_factory.mktemp("access"), LLMAAS_FT_MAX_EXAMPLE_KB=1024)  # the body limits decide
    s.extra_args = ["--max-body-mb", "1", "--max-json-mb", "0.5", "--cors-origin", "https://app.example"]
    s.keys = {name: s.cli("keys", "create", name, *flags).strip().splitlines()[-1]
              for name, flags in (("root", ["--admin"]), ("alice", []), ("bob", []), ("gone", []))}
    s.cli("keys", "revoke", "gone")
    s.start()
    yield s
    s.stop()


def auth(key):
    return {"Authorization": f"Bearer {key}"}


def test_revoking_every_key_leaves_the_server_closed(tmp_path):
    s = ServerProcess(tmp_path)
    s.cli("keys", "create", "only")
    out = s.cli("keys", "revoke", "only")
    assert "no active key is left" in out
    s.start()
    try:
        for path in ("/models", "/usage", "/files"):
            r = httpx.get(s.base_url + path)
            assert r.status_code == 401, path
            assert r.json()["error"]["code"] == "missing_api_key"
        assert httpx.get(s.root + "/health").status_code == 200
    finally:
        s.stop()
    assert "every API key is revoked" in open(tmp_path / "server.log").read()


def test_a_revoked_key_is_refused(keyed):
    r = httpx.get(keyed.base_url + "/models", headers=auth(keyed.keys["gone"]))
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "192.0.2.7"])
def test_keyless_mode_refuses_foreign_host_headers(server, host):
    r = httpx.get(server.base_url + "/models", headers={"Host": host})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "host_not_allowed"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
def test_keyless_mode_accepts_loopback_host_names(server, host):
    r = httpx.get(server.base_url + "/models", headers={"Host": f"{host}:{server.port}"})
    assert r.status_code == 200


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                                     {"Origin": "null"}])
def test_cross_origin_browser_requests_are_refused(server, headers, tmp_path):
    r = httpx.post(server.base_url + "/chat/completions", headers=headers,
                   json={"model": CHAT, "messages": MSG, "max_tokens": 1})
    assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"
    # a cross-site form upload (no preflight) never reaches the store
    path = tmp_path / "x.jsonl"
    path.write_text('{"prompt": "a", "completion": "b"}\n')
    r = httpx.post(server.base_url + "/files", headers=headers, data={"purpose": "fine-tune"},
                   files={"file": path.open("rb")})
    assert r.status_code == 403


def test_same_origin_pages_are_allowed(server):
    r = httpx.get(server.base_url + "/models", headers={"Origin": server.root})
    assert r.status_code == 200


def test_configured_cors_origins_get_preflight_and_headers(keyed):
    pre = httpx.options(keyed.base_url + "/chat/completions", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == "https://app.example"
    r = httpx.get(keyed.base_url + "/models", headers={"Origin": "https://app.example", **auth(keyed.keys["alice"])})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://app.example"
    other = httpx.get(keyed.base_url + "/models", headers={"Origin": "https://evil.example",
                                                           **auth(keyed.keys["alice"])})
    assert other.status_code == 403


def test_admin_sees_every_keys_usage_and_others_only_their_own(keyed):
    for name in ("alice", "bob"):
        c = openai.OpenAI(base_url=keyed.base_url, api_key=keyed.keys[name], max_retries=0)
        c.chat.completions.create(model=CHAT, messages=MSG, max_tokens=2)
    mine = httpx.get(keyed.base_url + "/usage", headers=auth(keyed.keys["alice"])).json()["data"]
    assert mine and all("key_id" not in r for r in mine)
    assert sum(r["requests"] for r in mine) >= 1
    everyone = httpx.get(keyed.base_url + "/usage", headers=auth(keyed.keys["root"])).json()["data"]
    assert {"alice", "bob"} <= {r["key_name"] for r in everyone}
    bob_id = next(r["key_id"] for r in everyone if r["key_name"] == "bob")
    only_bob = httpx.get(keyed.base_url + "/usage", params={"key": bob_id}, headers=auth(keyed.keys["root"]))
    assert {r["key_name"] for r in only_bob.json()["data"]} == {"bob"}
    refused = httpx.get(keyed.base_url + "/usage", params={"key": bob_id}, headers=auth(keyed.keys["alice"]))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "admin_required"
    assert "root" in keyed.cli("keys", "list") and "admin" in keyed.cli("keys", "list")


def _rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_unauthenticated_bodies_are_not_read(keyed):
    before = _rss_kb(keyed.proc.pid)
    big = b'{"model": "x", "messages": [' + b'{"role": "user", "content": "aaaa"},' * 140_000 + b"]}"
    for _ in range(3):
        r = httpx.post(keyed.base_url + "/chat/completions", content=big, headers={"Content-Type": "application/json"})
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "missing_api_key"
    assert _rss_kb(keyed.proc.pid) - before < 40_000  # parsing that body would cost well over 100 MB


def test_oversize_json_is_413_declared_or_chunked(keyed):
    key = auth(keyed.keys["alice"])
    body = b'{"model": "%s", "messages": [{"role": "user", "content": "%s"}]}' % (CHAT.encode(), b"a" * 600_000)
    r = httpx.post(keyed.base_url + "/chat/completions", content=body, headers={**key, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"

    def chunks():
        for i in range(0, len(body), 65536):
            yield body[i:i + 65536]

    r = httpx.post(keyed.base_url + "/chat/completions", content=chunks(), headers={**key, "Content-Type": "application/json"})
    assert "content-length" not in r.request.headers
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"


def test_uploads_have_their_own_limit(keyed, tmp_path):
    key = keyed.keys["alice"]
    c = openai.OpenAI(base_url=keyed.base_url, api_key=key, max_retries=0)
    ok = tmp_path / "ok.jsonl"
    ok.write_text('{"prompt": "p", "completion": "%s"}\n' % ("c" * 700_000))  # over the JSON limit, under 1 MB
    assert c.files.create(file=ok.open("rb"), purpose="fine-tune").bytes == ok.stat().st_size
    big = tmp_path / "big.jsonl"
    big.write_text('{"prompt": "p", "completion": "%s"}\n' % ("c" * 1_200_000))
    with pytest.raises(openai.APIStatusError) as err:
        c.files.create(file=big.open("rb"), purpose="fine-tune")
    assert err.value.status_code == 413

    def chunks():
        data = b"--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n--b\r\n" \
               b"Content-Disposition: form-data; name=\"file\"; filename=\"x.jsonl\"\r\n\r\n" + big.read_bytes() + \
               b"\r\n--b--\r\n"
        for i in range(0, len(data), 65536):
            yield data[i:i + 65536]

    r = httpx.post(keyed.base_url + "/files", content=chunks(),
                   headers={**auth(key), "Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413
    names = [f.filename for f in c.files.list()]
    assert "big.jsonl" not in names and "x.jsonl" not in names


def test_too_many_messages_or_inputs_are_400_naming_the_field(keyed):
    key = auth(keyed.keys["alice"])
    r = httpx.post(keyed.base_url + "/chat/completions", headers=key,
                   json={"model": CHAT, "messages": [{"role": "user", "content": ""}] * 2049})
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages"
    r = httpx.post(keyed.base_url + "/embeddings", headers=key, json={"model": "all-minilm-l6-v2", "input": ["a"] * 2049})
    assert r.status_code == 400 and r.json()["error"]["param"] == "input"


def test_store_files_are_private(keyed):
    home = keyed.home
    assert stat.S_IMODE(os.stat(home).st_mode) == 0o700
    for root, dirs, files in os.walk(home):
        if root == home:
            dirs.remove("models")  # seeded by the test fixture; a server's own conversion is made private
        for d in dirs:
            assert stat.S_IMODE(os.stat(os.path.join(root, d)).st_mode) == 0o700, os.path.join(root, d)
        for f in files:
            if f != "server.log":  # written by the test itself
                assert stat.S_IMODE(os.stat(os.path.join(root, f)).st_mode) == 0o600, os.path.join(root, f)


def test_serve_takes_no_secret_on_the_command_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "llmaas.cli", "serve", "--base-url", "http://127.0.0.1:9/v1",
                          "--api-key", "sk-secret"], capture_output=True, text=True)
    assert out.returncode == 2 and "--api-key-env or --api-key-file" in out.stderr and "sk-secret" not in out.stderr
    from llmaas.server.serve import upstream_key

    path = tmp_path / "key"
    path.write_text("sk-from-file\n")
    assert upstream_key(path=str(path)) == "sk-from-file"
    os.environ["LLMAAS_TEST_UPSTREAM"] = "sk-from-env"
    try:
        assert upstream_key("LLMAAS_TEST_UPSTREAM") == "sk-from-env"
    finally:
        del os.environ["LLMAAS_TEST_UPSTREAM"]
    with pytest.raises(ValueError, match="not set"):
        upstream_key("LLMAAS_TEST_UNSET_VARIABLE")


def test_metrics_open_to_loopback_by_default(keyed):
    # the admin-key rule for other clients is in tests/unit/test_gate.py: a subprocess here is on loopback
    assert httpx.get(keyed.root + "/metrics").status_code == 200


def test_admin_sees_every_keys_files_and_others_only_their_own(keyed, tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"prompt": "p", "completion": "c"}\n')
    alice, bob, root = (openai.OpenAI(base_url=keyed.base_url, api_key=keyed.keys[n], max_retries=0)
                        for n in ("alice", "bob", "root"))
    f = alice.files.create(file=path.open("rb"), purpose="fine-tune")
    assert root.files.retrieve(f.id).id == f.id and f.id in [x.id for x in root.files.list()]
    with pytest.raises(openai.NotFoundError):
        bob.files.retrieve(f.id)
    assert f.id not in [x.id for x in bob.files.list()]
    with pytest.raises(openai.NotFoundError):
        bob.files.delete(f.id)
    assert root.files.delete(f.id).deleted
    with pytest.raises(openai.NotFoundError):
        alice.files.retrieve(f.id)


def test_where_model_files_sit_is_for_admin_keys(keyed):
    def retrieve(who):
        return httpx.get(keyed.base_url + "/models/" + CHAT, headers=auth(keyed.keys[who]), timeout=30).json()

    assert "source" not in retrieve("alice") and retrieve("alice")["kind"] == "chat"
    assert retrieve("root")["source"].endswith(".gguf")
    listed = httpx.get(keyed.base_url + "/models", headers=auth(keyed.keys["alice"]), timeout=30).json()["data"]
    assert listed and all("source" not in m for m in listed)
