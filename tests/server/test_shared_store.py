"""One store, both ways in: a file uploaded from a script (the in-process client) is there for `llmaas serve`
on the same home, and the reverse."""

import json
import time

import openai
import pytest

import llmaas

from .conftest import CHAT, ServerProcess

TRAIN = b'{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Ahoy!"}]}\n'


def test_files_cross_between_a_script_and_the_server(tmp_path):
    home = tmp_path / "home"
    with llmaas.Client(provider_options={"hf": {"home": str(home)}}) as script:
        mine = script.files.create(file=("train.jsonl", TRAIN), purpose="fine-tune")
        with pytest.raises(llmaas.BadRequestError, match="line 1, message 0 has no role") as err:
            script.files.create(file=("bad.jsonl", b'{"messages": [{"content": "x"}]}'), purpose="fine-tune")
        assert err.value.param == "file"
    server = ServerProcess(home).start()
    try:
        oai = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        assert [f.id for f in oai.files.list()] == [mine.id]
        assert oai.files.content(mine.id).read() == TRAIN
        theirs = oai.files.create(file=("more.jsonl", TRAIN), purpose="fine-tune")
    finally:
        server.stop()
    with llmaas.Client(provider_options={"hf": {"home": str(home)}}) as script:
        assert {f.id for f in script.files.list()} == {mine.id, theirs.id}
        assert script.files.content(theirs.id) == TRAIN
        assert script.files.delete(theirs.id).deleted
        with pytest.raises(llmaas.NotFoundError):
            script.files.retrieve(theirs.id)


PIRATE = b"".join(
    json.dumps({"messages": [{"role": "user", "content": f"What is {i} plus {i}?"},
                             {"role": "assistant", "content": f"Arr, {2 * i}, matey!"}]}).encode() + b"\n"
    for i in range(10))


def test_a_model_fine_tuned_from_a_script_is_served_by_the_server_and_the_script(tmp_path):
    home = tmp_path / "home"
    with llmaas.Client(provider_options={"hf": {"home": str(home), "progress": False}}) as script:
        training = script.files.create(file=("pirate.jsonl", PIRATE), purpose="fine-tune")
        with pytest.raises(llmaas.BadRequestError, match="lora.rank must be an integer"):
            script.fine_tuning.jobs.create(model=CHAT, training_file=training.id, lora={"rank": 0})
        with pytest.raises(llmaas.BadRequestError, match="embedding model"):
            script.fine_tuning.jobs.create(model="all-minilm-l6-v2", training_file=training.id)
        held_out = script.files.create(file=("held_out.jsonl", PIRATE[: PIRATE.index(b"\n") + 1]),
                                       purpose="fine-tune")
        job = script.fine_tuning.jobs.create(model=CHAT, training_file=training.id, suffix="script",
                                             validation_file=held_out.id,
                                             hyperparameters={"n_epochs": 1, "batch_size": 5},
                                             lora={"rank": 4, "alpha": 8})
        assert [j.id for j in script.fine_tuning.jobs.list()] == [job.id]
        deadline = time.time() + 240
        while (done := script.fine_tuning.jobs.retrieve(job.id)).status not in ("succeeded", "failed"):
            assert time.time() < deadline
            time.sleep(0.5)
        assert done.status == "succeeded", done.error
        metrics = [e.data for e in script.fine_tuning.jobs.list_events(job.id, limit=50) if e.type == "metrics"]
        assert [m["step"] for m in metrics if "valid_loss" in m] == [2]  # at the end of the epoch
        checkpoint, = script.fine_tuning.jobs.checkpoints.list(job.id)
        assert checkpoint.metrics.valid_loss and checkpoint.metrics.valid_loss > 0
        assert done.fine_tuned_model in [m.id for m in script.models.list()]
        reply = script.chat.completions.create(model=done.fine_tuned_model, max_tokens=4,
                                               messages=[{"role": "user", "content": "Hi"}])
        assert reply.model == done.fine_tuned_model and reply.choices[0].message.content
    server = ServerProcess(home).start()
    try:
        oai = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
        assert oai.fine_tuning.jobs.retrieve(job.id).fine_tuned_model == done.fine_tuned_model
        assert oai.chat.completions.create(model=done.fine_tuned_model, max_tokens=4,
                                           messages=[{"role": "user", "content": "Hi"}]).choices
        assert oai.models.delete(done.fine_tuned_model).deleted
    finally:
        server.stop()
    with llmaas.Client(provider_options={"hf": {"home": str(home), "progress": False}}) as script:
        with pytest.raises(llmaas.NotFoundError):
            script.chat.completions.create(model=done.fine_tuned_model, max_tokens=2,
                                           messages=[{"role": "user", "content": "Hi"}])
        with pytest.raises(llmaas.PermissionDeniedError):
            script.models.delete(CHAT)
