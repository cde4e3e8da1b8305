"""What `client.models` says in process, beyond OpenAI's four fields, and `llmaas models list|show`."""

import json
import subprocess
import sys

from .conftest import CHAT, EMBED


def test_details_of_the_built_in_models(client):
    client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "hi"}], max_tokens=1)
    models = {m.id: m for m in client.models.list()}
    chat, embed = models[CHAT], models[EMBED]
    assert (chat.kind, chat.architecture, chat.loaded) == ("chat", "LlamaForCausalLM", True)
    assert 1.3e8 < chat.parameters < 1.4e8 and chat.context_length == 8192 and chat.size_bytes > 5e7
    assert chat.source and chat.source.endswith(".gguf")
    assert embed.kind == "embedding" and embed.capabilities == ["embeddings"] and embed.architecture == "BertModel"
    assert models["llmaas-moderation-1"].base == EMBED and models["llmaas-moderation-2"].base == CHAT
    assert client.models.retrieve(CHAT).to_dict() == chat.to_dict()


def run(*args, home):
    return subprocess.run([sys.executable, "-m", "llmaas.cli", "--home", str(home), "models", *args],
                          capture_output=True, text=True, timeout=300)


def test_the_models_commands(tmp_path):
    table = run("list", home=tmp_path)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split()[:3] == ["ID", "KIND", "ARCHITECTURE"]
    assert any(r.split()[:3] == [CHAT, "chat", "LlamaForCausalLM"] for r in rows)
    listed = json.loads(run("list", "--json", home=tmp_path).stdout)
    assert {m["id"] for m in listed} >= {CHAT, EMBED, "llmaas-moderation-1", "llmaas-moderation-2"}
    assert json.loads(run("show", EMBED, home=tmp_path).stdout)["kind"] == "embedding"
    missing = run("show", "no-such-model", home=tmp_path)
    assert missing.returncode == 1 and "no-such-model" in missing.stderr


def test_ps_shows_what_is_loaded(client, tmp_path):
    client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "hi"}], max_tokens=1)
    client.embeddings.create(model=EMBED, input="hi")
    loaded = {m.id: m for m in client.models.ps()}
    chat = loaded[CHAT]
    assert chat.kind == "chat" and chat.engine == "compact" and chat.memory_bytes > 2e8  # weights and KV cache
    assert chat.running == 0 and chat.waiting == 0 and chat.adapters == []
    assert loaded[EMBED].kind == "embedding" and 5e7 < loaded[EMBED].memory_bytes < 2e8
    table = run("ps", home=tmp_path)  # a new process: nothing loaded yet, the header alone
    assert table.returncode == 0 and table.stdout.split()[:7] == ["ID", "KIND", "ENGINE", "MEMORY", "RUNNING",
                                                                 "WAITING", "ADAPTERS"]
