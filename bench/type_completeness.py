"""`pyright --verifytypes` for llmaas and openai-python, measured the same way in the same run.

Builds llmaas's wheel, installs it with openai-python and the server's dependencies into a fresh virtual
environment (a type checker judges the installed package, as a user's editor sees it), and runs
`pyright --verifytypes PACKAGE --ignoreexternal` for each. Torch and transformers are left out: their
types are external to llmaas and ignored either way. Needs the package index.

Usage: python bench/type_completeness.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYRIGHT = Path(sys.executable).parent / "pyright"
PACKAGES = ("llmaas", "openai")
EXTRAS = ("openai", "fastapi", "uvicorn", "prometheus-client", "python-multipart")


def _run(*cmd: str, **kwargs: object) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs).stdout  # type: ignore[call-overload]


def verify(venv: Path, package: str) -> dict[str, str]:
    env = {**os.environ, "VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run([str(PYRIGHT), "--verifytypes", package, "--ignoreexternal"], capture_output=True,
                         text=True, env=env, cwd=venv).stdout
    found = {}
    for label, pattern in (("exported", r'Symbols exported by "[^"]+": (\d+)'), ("known", r"With known type: (\d+)"),
                           ("ambiguous", r"With ambiguous type: (\d+)"), ("unknown", r"With unknown type: (\d+)"),
                           ("score", r"Type completeness score: ([\d.]+%)")):
        match = re.search(pattern, out)
        found[label] = match.group(1) if match else "?"
    return found


def main() -> str:
    with tempfile.TemporaryDirectory(prefix="llmaas-types-") as tmp:
        venv, wheels = Path(tmp) / "venv", Path(tmp) / "wheels"
        _run(sys.executable, "-m", "venv", str(venv))
        _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(ROOT))
        pip = str(venv / "bin" / "pip")
        _run(pip, "install", "--quiet", *map(str, wheels.glob("*.whl")), *EXTRAS)
        python = str(venv / "bin" / "python")
        rows = [(p, _run(python, "-c", f"import importlib.metadata as m; print(m.version({p!r}))").strip(),
                 verify(venv, p)) for p in PACKAGES]
    lines = ["| package | version | symbols exported | known type | ambiguous | unknown | completeness |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, version, r in rows:
        lines.append(f"| {name} | {version} | {r['exported']} | {r['known']} | {r['ambiguous']} | {r['unknown']} "
                     f"| {r['score']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
