"""A job left running by a dead worker goes back to the queue to resume (from its last checkpoint, which
the event names) and fails with a reason after repeated interruptions; one worker holds a home's lock."""

import json
import multiprocessing
import time

from llmaas.store import Store
from llmaas.store.jobs.records import add_checkpoint, create_job, get_job, update_job
from llmaas.store.jobs.runner import worker_lock, worker_pid, worker_running
from llmaas.store.jobs.worker import MAX_ATTEMPTS, recover


def events(store, job_id):
    return [json.loads(r["body"])["message"] for r in
            store.query("SELECT body FROM fine_tuning_events WHERE job_id = ? ORDER BY seq", (job_id,))]


def job(store, **state):
    j = create_job(store, "key-1", {"model": "m", "training_file": "file-1"})
    update_job(store, j["id"], **state)
    return j["id"]


def test_an_interrupted_job_is_queued_again_to_resume(tmp_path):
    store = Store(tmp_path)
    fresh = job(store, status="running", attempts=1)
    saved = job(store, status="running", attempts=1)
    add_checkpoint(store, saved, "ft:m:x:ckpt-step-3", 3, {"step": 3})
    recover(store)
    assert get_job(store, fresh)["status"] == "queued" and get_job(store, saved)["status"] == "queued"
    assert events(store, fresh)[-1] == "The job was interrupted; it resumes from the start"
    assert events(store, saved)[-1] == "The job was interrupted; it resumes from the checkpoint at step 3"
    assert get_job(store, saved)["owner"] == "key-1"  # nothing else about it changed
    store.close()


def test_a_job_interrupted_again_and_again_fails_with_a_reason(tmp_path):
    store = Store(tmp_path)
    stuck = job(store, status="running", attempts=MAX_ATTEMPTS)
    done = job(store, status="succeeded")
    recover(store)
    failed = get_job(store, stuck)
    assert failed["status"] == "failed" and failed["error"]["code"] == "interrupted"
    assert f"stopped {MAX_ATTEMPTS} times" in failed["error"]["message"] and failed["finished_at"]
    assert get_job(store, done)["status"] == "succeeded"
    store.close()


def _hold(home, ready, release):
    with worker_lock(home) as mine:
        assert mine
        ready.set()
        release.wait(10)


def test_one_worker_holds_a_home(tmp_path):
    assert not worker_running(tmp_path) and worker_pid(tmp_path) is None
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(tmp_path, ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        assert worker_running(tmp_path) and worker_pid(tmp_path) == holder.pid
        with worker_lock(tmp_path) as mine:
            assert not mine
    finally:
        release.set()
        holder.join(10)
    deadline = time.time() + 5
    while worker_running(tmp_path) and time.time() < deadline:
        time.sleep(0.05)
    assert not worker_running(tmp_path)
