"""``--base-url`` goes before the verb or after it, for every command group that talks to a server (the docs
wrote ``llmaas models load ID --base-url URL``, which once exited 2)."""

import pytest

from llmaas.cli import parser

COMMANDS = [["models", "load", "m"], ["models", "list"], ["fine-tune", "list"], ["batch", "show", "b"],
            ["eval", "bias", "--model", "m"]]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c[:2]) for c in COMMANDS])
def test_base_url_before_or_after_the_verb(command):
    group, rest = command[0], command[1:]
    before = parser().parse_args([group, "--base-url", "http://a/v1", *rest])
    after = parser().parse_args([group, *rest, "--base-url", "http://a/v1"])
    neither = parser().parse_args(command)
    assert before.base_url == after.base_url == "http://a/v1" and neither.base_url is None
