"""The store, run whole against SQLite and against a real PostgreSQL (a throwaway cluster, tests/postgres.py):
keys, usage, files, fine-tuning jobs, batches, stored responses, the model registry and the shared limits,
then what is particular to each database (a SQLite home from before Alembic upgraded in place; several
processes migrating one fresh PostgreSQL database; a PostgreSQL that stops and comes back)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from llmaas.store import ANYONE, KeyError_, Store, StoreUnavailable, quotas
from llmaas.store import registry as reg
from llmaas.store import responses as stored
from llmaas.store.batch_files import parse_batch_file
from llmaas.store.batches import records as batches
from llmaas.store.jobs import records as jobs
from llmaas.store.schema import HEAD

LEGACY = Path(__file__).parent.parent / "server" / "data" / "legacy_schema_v10.sql"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").new_database()
    s = Store(tmp_path / "home", database_url=url)
    assert s.dialect == request.param
    yield s
    s.close()


# -- keys -------------------------------------------------------------------------------------------------

def test_keys_are_created_found_limited_and_revoked(store):
    key_id, secret = store.create_key("alice", rpm_limit=5)
    assert secret.startswith("sk-llmaas-") and store.keys_ever_created()
    assert store.find_key("alice")["id"] == key_id
    from llmaas.store import hash_key
    assert store.key_by_hash(hash_key(secret))["id"] == key_id
    row = store.set_limits("alice", tpd_limit=100, max_batches=2)
    assert (row["rpm_limit"], row["tpd_limit"], row["max_batches"]) == (5, 100, 2)
    store.create_key("alice")
    with pytest.raises(KeyError_, match="2 keys are named 'alice'"):
        store.find_key("alice")
    assert store.revoke_key(key_id) == key_id
    assert store.key_by_hash(hash_key(secret)) is None
    with pytest.raises(ValueError, match="rpm must be a whole number"):
        store.create_key("bob", rpm_limit=0)
    assert [r["name"] for r in store.list_keys()] == ["alice", "alice"]


# -- usage ------------------------------------------------------------------------------------------------

def test_usage_is_reported_by_day_key_and_model(store):
    store.record_usage("k1", "/v1/chat/completions", "m", 10, 5, 12.5, 200)
    store.record_usage("k1", "/v1/chat/completions", "m", 3, 0, 7.5, 500)
    store.record_usage("k2", "/v1/embeddings", "e", 4, 0, 1.0, 200)
    report = store.usage_report()
    assert [(r["key_id"], r["requests"], r["prompt_tokens"], r["errors"]) for r in report] == [
        ("k1", 2, 13, 1), ("k2", 1, 4, 0)]
    assert report[0]["day"] == time.strftime("%Y-%m-%d", time.gmtime())
    assert report[0]["mean_latency_ms"] == pytest.approx(10.0)
    assert store.tokens_since("k1", time.time() - 60) == 18
    assert [t for _, t in store.token_times("k1", 0)] == [15, 3]
    assert store.usage_report("k2")[0]["model"] == "e"


# -- files ------------------------------------------------------------------------------------------------

def test_files_are_private_paged_and_deleted_with_their_blob(store):
    made = [store.add_file("k1", f"f{i}.jsonl", "batch", b"x" * (i + 1)) for i in range(5)]
    other = store.add_file("k2", "other.jsonl", "fine-tune", b"y")
    assert store.get_file(other["id"], "k1") is None and store.get_file(other["id"], ANYONE) is not None
    seen, after = [], None
    while True:
        rows, more = store.list_files("k1", None, after, 2, "asc")
        seen += [r["id"] for r in rows]
        if not more:
            break
        after = rows[-1]["id"]
    assert sorted(seen) == sorted(f["id"] for f in made) and len(seen) == 5
    assert store.delete_file(made[0]["id"], "k2") is False
    assert store.delete_file(made[0]["id"], "k1") is True
    assert not store.blob_path(made[0]["id"]).exists() and store.blob_path(made[1]["id"]).read_bytes() == b"xx"


# -- fine-tuning jobs ---------------------------------------------------------------------------------------

BODY = {"model": "m", "training_file": "file-1"}


def test_jobs_queue_take_turns_and_change_state_once(store):
    a1 = jobs.create_job(store, "a", BODY)
    a2 = jobs.create_job(store, "a", BODY)
    b1 = jobs.create_job(store, "b", BODY)
    assert jobs.create_job(store, "a", BODY, most=2) is None  # a has two active already
    assert jobs.next_queued(store) == a1["id"]
    jobs.update_job(store, a1["id"], event="started", status="running", started_at=time.time())
    assert jobs.next_queued(store) == b1["id"]  # b's turn: a's last job started just now
    jobs.update_job(store, b1["id"], status="running", started_at=time.time())
    assert jobs.next_queued(store) == a2["id"]
    jobs.update_job(store, a1["id"], status="succeeded", only_if=frozenset({"running"}))
    jobs.update_job(store, a1["id"], status="cancelled", only_if=frozenset({"running"}))  # too late: no change
    assert jobs.get_job(store, a1["id"])["status"] == "succeeded"
    assert jobs.get_job(store, a1["id"], "b") is None
    assert reg.jobs_on(store, "m") == [a2["id"], b1["id"]] or set(reg.jobs_on(store, "m")) == {a2["id"], b1["id"]}
    assert jobs.abandoned(store, lambda worker: True) == [b1["id"]]  # running with no worker recorded
    jobs.register_model(store, "ft:m:x", "a", "m", "/tmp/x")
    jobs.register_model(store, "ft:m:x", "a", "m", "/tmp/y")  # written again: replaced, not doubled
    assert reg.tuned_from(store, "m") == ["ft:m:x"]


def test_workers_on_several_machines_claim_each_job_once(store, tmp_path):
    """Eight claimers on two Store objects (two machines' workers on one database) drain 12 jobs."""
    url = store.db.url if store.dialect == "postgresql" else None
    second = Store(tmp_path / "home", database_url=url)
    made = {jobs.create_job(store, f"k{i % 3}", BODY)["id"] for i in range(12)}
    claimed: list[tuple[str, str]] = []

    def worker(s, name):
        while (job := jobs.claim_next(s, name)) is not None:
            claimed.append((job["id"], name))
            assert job["status"] == "running" and job["owner"].startswith("k")

    threads = [threading.Thread(target=worker, args=(s, f"host{i % 2}:{i}")) for i, s in enumerate([store, second] * 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(j for j, _ in claimed) == sorted(made)  # every job once, none twice
    job_id, name = claimed[0]
    assert jobs.heartbeat(store, job_id, name) and not jobs.heartbeat(store, job_id, "someone-else:1")
    assert jobs.abandoned(store, lambda worker: True) == []  # every heartbeat is fresh
    assert set(jobs.abandoned(store, lambda worker: worker != name)) == {j for j, n in claimed if n == name}
    with store.transaction() as db:
        db.execute("UPDATE fine_tuning_jobs SET heartbeat_at = ? WHERE id = ?", (time.time() - jobs.LEASE - 1, job_id))
    assert jobs.abandoned(store, lambda worker: True) == [job_id]  # its worker went quiet: released
    second.close()


# -- batches ----------------------------------------------------------------------------------------------

def _lines(n):
    return "\n".join(json.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/embeddings",
                                 "body": {"model": "e", "input": f"text {i}"}}) for i in range(n)).encode()


def test_a_batch_is_stored_whole_and_each_answer_recorded_once(store):
    parsed = parse_batch_file(_lines(3))
    body = {"input_file_id": "file-1", "completion_window": "24h", "metadata": {"job": "x"}}
    made = batches.insert_batch(store, "k1", body, parsed, 86400, most=1, most_tokens=None)
    assert made["request_counts"] == {"total": 3, "completed": 0, "failed": 0}
    assert batches.insert_batch(store, "k1", body, parsed, 86400, most=1, most_tokens=None) is None
    row = batches.get_row(store, made["id"], "k1")
    assert batches.get_row(store, made["id"], "k2") is None
    todo = batches.pending(store, made["id"], set(), 10)
    assert [r["custom_id"] for r in todo] == ["r0", "r1", "r2"]
    first, second = todo[0]["line"], todo[1]["line"]
    assert batches.record(store, row, first, True, {"custom_id": "r0"}, 4, 0, 1.0, 200) is True
    assert batches.record(store, row, first, True, {"custom_id": "r0"}, 4, 0, 1.0, 200) is False  # once only
    assert batches.record(store, row, second, False, {"custom_id": "r1"}, 2, 0, 1.0, 400) is True
    done = batches.finish(store, made["id"], "cancelled", ("in_progress",))
    assert done["status"] == "cancelled" and done["request_counts"] == {"total": 3, "completed": 1, "failed": 1}
    assert store.usage_report("k1")[0]["requests"] == 2
    output = store.blob_path(done["output_file_id"]).read_text().splitlines()
    assert [json.loads(x)["custom_id"] for x in output] == ["r0"]
    assert batches.finish(store, made["id"], "completed", ("in_progress",)) is None


# -- stored responses and the registry ---------------------------------------------------------------------

def test_responses_and_registry_entries(store):
    body = {"id": "resp_1", "created_at": 1, "previous_response_id": None}
    stored.save(store, "k1", body, [{"role": "user", "content": "hi"}], [{"role": "user", "content": "hi"}])
    assert stored.get(store, "resp_1", "k1")["id"] == "resp_1" and stored.get(store, "resp_1", "k2") is None
    assert stored.count(store, "k1") == 1 and stored.delete(store, "resp_1", "k1") and stored.count(store, "k1") == 0
    reg.add(store, "mine", "k1", "chat", path="/models/mine")
    reg.add(store, "alias", "k1", "chat", target="mine")
    with pytest.raises(reg.NameTaken):
        reg.add(store, "mine", "k1", "chat", path="/models/other")
    assert reg.resolve(store, "alias") == "mine"
    assert sorted(reg.remove(store, "mine")) == ["alias", "mine"] and reg.entries(store) == []


# -- limits shared by front doors -------------------------------------------------------------------------

def test_requests_per_minute_are_counted_in_the_store(store):
    now = time.time()
    assert [quotas.count_request(store, "k", 3, now + i) for i in range(3)] == [None, None, None]
    wait = quotas.count_request(store, "k", 3, now + 3)
    assert wait == pytest.approx(57.0, abs=0.01)
    assert quotas.count_request(store, "k", 3, now + 61) is None  # the first has left the window
    assert quotas.count_request(store, "other", 3, now + 3) is None


def test_concurrent_requests_on_two_doors_get_a_per_minute_limit_once(store, tmp_path):
    url = store.db.url if store.dialect == "postgresql" else None
    second = Store(tmp_path / "home", database_url=url)
    waits = []
    threads = [threading.Thread(target=lambda s=s: waits.append(quotas.count_request(s, "k", 5)))
               for s in [store, second] * 8]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert waits.count(None) == 5 and len(waits) == 16  # exactly the limit, across both
    second.close()


def test_concurrent_holds_never_pass_the_quota_together(store, tmp_path):
    """Threads on two Store objects (two front doors on one database) hold 30 tokens each against 100."""
    url = store.db.url if store.dialect == "postgresql" else None
    second = Store(tmp_path / "home", database_url=url)
    granted, refused = [], []

    def decide(standing):
        if standing.used + standing.held + 30 > 100:
            raise RuntimeError("over")
        return 30

    def one(s):
        try:
            granted.append(quotas.hold(s, "k", 0, decide))
        except RuntimeError:
            refused.append(1)

    threads = [threading.Thread(target=one, args=(s,)) for s in [store, second] * 8]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 3 and len(refused) == 13
    assert quotas.held(store, "k") == 90
    quotas.release(second, granted[0][0])
    assert quotas.held(store, "k") == 60
    second.close()


# -- what is particular to each database --------------------------------------------------------------------

def test_a_sqlite_home_from_before_alembic_is_upgraded_in_place(tmp_path):
    home = tmp_path / "old"
    home.mkdir()
    db = sqlite3.connect(home / "llmaas.db")
    db.executescript(LEGACY.read_text())
    db.execute("PRAGMA user_version = 10")
    db.execute("INSERT INTO api_keys (id, name, prefix, hash, created_at, role) "
               "VALUES ('key-old', 'old', 'sk-llmaas-abc', 'h', 1, 'admin')")
    db.execute("INSERT INTO usage (key_id, endpoint, model, prompt_tokens, completion_tokens, latency_ms, status, "
               "created_at) VALUES ('key-old', '/v1/chat/completions', 'm', 7, 3, 1.0, 200, 1000.0)")
    db.commit()
    db.close()
    s = Store(home)
    assert s.query("SELECT version_num FROM alembic_version")[0][0] == HEAD
    assert s.find_key("old")["role"] == "admin" and s.tokens_since("key-old", 0) == 10
    assert quotas.count_request(s, "key-old", 1) is None  # the tables added since exist
    jobs.create_job(s, "key-old", BODY)
    assert Store(home).migrate() == HEAD  # opened again: nothing to do


def test_an_empty_sqlite_home_from_an_older_step_upgrades_too(tmp_path):
    home = tmp_path / "older"
    home.mkdir()
    steps = LEGACY.read_text().split("-- step ")
    db = sqlite3.connect(home / "llmaas.db")
    db.executescript("-- step ".join(steps[:8]))  # the header and steps 1 to 7
    db.execute("PRAGMA user_version = 7")
    db.commit()
    db.close()
    s = Store(home)
    assert s.migrate() == HEAD
    assert s.set_limits(s.create_key("new")[0], max_tokens=5, guard_sensitivity="strict")["max_tokens"] == 5


def test_alembic_head_is_the_store_head():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "llmaas.store:migrations")
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD


