"""Where a decode step's time goes: ``torch.profiler`` over the compact engine's decode step at 8 and 64
sequences (the default bf16 engine, the cache at 512 positions, 256 of them in use), grouped by operator,
with the share of the step that is matrix multiplication.

The engine's own thread is stopped first and the steps run on this one: torch ops issued from a second
thread while the engine's thread pool exists ran up to 1.5x slower here, which an earlier version of this
profile counted in.

    .venv/bin/python bench/profile_step.py [--steps 20]
    LLMAAS_INT8_MATMUL=off .venv/bin/python bench/profile_step.py    # bf16 matmuls over 4 rows
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import torch
from torch.profiler import ProfilerActivity, profile

from llmaas.providers.huggingface.provider import HuggingFaceProvider

MODEL = "smollm2-135m-instruct"
MATMUL = {"aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear", "aten::_weight_int8pack_mm",
          "aten::_int_mm", "aten::_weight_int4pack_mm_for_cpu"}


class Labelled:
    """The model's native kernels, each call labelled ``native::<name>`` so the profiler counts it."""

    def __init__(self, module: object) -> None:
        self._module = module

    def __getattr__(self, name: str) -> object:
        fn = getattr(self._module, name)

        def call(*args: object) -> object:
            with torch.profiler.record_function(f"native::{name}"):
                return fn(*args)

        return call


def profile_decode(lm: object, batch: int, steps: int, used: int) -> tuple[float, list[tuple[str, float]]]:
    model: object = lm
    tokens = torch.randint(0, 49152, (batch,))
    positions = torch.full((batch,), used, dtype=torch.long)
    for _ in range(3):
        model.decode(tokens, positions)  # type: ignore[attr-defined]
    start = time.perf_counter()
    for _ in range(steps):
        model.decode(tokens, positions)  # type: ignore[attr-defined]
    per_step = (time.perf_counter() - start) / steps
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            model.decode(tokens, positions)  # type: ignore[attr-defined]
    totals: dict[str, float] = defaultdict(float)
    for event in prof.key_averages():
        totals[event.key] += event.self_cpu_time_total / 1e3 / steps  # ms per step, own time only
    return per_step, sorted(totals.items(), key=lambda kv: -kv[1])


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batches", default="8,64")
    args = p.parse_args(argv)
    provider = HuggingFaceProvider(progress=False, kv_cache_gb=1.0)
    torch.set_num_threads(provider.settings.thread_count)
    engine = provider.engine(MODEL)
    engine.wait_ready()
    lm = engine.model
    engine.shutdown()
    assert lm is not None
    if getattr(lm, "native", None) is not None:
        lm.native = Labelled(lm.native)
    lines = []
    for batch in map(int, args.batches.split(",")):
        lm.allocate(batch, 512)
        per_step, ops = profile_decode(lm, batch, args.steps, used=256)
        measured = sum(ms for _, ms in ops)
        matmul = sum(ms for name, ms in ops if name in MATMUL)
        lines += [f"**{batch} sequences**: {per_step * 1e3:.1f} ms a step ({batch / per_step:.0f} tokens/s); "
                  f"matrix multiplications {matmul:.1f} ms ({100 * matmul / measured:.0f}% of the profiled time)",
                  "", "| operator | ms per step | share |", "| --- | --- | --- |"]
        for name, ms in ops[:12]:
            lines.append(f"| `{name}` | {ms:.2f} | {100 * ms / measured:.1f}% |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
