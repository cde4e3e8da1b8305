"""The dynamic int8 (W8A8) kernel: close to the float product, the RMSNorm folded in exactly, smoothing
that pays where activations have outlier channels, and the engine picking the kernel by batch size."""

import math
from pathlib import Path

import pytest
import torch

from llmaas.providers.huggingface.model.quant import DynamicInt8, dynamic_int8_mm, exact_int4, int4_mm

from .conftest import CHAT


def _rms(x, w, eps=1e-5):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def _rel(a, b):
    return float((a - b).norm() / b.norm())


def test_the_plain_kernel_is_close_to_the_float_product():
    torch.manual_seed(0)
    w, x = torch.randn(256, 128) * 0.05, torch.randn(40, 128)
    out = dynamic_int8_mm(x, DynamicInt8.make(w), None, torch.float32)
    assert out.shape == (40, 256) and out.dtype == torch.float32
    assert _rel(out, x @ w.T) < 0.02


def test_the_norm_is_applied_inside_and_smoothing_tames_outlier_channels():
    torch.manual_seed(0)
    w, norm = torch.randn(256, 128) * 0.05, torch.rand(128) + 0.5
    x = torch.randn(64, 128)
    x[:, :4] *= 40  # a few outlier channels, as the residual stream of a language model has
    ref = _rms(x, norm) @ w.T
    seen = (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5)).abs().amax(0)
    plain = dynamic_int8_mm(x, DynamicInt8.make(w, norm), 1e-5, torch.float32)
    smooth = dynamic_int8_mm(x, DynamicInt8.make(w, norm, seen), 1e-5, torch.float32)
    assert _rel(smooth, ref) < 0.02
    assert _rel(smooth, ref) < _rel(plain, ref)


def _four_bit(n, k, seed=0):
    """A weight as a Q4_1 GGUF block stores it: per 32 inputs, 16 levels ``d * q + m``."""
    g = torch.Generator().manual_seed(seed)
    d, m = torch.rand(n, k // 32, 1, generator=g) * 0.01, torch.randn(n, k // 32, 1, generator=g) * 0.05
    q = torch.randint(0, 16, (n, k // 32, 32), generator=g).float()
    q[..., 0], q[..., 1] = 0, 15  # the quantizer maps a block's minimum and maximum to the ends
    return (d * q + m).reshape(n, k)


def test_weights_on_a_four_bit_grid_are_packed_exactly_and_others_are_not():
    w = _four_bit(96, 128)
    packed = exact_int4(w)
    assert packed is not None
    x = torch.randn(3, 128).bfloat16()
    ref = x.double() @ w.double().T
    assert _rel(int4_mm(x, packed).double(), ref) < 5e-3  # bf16 activations, scales and output
    assert _rel(int4_mm(x, packed).double(), ref) <= 2 * _rel((x @ w.bfloat16().T).double(), ref) + 1e-3
    assert exact_int4(torch.randn(96, 128)) is None  # a float weight: quantizing it would cost quality
    assert exact_int4(_four_bit(8, 128) + 1e-3 * torch.randn(8, 128)) is None  # almost is not enough
    assert exact_int4(torch.randn(8, 100)) is None  # not a whole number of groups


@pytest.fixture(scope="module")
def lm():
    from llmaas.providers.huggingface import HuggingFaceProvider

    # int8 kernels are the bf16 model's: fixed here, whatever this CPU's default dtype is
    provider = HuggingFaceProvider(progress=False, kv_cache_gb=0.25, dtype="bfloat16", int8_matmul="on")
    engine = provider.engine(CHAT)
    engine.wait_ready()
    yield engine.model, engine.tokenizer
    engine.shutdown()


def test_the_engine_picks_the_kernel_by_rows(lm):
    model, _ = lm
    assert model.dynamic_int8 and model.int8_max_batch == 4
    small = "int4-weight" if model.int4 else "int8-weight"  # the built-in model's weights are 4-bit (Q4_1)
    assert [model.kernel_for(r) for r in (1, 4, 5, 64)] == [small, small, "int8-dynamic", "int8-dynamic"]


def test_every_kernel_scores_a_text_within_two_percent_of_the_others(lm):
    model, tok = lm
    text = (Path(__file__).parents[2] / "bench" / "data" / "quality_text.txt").read_text()
    # the text's first 256 tokens: int8-dynamic without VNNI takes a minute for 256 (over two for the whole)
    ids = torch.tensor(tok.encode(text, add_special_tokens=False))[:256]
    ppl = {k: math.exp(-float(model.score(ids, kernel=k)[0].mean())) for k in ("float", "int8-weight", "int4-weight", "int8-dynamic")}
    dynamic = ppl.pop("int8-dynamic")  # opt-in: it misses the fidelity gate (tests/engine/test_fidelity.py)
    assert max(ppl.values()) / min(ppl.values()) < 1.005, ppl
    assert dynamic / ppl["float"] < 1.04, (dynamic, ppl)


@pytest.mark.parametrize("int8_weights", ["off", "on"])
def test_int4_weights_off_keeps_bf16_layers_unless_int8_weights_are_asked(int8_weights):
    """int8 weight-only layers miss the fidelity gate: opt-in. The head keeps its int8 copy either way (its
    likely logits are recomputed exactly)."""
    import llmaas
    from llmaas.providers.huggingface import HuggingFaceProvider

    with pytest.raises(llmaas.ConfigurationError, match="int4_weights: Input should be 'auto' or 'off'"):
        HuggingFaceProvider(int4_weights="always")
    engine = HuggingFaceProvider(progress=False, kv_cache_gb=0.25, dtype="bfloat16", int4_weights="off",
                                 int8_weights=int8_weights).engine(CHAT)
    engine.wait_ready()
    try:
        model = engine.model
        assert not model.int4 and model.kernel_for(1) == "int8-weight" and model.head.int8 is not None
        assert all(not layer.int4_found and all(p.int4 is None and (p.int8 is not None) == (int8_weights == "on")
                                                for p in layer.projections.values()) for layer in model.layers)
    finally:
        engine.shutdown()
