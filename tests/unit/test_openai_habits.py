"""Code written the openai-python way runs on llmaas (in process and against any OpenAI-style server)."""

import asyncio
import os
import subprocess
import sys

import httpx
import pytest

import llmaas
from llmaas.resources.chat import as_input_message
from llmaas.testing import StubServer
from llmaas.types import ChatCompletion, ChatCompletionMessage, ChatCompletionRequest

MSG = [{"role": "user", "content": "Hi"}]


def test_a_replys_message_is_accepted_as_the_next_turns_input():
    message = ChatCompletionMessage.model_validate({
        "role": "assistant", "content": None, "refusal": None, "annotations": [], "audio": None,
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]})
    req = ChatCompletionRequest.model_validate({"model": "m", "messages": [
        {"role": "user", "content": "hi"}, as_input_message(message),
        {"role": "tool", "tool_call_id": "call_1", "content": "42"}]})
    assert req.messages[1].role == "assistant" and req.messages[1].tool_calls[0].id == "call_1"
    # the same message as openai-python serialises it (every field, nulls included)
    wire = {"role": "assistant", "content": "hello", "refusal": None, "annotations": None, "audio": None,
            "function_call": None, "tool_calls": None}
    ChatCompletionRequest.model_validate({"model": "m", "messages": [wire]})


def test_the_agent_loop_appends_replies_against_a_server():
    with StubServer() as server, llmaas.Client(base_url=server.base_url, api_key="k") as client:
        messages: list = [{"role": "user", "content": "Hi"}]
        for _ in range(3):
            reply = client.chat.completions.create(model="stub-model", messages=messages)
            messages.append(reply.choices[0].message)
            messages.append({"role": "user", "content": "And then?"})
        assert len(messages) == 7


def test_async_pages_iterate_without_await_and_close_is_there():
    async def main():
        with StubServer() as server:
            client = llmaas.AsyncClient(base_url=server.base_url, api_key="k")
            ids = [m.id async for m in client.models.list()]
            page = await client.models.list()
            await client.close()
            return ids, [m.id for m in page.data]

    ids, first = asyncio.run(main())
    assert ids == first == ["stub-model"]


def _chat_body(model="m"):
    return {"id": "c", "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]}


def _recording():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=_chat_body())

    return seen, handler


def test_base_url_clients_read_the_key_from_the_environment(monkeypatch):
    seen, handler = _recording()
    monkeypatch.delenv("LLMAAS_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    with llmaas.Client(base_url="http://api.test/v1", http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler))) as c:
        c.chat.completions.create(model="m", messages=MSG)
    monkeypatch.setenv("LLMAAS_API_KEY", "sk-llmaas")
    with llmaas.Client(base_url="http://api.test/v1", http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler))) as c:
        c.chat.completions.create(model="m", messages=MSG)
    assert [r.headers["authorization"] for r in seen] == ["Bearer sk-openai", "Bearer sk-llmaas"]


def test_the_sync_client_takes_a_sync_httpx_client():
    seen, handler = _recording()
    hooked = []
    sync_http = httpx.Client(transport=httpx.MockTransport(handler), event_hooks={"request": [hooked.append]})
    with llmaas.Client(base_url="http://api.test/v1", api_key="k", http_client=sync_http) as c:
        assert c.chat.completions.create(model="m", messages=MSG).choices[0].message.content == "ok"
    assert len(seen) == 1 and len(hooked) == 1


def test_http_client_reaches_every_openai_style_provider(monkeypatch):
    seen, handler = _recording()
    monkeypatch.setenv("GROQ_API_KEY", "gsk")
    with llmaas.Client(http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler))) as c:  # default: hf
        c.chat.completions.create(model="groq:llama-3.1-8b-instant", messages=MSG)
    assert seen and seen[0].url.host == "api.groq.com"


def test_with_options_applies_to_every_request_and_shares_the_provider():
    seen, handler = _recording()
    with llmaas.Client(base_url="http://api.test/v1", api_key="k",
                       http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler))) as c:
        quick = c.with_options(timeout=3.0, max_retries=0, extra_headers={"X-Team": "a"})
        quick.chat.completions.create(model="m", messages=MSG, extra_headers={"X-Call": "b"})
        c.chat.completions.create(model="m", messages=MSG)
        assert quick.provider() is c.provider()
    assert seen[0].headers["x-team"] == "a" and seen[0].headers["x-call"] == "b"
    assert seen[0].extensions["timeout"]["read"] == 3.0
    assert "x-team" not in seen[1].headers


