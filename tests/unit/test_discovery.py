"""Third-party providers are found through the 'llmaas.providers' entry-point group."""

import subprocess
import sys
import textwrap

import llmaas
from llmaas import discovery


def test_entry_point_provider_is_discovered(tmp_path, monkeypatch):
    (tmp_path / "echo_provider.py").write_text(textwrap.dedent('''
        import time
        import llmaas
        from llmaas.types import ChatCompletion

        class EchoProvider(llmaas.BaseProvider):
            name = "echo"
            capabilities = frozenset({llmaas.Capability.CHAT})

            def __init__(self, **options):
                self.options = options

            async def chat(self, req, options):
                text = req.messages[-1].content
                return ChatCompletion(id="echo-1", created=int(time.time()), model=req.model, choices=[
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}])
    '''))
    dist = tmp_path / "echo_provider-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-provider\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[llmaas.providers]\necho = echo_provider:EchoProvider\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    discovery.refresh()
    try:
        assert "echo" in discovery.known_names()
        with llmaas.Client(timeout=3) as client:
            out = client.chat.completions.create(model="echo:any", messages=[{"role": "user", "content": "ping"}])
            assert out.choices[0].message.content == "ping" and out.model == "any"
            assert client.provider("echo").options == {"timeout": 3}
    finally:
        discovery.refresh()


def test_split_model():
    assert discovery.split_model("openai:gpt-4o-mini") == ("openai", "gpt-4o-mini")
    assert discovery.split_model("ollama:llama3:8b") == ("ollama", "llama3:8b")
    assert discovery.split_model("ft:gpt-4o:org:x") == (None, "ft:gpt-4o:org:x")
    assert discovery.split_model("smollm2-135m-instruct") == (None, "smollm2-135m-instruct")


def test_import_is_light():
    code = ("import sys, llmaas; heavy = [m for m in ('torch', 'transformers', 'fastapi', 'httpx', 'pydantic') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
