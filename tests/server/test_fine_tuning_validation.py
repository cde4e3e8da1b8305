"""Creating a fine-tuning job checks everything it can before any work starts, each problem a clear 4xx.
No stored file or job is changed by a refused request."""

import json

import openai
import pytest

from .conftest import CHAT, ServerProcess

EXAMPLE = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Ahoy!"}]}


def jsonl(n, row=EXAMPLE):
    return ("\n".join(json.dumps(row) for _ in range(n)) + "\n").encode()


@pytest.fixture(scope="module")
def ft(tmp_path_factory):
    s = ServerProcess(tmp_path_factory.mktemp("ft"))
    s.keys = {n: s.cli("keys", "create", n).strip().splitlines()[-1] for n in ("alice", "bob")}
    s.start()
    alice = openai.OpenAI(base_url=s.base_url, api_key=s.keys["alice"], max_retries=0)
    s.files = {
        "good": alice.files.create(file=("good.jsonl", jsonl(12)), purpose="fine-tune").id,
        "few": alice.files.create(file=("few.jsonl", jsonl(3)), purpose="fine-tune").id,
        "other": alice.files.create(file=("notes.txt", b"just notes"), purpose="user_data").id,
    }
    yield s
    s.stop()


def client(s, key="alice"):
    return openai.OpenAI(base_url=s.base_url, api_key=s.keys[key], max_retries=0)


@pytest.mark.parametrize(("kwargs", "status", "param", "message"), [
    ({"training_file": "file-missing"}, 400, "training_file", "no such file"),
    ({"training_file": "@other"}, 400, "training_file", "purpose 'user_data'"),
    ({"training_file": "@few"}, 400, "training_file", "holds 3 examples; training needs at least 10"),
    ({"training_file": "@good", "validation_file": "@other"}, 400, "validation_file", "purpose 'user_data'"),
    ({"training_file": "@good", "suffix": "my model!"}, 400, "suffix", "should match pattern"),
    ({"training_file": "@good", "hyperparameters": {"n_epochs": 0}}, 400, "hyperparameters.n_epochs", ""),
    ({"training_file": "@good", "hyperparameters": {"learning_rate_multiplier": -1}}, 400,
     "hyperparameters.learning_rate_multiplier", ""),
    ({"training_file": "@good", "model": "gpt-4o-mini"}, 404, "model", "does not exist"),
])
def test_bad_job_requests_are_4xx_naming_the_problem(ft, kwargs, status, param, message):
    body = {"model": CHAT, **kwargs}
    for key in ("training_file", "validation_file"):
        if isinstance(body.get(key), str) and body[key].startswith("@"):
            body[key] = ft.files[body[key][1:]]
    with pytest.raises(openai.APIStatusError) as err:
        client(ft).fine_tuning.jobs.create(**body)
    assert err.value.status_code == status
    assert err.value.body["param"].startswith(param) and message in err.value.body["message"]


def test_another_keys_file_is_not_found(ft):
    with pytest.raises(openai.BadRequestError, match="no such file"):
        client(ft, "bob").fine_tuning.jobs.create(model=CHAT, training_file=ft.files["good"])


def test_refused_requests_change_nothing(ft):
    assert client(ft).fine_tuning.jobs.list().data == []
    assert {f.id for f in client(ft).files.list()} == set(ft.files.values())
    assert client(ft).files.content(ft.files["good"]).read() == jsonl(12)