def test_several_processes_migrate_one_fresh_postgresql_database(postgres, tmp_path):
    url = postgres.new_database()
    code = ("import sys\nfrom llmaas.store import Store\ns = Store(sys.argv[1], database_url=sys.argv[2])\n"
            "s.create_key('p')\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / f"h{i}"), url], stderr=subprocess.PIPE)
             for i in range(6)]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for e in errors if e][:1]
    assert len(Store(tmp_path / "check", database_url=url).list_keys()) == 6


def test_a_postgresql_that_stops_is_reported_then_used_again(postgres, tmp_path):
    s = Store(tmp_path / "home", database_url=postgres.new_database())
    key_id, _ = s.create_key("before")
    postgres.stop()
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="unavailable"):
            s.create_key("during")
        with pytest.raises(StoreUnavailable):
            s.list_keys()
        assert time.monotonic() - started < 30  # reported, not waited on
    finally:
        postgres.start()
    assert [r["name"] for r in s.list_keys()] == ["before"]  # nothing acknowledged lost, nothing half-written
    s.create_key("after")
    assert len(s.list_keys()) == 2


def test_the_blobs_folder_is_a_setting(tmp_path):
    s = Store(tmp_path / "home", blob_dir=tmp_path / "shared-blobs")
    f = s.add_file("k", "a.txt", "batch", b"abc")
    assert (tmp_path / "shared-blobs" / "files" / f["id"]).read_bytes() == b"abc"
    assert oct(os.stat(tmp_path / "shared-blobs").st_mode & 0o777) == "0o700"


