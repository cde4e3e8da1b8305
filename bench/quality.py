"""Quality is part of speed: the perplexity of the built-in model on a fixed text
(``bench/data/quality_text.txt``, written for this bench) in each mode the engine can run, against float32
in the same run. Target: every default mode within 2% of float32's perplexity.

- through the public API (completions with ``echo``, ``logprobs`` and ``max_tokens=0``): float32, the bf16
  engine with bf16 matmuls (``int8_matmul="off"``) and with dynamic int8 ones (``"on"``, the default where
  the CPU has VNNI);
- each matmul kernel over the whole text (``CompactLM.score(kernel=...)``): bf16, int8 weight-only, exact
  int4 weight-only (the built-in model's weights are Q4_1), dynamic int8;
- the decode path, teacher-forced a token at a time through the bf16 KV cache, at batch 1 (int4
  weight-only kernel, or int8 with ``LLMAAS_INT4_WEIGHTS=off``) and at batch 64 (dynamic int8), with the
  native kernels and with torch ops (``LLMAAS_NATIVE_KERNELS=off``): what long generations at those batch
  sizes run.

    .venv/bin/python bench/quality.py
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import llmaas

MODEL = "smollm2-135m-instruct"
TEXT = (Path(__file__).parent / "data" / "quality_text.txt").read_text()


def perplexity(logprobs: list[float]) -> float:
    return math.exp(-sum(logprobs) / len(logprobs))


def through_the_api(dtype: str, **options: Any) -> tuple[float, int, Any]:
    client = llmaas.Client(provider="hf", provider_options={"hf": {"progress": False, "dtype": dtype,
                                                                   "kv_cache_gb": 0.5, **options}})
    r = client.completions.create(model=MODEL, prompt=TEXT, echo=True, logprobs=0, max_tokens=0)
    lps = [v for v in r.choices[0].logprobs.token_logprobs[1:] if v is not None]
    return perplexity(lps), len(lps), client


def decode_path(lm: Any, ids: list[int], batch: int) -> float:
    """Perplexity of row 0 when the text is fed one token per decode step to ``batch`` identical rows."""
    import torch

    lm.allocate(batch, 1 << (len(ids) + 1).bit_length())
    lps = []
    for p in range(len(ids) - 1):
        logits = lm.decode(torch.full((batch,), ids[p], dtype=torch.long), torch.full((batch,), p, dtype=torch.long))
        lps.append(float(torch.log_softmax(logits[0].float(), dim=-1)[ids[p + 1]]))
    return perplexity(lps)


def main() -> str:
    import torch

    fp32, tokens, c32 = through_the_api("float32")
    c32.close()
    api16, _, plain = through_the_api("bfloat16", int8_matmul="off")
    plain.close()
    api8, _, c16 = through_the_api("bfloat16", int8_matmul="on")
    engine = c16.provider("hf").engine(MODEL)  # type: ignore[attr-defined]
    lm = engine.model
    engine.shutdown()  # the model stays; its decode calls below run on this thread alone
    ids = engine.tokenizer.encode(TEXT, add_special_tokens=False)
    text = torch.tensor(ids, dtype=torch.long)

    def score(kernel: str) -> float:
        return perplexity(lm.score(text, 0, kernel=kernel)[0].tolist())

    kernels = {k: score(k) for k in ("float", "int4-weight", "int8-dynamic")
               if (k != "int8-dynamic" or lm.dynamic_int8) and (k != "int4-weight" or lm.int4)}
    one = decode_path(lm, ids, 1)
    many = decode_path(lm, ids, 64)
    native, lm.native = lm.native, None  # LLMAAS_NATIVE_KERNELS=off
    one_torch = decode_path(lm, ids, 1)
    many_torch = decode_path(lm, ids, 64)
    lm.native = native
    lm.dynamic_int8 = False  # LLMAAS_INT8_MATMUL=off: bf16 matmuls above 4 rows
    many_bf16 = decode_path(lm, ids, 64)
    lm.enable_int8_decode(lm.int8_max_batch, int4=False)  # LLMAAS_INT4_WEIGHTS=off
    kernels["int8-weight"] = score("int8-weight")
    one_int8 = decode_path(lm, ids, 1)
    c16.close()

    def row(mode: str, where: str, ppl: float) -> str:
        return f"| {mode} | {where} | {ppl:.4f} | {ppl / fp32:.4f} |"

    rows = [f"Text: {tokens + 1} tokens.", "",
            "| mode | where the engine uses it | perplexity | against float32 |", "| --- | --- | --- | --- |",
            row("float32 (API)", "`LLMAAS_DTYPE=float32`", fp32),
            row("bf16 engine, bf16 matmuls (API)", "`LLMAAS_INT8_MATMUL=off`", api16),
            row("bf16 engine, dynamic int8 matmuls (API)", "the default where the CPU has VNNI", api8),
            row("bf16 matmuls", "`LLMAAS_INT8_MATMUL=off`: prefill, decode batches over 4", kernels["float"]),
            row("int8 weight-only, per-row scales", "`LLMAAS_INT4_WEIGHTS=off`: decode batches of up to 4",
                kernels["int8-weight"])]
    if "int4-weight" in kernels:
        rows.append(row("exact int4 weight-only (4-bit weights, groups of 32)", "the default for weights on a "
                        "4-bit grid: decode batches of up to 4", kernels["int4-weight"]))
    if "int8-dynamic" in kernels:
        rows.append(row("dynamic int8 (W8A8, per-token scales, smoothed)", "default with VNNI: decode "
                        "batches over 4, prefill", kernels["int8-dynamic"]))
    small = "int4" if "int4-weight" in kernels else "int8"
    rows += [row(f"decode path, batch 1 (bf16 KV cache, {small} weight-only, native kernels)", "one stream", one),
             row(f"decode path, batch 1 ({small} weight-only, torch ops)", "`LLMAAS_NATIVE_KERNELS=off`", one_torch),
             row("decode path, batch 1 (int8 weight-only, native kernels)", "`LLMAAS_INT4_WEIGHTS=off`", one_int8),
             row("decode path, batch 64 (bf16 KV cache, bf16 matmuls)", "64 streams, `LLMAAS_INT8_MATMUL=off`",
                 many_bf16),
             row("decode path, batch 64 (bf16 KV cache, dynamic int8, native kernels)", "64 streams, default "
                 "with VNNI", many),
             row("decode path, batch 64 (dynamic int8, torch ops)", "`LLMAAS_NATIVE_KERNELS=off`", many_torch)]
    return "\n".join(rows)


if __name__ == "__main__":
    print(main())
