"""Keys, ownership, limits and usage, on a server whose store has keys; all of it survives a restart."""

import httpx
import openai
import pytest

from .conftest import CHAT, ServerProcess

MSG = [{"role": "user", "content": "Hi"}]


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    s = ServerProcess(tmp_path_factory.mktemp("keyed"))
    alice = s.cli("keys", "create", "alice").strip().splitlines()
    bob = s.cli("keys", "create", "bob", "--rpm", "3").strip().splitlines()
    s.keys = {"alice": alice[-1], "bob": bob[-1]}
    s.start()
    yield s
    s.stop()


def client(server, key):
    return openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0)


def test_keys_create_prints_the_secret_alone_on_the_last_line(keyed):
    assert keyed.keys["alice"].startswith("sk-llmaas-") and " " not in keyed.keys["alice"]
    listing = keyed.cli("keys", "list")
    assert "alice" in listing and "bob" in listing and keyed.keys["alice"] not in listing
    db = (keyed.home + "/llmaas.db")
    assert keyed.keys["alice"].encode() not in open(db, "rb").read()  # only the hash is stored


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer sk-wrong"}, {"Authorization": "Basic abc"}])
def test_missing_or_bad_key_is_401(keyed, headers):
    r = httpx.get(keyed.base_url + "/models", headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["code"] in ("missing_api_key", "invalid_api_key")
    with pytest.raises(openai.AuthenticationError):
        client(keyed, "sk-llmaas-not-a-key").models.list()


def test_health_needs_no_key(keyed):
    assert httpx.get(keyed.root + "/health").status_code == 200


def test_files_belong_to_their_key(keyed, tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n')
    a, b = client(keyed, keyed.keys["alice"]), client(keyed, keyed.keys["bob"])
    f = a.files.create(file=path.open("rb"), purpose="fine-tune")
    assert a.files.retrieve(f.id).bytes == path.stat().st_size
    assert a.files.content(f.id).read() == path.read_bytes()
    with pytest.raises(openai.NotFoundError):
        b.files.retrieve(f.id)
    with pytest.raises(openai.NotFoundError):
        b.files.delete(f.id)
    assert f.id in [x.id for x in a.files.list()] and f.id not in [x.id for x in b.files.list()]
    keyed.alice_file = f.id


def test_bad_uploads_are_400(keyed, tmp_path):
    a = client(keyed, keyed.keys["alice"])
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    with pytest.raises(openai.BadRequestError, match="line 1"):
        a.files.create(file=bad.open("rb"), purpose="fine-tune")
    with pytest.raises(openai.BadRequestError, match="purpose"):
        a.files.create(file=bad.open("rb"), purpose="nonsense")


def test_fine_tuning_routes(keyed):
    a = client(keyed, keyed.keys["alice"])
    assert list(a.fine_tuning.jobs.list()) == []
    with pytest.raises(openai.NotFoundError):
        a.fine_tuning.jobs.retrieve("ftjob-nope")
    with pytest.raises(openai.BadRequestError, match="no such file"):
        a.fine_tuning.jobs.create(model=CHAT, training_file="file-nope")
    with pytest.raises(openai.BadRequestError, match="holds 1 examples; training needs at least 10") as info:
        a.fine_tuning.jobs.create(model=CHAT, training_file=keyed.alice_file)
    assert info.value.code == "too_few_examples"


def test_requests_per_minute_limit(keyed):
    b = client(keyed, keyed.keys["bob"])
    with pytest.raises(openai.RateLimitError) as info:
        for _ in range(5):
            b.models.list()
    assert int(info.value.response.headers["retry-after"]) >= 1
    assert info.value.code == "requests_per_minute"


def test_usage_is_metered_per_key_and_survives_restart(keyed):
    a = client(keyed, keyed.keys["alice"])
    out = a.chat.completions.create(model=CHAT, messages=MSG, max_tokens=5)
    before = httpx.get(keyed.base_url + "/usage", headers={"Authorization": f"Bearer {keyed.keys['alice']}"}).json()
    row = next(r for r in before["data"] if r["model"] == CHAT)
    assert row["completion_tokens"] >= out.usage.completion_tokens and row["requests"] >= 1
    keyed.stop()
    report = keyed.cli("usage")
    assert "alice" in report and CHAT in report
    keyed.cli("keys", "revoke", "bob")
    keyed.start()
    after = httpx.get(keyed.base_url + "/usage", headers={"Authorization": f"Bearer {keyed.keys['alice']}"}).json()
    assert after["data"] == before["data"]
    assert a.files.retrieve(keyed.alice_file).id == keyed.alice_file  # files survive too
    with pytest.raises(openai.AuthenticationError):
        client(keyed, keyed.keys["bob"]).models.list()  # and so does a revocation
