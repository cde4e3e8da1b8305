"""examples/router.py against a real remote's address, the remote mocked with respx (no internet here):
the short prompt stays local, the one too long for the local model goes to the remote."""

import json
import runpy
from pathlib import Path

import httpx
import respx

EXAMPLE = Path(__file__).parent.parent / "examples" / "router.py"
REMOTE = "https://api.groq.com/openai/v1"


def test_local_first_with_a_remote_fallback(monkeypatch, capsys):
    monkeypatch.setenv("REMOTE_BASE_URL", REMOTE)
    monkeypatch.setenv("REMOTE_MODEL", "llama-3.1-8b-instant")
    monkeypatch.setenv("REMOTE_API_KEY", "gsk-test")
    body = {"id": "chatcmpl-r", "object": "chat.completion", "created": 1, "model": "llama-3.1-8b-instant",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Revenue grew."},
                         "finish_reason": "stop", "logprobs": None}],
            "usage": {"prompt_tokens": 9000, "completion_tokens": 4, "total_tokens": 9004}}
    with respx.mock:
        route = respx.post(f"{REMOTE}/chat/completions").mock(return_value=httpx.Response(200, json=body))
        runpy.run_path(str(EXAMPLE), run_name="__main__")
    assert route.call_count == 1  # only the long prompt left the machine
    sent = json.loads(route.calls.last.request.content)
    assert sent["model"] == "llama-3.1-8b-instant" and "Summarise" in sent["messages"][0]["content"]
    assert route.calls.last.request.headers["authorization"] == "Bearer gsk-test"
    out = capsys.readouterr().out
    assert "short prompt -> smollm2-135m-instruct" in out and "long prompt  -> llama-3.1-8b-instant : Revenue grew." in out
    assert "chat-remote-1: 9000 + 4 tokens, $0.00045032" in out
