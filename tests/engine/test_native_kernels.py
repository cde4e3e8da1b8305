"""The native kernels (``kernels.cpp``): decode attention against an exact float64 reference for every head
grouping and length (tails included), from float32 and bf16 projections with strided rows; RMSNorm,
silu(gate) * up and the int8 row quantization against torch; in the model, logits as close to the float32
model's as the torch ops give; bad shapes and positions refused by name; a machine that cannot build them
keeps torch ops."""

import pytest
import torch
import torch.nn.functional as F

import llmaas
from llmaas.providers.huggingface.model import native
from llmaas.providers.huggingface.model.quant import DynamicInt8, dynamic_int8_mm

from .conftest import engine_model


@pytest.fixture(scope="module")
def built():
    module = native.native_kernels("on")  # builds them once per machine (tens of seconds)
    assert module is not None
    return module


@pytest.fixture(scope="module")
def portable(tmp_path_factory):
    """The plain C++ path that CPUs without AVX-512 run, built here with AVX-512 turned off."""
    import os

    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("portable"))
    try:
        return native._build([*native.CFLAGS, "-DLLMAAS_PORTABLE"])  # a define every compiler takes, on any CPU
    finally:
        if saved is None:
            del os.environ["XDG_CACHE_HOME"]
        else:
            os.environ["XDG_CACHE_HOME"] = saved


@pytest.fixture(scope="module", params=["built", "portable"])
def kernels(request):
    """Each exactness test runs on the kernels this machine uses and on the portable path."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def kernel(kernels):
    return kernels.decode_attention


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


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_rms_norm_and_silu_mul_match_torch(kernels, dtype):
    torch.manual_seed(1)
    wide = torch.randn(7, 700) * 3
    wide[:, 5] = 80.0  # an outlier channel: its silu neither overflows nor loses the rest
    wide[:, 400] = -80.0
    x = wide.to(dtype)[:, 50:626]  # strided rows
    w = torch.rand(576) + 0.5
    ref = w.double() * x.double() * torch.rsqrt(x.double().pow(2).mean(-1, keepdim=True) + 1e-5)
    for bf16_out in (True, False):
        out = kernels.rms_norm(x, w, 1e-5, bf16_out)
        assert out.dtype == (torch.bfloat16 if bf16_out else torch.float32)
        assert torch.allclose(out.double(), ref, rtol=8e-3 if bf16_out else 1e-5, atol=1e-5)
    gu = wide.to(dtype)[:, :600]
    ref = F.silu(gu[:, :300].double()) * gu[:, 300:].double()
    out = kernels.silu_mul(gu)
    assert out.dtype == dtype and out.shape == (7, 300) and torch.isfinite(out).all()
    assert torch.allclose(out.double(), ref, rtol=8e-3 if dtype == torch.bfloat16 else 1e-5, atol=1e-5)


def test_the_int8_row_quantization_matches_torchs(kernels):
    torch.manual_seed(2)
    w, norm = torch.randn(256, 128) * 0.05, torch.rand(128) + 0.5
    x = torch.randn(33, 128)
    x[:, :3] *= 30
    for p, eps in ((DynamicInt8.make(w), None), (DynamicInt8.make(w, norm, x.abs().amax(0)), 1e-5)):
        ours = dynamic_int8_mm(x, p, eps, torch.float32, kernels)
        theirs = dynamic_int8_mm(x, p, eps, torch.float32)
        assert float((ours - theirs).norm() / theirs.norm()) < 1e-3  # a tie may round the other way
    q, scale = kernels.quantize_rows(x, torch.empty(0), -1.0)
    assert q.dtype == torch.int8 and int(q.abs().amax(-1).min()) == 127 and scale.shape == (33, 1)
    assert torch.allclose(q.float() * scale, x, atol=float(scale.max()) / 2 + 1e-6)
    with pytest.raises(RuntimeError, match="into must be"):
        kernels.quantize_rows(x, torch.ones(5), 1e-5)


@pytest.fixture(scope="module")
def lm(built):
    # dynamic int8 forced on: torch._int_mm runs on any CPU (VNNI only makes it fast)
    model, tok = engine_model(dtype="bfloat16", native_kernels="on", int8_matmul="on")
    assert model.native is built and model.dynamic_int8
    reference, _ = engine_model(dtype="float32", int8_matmul="off", int8_decode_batch=0)
    assert reference.native is None  # a float32 model keeps torch ops: transformers' answers bit for bit
    return model, tok, reference


def _run(model, prompts, kernels, matmuls, feed=None, steps=8):
    """Decoding every prompt at once, fed ``feed`` (or its own greedy choices): the tokens fed and each
    step's logits."""
    model.native = kernels
    model.allocate(len(prompts), 96)
    logits = model.prefill(prompts, list(range(len(prompts))))
    positions = torch.tensor([len(p) for p in prompts])
    fed, out = [], [logits.float()]
    for step in range(steps):
        tokens = logits.float().argmax(-1) if feed is None else feed[step]
        logits = model.decode(tokens, positions, kernel=matmuls)
        fed.append(tokens)
        out.append(logits.float())
        positions = positions + 1
    return fed, out


