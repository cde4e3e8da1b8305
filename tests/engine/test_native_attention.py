"""The native decode-attention kernel (``decode_attention.cpp``): against an exact float64 reference for
every head grouping and length (tails included), from float32 and bf16 projections with strided rows; in
the model, the same cache contents and next-token choices as the torch attention; bad shapes and
positions refused by name; a machine that cannot build it keeps torch attention."""

import pytest
import torch

import llmaas
from llmaas.providers.huggingface import native

from .conftest import CHAT


@pytest.fixture(scope="module")
def kernel():
    fn = native.decode_attention_kernel("native")  # builds it once per machine (tens of seconds)
    assert fn is not None
    return fn


def _rotate(x, cos, sin):
    half = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., half:], x[..., :half]), -1) * sin


def _tables(n, d):
    inv = 1.0 / (10000 ** (torch.arange(0, d, 2).double() / d))
    angles = torch.outer(torch.arange(n).double(), inv)
    angles = torch.cat((angles, angles), -1)
    return angles.cos().float(), angles.sin().float()


@pytest.mark.parametrize("hq,hk,d", [(9, 3, 64), (4, 4, 32), (8, 1, 128), (6, 2, 48)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_the_kernel_matches_an_exact_reference(kernel, hq, hk, d, dtype):
    torch.manual_seed(hq * d)
    b, cap = 5, 80
    positions = torch.tensor([0, 15, 16, 33, 79])  # one position, a full vector of 16, tails either side
    qkv = torch.randn(b, (hq + 2 * hk) * d).to(dtype)  # q, k and v are strided views of one projection
    q, k, v = qkv[:, : hq * d], qkv[:, hq * d: (hq + hk) * d], qkv[:, (hq + hk) * d:]
    k_cache = torch.randn(b + 1, hk, d, cap).bfloat16()  # earlier positions hold keys written before
    v_cache = torch.randn(b + 1, hk, cap, d).bfloat16()
    before_k, before_v = k_cache.clone(), v_cache.clone()
    cos, sin = _tables(cap, d)
    out = kernel(q, k, v, k_cache, v_cache, positions, cos, sin, hq, d ** -0.5)
    assert out.shape == (b, hq * d) and out.dtype == dtype

    rows = torch.arange(b)
    c, s = cos[positions].unsqueeze(1).double(), sin[positions].unsqueeze(1).double()
    new_k = _rotate(k.double().view(b, hk, d), c, s)
    assert torch.equal(k_cache[rows, :, :, positions], new_k.bfloat16())  # written as torch rounds to bf16
    assert torch.equal(v_cache[rows, :, positions], v.view(b, hk, d).bfloat16())
    untouched = torch.ones(b + 1, cap, dtype=torch.bool)
    untouched[rows, positions] = False
    assert torch.equal(k_cache.permute(0, 3, 1, 2)[untouched], before_k.permute(0, 3, 1, 2)[untouched])
    assert torch.equal(v_cache.permute(0, 2, 1, 3)[untouched], before_v.permute(0, 2, 1, 3)[untouched])

    qr = _rotate(q.double().view(b, hq, d), c, s)
    for j in range(b):
        t = int(positions[j]) + 1
        keys = k_cache[j, :, :, :t].double().repeat_interleave(hq // hk, 0)  # [hq, d, t]
        values = v_cache[j, :, :t].double().repeat_interleave(hq // hk, 0)  # [hq, t, d]
        probs = torch.softmax(torch.einsum("hd,hdt->ht", qr[j], keys) * d ** -0.5, -1)
        ref = torch.einsum("ht,htd->hd", probs, values).reshape(-1)
        tol = 1e-5 if dtype == torch.float32 else 1e-2  # bf16 out: its own rounding
        assert torch.allclose(out[j].double(), ref, atol=tol, rtol=tol), (j, float((out[j].double() - ref).abs().max()))


def test_bad_shapes_and_positions_are_refused_by_name(kernel):
    d, hq, hk, cap = 64, 9, 3, 32
    q, k, v = torch.randn(2, hq * d), torch.randn(2, hk * d), torch.randn(2, hk * d)
    kc, vc = torch.zeros(2, hk, d, cap, dtype=torch.bfloat16), torch.zeros(2, hk, cap, d, dtype=torch.bfloat16)
    cos, sin = _tables(cap, d)
    with pytest.raises(RuntimeError, match="position 32 of sequence 1 is outside the cache"):
        kernel(q, k, v, kc, vc, torch.tensor([3, 32]), cos, sin, hq, 0.125)
    with pytest.raises(RuntimeError, match="fewer cache slots"):
        kernel(torch.randn(3, hq * d), torch.randn(3, hk * d), torch.randn(3, hk * d), kc, vc,
               torch.tensor([1, 2, 3]), cos, sin, hq, 0.125)
    with pytest.raises(RuntimeError, match="k_cache must be"):
        kernel(q, k, v, kc.float(), vc, torch.tensor([1, 2]), cos, sin, hq, 0.125)
    with pytest.raises(RuntimeError, match="disagree on heads"):
        kernel(q, k, v, kc, vc, torch.tensor([1, 2]), cos, sin, 8, 0.125)
    assert torch.equal(kc, torch.zeros_like(kc))  # nothing written by a refused call


def _engine_model(**settings):
    from llmaas.providers.huggingface import HuggingFaceProvider

    engine = HuggingFaceProvider(progress=False, kv_cache_gb=0.25, **settings).engine(CHAT)
    engine.wait_ready()
    engine.shutdown()  # the model is driven directly below
    return engine.model, engine.tokenizer


@pytest.fixture(scope="module")
def lm(kernel):
    model, tok = _engine_model(dtype="bfloat16", attention_kernel="native")
    assert model.native_attention is kernel
    reference, _ = _engine_model(dtype="float32", int8_matmul="off", int8_decode_batch=0)
    assert reference.native_attention is None  # a float32 cache keeps torch attention
    return model, tok, reference


def _run(model, prompts, native_kernel, kernel, feed=None, steps=8):
    """Decoding every prompt at once, fed ``feed`` (or its own greedy choices): the tokens fed and each
    step's logits."""
    model.native_attention = native_kernel
    model.allocate(len(prompts), 96)
    logits = model.prefill(prompts, list(range(len(prompts))))
    positions = torch.tensor([len(p) for p in prompts])
    fed, out = [], []
    for step in range(steps):
        tokens = logits.float().argmax(-1) if feed is None else feed[step]
        logits = model.decode(tokens, positions, kernel=kernel)
        fed.append(tokens)
        out.append(logits.float())
        positions = positions + 1
    return fed, out


def _error(steps, reference):
    """Mean relative distance of each step's logits from the float32 model's, and greedy choices shared."""
    rel = sum(float((a - b).norm() / b.norm()) for a, b in zip(steps, reference)) / len(steps)
    return rel, sum(int((a.argmax(-1) == b.argmax(-1)).sum()) for a, b in zip(steps, reference))


@pytest.mark.parametrize("matmuls", ["float", "int8-weight", "int8-dynamic"])
def test_in_the_model_it_is_as_close_to_float32_as_torch_attention(lm, kernel, matmuls):
    """Both attentions run over the bf16 cache, so neither is float32's; with the same tokens fed, the
    native one's logits are no further from the float32 model's than the torch one's."""
    model, tok, reference = lm
    if matmuls == "int8-dynamic" and not model.dynamic_int8:
        pytest.skip("dynamic int8 needs VNNI")  # the other kernels run everywhere
    prompts = [torch.tensor(tok.encode(t)) for t in ("Once upon a time", "The capital of France is",
                                                    "def fibonacci(n):\n    ", "1, 2, 3, 4,")]
    try:
        fed, torch_steps = _run(model, prompts, None, matmuls)
        _, native_steps = _run(model, prompts, kernel, matmuls, feed=fed)
    finally:
        model.native_attention = kernel
    _, exact = _run(reference, prompts, None, "float", feed=fed)
    (native_rel, native_agree), (torch_rel, torch_agree) = _error(native_steps, exact), _error(torch_steps, exact)
    assert native_rel < 1.3 * torch_rel + 0.005, (native_rel, torch_rel)
    assert native_agree >= torch_agree - 2, (native_agree, torch_agree)


def test_the_setting_is_checked_and_torch_turns_it_off(monkeypatch):
    from llmaas.providers.huggingface import HuggingFaceProvider

    with pytest.raises(llmaas.ConfigurationError, match="ATTENTION_KERNEL"):
        HuggingFaceProvider(attention_kernel="cuda")
    monkeypatch.setenv("LLMAAS_ATTENTION_KERNEL", "torch")
    assert HuggingFaceProvider().settings.attention_kernel == "torch"
    assert native.decode_attention_kernel("torch") is None


def test_a_machine_that_cannot_build_it_keeps_torch_attention(monkeypatch, caplog):
    def no_compiler():
        raise RuntimeError("Ninja is required to load C++ extensions")

    monkeypatch.setattr(native, "_built", {})
    monkeypatch.setattr(native, "_build", no_compiler)
    with caplog.at_level("WARNING", logger="llmaas.engine"):
        assert native.decode_attention_kernel("auto") is None
    assert "could not be built" in caplog.text and "Ninja is required" in caplog.text
    with pytest.raises(llmaas.ConfigurationError, match="Ninja is required"):
        native.decode_attention_kernel("native")
