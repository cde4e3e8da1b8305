"""The commands README.md shows work: the CLI ones here, `make demo` and `make test` by the suite itself
(the examples test runs what `make demo` runs; CI runs `make test`)."""

import os
import re
import subprocess
import sys
from pathlib import Path

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_readme_starts_with_the_two_commands():
    block = README.split("```")[1]
    assert [line.split("#")[0].strip() for line in block.strip().splitlines()] == ["make demo", "make test"]


def test_readme_cli_commands_run(tmp_path):
    env = {**os.environ, "LLMAAS_HOME": str(tmp_path)}
    for cmd in ("keys create alice", "usage", "models list"):
        assert f"llmaas {cmd}" in README
        out = subprocess.run([sys.executable, "-m", "llmaas.cli", *cmd.split()], env=env, capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
    assert re.search(r"llmaas serve --port \d+", README)  # started for real by tests/server


def test_readme_python_snippet_runs():
    snippet = README.split("```python")[1].split("```")[0]
    out = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip()


def test_readme_python_snippet_names_real_api():
    import llmaas

    for name in ("BadRequestError", "ContextLengthExceededError", "RateLimitError", "IncompleteStreamError"):
        assert hasattr(llmaas, name)


def test_readme_layout_names_real_folders():
    block = README.split("## Where things live")[1].split("```")[1]
    root = Path(__file__).parent.parent
    named = re.findall(r"(?:^|\s)([a-z_]+/)(?=\s|$)", block, flags=re.M)
    assert len(named) >= 9, named
    for folder in named:
        found = [p for p in (root / folder, root / "providers" / folder, root / "providers/huggingface" / folder,
                             root / "store" / folder) if p.is_dir()]
        assert found, f"README names {folder} but no such folder exists"
