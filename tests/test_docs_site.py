"""The documentation site builds, strict (a warning, a broken link, a page left out of the navigation or an
API reference entry that names nothing fails it), as ``make docs`` and CI build it."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_site_builds_strict(tmp_path):
    source = ROOT / "build" / "reference-src"
    source.mkdir(parents=True, exist_ok=True)
    link = source / "llmaas"
    if not link.exists():
        link.symlink_to(Path("..") / ".." / "sdk")
    mkdocs = Path(sys.executable).parent / "mkdocs"
    out = subprocess.run([str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "clients" / "index.html").read_text().count("chat") > 0
    assert "evals.runs" in (tmp_path / "site" / "evals" / "index.html").read_text()
