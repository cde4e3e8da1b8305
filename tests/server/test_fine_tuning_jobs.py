"""Fine-tuning jobs end to end on a live server: a worker process trains a LoRA adapter on the built-in model,
the job reports its steps, checkpoints and result files, and the result is served as its own model beside the
base, in the same batches. Cancelling stops the worker; a job whose server and worker are killed mid-job
resumes from its last checkpoint at the next start and finishes."""

import asyncio
import csv
import io
import json
import os
import signal
import time

import httpx
import openai
import pytest

from llmaas.store.jobs.runner import worker_pid

from .conftest import CHAT, ServerProcess

PIRATE = [{"messages": [{"role": "user", "content": f"What is {i} plus {i}?"},
                        {"role": "assistant", "content": f"Arr, {2 * i}, matey!"}]} for i in range(12)]
DATA = ("\n".join(json.dumps(r) for r in PIRATE) + "\n").encode()


def wait_for(check, timeout=240, every=0.5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out")


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    s = ServerProcess(tmp_path_factory.mktemp("tune"), LLMAAS_FT_THREADS=1)
    s.keys = {n: s.cli("keys", "create", n).strip().splitlines()[-1] for n in ("alice", "bob")}
    s.start()
    yield s
    s.stop()


def client(s, who="alice"):
    return openai.OpenAI(base_url=s.base_url, api_key=s.keys[who], max_retries=0)


def test_a_job_trains_and_its_model_is_served_beside_the_base(tuned):
    alice, bob = client(tuned), client(tuned, "bob")
    training = alice.files.create(file=("pirate.jsonl", DATA), purpose="fine-tune")
    job = alice.fine_tuning.jobs.create(model=CHAT, training_file=training.id, suffix="pirate",
                                        hyperparameters={"n_epochs": 1, "batch_size": 4})
    assert job.status in ("queued", "running") and job.fine_tuned_model is None
    done = wait_for(lambda: (j := alice.fine_tuning.jobs.retrieve(job.id)).status in
                    ("succeeded", "failed", "cancelled") and j)
    assert done.status == "succeeded", done.error
    assert done.fine_tuned_model == f"ft:{CHAT}:pirate:{job.id}" and done.finished_at
    events = list(alice.fine_tuning.jobs.list_events(job.id, limit=100))
    metrics = [e for e in events if e.type == "metrics"]
    assert len(metrics) == 3 and all(e.data["train_loss"] > 0 for e in metrics)
    assert [c.fine_tuned_model_checkpoint for c in alice.fine_tuning.jobs.checkpoints.list(job.id)] == \
        [f"{done.fine_tuned_model}:ckpt-step-3"]  # one per epoch
    assert done.trained_tokens > 0 and done.hyperparameters.n_epochs == 1
    # result files: the metrics as CSV (one row per step) and the loss curve as PNG, owner's only
    csv_id, png_id = done.result_files
    rows = list(csv.DictReader(io.StringIO(alice.files.content(csv_id).text)))
    assert [int(r["step"]) for r in rows] == [1, 2, 3] and all(float(r["train_loss"]) > 0 for r in rows)
    assert alice.files.content(png_id).content.startswith(b"\x89PNG")
    assert alice.files.retrieve(png_id).purpose == "fine-tune-results"
    with pytest.raises(openai.NotFoundError):
        bob.files.retrieve(csv_id)
    # served at once, in the same server and the same batches as the base, for its owner only
    async def both():
        async with openai.AsyncOpenAI(base_url=tuned.base_url, api_key=tuned.keys["alice"], max_retries=0) as c:
            ask = [{"role": "user", "content": "What is 7 plus 7?"}]
            return await asyncio.gather(*(c.chat.completions.create(model=m, max_tokens=12, temperature=0,
                                                                    messages=ask)
                                          for m in (done.fine_tuned_model, CHAT, done.fine_tuned_model)))
    tuned_reply, base_reply, again = asyncio.run(both())
    assert tuned_reply.model == done.fine_tuned_model and base_reply.model == CHAT
    assert tuned_reply.choices[0].message.content == again.choices[0].message.content
    assert base_reply.choices[0].message.content
    assert done.fine_tuned_model in [m.id for m in alice.models.list()]
    assert done.fine_tuned_model not in [m.id for m in bob.models.list()]
    with pytest.raises(openai.NotFoundError):
        bob.fine_tuning.jobs.retrieve(job.id)
    with pytest.raises(openai.BadRequestError, match="already succeeded"):
        alice.fine_tuning.jobs.cancel(job.id)
    assert alice.models.delete(done.fine_tuned_model).deleted
    with pytest.raises(openai.NotFoundError):
        alice.chat.completions.create(model=done.fine_tuned_model, max_tokens=2,
                                      messages=[{"role": "user", "content": "Hi"}])


def test_cancelling_stops_the_worker(tuned):
    alice = client(tuned)
    training = alice.files.create(file=("pirate.jsonl", DATA), purpose="fine-tune")
    job = alice.fine_tuning.jobs.create(model=CHAT, training_file=training.id,
                                        hyperparameters={"n_epochs": 50, "batch_size": 1})
    wait_for(lambda: any(e.type == "metrics" for e in alice.fine_tuning.jobs.list_events(job.id, limit=5)))
    cancelled = alice.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled"
    time.sleep(3)  # a step or two may land after the cancel; then no more
    seen = len(list(alice.fine_tuning.jobs.list_events(job.id, limit=100)))
    time.sleep(3)
    assert len(list(alice.fine_tuning.jobs.list_events(job.id, limit=100))) == seen
    final = alice.fine_tuning.jobs.retrieve(job.id)
    assert final.status == "cancelled" and final.fine_tuned_model is None


def test_a_job_killed_mid_training_resumes_from_its_checkpoint(tmp_path):
    s = ServerProcess(tmp_path)
    s.start()
    oai = openai.OpenAI(base_url=s.base_url, api_key="x", max_retries=0)
    training = oai.files.create(file=("pirate.jsonl", DATA), purpose="fine-tune")
    job = oai.fine_tuning.jobs.create(model=CHAT, training_file=training.id,
                                      hyperparameters={"n_epochs": 3, "batch_size": 4})
    wait_for(lambda: list(oai.fine_tuning.jobs.checkpoints.list(job.id)))  # the first epoch is saved
    pid = worker_pid(s.home)
    assert pid is not None
    s.proc.send_signal(signal.SIGKILL)  # the server and its worker die at once
    os.kill(pid, signal.SIGKILL)
    s.proc.wait(30)
    s.log.close()
    assert oai_status(s, job.id) == "running"  # as the dead worker left it
    s.start()
    try:
        oai = openai.OpenAI(base_url=s.base_url, api_key="x", max_retries=0)
        done = wait_for(lambda: (j := oai.fine_tuning.jobs.retrieve(job.id)).status in
                        ("succeeded", "failed", "cancelled") and j)
        assert done.status == "succeeded", done.error
        messages = [e.message for e in oai.fine_tuning.jobs.list_events(job.id, limit=100)]
        assert any("resumes from the checkpoint at step" in m for m in messages), messages
        steps = [c.step_number for c in oai.fine_tuning.jobs.checkpoints.list(job.id)]
        assert sorted(steps) == [3, 6, 9]
        assert oai.chat.completions.create(model=done.fine_tuned_model, max_tokens=3,
                                           messages=[{"role": "user", "content": "Hi"}]).choices
        assert httpx.get(s.root + "/health").status_code == 200
    finally:
        s.stop()


def oai_status(s, job_id):
    import sqlite3

    db = sqlite3.connect(f"{s.home}/llmaas.db")
    try:
        return db.execute("SELECT status FROM fine_tuning_jobs WHERE id = ?", (job_id,)).fetchone()[0]
    finally:
        db.close()
