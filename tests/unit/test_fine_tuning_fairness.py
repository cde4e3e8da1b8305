"""Fine-tuning fairness (item 4): keys take turns in the queue instead of first come, first served; one key
may have only so many jobs queued or running; files are checked at upload against per-example limits,
naming the line (item 8: depth, lone surrogates, size)."""

import json
import time

import pytest

from llmaas.settings import FineTuningSettings
from llmaas.store import Store
from llmaas.store.jobs.records import create_job, next_queued, update_job
from llmaas.store.training_files import InvalidTrainingFile, TrainingLimits, check_jsonl


def start(store, job_id):
    """What the worker does when it takes a job."""
    update_job(store, job_id, status="running", started_at=time.time())
    update_job(store, job_id, status="succeeded")


def test_keys_take_turns_in_the_queue(tmp_path):
    store = Store(tmp_path)
    flood = [create_job(store, "key-a", {"model": "m", "training_file": "f"})["id"] for _ in range(5)]
    late = [create_job(store, "key-b", {"model": "m", "training_file": "f"})["id"] for _ in range(2)]
    other = create_job(store, "key-c", {"model": "m", "training_file": "f"})["id"]
    order = []
    while (job := next_queued(store)) is not None:
        order.append(job)
        start(store, job)
    # one of each key's jobs before anyone's second one; a's flood does not hold b and c back
    assert order[:3] == [flood[0], late[0], other]
    assert order[3:5] == [flood[1], late[1]] and order[5:] == flood[2:]


def test_one_key_may_queue_only_so_many_jobs(tmp_path):
    store = Store(tmp_path)
    made = [create_job(store, "key-a", {"model": "m", "training_file": "f"}, most=2) for _ in range(3)]
    assert made[0] and made[1] and made[2] is None  # the third is refused, nothing stored
    assert store.query("SELECT COUNT(*) FROM fine_tuning_jobs")[0][0] == 2
    assert create_job(store, "key-b", {"model": "m", "training_file": "f"}, most=2)  # another key's own count
    update_job(store, made[0]["id"], status="cancelled")
    assert create_job(store, "key-a", {"model": "m", "training_file": "f"}, most=2)  # room again


CHAT = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


@pytest.mark.parametrize("line, says", [
    ("[" * 50_000 + "]" * 50_000, "nested too deep"),
    ('{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "tools": '
     + "[" * 40 + "]" * 40 + "}", "nested too deep"),
    ('{"messages": [{"role": "user", "content": "\\ud800"}, {"role": "assistant", "content": "x"}]}', "lone surrogate"),
    (json.dumps({"messages": [{"role": "user", "content": "x" * 300_000}, {"role": "assistant", "content": "y"}]}),
     "bytes; an example may have at most"),
    (json.dumps({"messages": [{"role": "user", "content": "q"}] * 300 + [{"role": "assistant", "content": "a"}]}),
     "301 messages"),
])
def test_hostile_lines_are_refused_naming_the_line(line, says):
    content = (json.dumps(CHAT) + "\n" + line + "\n").encode()
    with pytest.raises(InvalidTrainingFile) as caught:
        check_jsonl(content)
    assert caught.value.args[0].startswith("line 2") and says in str(caught.value)


def test_the_limits_are_settings(monkeypatch):
    monkeypatch.setenv("LLMAAS_FT_MAX_EXAMPLES", "3")
    monkeypatch.setenv("LLMAAS_FT_MAX_MESSAGES", "2")
    limits = FineTuningSettings.resolve().limits()
    assert limits == TrainingLimits(max_examples=3, max_messages=2, max_example_bytes=256 * 1024)
    assert check_jsonl((json.dumps(CHAT) + "\n").encode() * 3, limits) == 3
    with pytest.raises(InvalidTrainingFile, match="line 4: the file holds more than 3 examples"):
        check_jsonl((json.dumps(CHAT) + "\n").encode() * 4, limits)
