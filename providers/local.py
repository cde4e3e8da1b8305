"""The ``local`` provider: the built-in server, reached over HTTP.

It connects to ``base_url`` or ``LLMAAS_BASE_URL`` if given; otherwise it starts a server of its own on a
free loopback port (``python -m llmaas.server``) when first used, and stops it when the client closes.

    with llmaas.Client(provider="local") as client:     # a private server for this script
        client.chat.completions.create(model="local:smollm2-135m-instruct", messages=[...])
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

import anyio
import httpx

from llmaas._errors import APIConnectionError
from llmaas._threads import to_thread

from .openai_compat import OpenAICompatProvider

START_TIMEOUT = 180.0


class LocalProvider(OpenAICompatProvider):
    def __init__(self, *, base_url: str | None = None, api_key: str | None = None, home: str | None = None,
                 server_args: list[str] | None = None, **kwargs: Any) -> None:
        url = base_url or os.environ.get("LLMAAS_BASE_URL")
        self._process: subprocess.Popen[bytes] | None = None
        self._private_home: str | None = None
        self._home = home
        self._server_args = server_args or []
        self._started = anyio.Lock() if url is None else None
        if url is None:
            from llmaas.server.serve import free_port

            self._port = free_port()
            url = f"http://127.0.0.1:{self._port}/v1"
        super().__init__(base_url=url, api_key=api_key or os.environ.get("LLMAAS_API_KEY"), name="local",
                         prepare=self._ensure_server if self._started is not None else None, **kwargs)

    async def _ensure_server(self) -> None:
        assert self._started is not None
        async with self._started:
            if self._process is not None:
                if self._process.poll() is not None:
                    raise APIConnectionError(f"the local llmaas server exited with code {self._process.returncode}")
                return
            home = self._home or os.environ.get("LLMAAS_HOME")
            if home is None:  # a private home for a private server, removed when it stops
                home = self._private_home = tempfile.mkdtemp(prefix="llmaas-local-")
            self._log = tempfile.TemporaryFile()
            self._process = subprocess.Popen(
                [sys.executable, "-m", "llmaas.server", "--port", str(self._port), *self._server_args],
                env={**os.environ, "LLMAAS_HOME": home}, stdout=self._log, stderr=self._log)
            await self._wait_ready()

    async def _wait_ready(self) -> None:
        assert self._process is not None
        root = self.base_url.rsplit("/v1", 1)[0]
        deadline = time.monotonic() + START_TIMEOUT
        async with httpx.AsyncClient() as probe:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    self._log.seek(0)
                    tail = self._log.read().decode(errors="replace")[-2000:]
                    raise APIConnectionError(f"the local llmaas server failed to start:\n{tail}")
                try:
                    if (await probe.get(f"{root}/ready", timeout=2)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await anyio.sleep(0.2)
        raise APIConnectionError(f"the local llmaas server did not become ready within {START_TIMEOUT:.0f} s")

    async def aclose(self) -> None:
        await super().aclose()
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                await to_thread(process.wait, 30)
            except subprocess.TimeoutExpired:
                process.kill()
                await to_thread(process.wait)
        home, self._private_home = self._private_home, None
        if home is not None:
            await to_thread(shutil.rmtree, home, True)
