"""The configuration reference, generated from the code's own declarations: every command and flag of the
``llmaas`` command line (from its argparse parser) and every key of a router config (from
``llmaas.router.config``). docs/settings.md holds this output beside the ``LLMAAS_*`` variables table
(``python -m llmaas.config_reference``; a test keeps them equal)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any, cast


def _cell(text: object) -> str:
    return str(text).replace("|", "&#124;").replace("\n", " ")


def _is_verbs(action: argparse.Action) -> bool:
    """A subcommands action (its choices are the verbs' parsers)."""
    return isinstance(action.choices, dict)


def _commands(parser: argparse.ArgumentParser, path: str,
              about: str) -> Iterator[tuple[str, argparse.ArgumentParser, str]]:
    yield path, parser, about
    for action in parser._actions:
        if _is_verbs(action):
            choices = cast("dict[str, argparse.ArgumentParser]", action.choices)
            helps: dict[str, str] = {c.dest: c.help or "" for c in cast("list[argparse.Action]", getattr(action, "_choices_actions", []))}
            for name, sub in choices.items():
                yield from _commands(sub, f"{path} {name}", helps.get(name, ""))


def _default(action: argparse.Action) -> str:
    default: Any = action.default
    if default in (None, False, argparse.SUPPRESS) or action.dest == "help":
        return "-"
    return f"`{default}`"


def flags() -> list[tuple[str, argparse.Action]]:
    """(command, action) for every argument and flag of every command (hidden ones left out)."""
    from llmaas.cli import parser

    return [(path, a) for path, p, _ in _commands(parser(), "llmaas", "") for a in p._actions
            if not (_is_verbs(a) or a.dest == "help")
            and a.help != argparse.SUPPRESS]


def cli_markdown() -> str:
    """One table per command: its arguments and flags, with the default and the help text."""
    from llmaas.cli import parser

    out: list[str] = []
    for path, p, about in _commands(parser(), "llmaas", "large language models as a service"):
        rows = [a for a in p._actions
                if not (_is_verbs(a) or a.dest == "help")
                and a.help != argparse.SUPPRESS]
        out += [f"#### `{path}`", ""]
        if about:
            out += [_cell(about[0].upper() + about[1:]) + ".", ""]
        if not rows:
            continue
        out += ["| argument | default | what it does |", "| --- | --- | --- |"]
        for a in rows:
            name = ", ".join(a.option_strings) or a.dest
            if a.metavar or (a.option_strings and a.nargs != 0):
                name += f" {a.metavar or a.dest.upper()}"
            choices = f" (one of {', '.join(map(str, a.choices))})" if a.choices else ""
            out.append(f"| `{_cell(name)}` | {_cell(_default(a))} | {_cell(a.help or '')}{_cell(choices)} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def router_markdown() -> str:
    from llmaas.router.config import DEPLOYMENT_HELP, TOP_HELP

    out = ["| key | type | default | what it sets |", "| --- | --- | --- | --- |"]
    out += [f"| `{k}` | {_cell(t)} | {_cell(d) or '-'} | {_cell(h)} |" for k, (t, d, h) in TOP_HELP.items()]
    out += ["", "Each of `deployments`:", "", "| key | type | default | what it sets |", "| --- | --- | --- | --- |"]
    out += [f"| `{k}` | {_cell(t)} | {_cell(d) or '-'} | {_cell(h)} |" for k, (t, d, h) in DEPLOYMENT_HELP.items()]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print("## The command line\n\n" + cli_markdown() + "\n## Router config keys\n\n" + router_markdown())