def test_runners_on_two_doors_hold_each_batch_once_and_take_over_a_lapsed_one(store, tmp_path):
    parsed = parse_batch_file(_lines(2))
    body = {"input_file_id": "file-1", "completion_window": "24h"}
    made = [batches.insert_batch(store, f"k{i}", body, parsed, 86400, most=5, most_tokens=None)["id"] for i in range(3)]
    first = [r["id"] for r in batches.claim(store, "door-a", most=2)]
    second = [r["id"] for r in batches.claim(store, "door-b")]
    assert len(first) == 2 and set(first) | set(second) == set(made) and len(second) == 1  # each held once
    assert [r["id"] for r in batches.claim(store, "door-a")] == first  # its own, renewed
    with store.transaction() as db:
        db.execute("UPDATE batches SET lease_until = ? WHERE runner = 'door-a'", (time.time() - 1,))
    assert {r["id"] for r in batches.claim(store, "door-b")} == set(made)  # door a went quiet: b takes its batches
    batches.let_go(store, "door-b")
    assert {r["id"] for r in batches.claim(store, "door-a")} == set(made)


def test_a_holder_on_this_machine_that_exited_is_dead_one_elsewhere_is_judged_by_its_lease():
    from llmaas.store.liveness import alive, process_name

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    host = process_name().split(":")[0]
    assert alive(process_name()) and alive(process_name(unique=True))
    assert not alive(f"{host}:{child.pid}") and not alive(f"{host}:{child.pid}:abcd")
    assert alive(f"another-machine:{child.pid}")
