"""The Batches API on a live server, driven by the official ``openai`` client: answers keyed by custom_id,
failures in the error file, refusals naming the line, privacy between keys, cancelling, an expired window,
per-key limits, and ``kill -9`` mid-batch with nothing lost or answered twice."""

import json
import os
import signal
import sqlite3
import time

import httpx
import openai
import pytest

from .conftest import CHAT, EMBED, ServerProcess
from .spec import validate

FINAL = ("completed", "failed", "expired", "cancelled")


def chat_line(i, max_tokens=8, **extra):
    return {"custom_id": f"req-{i}", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": CHAT, "messages": [{"role": "user", "content": f"Say the number {i}."}],
                     "max_tokens": max_tokens, **extra}}


def jsonl(lines):
    return ("\n".join(json.dumps(x) for x in lines) + "\n").encode()


def upload(client, lines, name="in.jsonl"):
    return client.files.create(file=(name, jsonl(lines) if isinstance(lines, list) else lines), purpose="batch")


def wait(client, batch_id, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline:
        batch = client.batches.retrieve(batch_id)
        if batch.status in FINAL:
            return batch
        time.sleep(0.3)
    raise AssertionError(f"batch {batch_id} did not finish: {batch}")


def read_jsonl(client, file_id):
    return [json.loads(x) for x in client.files.content(file_id).text.splitlines() if x.strip()]


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    s = ServerProcess(tmp_path_factory.mktemp("batches"), LLMAAS_BATCH_MAX_IN_FLIGHT=3)
    s.keys = {name: s.cli("keys", "create", name).strip().splitlines()[-1] for name in ("alice", "bob")}
    s.cli("keys", "limits", "bob", "--batches", "1")
    s.start()
    yield s
    s.stop()


def client(server, key):
    return openai.OpenAI(base_url=server.base_url, api_key=server.keys[key], max_retries=0, timeout=120)


def test_a_chat_batch_answers_every_request_by_custom_id(keyed):
    alice = client(keyed, "alice")
    lines = [chat_line(i) for i in range(6)] + [chat_line(99, max_tokens=10**6)]
    batch = alice.batches.create(input_file_id=upload(alice, lines).id, endpoint="/v1/chat/completions",
                                 completion_window="24h", metadata={"job": "numbers"})
    assert batch.status == "in_progress" and batch.request_counts.total == 7 and batch.metadata == {"job": "numbers"}
    done = wait(alice, batch.id)
    validate(httpx.get(f"{keyed.base_url}/batches/{done.id}", headers={"Authorization": "Bearer " + keyed.keys["alice"]}).json(), "Batch")
    assert done.status == "completed" and done.request_counts.completed == 6 and done.request_counts.failed == 1
    assert done.completed_at and done.finalizing_at and done.usage.output_tokens > 0
    out = read_jsonl(alice, done.output_file_id)
    assert sorted(x["custom_id"] for x in out) == [f"req-{i}" for i in range(6)]
    assert all(x["response"]["status_code"] == 200 and x["response"]["body"]["choices"][0]["message"]["content"]
               for x in out)
    errors = read_jsonl(alice, done.error_file_id)
    assert [x["custom_id"] for x in errors] == ["req-99"]
    assert errors[0]["response"]["status_code"] == 400
    assert errors[0]["response"]["body"]["error"]["code"] == "context_length_exceeded"
    db = sqlite3.connect(os.path.join(keyed.home, "llmaas.db"))
    rows = db.execute("SELECT endpoint, key_id, status FROM usage WHERE batch_id = ?", (done.id,)).fetchall()
    db.close()
    assert len(rows) == 7 and {r[0] for r in rows} == {"batch:chat.completions"}  # metered, marked as batch
    assert sorted(r[2] for r in rows) == [200] * 6 + [400]


def test_an_embeddings_batch(keyed):
    alice = client(keyed, "alice")
    lines = [{"custom_id": f"e{i}", "method": "POST", "url": "/v1/embeddings",
              "body": {"model": EMBED, "input": f"text number {i}"}} for i in range(3)]
    done = wait(alice, alice.batches.create(input_file_id=upload(alice, lines).id, endpoint="/v1/embeddings",
                                            completion_window="24h").id)
    out = read_jsonl(alice, done.output_file_id)
    assert done.status == "completed" and len(out) == 3
    assert len(out[0]["response"]["body"]["data"][0]["embedding"]) == 384


@pytest.mark.parametrize(("content", "names"), [
    (b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n{not json', "line 1"),
    (b'{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "m", "messages": '
     b'[{"role": "user", "content": "x"}]}}\n{nope', "line 2 is not valid JSON"),
    (jsonl([chat_line(1), chat_line(1)]), "custom_id 'req-1' is already used on line 1"),
    (jsonl([chat_line(1), {**chat_line(2), "method": "GET"}]), "line 2: method must be 'POST'"),
    (jsonl([chat_line(1), {**chat_line(2), "url": "/v1/files"}]), "line 2: url '/v1/files' cannot be batched"),
    (jsonl([chat_line(1), {**chat_line(2), "url": "/v1/embeddings"}]), "line 2: url '/v1/embeddings' is not"),
    (jsonl([chat_line(1), chat_line(2, temperature="hot")]), "line 2: body.temperature"),
    (jsonl([chat_line(1, stream=True)]), "line 1: body.stream"),
    (b"\xff\xfe", "not UTF-8"),
])
def test_a_bad_batch_file_is_refused_at_upload_naming_the_line(keyed, content, names):
    alice = client(keyed, "alice")
    with pytest.raises(openai.BadRequestError) as info:
        alice.files.create(file=("bad.jsonl", content), purpose="batch")
    assert names in info.value.body["message"], info.value.body


def test_create_checks_the_endpoint_the_file_and_the_window(keyed):
    alice, bob = client(keyed, "alice"), client(keyed, "bob")
    good = upload(alice, [chat_line(1)])
    with pytest.raises(openai.BadRequestError) as info:  # the lines call another endpoint
        alice.batches.create(input_file_id=good.id, endpoint="/v1/embeddings", completion_window="24h")
    assert "is not the batch's endpoint" in info.value.body["message"]
    with pytest.raises(openai.BadRequestError, match="cannot be batched"):
        alice.batches.create(input_file_id=good.id, endpoint="/v1/images", completion_window="24h")
    with pytest.raises(openai.BadRequestError, match="completion_window"):
        alice.batches.create(input_file_id=good.id, endpoint="/v1/chat/completions", completion_window="forever")
    with pytest.raises(openai.BadRequestError, match="no such file"):  # another key's file is not there
        bob.batches.create(input_file_id=good.id, endpoint="/v1/chat/completions", completion_window="24h")
    tune = alice.files.create(file=("t.jsonl", b'{"prompt": "a", "completion": "b"}\n'), purpose="fine-tune")
    with pytest.raises(openai.BadRequestError, match="purpose 'fine-tune'"):
        alice.batches.create(input_file_id=tune.id, endpoint="/v1/chat/completions", completion_window="24h")


def test_a_batch_and_its_files_are_private_to_its_key(keyed):
    alice, bob = client(keyed, "alice"), client(keyed, "bob")
    done = wait(alice, alice.batches.create(input_file_id=upload(alice, [chat_line(1)]).id,
                                            endpoint="/v1/chat/completions", completion_window="24h").id)
    with pytest.raises(openai.NotFoundError):
        bob.batches.retrieve(done.id)
    with pytest.raises(openai.NotFoundError):
        bob.batches.cancel(done.id)
    with pytest.raises(openai.NotFoundError):
        bob.files.content(done.output_file_id)
    assert done.id not in [b.id for b in bob.batches.list()]
    assert done.id in [b.id for b in alice.batches.list()]


def test_cancelling_stops_within_seconds_and_keeps_what_finished(keyed):
    alice = client(keyed, "alice")
    lines = [chat_line(i, max_tokens=200, ignore_eos=True) for i in range(40)]
    batch = alice.batches.create(input_file_id=upload(alice, lines).id, endpoint="/v1/chat/completions",
                                 completion_window="24h")
    time.sleep(2)
    asked = time.time()
    assert alice.batches.cancel(batch.id).status in ("cancelling", "cancelled")
    done = wait(alice, batch.id, timeout=30)
    assert done.status == "cancelled" and time.time() - asked < 15 and done.cancelled_at
    assert done.request_counts.completed < 40
    errors = read_jsonl(alice, done.error_file_id)
    assert errors and all(e["error"]["code"] == "batch_cancelled" for e in errors)
    finished = read_jsonl(alice, done.output_file_id) if done.output_file_id else []
    assert len(finished) + len(errors) == 40
    with pytest.raises(openai.BadRequestError, match="already cancelled"):
        alice.batches.cancel(batch.id)
    assert httpx_running(keyed) == 0


def httpx_running(server):
    import httpx

    deadline = time.time() + 20
    while time.time() < deadline:
        text = httpx.get(server.root + "/metrics").text
        running = float(next(x for x in text.splitlines() if x.startswith("llmaas_running_sequences ")).split()[1])
        if running == 0:
            return 0
        time.sleep(0.2)
    return running


def test_an_expired_window_delivers_the_finished_part(keyed):
    alice = client(keyed, "alice")
    lines = [chat_line(i, max_tokens=300, ignore_eos=True) for i in range(40)]
    batch = alice.batches.create(input_file_id=upload(alice, lines).id, endpoint="/v1/chat/completions",
                                 completion_window="3s")
    done = wait(alice, batch.id, timeout=60)
    assert done.status == "expired" and done.expired_at
    errors = read_jsonl(alice, done.error_file_id)
    assert errors and all(e["error"]["code"] == "batch_expired" for e in errors)


def test_limits_on_batches_in_flight(keyed):
    bob = client(keyed, "bob")  # bob may have one batch in flight
    lines = [chat_line(i, max_tokens=200, ignore_eos=True) for i in range(20)]
    first = bob.batches.create(input_file_id=upload(bob, lines).id, endpoint="/v1/chat/completions",
                               completion_window="24h")
    with pytest.raises(openai.RateLimitError) as info:
        bob.batches.create(input_file_id=upload(bob, [chat_line(1)]).id, endpoint="/v1/chat/completions",
                           completion_window="24h")
    assert info.value.body["code"] == "batch_limit_reached"
    bob.batches.cancel(first.id)
    wait(bob, first.id, timeout=30)


def test_kill_9_mid_batch_resumes_with_nothing_lost_or_answered_twice(tmp_path):
    server = ServerProcess(tmp_path).start()
    c = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=60)
    lines = [chat_line(i, max_tokens=24, ignore_eos=True) for i in range(60)]
    batch = c.batches.create(input_file_id=upload(c, lines).id, endpoint="/v1/chat/completions",
                             completion_window="24h")
    deadline = time.time() + 120
    while c.batches.retrieve(batch.id).request_counts.completed < 5 and time.time() < deadline:
        time.sleep(0.2)
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(30)
    db = sqlite3.connect(tmp_path / "llmaas.db")
    answered = db.execute("SELECT COUNT(*) FROM batch_requests WHERE state != 'pending'").fetchone()[0]
    db.close()
    assert 5 <= answered < 60  # killed part way
    server.start()  # the same home: the runner goes on where it stopped
    try:
        c = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=60)
        done = wait(c, batch.id)
        assert done.status == "completed" and done.request_counts.completed == 60
        out = read_jsonl(c, done.output_file_id)
        assert sorted(x["custom_id"] for x in out) == sorted(f"req-{i}" for i in range(60))  # each once
        db = sqlite3.connect(tmp_path / "llmaas.db")
        metered = db.execute("SELECT COUNT(*) FROM usage WHERE batch_id = ?", (batch.id,)).fetchone()[0]
        assert metered == 60  # each request metered once
    finally:
        server.stop()
