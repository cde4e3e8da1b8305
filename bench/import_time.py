"""`import llmaas` against `import openai`: median wall time of fresh interpreter processes, same run."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

CASES = {
    "import llmaas": "import llmaas",
    "from llmaas import Client (client + httpx + pydantic types)": "from llmaas import Client; import llmaas.types",
    "import openai": "import openai",
    "python -c pass (interpreter start)": "pass",
}


def median_seconds(code: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def heavy_modules() -> list[str]:
    code = "import sys, llmaas; print(' '.join(m for m in ('torch','transformers','fastapi') if m in sys.modules))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


def main(runs: int = 15) -> str:
    results = {name: median_seconds(code, runs) for name, code in CASES.items()}
    base = results["python -c pass (interpreter start)"]
    lines = ["| what | median wall (ms) | minus interpreter start (ms) |", "| --- | ---: | ---: |"]
    for name, t in results.items():
        lines.append(f"| `{name}` | {t * 1000:.0f} | {(t - base) * 1000:.0f} |")
    ours = results["import llmaas"] - base
    theirs = results["import openai"] - base
    lines.append("")
    lines.append(f"`import llmaas` costs {ours * 1000:.0f} ms over interpreter start, `import openai` "
                 f"{theirs * 1000:.0f} ms: ratio {ours / theirs:.3f} (target at most 0.5). Heavy modules loaded "
                 f"by `import llmaas`: {heavy_modules() or 'none'}.")
    return "\n".join(lines)


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 15))
