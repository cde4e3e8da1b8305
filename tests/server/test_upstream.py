"""The server in front of a remote API that fails: it does not multiply retries, passes the upstream's status
and hints through, and answers 502 or 504 in the OpenAI envelope, never a 500."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import openai
import pytest

import llmaas

from .conftest import ServerProcess

MSG = [{"role": "user", "content": "Hi"}]


class Upstream(ThreadingHTTPServer):
    daemon_threads = True
    mode = "500"

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen = []

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Upstream

    def log_message(self, *args):
        return

    def _send(self, status, body, content_type="application/json", headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append(dict(self.headers))
        mode = self.server.mode
        if mode == "hang":
            time.sleep(3)
            return self._send(200, {})
        if mode == "garbage":
            return self._send(200, b"<html>upstream proxy page</html>", "text/html")
        if mode == "half-json":
            return self._send(200, {"id": "x", "choices": "not a list"})
        if mode == "401":
            return self._send(401, {"error": {"message": "bad upstream key", "type": "invalid_request_error",
                                              "param": None, "code": "invalid_api_key"}})
        if mode == "429":
            return self._send(429, {"error": {"message": "slow down", "type": "rate_limit_error", "param": None,
                                              "code": None}}, headers=[("Retry-After", "7"), ("x-should-retry", "true")])
        return self._send(500, {"error": {"message": "upstream exploded", "type": "server_error", "param": None,
                                          "code": None}})


@pytest.fixture(scope="module")
def upstream():
    u = Upstream()
    threading.Thread(target=u.serve_forever, daemon=True).start()
    yield u
    u.shutdown()


@pytest.fixture(scope="module")
def front(tmp_path_factory, upstream):
    s = ServerProcess(tmp_path_factory.mktemp("upstream"), LLMAAS_UPSTREAM_TIMEOUT=1)
    s.extra_args = ["--base-url", upstream.base_url]
    s.start()
    yield s
    s.stop()


def call(front, mode, upstream):
    upstream.mode = mode
    upstream.seen.clear()
    return httpx.post(front.base_url + "/chat/completions", json={"model": "m", "messages": MSG}, timeout=30)


@pytest.fixture
def quick_backoff(monkeypatch):
    import llmaas._retry as retry

    monkeypatch.setattr(retry, "INITIAL_BACKOFF", 0.01)


def test_one_sdk_call_is_one_upstream_request_per_attempt(front, upstream, quick_backoff):
    upstream.mode = "500"
    upstream.seen.clear()
    with llmaas.Client(base_url=front.base_url, api_key="x", max_retries=2) as client:
        with pytest.raises(llmaas.InternalServerError) as err:
            client.chat.completions.create(model="m", messages=MSG)
    assert err.value.status_code == 500 and "upstream exploded" in err.value.message
    assert len(upstream.seen) == 3  # the SDK's three attempts, each passed through once (it was 9)
    assert [h.get("x-stainless-retry-count") for h in upstream.seen] == ["0", "0", "0"]  # the server never retries


def test_the_sdk_numbers_its_retries(upstream, quick_backoff):
    upstream.mode = "500"
    upstream.seen.clear()
    with llmaas.Client(base_url=upstream.base_url, api_key="x", max_retries=2) as client:
        with pytest.raises(llmaas.InternalServerError):
            client.chat.completions.create(model="m", messages=MSG)
    assert [h.get("x-stainless-retry-count") for h in upstream.seen] == ["0", "1", "2"]


@pytest.mark.parametrize("mode, status, code", [
    ("garbage", 502, "upstream_invalid_response"),
    ("half-json", 502, "upstream_invalid_response"),
    ("hang", 504, "upstream_timeout"),
    ("401", 502, "upstream_auth_failed"),
])
def test_upstream_failures_are_502_or_504_in_the_envelope(front, upstream, mode, status, code):
    r = call(front, mode, upstream)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["type"] == "server_error" and "bug" not in err["message"]
    assert len(upstream.seen) == 1


def test_upstream_rate_limits_pass_through_with_their_hints(front, upstream):
    r = call(front, "429", upstream)
    assert r.status_code == 429 and r.headers["retry-after"] == "7" and r.headers["x-should-retry"] == "true"
    assert len(upstream.seen) == 1


def test_an_upstream_that_is_down_is_502(tmp_path):
    s = ServerProcess(tmp_path)
    s.extra_args = ["--base-url", "http://127.0.0.1:9/v1"]  # the discard port: nothing listens
    s.start()
    try:
        r = httpx.post(s.base_url + "/chat/completions", json={"model": "m", "messages": MSG}, timeout=30)
        assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_unavailable"
        with pytest.raises(openai.InternalServerError):
            openai.OpenAI(base_url=s.base_url, api_key="x", max_retries=0).chat.completions.create(
                model="m", messages=MSG)
        stream = httpx.post(s.base_url + "/chat/completions", timeout=30,
                            json={"model": "m", "messages": MSG, "stream": True})
        assert stream.status_code == 502
    finally:
        s.stop()
