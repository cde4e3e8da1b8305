"""Bad input is a 4xx naming what was wrong, one bad request never fails another, and a model name is never
a path: against a real server subprocess."""

import asyncio
import glob
import os

import httpx
import openai
import pytest

from .conftest import CHAT, EMBED

MSG = [{"role": "user", "content": "Say hello."}]


def post(server, path, body=None, content=None):
    headers = {"Content-Type": "application/json"}
    return httpx.post(server.base_url + path, json=body, content=content, headers=headers, timeout=120)


async def test_a_poisoned_request_fails_alone(server):
    """A temperature too small to divide by used to fail every request in its batch; now it is greedy."""
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=0) as c:
        async def ordinary(i):
            return await c.chat.completions.create(model=CHAT, messages=MSG, max_tokens=6, seed=i)

        poisoned = c.chat.completions.create(model=CHAT, messages=MSG, max_tokens=6, temperature=1e-40)
        results = await asyncio.gather(poisoned, *(ordinary(i) for i in range(3)), return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)], results
    greedy = (await asyncio.to_thread(
        lambda: openai.OpenAI(base_url=server.base_url, api_key="x").chat.completions.create(
            model=CHAT, messages=MSG, max_tokens=6, temperature=0)))
    assert results[0].choices[0].message.content == greedy.choices[0].message.content


@pytest.mark.parametrize("literal, param", [
    (b'{"model": "%s", "messages": [{"role": "user", "content": "hi"}], "temperature": NaN}', "temperature"),
    (b'{"model": "%s", "messages": [{"role": "user", "content": "hi"}], "top_p": Infinity}', "top_p"),
    (b'{"model": "%s", "messages": [{"role": "user", "content": "hi"}], "presence_penalty": -Infinity}',
     "presence_penalty"),
    (b'{"model": "%s", "messages": [{"role": "user", "content": "hi"}], "logit_bias": {"1": 1e999}}', "logit_bias.1"),
    (b'{"model": "%s", "messages": [{"role": "user", "content": "hi\\ud800"}]}', "messages.0.content"),
    (b'{"model": "%s", "messages": [{"role": "user", "content": "hi"}], "stop": ["\\udfff"]}', "stop.0"),
    (b'{"model": "%s", "messages": [{"role": "user", "content": "hi"}], "metadata": {"k": "\\ud800"}}',
     "metadata.k"),
    (b'{"model": "%s", "messages": [{"role": "user", "content": [{"type": "text", "text": "\\udc00"}]}]}',
     "messages.0.content.0.text"),
])
def test_non_finite_numbers_and_lone_surrogates_are_400_naming_the_field(server, literal, param):
    r = post(server, "/chat/completions", content=literal % CHAT.encode())
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["param"] == param and err["type"] == "invalid_request_error"


@pytest.mark.parametrize("path, body, param", [
    ("/completions", {"model": CHAT, "prompt": [1, 2, 10**9], "max_tokens": 1}, "prompt"),
    ("/completions", {"model": CHAT, "prompt": [1, -5], "max_tokens": 1}, "prompt"),
    ("/completions", {"model": CHAT, "prompt": [[1, 2], [99999999]], "max_tokens": 1}, "prompt"),
    ("/embeddings", {"model": EMBED, "input": [1, 2, 10**9]}, "input"),
    ("/embeddings", {"model": EMBED, "input": [[5], [-1]]}, "input"),
    ("/embeddings", {"model": EMBED, "input": [[]]}, "input.0"),
])
def test_token_ids_outside_the_vocabulary_are_400(server, path, body, param):
    r = post(server, path, body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"].startswith(param)


def test_a_model_name_is_never_a_path(server):
    folders = glob.glob(os.path.join(server.home, "models", "*", "config.json"))
    assert folders, "the server's home holds a converted model folder"
    real = os.path.dirname(folders[0])
    spellings = [real, real + "/", real.replace("/models/", "/models//"), real.replace("/models/", "/models/./"),
                 "/no/such/folder", "/etc/passwd", "../../etc", "~/.cache"]
    answers = []
    for model in spellings:
        r = post(server, "/chat/completions", {"model": model, "messages": MSG, "max_tokens": 1})
        assert r.status_code == 404, (model, r.text)
        err = r.json()["error"]
        assert err["code"] == "model_not_found" and err["param"] == "model"
        answers.append(err["message"].replace(model, "M"))
        assert httpx.get(server.base_url + "/models/" + model.lstrip("/")).status_code == 404
    assert len(set(answers)) == 1  # an existing path and a missing one get the same answer
    assert post(server, "/embeddings", {"model": real, "input": "x"}).status_code == 404


def test_limits_are_validated_where_they_are_set(tmp_path):
    from .conftest import ServerProcess

    s = ServerProcess(tmp_path)
    for args in (["keys", "create", "k", "--rpm", "0"], ["keys", "create", "k", "--tpd", "-3"],
                 ["keys", "create", "k", "--rpm", "many"]):
        with pytest.raises(Exception) as err:
            s.cli(*args)
        assert "at least 1" in err.value.stderr or "whole number" in err.value.stderr
    assert s.cli("keys", "list").startswith("no keys")
    s.cli("keys", "create", "k", "--rpm", "5", "--tpd", "1000")
    assert "rpm=5 tpd=2000" in s.cli("keys", "limits", "k", "--tpd", "2000")  # rpm kept
    assert "rpm=unlimited tpd=2000" in s.cli("keys", "limits", "k", "--rpm", "unlimited")
    with pytest.raises(Exception) as err:
        s.cli("keys", "limits", "k", "--rpm", "0")
    assert "at least 1" in err.value.stderr
    assert "rpm=unlimited tpd=2000" in s.cli("keys", "list")


def test_revoking_a_shared_name_asks_for_the_id(tmp_path):
    from .conftest import ServerProcess

    s = ServerProcess(tmp_path)
    s.cli("keys", "create", "team")
    s.cli("keys", "create", "team")
    with pytest.raises(Exception) as err:
        s.cli("keys", "revoke", "team")
    assert "2 keys are named 'team'" in err.value.stderr and "by its id" in err.value.stderr
    first = s.cli("keys", "list").split()[0]
    assert f"revoked {first}" in s.cli("keys", "revoke", first)
    assert s.cli("keys", "list").count("active") == 1
