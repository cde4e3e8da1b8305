"""One stream against llama.cpp: transformers ``generate`` (fp32), llama-cpp-python on the same GGUF and the
llmaas engine, each in a fresh process, in alternating rounds of one sitting (timings on these machines
move 20-30% between sittings, so only ratios within a round mean much).

llama-cpp-python is not a dependency: its build compiles llama.cpp (about 25 minutes on 2 cores). Build
it once with ``pip wheel --no-deps llama-cpp-python`` and install the wheel and ``diskcache`` into
``.venv`` to run this.

    .venv/bin/python bench/one_stream.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import engine as contestants  # noqa: E402  (bench/engine.py: the same contestants, each in a fresh process)


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", default="2")
    args = p.parse_args(argv)
    lines = ["| round | transformers fp32 | llama-cpp-python | llmaas | llama-cpp-python / fp32 | llmaas / fp32 | "
             "llmaas / llama-cpp-python |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in range(args.rounds):
        hf = contestants.isolated("hf_single", args.threads, "float32")
        cpp = contestants.isolated("llama_cpp", args.threads)
        if cpp is None:
            return "llama-cpp-python is not installed in this environment (see the module's docstring)"
        ours = contestants.isolated("llmaas", args.threads, "1")["single"]
        lines.append(f"| {r + 1} | {hf:.1f} | {cpp[0]:.1f} | {ours:.1f} | {cpp[0] / hf:.2f} | {ours / hf:.2f} | "
                     f"{ours / cpp[0]:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
