"""Fidelity of every path the engine can take, against float32 on the same tokens (llama.cpp's measure,
``llama-perplexity --kl-divergence``; ``llmaas.providers.huggingface.model.fidelity``): mean KL divergence,
its 99th percentile, the share of positions with float32's top-1 token, and the mean absolute difference of
the next token's log-probability. The text is the bench's own: prose, code and dialogue in the chat
template (``bench/data/``), at least 5,000 tokens.

The gate, on every default path: same top-1 at least 98%, log-probability error at most 0.04 nats, and a
mean KL no worse than plain bf16 torch ops (transformers' model cast to bf16, measured here in the same
run). A path that misses it is not a default; an opt-in mode's row says so.

Paths, each fed the text the way the engine runs it: one prefill pass; chunked prefill (a chunk at a time,
later chunks reading the KV cache); decode steps teacher-forced through the bf16 KV cache at batch 1 and 4
(exact int4 weight-only; bf16 layers with ``LLMAAS_INT4_WEIGHTS=off``, as for a model whose weights are not
on a 4-bit grid) and at 64 (bf16 matmuls), with the native kernels and with torch ops; with a LoRA adapter
on. Opt-in modes: dynamic int8 (W8A8) and int8 weight-only layers. Then through the public API (``echo`` with ``logprobs``), where
only the scored tokens' log-probabilities come back.

    .venv/bin/python bench/quality.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import torch

import llmaas
from llmaas.providers.huggingface.model import fidelity as fid
from llmaas.providers.huggingface.model.compact import DYNAMIC8

MODEL = "smollm2-135m-instruct"
DATA = Path(__file__).parent / "data"
PIECES = ("quality_text.txt", "fidelity_prose.txt", "fidelity_code.txt", "fidelity_dialogue.txt")
TEXT = "\n\n".join((DATA / name).read_text() for name in PIECES)


def engine_model(dtype: str, **options: Any) -> tuple[Any, Any]:
    """The engine's model and tokenizer as ``llmaas.Client()`` builds them. The engine is stopped (it drops
    its reference); the model stays, and the runners below drive it on this thread alone."""
    client = llmaas.Client(provider="hf", provider_options={"hf": {"progress": False, "dtype": dtype,
                                                                   "kv_cache_gb": 0.5, **options}})
    engine = client.provider("hf").engine(MODEL)  # type: ignore[attr-defined]
    engine.wait_ready()
    lm, tok = engine.model, engine.tokenizer
    client.close()
    return lm, tok


def plain_bf16(folder: Path, segments: torch.Tensor) -> torch.Tensor:
    """transformers' model cast to bf16, its logits as they come (plain bf16 torch ops)."""
    from transformers import AutoModelForCausalLM

    hf = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.bfloat16, local_files_only=True)
    with torch.inference_mode():
        return torch.cat([hf(segments[i:i + 4]).logits.float() for i in range(0, segments.shape[0], 4)])


