"""The engine at one stream and at 64 concurrent requests, this tree against an earlier commit, in
alternating rounds of one sitting (timings on these machines move 20-30% between sittings: only the ratio
within a round means much). A change that is meant to keep the engine's speed is checked this way.

The earlier commit is exported with ``git archive`` and laid out as the ``llmaas`` package (the folders
mapped as pyproject.toml maps them); each side runs its own ``bench/engine.py --only llmaas`` in a fresh
process, with the same virtual environment.

    .venv/bin/python bench/before_after.py --before REV [--rounds 2] [--threads 2]
    .venv/bin/python bench/before_after.py --before REV --logits   # are the answers the same, bit for bit?

``--logits`` compares the logits of both trees on every path (``bench/logits_dump.py``: each matmul kernel
scoring a text, prefill and decode at batch 1 and 4, bf16 and float32): a change meant to keep the engine's
answers shows 0 on every row.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYOUT = {"sdk": "llmaas", "providers": "llmaas/providers", "server": "llmaas/server", "store": "llmaas/store"}


def export(rev: str, into: Path) -> tuple[Path, Path]:
    """The tree at ``rev`` (for its bench/) and a folder holding its ``llmaas`` package."""
    src, pkg = into / "src", into / "pkg"
    src.mkdir()
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    for folder, target in LAYOUT.items():
        shutil.copytree(src / folder, pkg / target)
    return src, pkg


def measure(tree: Path, package: Path | None, threads: str) -> dict[str, float]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if package is not None:
        env["PYTHONPATH"] = str(package)
    out = subprocess.run([sys.executable, str(tree / "bench" / "engine.py"), "--only", "llmaas", threads, "64"],
                         cwd=tree, env=env, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {"single": result["single"], "64": result["levels"]["64"][0]}


def logits(rev: str) -> str:
    import torch

    with tempfile.TemporaryDirectory(prefix="llmaas-before-") as tmp:
        src, pkg = export(rev, Path(tmp))
        sides = {}
        for name, tree, package in (("before", src, pkg), ("now", ROOT, None)):
            env = {**os.environ, "HF_HUB_OFFLINE": "1", **({"PYTHONPATH": str(package)} if package else {})}
            out = Path(tmp) / f"{name}.pt"
            subprocess.run([sys.executable, str(ROOT / "bench" / "logits_dump.py"), str(out)], cwd=tree, env=env,
                           capture_output=True, check=True)
            sides[name] = torch.load(out)
    lines = [f"| path | largest difference, {rev[:8]} against now |", "| --- | ---: |"]
    for key, old in sides["before"].items():
        new = sides["now"][key]
        pairs = zip(old, new, strict=True) if isinstance(old, tuple) else [(old, new)]
        lines.append(f"| {key} | {max(float((a.float() - b.float()).abs().max()) for a, b in pairs):.3g} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> str:
    p = argparse.ArgumentParser()
    p.add_argument("--before", required=True, help="the earlier commit")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", default="2")
    p.add_argument("--logits", action="store_true", help="compare the logits instead of the speed")
    args = p.parse_args(argv)
    if args.logits:
        return logits(args.before)
    lines = [f"| round | one stream, {args.before[:8]} | one stream, now | now / before | 64 concurrent, "
             f"{args.before[:8]} | 64 concurrent, now | now / before |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    with tempfile.TemporaryDirectory(prefix="llmaas-before-") as tmp:
        src, pkg = export(args.before, Path(tmp))
        for r in range(args.rounds):
            old = measure(src, pkg, args.threads)
            new = measure(ROOT, None, args.threads)
            lines.append(f"| {r + 1} | {old['single']:.1f} | {new['single']:.1f} | {new['single'] / old['single']:.2f} | "
                         f"{old['64']:.0f} | {new['64']:.0f} | {new['64'] / old['64']:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