def _error(steps, reference):
    """Mean relative distance of each step's logits from the float32 model's, and greedy choices shared."""
    rel = sum(float((a - b).norm() / b.norm()) for a, b in zip(steps, reference, strict=True)) / len(steps)
    return rel, sum(int((a.argmax(-1) == b.argmax(-1)).sum()) for a, b in zip(steps, reference, strict=True))


@pytest.mark.parametrize("matmuls", ["float", "int8-weight", "int8-dynamic"])
def test_in_the_model_they_are_as_close_to_float32_as_torch_ops(lm, built, matmuls):
    """Both runs are bf16, so neither gives float32's logits; with the same tokens fed, the native kernels'
    logits (prefill and decode) are no further from the float32 model's than torch ops'."""
    model, tok, reference = lm
    prompts = [torch.tensor(tok.encode(t)) for t in ("Once upon a time", "The capital of France is",
                                                    "def fibonacci(n):\n    ", "1, 2, 3, 4,")]
    try:
        fed, torch_steps = _run(model, prompts, None, matmuls)
        _, native_steps = _run(model, prompts, built, matmuls, feed=fed)
    finally:
        model.native = built
    _, exact = _run(reference, prompts, None, "float", feed=fed)
    (native_rel, native_agree), (torch_rel, torch_agree) = _error(native_steps, exact), _error(torch_steps, exact)
    assert native_rel < 1.3 * torch_rel + 0.005, (native_rel, torch_rel)
    assert native_agree >= torch_agree - 2, (native_agree, torch_agree)


def test_the_setting_is_checked_and_off_turns_them_off(monkeypatch):
    from llmaas.providers.huggingface import HuggingFaceProvider

    with pytest.raises(llmaas.ConfigurationError, match="native_kernels: Input should be 'auto', 'on' or 'off'"):
        HuggingFaceProvider(native_kernels="cuda")
    monkeypatch.setenv("LLMAAS_NATIVE_KERNELS", "off")
    assert HuggingFaceProvider().settings.native_kernels == "off"
    assert native.native_kernels("off") is None


def test_a_machine_that_cannot_build_them_keeps_torch_ops(monkeypatch, caplog):
    def no_compiler():
        raise RuntimeError("Ninja is required to load C++ extensions")

    monkeypatch.setattr(native, "_built", {})
    monkeypatch.setattr(native, "_build", no_compiler)
    with caplog.at_level("WARNING", logger="llmaas.engine"):
        assert native.native_kernels("auto") is None
    assert "could not be built" in caplog.text and "Ninja is required" in caplog.text
    with pytest.raises(llmaas.ConfigurationError, match="Ninja is required"):
        native.native_kernels("on")


def test_processes_starting_together_on_a_cold_cache_build_once(tmp_path):
    """Servers started at once on a fresh machine: one builds, the others wait for it and import the
    finished library; nothing half-written is imported and no build folder is left behind."""
    import subprocess
    import sys

    code = ("from llmaas.providers.huggingface.model import native\n"
            "m = native.native_kernels('on')\n"
            "print('ok', callable(m.decode_attention))\n")
    env = {**__import__("os").environ, "XDG_CACHE_HOME": str(tmp_path)}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert all(out.strip() == "ok True" for out, _ in outs)
    assert sum("building the native kernels" in err for _, err in outs) == 1
    folder = tmp_path / "llmaas" / "kernels"
    assert len(list(folder.glob("*.so"))) == 1
    assert not [p for p in folder.iterdir() if p.is_dir()]  # the build folder is gone


def test_exact_top_recomputes_the_likely_logits_and_no_others(kernels):
    """The kernel and the torch ops of ``CompactLM._exact_top`` recompute the same logits, in float32: those
    within the margin of each row's largest, and the asked-for id of each row."""
    from llmaas.providers.huggingface.model.compact import EXACT_MARGIN

    torch.manual_seed(3)
    rows, hidden, vocab = 5, 576, 3000
    x = torch.randn(rows, hidden) * 4
    norm = torch.rand(hidden) + 0.5
    head = (torch.randn(vocab, hidden) * 0.4).bfloat16()  # logits spread as a model's (std about 10)
    normed = norm * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5))
    exact = normed.double() @ head.double().T
    rough = exact.float().bfloat16().float()  # what a bf16 head gives
    also = torch.tensor([0, 1, 2, 3, 4]) * 500 + 7
    out = rough.clone()
    kernels.exact_top(x, norm, 1e-5, head, out, EXACT_MARGIN, also)
    near = rough >= rough.amax(-1, keepdim=True) - EXACT_MARGIN
    near[torch.arange(rows), also] = True
    assert 1 < int(near.sum()) < rows * vocab // 4
    assert torch.allclose(out[near].double(), exact[near], atol=2e-4, rtol=0)
    assert torch.equal(out[~near], rough[~near])
    assert (rough[near].double() - exact[near]).abs().max() > 1e-2  # there was something to correct
