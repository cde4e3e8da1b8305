"""Tokenizing fine-tuning examples (item 4): in time linear in the conversation (the template rendered a fixed
number of times however many messages), with the same ids and labels as rendering every prefix, and a
cancel heard while it runs."""

import pytest

from llmaas.providers.huggingface.management.loading import builtin_sources, ensure_converted
from llmaas.providers.huggingface.model.hf import load_tokenizer
from llmaas.providers.huggingface.tuning import training

from .conftest import CHAT


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer(str(ensure_converted(builtin_sources()[CHAT], progress=False)))


CASES = [
    [{"role": "user", "content": "What is 2 plus 2?"}, {"role": "assistant", "content": "Arr, 4, matey!"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
     {"role": "assistant", "content": "Hello there.", "weight": 0}, {"role": "user", "content": "More"},
     {"role": "assistant", "content": " spaced  reply\nwith lines "}],
    [{"role": "user", "content": "héllo ünïcode 日本語"}, {"role": "assistant", "content": "日本語 reply"}],
    [{"role": "user", "content": f"turn {i}"} if i % 2 == 0 else {"role": "assistant", "content": f"reply {i}"}
     for i in range(60)],
]


@pytest.mark.parametrize("messages", CASES)
def test_the_linear_way_gives_what_every_prefix_gives(tok, messages):
    fast = training._chat_example(tok, messages, 1 << 30)
    assert fast == training._chat_example_by_prefix(tok, messages, 1 << 30)
    assert any(label != training.IGNORE for label in fast[1])


def test_the_template_is_rendered_a_fixed_number_of_times(tok, monkeypatch):
    renders = []
    real = tok.apply_chat_template

    def counting(*args, **kwargs):
        renders.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(tok, "apply_chat_template", counting)
    for n in (10, 400):
        renders.clear()
        messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"message {i}"} for i in range(n)]
        training._chat_example(tok, messages, 1 << 30)
        assert len(renders) <= 2, (n, len(renders))


def test_a_cancel_is_heard_while_examples_are_tokenized(tok, monkeypatch):
    clock = iter(range(0, 10**6))
    monkeypatch.setattr(training.time, "monotonic", lambda: float(next(clock)))  # each example "takes" a second
    asked = []

    def stop():
        asked.append(1)
        return len(asked) >= 2

    rows = [{"messages": CASES[0]}] * 50
    with pytest.raises(training.Stopped):
        training.encode(tok, rows, 8192, stop=stop)
    assert len(asked) == 2
