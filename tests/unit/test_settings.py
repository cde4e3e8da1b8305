"""Each setting is declared once (llmaas.settings): explicit arguments win over the environment, unknown
names and bad values are ConfigurationErrors that name them, and every LLMAAS_* variable is documented."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

import llmaas
from llmaas.settings import EngineSettings, ServerSettings, markdown, variables

ROOT = Path(__file__).parent.parent.parent


def test_an_explicit_zero_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("LLMAAS_MEMORY_BUDGET_GB", "4")
    monkeypatch.setenv("LLMAAS_INT8_DECODE_BATCH", "9")
    assert EngineSettings.resolve().memory_budget_gb == 4.0
    given = EngineSettings.resolve(memory_budget_gb=0, int8_decode_batch=0)
    assert given.memory_budget_gb == 0.0 and given.int8_decode_batch == 0
    assert EngineSettings.resolve(memory_budget_gb=None).memory_budget_gb == 4.0  # None: not given


def test_the_environment_wins_over_the_default(monkeypatch):
    monkeypatch.setenv("LLMAAS_MAX_NUM_SEQS", "7")
    monkeypatch.setenv("LLMAAS_DTYPE", "Float32")
    monkeypatch.setenv("LLMAAS_MODEL_DIRS", f"/a{__import__('os').pathsep}/b")
    s = EngineSettings.resolve()
    assert (s.max_num_seqs, s.dtype, s.model_dirs) == (7, "float32", ["/a", "/b"])


def test_an_unknown_name_is_refused_with_the_valid_ones():
    with pytest.raises(llmaas.ConfigurationError) as err:
        EngineSettings.resolve(max_num_seq=64)
    assert "'max_num_seq'" in str(err.value) and "max_num_seqs" in str(err.value)


@pytest.mark.parametrize(("var", "value", "said"), [
    ("LLMAAS_DTYPE", "fp16", "'auto', 'bfloat16' or 'float32'"),
    ("LLMAAS_THREADS", "-1", "greater than or equal to 0"),
    ("LLMAAS_KV_CACHE_GB", "lots", "valid number"),
    ("LLMAAS_PREFILL_CHUNK", "8", "greater than or equal to 16"),
])
def test_a_bad_environment_value_names_the_variable(monkeypatch, var, value, said):
    monkeypatch.setenv(var, value)
    with pytest.raises(llmaas.ConfigurationError) as err:
        EngineSettings.resolve()
    assert var in str(err.value) and said in str(err.value) and repr(value) in str(err.value)


def test_server_settings_read_their_variables(monkeypatch):
    monkeypatch.setenv("LLMAAS_ALLOWED_HOSTS", "api.example.com, other.example.com")
    monkeypatch.setenv("LLMAAS_PUBLIC_METRICS", "true")
    monkeypatch.setenv("LLMAAS_LOG_LEVEL", "INFO")
    s = ServerSettings.resolve()
    assert s.allowed_hosts == ["api.example.com", "other.example.com"] and s.public_metrics and s.log_level == "info"
    assert ServerSettings.resolve(allowed_hosts=["mine"]).allowed_hosts == ["mine"]
    monkeypatch.setenv("LLMAAS_LOG_LEVEL", "loud")
    with pytest.raises(llmaas.ConfigurationError, match="LLMAAS_LOG_LEVEL"):
        ServerSettings.resolve()


def test_the_provider_refuses_a_misspelt_setting_and_keeps_an_explicit_zero(monkeypatch):
    from llmaas.providers.huggingface import HuggingFaceProvider

    with pytest.raises(llmaas.ConfigurationError, match="max_num_seq'"):
        HuggingFaceProvider(max_num_seq=64)
    monkeypatch.setenv("LLMAAS_MEMORY_BUDGET_GB", "4")
    assert HuggingFaceProvider(memory_budget_gb=0).settings.memory_budget_gb == 0.0
    assert HuggingFaceProvider().settings.memory_budget_gb == 4.0
    # the client's own options reach every provider and are accepted, not mistaken for settings
    assert HuggingFaceProvider(timeout=5.0, max_retries=2).timeout == 5.0


def test_the_settings_page_is_the_declaration():
    page = (ROOT / "docs/settings.md").read_text()
    assert markdown() in page, "docs/settings.md is stale: regenerate the table with python -m llmaas.settings"
    snippet = page.split("```python")[1].split("```")[0]
    out = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_every_variable_the_code_reads_is_declared():
    declared = {name for name, *_ in variables()}
    found = set()
    for folder in ("sdk", "providers", "server", "store"):
        for path in (ROOT / folder).rglob("*.py"):
            found |= set(re.findall(r"LLMAAS_[A-Z0-9_]*[A-Z0-9]", path.read_text()))
    presets = {v for v in found if v.endswith("_BASE_URL") and v != "LLMAAS_BASE_URL"}
    defines = {"LLMAAS_PORTABLE"}  # a C++ define of the native kernels, named in their docstring: not a variable
    assert found - presets - defines - declared == set()
    assert {"LLMAAS_ALLOWED_HOSTS", "LLMAAS_PUBLIC_METRICS", "LLMAAS_LOG_LEVEL"} <= declared


def test_serve_help_lists_every_variable():
    out = subprocess.run([sys.executable, "-m", "llmaas.cli", "serve", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0
    for name, *_ in variables():
        assert name in out.stdout


def test_the_configuration_page_lists_every_command_flag_and_router_key():
    """docs/settings.md holds the generated command-line and router-key references as they are now: a flag
    or a router key added without the page fails here, and every flag says what it does."""
    from llmaas.config_reference import cli_markdown, flags, router_markdown
    from llmaas.router.config import DEPLOYMENT_KEYS, TOP_KEYS

    page = (ROOT / "docs/settings.md").read_text()
    assert cli_markdown() in page, "docs/settings.md is stale: regenerate it with python -m llmaas.config_reference"
    assert router_markdown() in page, "docs/settings.md is stale: regenerate it with python -m llmaas.config_reference"
    assert [f"{p} {', '.join(a.option_strings) or a.dest}" for p, a in flags() if not a.help] == []
    for key in TOP_KEYS | DEPLOYMENT_KEYS:
        assert f"| `{key}` |" in page
    assert len(flags()) > 100
