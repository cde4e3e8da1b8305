"""The training loop's parts: packed rows give the padded batch's loss, labels cover only what the assistant
says, an over-long example fails the job naming its line, and the result files hold the metrics."""

import csv
import io
import json

import pytest
import torch

from llmaas.cli_fine_tune import progress_line
from llmaas.providers.huggingface.management.loading import builtin_sources, ensure_converted
from llmaas.providers.huggingface.tuning.results import loss_png, metrics_csv
from llmaas.providers.huggingface.tuning.training import (
    IGNORE,
    ExampleTooLong,
    TrainingConfig,
    encode,
    load_for_training,
    pack_rows,
    packed_batch,
    padded_batch,
    token_loss,
)

from .conftest import CHAT


@pytest.fixture(scope="module")
def loaded():
    folder = ensure_converted(builtin_sources()[CHAT], progress=False)
    return load_for_training(folder, TrainingConfig(bf16=False))


def rows(n):
    return [{"messages": [{"role": "system", "content": "Be brief."},
                          {"role": "user", "content": f"Tell me about the number {i}. " * (1 + i % 3)},
                          {"role": "assistant", "content": f"{i} is a number."}]} for i in range(n)]


def test_packed_rows_give_the_padded_batch_loss(loaded):
    tok, model = loaded
    examples = encode(tok, rows(5), 2048)
    pad = tok.pad_token_id
    padded, n1 = token_loss(model, padded_batch(examples, pad))
    packed, n2 = token_loss(model, packed_batch(examples, pad, 256))
    assert n1 == n2 > 0
    torch.testing.assert_close(packed / n2, padded / n1, atol=1e-4, rtol=1e-4)
    # the plain model loss (every position projected) agrees too
    plain = model(**padded_batch(examples, pad)).loss
    torch.testing.assert_close(padded / n1, plain, atol=1e-4, rtol=1e-4)


def test_only_the_assistant_reply_is_learnt(loaded):
    tok, _ = loaded
    (ids, labels), = encode(tok, rows(1), 2048)
    learnt = tok.decode([t for t, label in zip(ids, labels, strict=True) if label != IGNORE])
    assert learnt.startswith("0 is a number.") and "Tell me" not in learnt and "Be brief" not in learnt
    weighted = [{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "No.", "weight": 0},
                              {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yes."}]}]
    (ids, labels), = encode(tok, weighted, 2048)
    assert tok.decode([t for t, label in zip(ids, labels, strict=True) if label != IGNORE]).startswith("Yes.")


def test_an_example_longer_than_the_context_names_its_line(loaded):
    tok, _ = loaded
    long = {"prompt": "word " * 300, "completion": "end"}
    with pytest.raises(ExampleTooLong, match="training file line 3: the example is 30[0-9] tokens, longer than"):
        encode(tok, [*rows(2), long], 256)


def test_packing_fills_rows_first_fit():
    examples = [([0] * n, [0] * n) for n in (700, 300, 600, 200, 1200)]
    packed = pack_rows(examples, 1024)
    assert sorted(sum(len(e[0]) for e in row) for row in packed) == [800, 1000, 1200]


def test_result_files_hold_every_step():
    steps = [{"step": 1, "epoch": 1, "train_loss": 2.0, "tokens_per_second": 100.0},
             {"step": 2, "epoch": 1, "train_loss": 1.5, "valid_loss": 1.7, "tokens_per_second": 110.0}]
    table = list(csv.DictReader(io.StringIO(metrics_csv(steps).decode())))
    assert [r["train_loss"] for r in table] == ["2.0", "1.5"] and table[1]["valid_loss"] == "1.7"
    assert loss_png(steps, "job").startswith(b"\x89PNG")


def test_the_progress_line_shows_step_loss_speed_and_time_left():
    line = progress_line({"step": 5, "total_steps": 10, "train_loss": 1.23456, "tokens_per_second": 210.4,
                          "valid_loss": 1.5}, 75)
    assert line == ("step 5/10 [############------------] loss 1.2346 (validation 1.5000) | 210 tok/s | 1:15 left")
    assert json.dumps(line)
