"""Quality is part of speed: the perplexity of the built-in model on a fixed text
(``bench/data/quality_text.txt``, written for this bench) in each mode the engine can run, against float32
in the same run. Target: every default mode within 2% of float32's perplexity.

Float32 and bf16 are measured through the public API (completions with ``echo`` and ``logprobs``, the
prefill kernels that larger batches also use); the int8 weight copies that decode batches of up to
``LLMAAS_INT8_DECODE_BATCH`` sequences use are measured on the same text with ``CompactLM.score(int8=True)``.

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


def through_the_api(dtype: str) -> tuple[float, int, Any]:
    client = llmaas.Client(provider="hf", provider_options={"hf": {"progress": False, "dtype": dtype,
                                                                   "kv_cache_gb": 0.25}})
    r = client.completions.create(model=MODEL, prompt=TEXT, echo=True, logprobs=0, max_tokens=0)
    lps = [v for v in r.choices[0].logprobs.token_logprobs[1:] if v is not None]
    return perplexity(lps), len(lps), client


def main() -> str:
    import torch

    rows = []
    fp32, tokens, c32 = through_the_api("float32")
    c32.close()
    bf16, _, c16 = through_the_api("bfloat16")
    engine = c16.provider("hf").engine(MODEL)  # type: ignore[attr-defined]
    ids = engine.tokenizer.encode(TEXT, add_special_tokens=False)
    lps, _, _ = engine.model.score(torch.tensor(ids, dtype=torch.long), 0, int8=True)
    int8 = perplexity(lps.tolist())
    c16.close()
    rows = [f"Text: {tokens + 1} tokens.", "",
            "| mode | where the engine uses it | perplexity | against float32 |", "| --- | --- | --- | --- |",
            f"| float32 | `LLMAAS_DTYPE=float32` | {fp32:.4f} | 1.0000 |",
            f"| bf16 weights (default where the CPU has AVX512-BF16 or AMX) | prefill, decode batches over 4 | "
            f"{bf16:.4f} | {bf16 / fp32:.4f} |",
            f"| int8 weight copies, per-row scales (default with bf16) | decode batches of up to 4, short prefills | "
            f"{int8:.4f} | {int8 / fp32:.4f} |"]
    return "\n".join(rows)


if __name__ == "__main__":
    print(main())
