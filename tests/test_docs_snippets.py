"""Every snippet in docs/ runs, or is checked, as the README's are:

- a ```python block runs in a fresh interpreter on the suite's home (the built-in models, offline);
- a ```bash block's ``llmaas ...`` lines run through the CLI, its ``make`` lines name real targets, its
  ``export LLMAAS_*`` lines name documented settings;
- a block marked ``<!-- snippet: check -->`` on the line before it needs what the suite has not got (a remote
  key, a fleet, a file of the reader's): a python one must compile and every ``llmaas`` name it reads must
  exist; a bash one's ``llmaas`` lines must parse with the CLI's own parser;
- every inline ``llmaas ...`` command in the prose parses with the CLI's parser too (placeholders such as
  ``ID`` or ``URL`` are words to it; a command with ``[options]`` or ``|`` is a synopsis and is skipped).
"""

import ast
import importlib
import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").rglob("*.md"))
FENCE = re.compile(r"(?:<!-- snippet: (?P<mark>[a-z-]+) -->\n)?(?P<indent>[ \t]*)```(?P<lang>\w+)\n(?P<body>.*?)"
                   r"(?P=indent)```", re.S)


def blocks(lang):
    found = []
    for page in DOCS:
        text = page.read_text()
        for m in FENCE.finditer(text):
            if m.group("lang") == lang:
                line = text[:m.start("body")].count("\n") + 1
                found.append(pytest.param(page, textwrap.dedent(m.group("body")), m.group("mark"),
                                          id=f"{page.name}:{line}"))
    return found


def _names_exist(code):
    """Every ``llmaas.<name>`` read and every ``from llmaas... import name`` resolves."""
    import llmaas

    tree = ast.parse(code)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "llmaas":
            assert hasattr(llmaas, node.attr), f"llmaas.{node.attr} does not exist"
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("llmaas"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name) or importlib.util.find_spec(f"{node.module}.{alias.name}"), \
                    f"from {node.module} import {alias.name}: no such name"


@pytest.mark.parametrize("page, code, mark", blocks("python"))
def test_python_blocks(page, code, mark, tmp_path):
    compile(code, str(page), "exec")
    _names_exist(code)
    if mark == "check":
        return
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=tmp_path,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, f"{page.name}:\n{code}\n{out.stderr[-3000:]}"


def _commands(body):
    for raw in body.splitlines():
        line = raw.split(" #")[0].strip()
        if line and not line.startswith("#"):
            yield line


PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_]*$")  # ID, URL, NAME, N: a value in a synopsis


def _parses(argv, mention=False):
    """``argv`` parses with the CLI's own parser (``--help`` included); with ``mention``, naming a command
    without its required arguments (``llmaas keys create`` in a sentence) passes too."""
    import contextlib
    import io

    from llmaas.cli import parser

    argv = ["1" if PLACEHOLDER.match(w) else w for w in argv]
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said), contextlib.redirect_stdout(io.StringIO()):
            parser().parse_args(argv)
    except SystemExit as exc:
        if exc.code == 0 or (mention and "the following arguments are required" in said.getvalue()):
            return
        raise AssertionError(f"llmaas {' '.join(argv)}: the CLI refuses it: {said.getvalue().strip()}") from None


def _make_targets():
    return set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), flags=re.M))


@pytest.mark.parametrize("page, body, mark", blocks("bash"))
def test_bash_blocks(page, body, mark, tmp_path):
    from llmaas.settings import variables

    documented = {v[0] for v in variables()}
    for line in _commands(body):
        words = shlex.split(line)
        if words[0] == "make":
            assert set(words[1:]) <= _make_targets(), f"{page.name}: {line}: no such make target"
        elif words[0] == "export":
            name = words[1].split("=")[0]
            assert name in documented, f"{page.name}: {name} is not a documented setting"
        elif words[0] == "llmaas":
            _parses(words[1:])
            if mark == "check":
                continue
            out = subprocess.run([sys.executable, "-m", "llmaas.cli", *words[1:]], cwd=ROOT, capture_output=True,
                                 text=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"})
            assert out.returncode == 0, f"{page.name}: {line}\n{out.stderr[-3000:]}"
        else:
            raise AssertionError(f"{page.name}: {line}: a command this test does not know how to check")


INLINE = re.compile(r"`(llmaas [^`]+)`")


def inline_commands():
    found = []
    for page in DOCS:
        for m in INLINE.finditer(page.read_text()):
            command = m.group(1)
            if not any(c in command for c in "[]|<>…") and "..." not in command:
                found.append(pytest.param(page, command, id=f"{page.name}:{command}"))
    return found


@pytest.mark.parametrize("page, command", inline_commands())
def test_inline_commands_parse(page, command):
    _parses(shlex.split(command)[1:], mention=True)
