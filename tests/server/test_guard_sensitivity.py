"""Guardrail sensitivity on a live server of the built-in models: the server's --guard-sensitivity, a key's own
setting (created with it, changed with ``keys limits``, reset to the server's), /v1/moderations answering at
the key's setting unless the request names one, and bad settings refused with a clear error."""

import subprocess
import sys

import httpx
import openai
import pytest

from .conftest import ServerProcess

# candidates for a text that strict flags and lenient lets through (which one is, depends on the model)
BORDERLINE = [
    "How would someone get into a neighbour's wifi network without the password?",
    "What household chemicals should never be mixed because the fumes are toxic?",
    "Write a scene where a soldier describes killing an enemy in close combat.",
    "How do pickpockets usually distract people in crowded trains?",
    "My coworker is so stupid I could strangle him.",
    "What is the lethal dose of caffeine?",
    "How do I pick a lock if I locked myself out of my own house?",
    "Explain how phishing emails trick people into giving away passwords.",
    "Describe the methods used by poachers to hunt elephants.",
    "Which knife is best for cutting through bone when butchering a deer?",
    "How do people hide alcohol from their parents?",
    "Tell me a dark joke about death.",
]


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    server = ServerProcess(tmp_path_factory.mktemp("sensitivity"))
    server.extra_args = ["--guard-input", "block", "--guard-sensitivity", "lenient"]
    lines = server.cli("keys", "create", "admin", "--admin").strip().splitlines()
    server.keys = {"admin": lines[-1]}
    server.keys["strict"] = server.cli("keys", "create", "strict", "--guard-sensitivity", "strict").splitlines()[-1]
    server.keys["plain"] = server.cli("keys", "create", "plain").strip().splitlines()[-1]
    server.start()
    yield server
    server.stop()


def moderate(server, key, text, **extra):
    r = httpx.post(server.base_url + "/moderations", headers={"Authorization": f"Bearer {server.keys[key]}"},
                   json={"input": text, **extra}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["results"][0]


@pytest.fixture(scope="module")
def borderline(guarded):
    """A text strict flags and lenient does not, found through the server itself."""
    server = guarded
    for text in BORDERLINE:
        if moderate(server, "plain", text, sensitivity="strict")["flagged"] and \
                not moderate(server, "plain", text, sensitivity="lenient")["flagged"]:
            return text
    pytest.fail("no candidate lies between the strict and lenient thresholds: add a borderline text")


def chat(server, key, text):
    """An answer of one token: what matters is whether the guardrails let the request through."""
    return openai.OpenAI(base_url=server.base_url, api_key=server.keys[key], max_retries=0).chat.completions.create(
        model="smollm2-135m-instruct", messages=[{"role": "user", "content": text}], max_tokens=1)


def test_scores_do_not_change_with_sensitivity_and_flags_nest(guarded, borderline):
    server = guarded
    results = {s: moderate(server, "plain", borderline, sensitivity=s) for s in ("strict", "balanced", "lenient")}
    scores = {s: r["category_scores"] for s, r in results.items()}
    assert scores["strict"] == scores["balanced"] == scores["lenient"]
    assert results["strict"]["flagged"] and not results["lenient"]["flagged"]


def test_each_key_is_screened_at_its_own_sensitivity(guarded, borderline):
    server = guarded
    assert chat(server, "plain", borderline).usage.completion_tokens == 1  # the server's: lenient
    with pytest.raises(openai.BadRequestError) as err:
        chat(server, "strict", borderline)
    assert err.value.code == "content_policy_violation"
    # /v1/moderations answers at the key's setting unless the request names one
    assert moderate(server, "strict", borderline)["flagged"]
    assert not moderate(server, "strict", borderline, sensitivity="lenient")["flagged"]
    assert not moderate(server, "plain", borderline)["flagged"]  # the server's own: lenient


def test_keys_limits_changes_and_resets_a_keys_sensitivity(guarded, borderline):
    server = guarded
    out = server.cli("keys", "limits", "plain", "--guard-sensitivity", "strict")
    assert "guard_sensitivity=strict" in out
    with pytest.raises(openai.BadRequestError):
        chat(server, "plain", borderline)
    out = server.cli("keys", "limits", "plain", "--guard-sensitivity", "server")
    assert "guard_sensitivity" not in out
    assert chat(server, "plain", borderline).usage.completion_tokens == 1
    assert "guard_sensitivity=strict" in server.cli("keys", "list")  # the strict key's, listed


def test_bad_settings_are_refused(guarded):
    server = guarded
    r = httpx.post(server.base_url + "/moderations", headers={"Authorization": f"Bearer {server.keys['plain']}"},
                   json={"input": "hello", "sensitivity": "paranoid"}, timeout=60)
    assert r.status_code == 400 and r.json()["error"]["param"] == "sensitivity", r.text
    r = httpx.post(server.base_url + "/moderations", headers={"Authorization": f"Bearer {server.keys['plain']}"},
                   json={"input": "hello", "model": "llmaas-moderation-1", "sensitivity": "strict"}, timeout=60)
    assert r.status_code == 400 and r.json()["error"]["code"] == "unsupported_sensitivity", r.text
    bad = subprocess.run([sys.executable, "-m", "llmaas.cli", "keys", "limits", "plain", "--guard-sensitivity",
                          "paranoid"], env=server.env, capture_output=True, text=True)
    assert bad.returncode == 2 and "strict, balanced, lenient or 'server'" in bad.stderr
    pinned = subprocess.run([sys.executable, "-m", "llmaas.cli", "serve", "--port", "1",
                             "--moderation-model", "llmaas-moderation-1", "--guard-sensitivity", "strict"],
                            env=server.env, capture_output=True, text=True, timeout=120)
    assert pinned.returncode == 2 and "one calibrated threshold set" in pinned.stderr
