"""Two `llmaas serve` processes on one PostgreSQL store and one blobs folder, as two front doors behind a load
balancer would be: keys, revocations, quotas, usage, files and fine-tuning jobs are one service's, whichever
door a request comes through. And a door whose blobs folder is not the others' refuses to start."""

import os
import subprocess
import sys
import threading

import httpx
import openai
import pytest

from .conftest import CHAT, ServerProcess
from .test_fine_tuning_jobs import DATA, wait_for


@pytest.fixture(scope="module")
def doors(postgres, tmp_path_factory):
    url = postgres.new_database()
    blobs = tmp_path_factory.mktemp("shared-blobs")
    common = {"LLMAAS_DATABASE_URL": url, "LLMAAS_BLOB_DIR": str(blobs), "LLMAAS_FT_THREADS": 1}
    a = ServerProcess(tmp_path_factory.mktemp("door-a"), LLMAAS_FT_WORKER="false", **common)
    b = ServerProcess(tmp_path_factory.mktemp("door-b"), **common)
    a.admin = a.cli("keys", "create", "ops", "--admin").strip().splitlines()[-1]  # before start: keys on
    a.start()
    b.start()
    yield a, b
    a.stop()
    b.stop()


def oai(door, key):
    return openai.OpenAI(base_url=door.base_url, api_key=key, max_retries=0)


def test_a_key_made_through_one_door_opens_both_and_its_revocation_closes_both(doors):
    a, b = doors
    _, key = make_key(a, "carol")
    for door in (a, b):
        assert oai(door, key).models.list().data
    b.cli("keys", "revoke", "carol")
    for door in (a, b):
        with pytest.raises(openai.AuthenticationError):
            oai(door, key).models.list()


def make_key(door, name, *flags):
    """(key id, secret) of a key made with the CLI on ``door``'s configuration."""
    out = door.cli("keys", "create", name, *flags).strip().splitlines()
    return out[0].split()[3], out[-1]


def test_a_daily_quota_holds_across_both_doors(doors):
    a, b = doors
    key_id, key = make_key(a, "dave", "--tpd", "400")
    codes = []

    def one(i):
        body = {"model": CHAT, "messages": [{"role": "user", "content": f"Count to ten, please ({i})."}],
                "max_tokens": 40}
        r = httpx.post((a, b)[i % 2].base_url + "/chat/completions", json=body, timeout=300,
                       headers={"Authorization": f"Bearer {key}"})
        codes.append(r.status_code)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(codes) <= {200, 429} and 200 in codes and 429 in codes, codes
    for door in (a, b):  # either door reports the same usage: both doors' requests
        rows = httpx.get(door.base_url + "/usage", params={"key": key_id},
                         headers={"Authorization": f"Bearer {a.admin}"}).json()["data"]
        drawn = sum(r["prompt_tokens"] + r["completion_tokens"] for r in rows)
        assert sum(r["requests"] - r["errors"] for r in rows) == codes.count(200)
        # each request held its most before it ran, on whichever door: together they never overdraw
        assert 0 < drawn <= 400


def test_usage_on_either_door_shows_both_doors_traffic(doors):
    a, b = doors
    _, key = make_key(a, "erin")
    for door in (a, b, b):
        oai(door, key).embeddings.create(model="all-minilm-l6-v2", input="hello")
    seen = []
    for door in (a, b):
        rows = oai(door, key).get("/usage", cast_to=object)["data"]
        seen.append(sum(r["requests"] for r in rows))
    assert seen == [3, 3]
    charts = [httpx.get(door.base_url + "/usage/series", params={"window": 3600},  # what the dashboard draws
                        headers={"Authorization": f"Bearer {a.admin}"}).json()["data"] for door in (a, b)]
    assert charts[0] == charts[1] and sum(p["requests"] for p in charts[0]) >= 3


def test_a_file_uploaded_through_one_door_is_read_through_the_other(doors):
    a, b = doors
    _, key = make_key(a, "fay")
    made = oai(a, key).files.create(file=("notes.jsonl", b'{"x": 1}\n'), purpose="user_data")
    assert oai(b, key).files.content(made.id).content == b'{"x": 1}\n'


def test_a_job_created_on_one_door_is_run_once_by_the_other_doors_worker(doors):
    a, b = doors
    _, key = make_key(a, "gus")
    training = oai(a, key).files.create(file=("t.jsonl", DATA), purpose="fine-tune")
    job = oai(a, key).fine_tuning.jobs.create(model=CHAT, training_file=training.id,
                                              hyperparameters={"n_epochs": 1, "batch_size": 4})
    done = wait_for(lambda: (j := oai(b, key).fine_tuning.jobs.retrieve(job.id)).status in (
        "succeeded", "failed", "cancelled") and j, timeout=600)
    assert done.status == "succeeded", done.error
    events = [e.message for e in oai(a, key).fine_tuning.jobs.list_events(job.id, limit=100).data]
    assert sum(m == "Fine-tuning started" for m in events) == 1
    assert os.path.exists(os.path.join(b.home, "logs", "worker.log"))  # door b's worker trained it...
    assert not os.path.exists(os.path.join(a.home, "logs", "worker.log"))  # ...door a runs none
    assert oai(a, key).chat.completions.create(model=done.fine_tuned_model, max_tokens=3,
                                               messages=[{"role": "user", "content": "What is 2 plus 2?"}]).choices


def test_a_postgresql_restart_under_load_is_503_then_served_again_without_a_restart(doors, postgres):
    a, b = doors
    _, key = make_key(a, "hal")
    auth = {"Authorization": f"Bearer {key}"}
    codes, wrong, stop = [], [], threading.Event()

    def load(door):
        while not stop.is_set():
            try:
                r = httpx.post(door.base_url + "/embeddings", json={"model": "all-minilm-l6-v2", "input": "hi"},
                               headers=auth, timeout=30)
            except httpx.HTTPError as exc:  # a hang ends here, as a timeout
                wrong.append(repr(exc))
                continue
            codes.append(r.status_code)
            if r.status_code == 503 and (r.headers.get("retry-after") != "1"
                                         or r.json()["error"]["code"] != "store_unavailable"):
                wrong.append(r.text)

    threads = [threading.Thread(target=load, args=(door,)) for door in (a, b, a, b)]
    for t in threads:
        t.start()
    wait_for(lambda: len(codes) >= 8, timeout=60, every=0.05)
    postgres.stop()
    try:
        wait_for(lambda: 503 in codes, timeout=60, every=0.05)
        ready = httpx.get(a.root + "/ready", timeout=30)
        assert ready.status_code == 503 and ready.json()["status"] == "store_unavailable"
    finally:
        postgres.start()
    wait_for(lambda: httpx.get(b.root + "/ready", timeout=30).status_code == 200, timeout=60)
    served = len(codes)
    wait_for(lambda: codes[served:].count(200) >= 4, timeout=60, every=0.05)
    stop.set()
    for t in threads:
        t.join()
    assert set(codes) <= {200, 503} and not wrong, (sorted(set(codes)), wrong[:3])  # never a 500, never a hang


def test_a_door_with_another_blobs_folder_refuses_to_start(doors, tmp_path):
    a, _ = doors
    env = {**a.env, "LLMAAS_HOME": str(tmp_path / "home"), "LLMAAS_BLOB_DIR": str(tmp_path / "elsewhere")}
    out = subprocess.run([sys.executable, "-m", "llmaas.cli", "serve", "--port", "0"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "is not the one the other front doors on this database write" in out.stderr
