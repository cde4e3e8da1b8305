"""The Python example of docs/responses-and-agents.md runs as written (in process, the built-in model)."""

import os
import subprocess
import sys
from pathlib import Path

PAGE = Path(__file__).parent.parent / "docs" / "responses-and-agents.md"


def test_the_page_example_runs(tmp_path):
    snippet = PAGE.read_text().split("```python")[1].split("```")[0]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    first, follow = out.stdout.strip().splitlines()[-2:]
    assert "Paris" in first and "Berlin" in follow