def random_adapter(folder: Path, out: Path) -> Path:
    """A LoRA adapter with random A and B on every projection (a visible change to every layer)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    hf = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32, local_files_only=True)
    model = get_peft_model(hf, LoraConfig(r=8, lora_alpha=16, init_lora_weights=False, target_modules=[
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]))
    for name, p in model.named_parameters():
        if "lora_B" in name:
            p.data *= 0.05
    model.save_pretrained(str(out))
    return out


def through_the_api() -> tuple[float, float, int]:
    """(same top-1, mean abs logprob difference, positions) of the default client against a float32 one,
    scoring the text with ``echo`` and ``logprobs=1``."""
    def score(**options: Any) -> Any:
        with llmaas.Client(provider="hf", provider_options={"hf": {"progress": False, **options}}) as client:
            r = client.completions.create(model=MODEL, prompt=TEXT, echo=True, logprobs=1, max_tokens=0)
            return r.choices[0].logprobs

    ref, out = score(dtype="float32"), score()
    pairs = list(zip(ref.token_logprobs[1:], out.token_logprobs[1:], strict=True))
    tops = list(zip(ref.top_logprobs[1:], out.top_logprobs[1:], strict=True))
    same = sum(max(a, key=a.__getitem__) == max(b, key=b.__getitem__) for a, b in tops) / len(tops)
    return same, sum(abs(a - b) for a, b in pairs) / len(pairs), len(pairs)


def main() -> str:
    from llmaas.providers.huggingface.management.loading import SMOLLM2, ensure_converted, resolve_source
    from llmaas.providers.huggingface.model.adapters import load_adapter

    folder = ensure_converted(resolve_source(SMOLLM2), progress=False)
    lm32, tok = engine_model("float32")
    lm, _ = engine_model("bfloat16")  # the defaults
    ids = tok.encode(TEXT, add_special_tokens=False)
    layouts = {"prefill": fid.segments_of(ids, 10), "batch 4": fid.segments_of(ids, 4),
               "batch 64": fid.segments_of(ids, 64)}
    refs = {name: (fid.one_pass(lm32, s) if name == "prefill" else fid.one_pass(lm32, s, rows_at_once=1))
            for name, s in layouts.items()}
    plain = fid.compare(refs["prefill"], plain_bf16(folder, layouts["prefill"]), layouts["prefill"])
    limit = plain.kl_mean
    small = "int4" if lm.int4 else "int8"
    rows: list[str] = []

    def row(name: str, where: str, layout: str, logits: torch.Tensor, default: bool = True,
            reference: torch.Tensor | None = None) -> None:
        f = fid.compare(refs[layout] if reference is None else reference, logits, layouts[layout])
        rows.append(fid.table_row(name, where, f, limit, default))
        print(rows[-1], flush=True)

    pre = layouts["prefill"]
    row("prefill, one pass (bf16 matmuls)", "prompts up to the chunk size", "prefill", fid.one_pass(lm, pre))
    row("prefill in chunks of 128 (KV cache read back)", "longer prompts (`LLMAAS_PREFILL_CHUNK`)", "prefill",
        fid.chunked(lm, pre, 128))
    row(f"decode, batch 1 ({small} weights, native kernels)", "one stream", "prefill", fid.decoded(lm, pre, batch=1))
    row(f"decode, batch 4 ({small} weights, native kernels)", "2-4 streams", "batch 4",
        fid.decoded(lm, layouts["batch 4"]))
    row("decode, batch 64 (bf16 matmuls, native kernels)", "5-64 streams", "batch 64",
        fid.decoded(lm, layouts["batch 64"]))
    native, lm.native = lm.native, None
    row(f"decode, batch 1 ({small} weights, torch ops)", "`LLMAAS_NATIVE_KERNELS=off`", "prefill", fid.decoded(lm, pre, batch=1))
    row("decode, batch 64 (bf16 matmuls, torch ops)", "`LLMAAS_NATIVE_KERNELS=off`", "batch 64",
        fid.decoded(lm, layouts["batch 64"]))
    lm.native = native

    with tempfile.TemporaryDirectory() as tmp:
        adapter_dir = random_adapter(folder, Path(tmp) / "adapter")
        a32, a16 = load_adapter(adapter_dir, lm32, "a"), load_adapter(adapter_dir, lm, "a")
    lm32.use_adapters([a32] * 4)
    lora_ref = fid.one_pass(lm32, layouts["batch 4"], rows_at_once=4)
    lm.use_adapters([a16] * 4)
    row("prefill with a LoRA adapter", "fine-tuned models", "batch 4",
        fid.one_pass(lm, layouts["batch 4"], rows_at_once=4), reference=lora_ref)
    row(f"decode, batch 4 with a LoRA adapter ({small} weights)", "fine-tuned models", "batch 4",
        fid.decoded(lm, layouts["batch 4"]), reference=lora_ref)
    lm.use_adapters([None] * 4)

    if lm.enable_dynamic_int8(torch.tensor(ids[:512])):
        row("prefill, dynamic int8 (W8A8)", "`LLMAAS_INT8_MATMUL=on` (opt-in)", "prefill",
            fid.one_pass(lm, pre, kernel=DYNAMIC8), default=False)
        row("decode, batch 64, dynamic int8 (W8A8)", "`LLMAAS_INT8_MATMUL=on` (opt-in)", "batch 64",
            fid.decoded(lm, layouts["batch 64"]), default=False)
    lm.dynamic_int8 = False
    lm.enable_int8_decode(lm.int8_max_batch, int4=False)
    row("decode, batch 1 (bf16 layers, int8 head)", "`LLMAAS_INT4_WEIGHTS=off`; models not on a 4-bit grid",
        "prefill", fid.decoded(lm, pre, batch=1))
    lm.enable_int8_decode(lm.int8_max_batch, int4=False, int8=True)
    row("decode, batch 1 (int8 weights, per-row scales)", "`LLMAAS_INT8_WEIGHTS=on` (opt-in)", "prefill",
        fid.decoded(lm, pre, batch=1), default=False)

    same, err, n = through_the_api()
    lines = [f"Text: {len(ids)} tokens ({', '.join(PIECES)}), in 10, 4 or 64 segments.", "",
             f"Plain bf16 torch ops (transformers' model cast to bf16, one pass): mean KL {plain.kl_mean:.5f}, "
             f"KL p99 {plain.kl_p99:.4f}, same top-1 {plain.same_top:.4f}, mean abs Δ logprob "
             f"{plain.logprob_error:.4f}: the KL limit.", "", fid.TABLE_HEAD, *rows, "",
             f"Through the public API (completions, `echo`, `logprobs=1`, default client against "
             f"`dtype=float32`, {n} tokens): same top-1 {same:.4f}, mean abs Δ logprob {err:.4f} nats."]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
