"""Test doubles for code built on llmaas.

``StubServer`` is a tiny OpenAI-shaped HTTP server on loopback (standard library only): it answers chat
completions (plain and streamed), completions, embeddings and models with canned, deterministic content.
Use it to test an application's wiring without a model, or to measure client overhead.

    with StubServer() as server:
        client = llmaas.Client(base_url=server.base_url, api_key="test")
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _chat(model: str, content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": None},
                     "finish_reason": "stop", "logprobs": None}],
        "usage": {"prompt_tokens": 1, "completion_tokens": len(content.split()), "total_tokens": 1 + len(content.split())},
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server  # pyright: ignore[reportIncompatibleVariableOverride]

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._send(200, {"object": "list", "data": [
                {"id": "stub-model", "object": "model", "created": 0, "owned_by": "llmaas-stub"}]})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found_error",
                                       "param": None, "code": None}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            req = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._send(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error",
                                       "param": None, "code": None}})
            return
        self.server.received.append(req)
        model = req.get("model", "stub-model")
        reply = self.server.reply
        if self.path.endswith("/chat/completions"):
            if req.get("stream"):
                self._stream(model, reply)
            else:
                self._send(200, _chat(model, reply))
        elif self.path.endswith("/completions"):
            self._send(200, {"id": "cmpl-stub", "object": "text_completion", "created": int(time.time()),
                             "model": model, "choices": [{"index": 0, "text": reply, "finish_reason": "stop",
                                                           "logprobs": None}]})
        elif self.path.endswith("/embeddings"):
            inputs = req.get("input")
            n = 1 if isinstance(inputs, str) else len(inputs or [])
            self._send(200, {"object": "list", "model": model, "usage": {"prompt_tokens": n, "total_tokens": n},
                             "data": [{"object": "embedding", "index": i, "embedding": [0.0, 1.0, 0.0]}
                                      for i in range(n)]})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found_error",
                                       "param": None, "code": None}})

    def _stream(self, model: str, reply: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        events = [_chunk(model, {"role": "assistant", "content": ""})]
        events += [_chunk(model, {"content": word + " "}) for word in reply.split()]
        events += [_chunk(model, {}, "stop")]
        for event in events:
            self._chunked(f"data: {json.dumps(event)}\n\n".encode())
        self._chunked(b"data: [DONE]\n\n")
        self._chunked(b"")

    def _chunked(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    reply = "Hello from the stub server."
    received: list[dict[str, Any]]


class StubServer:
    """An OpenAI-shaped server on 127.0.0.1 and a free port, for tests and benchmarks."""

    def __init__(self, reply: str = "Hello from the stub server.") -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.reply = reply
        self._server.received = []
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def received(self) -> list[dict[str, Any]]:
        """The JSON bodies of the POST requests received so far, oldest first."""
        return self._server.received

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> StubServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:  # pragma: no cover - used by benchmarks: `python -m llmaas.testing`
    server = StubServer()
    print(server.base_url, flush=True)
    server._server.serve_forever()  # pyright: ignore[reportPrivateUsage]


if __name__ == "__main__":  # pragma: no cover
    main()
