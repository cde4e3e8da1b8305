"""The built-in model's logits on fixed tokens, on every path a request can take, saved for comparison:
scoring with each matmul kernel (bf16), prefill and greedy decode at batch 1 and 4 (bf16 and float32).
Run by ``bench/before_after.py --logits`` for two trees; it uses only calls both sides have.

    .venv/bin/python bench/logits_dump.py OUT.pt
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from llmaas.providers.huggingface import HuggingFaceProvider

TEXT = Path(__file__).parent / "data" / "quality_text.txt"
KERNELS = ("float", "int8-weight", "int4-weight", "int8-dynamic")


def dump(out: str) -> None:
    found: dict[str, object] = {}
    for dtype in ("bfloat16", "float32"):
        provider = HuggingFaceProvider(progress=False, dtype=dtype, kv_cache_gb=0.1, int8_matmul="on")
        engine = provider.engine("smollm2-135m-instruct")
        engine.wait_ready()
        model, tok = engine.model, engine.tokenizer
        engine.shutdown()  # the model is driven directly (stopping, the engine lets go of it)
        ids = torch.tensor(tok.encode(TEXT.read_text()[:6000], add_special_tokens=False)[:600])
        for kernel in KERNELS if dtype == "bfloat16" else ("float",):
            found[f"{dtype} score {kernel}"] = model.score(ids, top=5, kernel=kernel)
        for batch in (1, 4):
            prompts = [ids[i * 20:(i + 1) * 20 + 10] for i in range(batch)]
            logits = model.prefill(prompts, list(range(batch)))
            steps, pos, nxt = [logits], torch.tensor([len(p) for p in prompts]), logits.argmax(-1)
            for _ in range(16):
                logits = model.decode(nxt, pos)
                steps.append(logits)
                pos, nxt = pos + 1, logits.argmax(-1)
            found[f"{dtype} prefill+decode batch {batch}"] = torch.stack(steps)
    torch.save(found, out)


if __name__ == "__main__":
    dump(sys.argv[1])
