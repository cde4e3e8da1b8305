"""The fidelity gate on the engine's default paths (``bench/quality.py`` reports it on the whole bench text):
against float32 on the same tokens, the same top-1 token at 98% of positions or more, a next-token
log-probability within 0.04 nats on average, and a mean KL divergence no worse than plain bf16 torch ops.
Dynamic int8 (W8A8) misses it, which is why it is opt-in: the gate is shown to catch it."""

from pathlib import Path

import pytest
import torch

from llmaas.providers.huggingface.model import fidelity as fid
from llmaas.providers.huggingface.model.compact import DYNAMIC8
from llmaas.providers.huggingface.model.cpu import has_int8_dot

from .conftest import engine_model

pytestmark = pytest.mark.slow
DATA = Path(__file__).parents[2] / "bench" / "data"


@pytest.fixture(scope="module")
def setup():
    """The defaults (bf16 where the CPU has it), float32, the text (prose and a dialogue in the chat
    template, about 2,000 tokens) and float32's logits on it."""
    lm32, tok = engine_model(dtype="float32")
    lm, _ = engine_model(dtype="bfloat16")
    text = (DATA / "quality_text.txt").read_text() + "\n\n" + (DATA / "fidelity_dialogue.txt").read_text()[:5000]
    ids = tok.encode(text, add_special_tokens=False)
    segments = {4: fid.segments_of(ids, 4), 32: fid.segments_of(ids, 32)}
    refs = {rows: fid.one_pass(lm32, s, rows_at_once=1) for rows, s in segments.items()}
    from transformers import AutoModelForCausalLM

    from llmaas.providers.huggingface.management.loading import SMOLLM2, ensure_converted, resolve_source

    hf = AutoModelForCausalLM.from_pretrained(str(ensure_converted(resolve_source(SMOLLM2), progress=False)),
                                              dtype=torch.bfloat16, local_files_only=True)
    with torch.inference_mode():
        plain = fid.compare(refs[4], hf(segments[4]).logits.float(), segments[4])
    return lm, segments, refs, plain.kl_mean


def _gate(f: fid.Fidelity, kl_limit: float) -> None:
    assert f.positions > 1500
    assert f.same_top >= fid.MIN_SAME_TOP, f
    assert f.logprob_error <= fid.MAX_LOGPROB_ERROR, f
    assert f.kl_mean <= kl_limit, (f, kl_limit)


def test_the_defaults_are_bf16_with_exact_weights_for_small_batches(setup):
    lm, *_ = setup
    if lm.dtype != torch.bfloat16:
        pytest.skip("this CPU runs float32 by default: float32 is the reference itself")
    assert not lm.dynamic_int8 and lm.int8_max_batch == 4


def test_prefill_in_one_pass_and_in_chunks(setup):
    lm, segments, refs, kl = setup
    _gate(fid.compare(refs[4], fid.one_pass(lm, segments[4]), segments[4]), kl)
    _gate(fid.compare(refs[4], fid.chunked(lm, segments[4], 96), segments[4]), kl)


@pytest.mark.parametrize(("rows", "native"), [(4, True), (32, True), (32, False)],
                         ids=["4-native-kernels", "32-native-kernels", "32-torch-ops"])
def test_decode_steps(setup, rows, native):
    lm, segments, refs, kl = setup
    kernels = lm.native
    lm.native = kernels if native else None
    try:
        if native and kernels is None:
            pytest.skip("the native kernels do not build here")
        _gate(fid.compare(refs[rows], fid.decoded(lm, segments[rows]), segments[rows]), kl)
    finally:
        lm.native = kernels


@pytest.mark.skipif(not has_int8_dot(), reason="no int8 dot products in this CPU (VNNI or AMX): dynamic int8 is "
                                               "slower than bf16 here, a path no one turns on, and its pass takes "
                                               "minutes")
def test_the_gate_catches_dynamic_int8(setup):
    lm, segments, refs, kl = setup
    if not lm.enable_dynamic_int8(segments[4][0]):
        pytest.skip("this build's int8 matmul does not take the model's shapes")
    try:
        f = fid.compare(refs[4], fid.one_pass(lm, segments[4], kernel=DYNAMIC8), segments[4])
        assert not f.passes(kl), f
    finally:
        lm.dynamic_int8 = False
