"""The strict type check is part of the suite: pyright over sdk/, examples/ and tests/typing/ (the exact types
of the calls applications and agents make), configured in pyproject.toml. A new error fails the build."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


README_COPY = ROOT / "tests" / "typing" / "readme_snippet.py"  # written here, ignored by git


def test_pyright_strict_finds_nothing():
    # README.md's Python example is checked too, as a user's editor would see it
    snippet = (ROOT / "README.md").read_text().split("```python")[1].split("```")[0]
    README_COPY.write_text('"""README.md\'s example, copied by tests/test_typing.py."""\n' + snippet)
    pyright = Path(sys.executable).parent / "pyright"
    out = subprocess.run([str(pyright), "--outputjson"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    import json

    report = json.loads(out.stdout)
    errors = [f"{d['file']}:{d['range']['start']['line'] + 1}: {d['message']}"
              for d in report["generalDiagnostics"] if d["severity"] == "error"]
    assert not errors, "\n".join(errors[:20])
    assert report["summary"]["filesAnalyzed"] >= 30
