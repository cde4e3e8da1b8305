"""``Client(provider="local")`` starts a private server for a script and stops it on close."""

import llmaas

from .conftest import CHAT


def test_local_provider_starts_and_stops_its_server(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMAAS_HOME", str(tmp_path))
    monkeypatch.delenv("LLMAAS_BASE_URL", raising=False)
    with llmaas.Client(provider="local") as client:
        out = client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Hi"}], max_tokens=4)
        assert out.choices[0].message.content
        process = client.provider("local")._process
        assert process.poll() is None
    assert process.poll() is not None


def test_local_prefix_reaches_a_running_server(server, monkeypatch):
    monkeypatch.setenv("LLMAAS_BASE_URL", server.base_url)
    with llmaas.Client() as client:
        out = client.chat.completions.create(model=f"local:{CHAT}", messages=[{"role": "user", "content": "Hi"}],
                                             max_tokens=3)
        assert out.model == CHAT
        answer = client.responses.create(model=f"local:{CHAT}", input="Hi", max_output_tokens=5)  # over HTTP
        assert answer.status in ("completed", "incomplete")
        assert client.provider("local").name == "local"
        assert [c.choices for c in client.chat.completions.create(
            model=f"local:{CHAT}", messages=[{"role": "user", "content": "Hi"}], max_tokens=3, stream=True)]
