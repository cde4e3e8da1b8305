import os
import subprocess
import sys
import time

import httpx
import pytest

from llmaas.server.serve import free_port

from ..conftest import link_tree

CHAT = "smollm2-135m-instruct"
EMBED = "all-minilm-l6-v2"


def without_lifespan(app):
    """``app`` for an ASGI test client that starts and stops it around every request: its lifespan would
    close the provider and the store, which a test module keeps for the whole run."""
    async def served(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        await app(scope, receive, send)
    return served


def _seed_converted_models(home):
    """Link the built-in model this test process already converted (in its own LLMAAS_HOME) into a new
    server's home, so each server does not convert the GGUF again (about 20 s each)."""
    from llmaas.providers.huggingface.management.loading import SMOLLM2, builtin_sources, converted_dir

    source = builtin_sources().get(SMOLLM2)
    folder = converted_dir(source) if source is not None else None  # the one for the installed GGUF
    if folder is not None and (folder / "config.json").exists() and not os.path.exists(os.path.join(home, "models")):
        link_tree(folder, os.path.join(home, "models", folder.name))


class ServerProcess:
    """``llmaas serve`` in a subprocess on a free port, with its own LLMAAS_HOME."""

    def __init__(self, home, **env):
        self.home = str(home)
        _seed_converted_models(self.home)
        self.env = {**os.environ, "LLMAAS_HOME": self.home, "HF_HUB_OFFLINE": "1",
                    **{k: str(v) for k, v in env.items()}}
        self.port = free_port()
        self.proc = None

    @property
    def root(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self):
        return self.root + "/v1"

    def cli(self, *args):
        out = subprocess.run([sys.executable, "-m", "llmaas.cli", *args], env=self.env, capture_output=True,
                             text=True, check=True)
        return out.stdout

    def start(self):
        self.log = open(os.path.join(self.home, "server.log"), "ab")
        args = ["--port", str(self.port), *getattr(self, "extra_args", [])]
        self.proc = subprocess.Popen([sys.executable, "-m", "llmaas.server", *args],
                                     env=self.env, stdout=self.log, stderr=self.log)
        deadline = time.time() + 180
        while time.time() < deadline:
            assert self.proc.poll() is None, open(os.path.join(self.home, "server.log")).read()[-3000:]
            try:
                if httpx.get(self.root + "/ready", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not become ready")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(60)
        self.log.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """A server without keys (loopback, no auth), with a small queue for the 429 test."""
    s = ServerProcess(tmp_path_factory.mktemp("open"), LLMAAS_MAX_NUM_SEQS=4, LLMAAS_MAX_WAITING=4).start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def oai(server):
    import openai

    return openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0)