def test_register_provider_from_a_script(monkeypatch):
    from llmaas import discovery

    monkeypatch.setattr(discovery, "_registered", {})  # this test's registration ends with it
    class Echo(llmaas.BaseProvider):
        name = "echo"
        capabilities = frozenset({llmaas.Capability.CHAT})

        def __init__(self, **options):
            self.options = options

        async def chat(self, req, options):
            return ChatCompletion.model_validate(_chat_body(req.model))

    llmaas.register_provider("scripted", Echo)
    with llmaas.Client() as c:
        reply = c.chat.completions.create(model="scripted:anything", messages=MSG)
        assert reply.model == "anything"
    with pytest.raises(llmaas.ConfigurationError):
        llmaas.register_provider("bad:name", Echo)


def test_llmaas_log_shows_requests_and_retries(tmp_path):
    script = tmp_path / "s.py"
    script.write_text(
        "import llmaas\nfrom llmaas.testing import StubServer\n"
        "with StubServer() as s, llmaas.Client(base_url=s.base_url, api_key='k') as c:\n"
        "    c.chat.completions.create(model='m', messages=[{'role': 'user', 'content': 'x'}])\n")
    out = subprocess.run([sys.executable, str(script)], env={**os.environ, "LLMAAS_LOG": "debug"},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "request: POST" in out.stderr and "-> 200" in out.stderr
    quiet = subprocess.run([sys.executable, str(script)], env={k: v for k, v in os.environ.items() if k != "LLMAAS_LOG"},
                           capture_output=True, text=True, timeout=60)
    assert "request: POST" not in quiet.stderr


def test_with_raw_response_gives_status_headers_and_the_parsed_result():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"object": "list", "data": [
                {"id": "m1", "object": "model", "created": 0, "owned_by": "x"}]}, headers={"x-request-id": "req_list"})
        return httpx.Response(200, json=_chat_body(), headers={"x-request-id": "req_chat", "x-ratelimit-remaining-requests": "9"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    with llmaas.Client(base_url="http://api.test/v1", api_key="k", http_client=http) as c:
        raw = c.chat.completions.with_raw_response.create(model="m", messages=MSG)
        assert raw.status_code == 200 and raw.request_id == "req_chat"
        assert raw.headers["x-ratelimit-remaining-requests"] == "9"
        assert raw.parse().choices[0].message.content == "ok"
        page = c.models.with_raw_response.list()
        assert page.request_id == "req_list" and [m.id for m in page.parse()] == ["m1"]
        plain = c.chat.completions.create(model="m", messages=MSG)  # an ordinary call is unchanged
        assert plain.choices[0].message.content == "ok"

    async def main():
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        async with llmaas.AsyncClient(base_url="http://api.test/v1", api_key="k", http_client=http) as c:
            raw = await c.chat.completions.with_raw_response.create(model="m", messages=MSG)
            emb_handler_ok = raw.request_id == "req_chat"
            listed = await c.models.with_raw_response.list()
            return emb_handler_ok, listed.request_id, [m.id for m in listed.parse().data]

    assert asyncio.run(main()) == (True, "req_list", ["m1"])


def test_with_raw_response_in_process_has_no_http_side():
    class Echo(llmaas.BaseProvider):
        name = "echo-raw"
        capabilities = frozenset({llmaas.Capability.CHAT})

        async def chat(self, req, options):
            return ChatCompletion.model_validate(_chat_body(req.model))

    with llmaas.Client(provider=Echo()) as c:
        raw = c.chat.completions.with_raw_response.create(model="x", messages=MSG)
        assert raw.status_code == 200 and raw.request_id is None and raw.http_response is None
        assert raw.parse().model == "x"


def test_with_raw_response_on_files():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'{"prompt": "p"}\n', headers={"x-request-id": "req_file"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    with llmaas.Client(base_url="http://api.test/v1", api_key="k", http_client=http) as c:
        raw = c.files.with_raw_response.content("file-1")
        assert raw.request_id == "req_file" and raw.parse() == b'{"prompt": "p"}\n'


def test_a_misspelt_client_option_is_a_type_error():
    with pytest.raises(TypeError, match="unexpected client option 'base_ur'"):
        llmaas.Client(base_ur="http://x")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="provider_options"):
        llmaas.AsyncClient(dtype="float32")  # type: ignore[call-arg]
