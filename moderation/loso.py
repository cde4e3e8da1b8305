"""The honest gate for a moderation model: leave one source out. For each source family of the data set (each
public set, each file of texts written here), train on the train split of the others, set the thresholds on
their calibration split, and score every text of the held-out family with that model, which never saw its
source. Reported per held-out family and over all of them: AUROC of harmful or not (pooled over the
held-out scores; per family where it has both kinds of text), recall on harmful requests and statements,
and the false-positive rate on text without harm, at each sensitivity.

    .venv/bin/python moderation/loso.py [--method heads-minilm ...] [--sensitivity balanced]

Methods are in ``methods.py``; ``--all`` runs each and prints the comparison table.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from dataset import Example, load  # noqa: E402
from train import HEADS  # noqa: E402

from llmaas.types.moderations import CATEGORIES  # noqa: E402

# subcategories whose heads may flag alone once trained on enough examples (the rest only with their parent)
TOP = [k for k, c in enumerate(CATEGORIES) if "/" not in c]


def auroc(scores: np.ndarray, truth: np.ndarray) -> float:
    """The probability that a random harmful text scores above a random one without harm (ties: half)."""
    pos, neg = scores[truth], scores[~truth]
    if not len(pos) or not len(neg):
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    values = np.concatenate([pos, neg])[order]
    # average ranks over ties
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def flagged(scores: np.ndarray, thresholds: np.ndarray, trusted: np.ndarray, rule: str = "any") -> np.ndarray:
    """What ``Moderator`` flags: under the ``any`` rule (llmaas-moderation-2), the any-harm head over its
    threshold; under ``categories`` (llmaas-moderation-1), also a top-level category or a subcategory
    trusted to flag alone over its own."""
    if rule == "any":
        return scores[:, -1] >= thresholds[-1]
    heads = np.array(TOP + [k for k in range(len(CATEGORIES)) if trusted[k] and k not in TOP] + [len(HEADS) - 1])
    return (scores[:, heads] >= thresholds[heads]).any(axis=1)


@dataclass
class Fold:
    family: str
    scores: np.ndarray  # [n, 14] held-out probabilities
    thresholds: dict[str, np.ndarray]  # per sensitivity
    trusted: np.ndarray
    rule: str = "any"


def run(method: str, data: list[Example], families: list[str] | None = None, log: bool = True,
        keep: bool = False) -> list[Fold]:
    """One fold per family; with ``keep``, each fold's held-out scores are kept in ``moderation/.cache`` as
    it ends (a slow method's run can be stopped and taken up again where it was)."""
    from methods import METHODS

    fit = METHODS[method]
    fams = families or sorted({e.family for e in data})
    # kept folds belong to this exact data set
    version = hashlib.sha256(repr([(e.text, sorted(e.categories), e.family, e.split) for e in data]).encode()
                             ).hexdigest()[:10]
    folds = []
    for fam in fams:
        start = time.perf_counter()
        saved = HERE / ".cache" / f"fold-{method}-{fam.replace('/', '_')}-{version}.npz"
        if keep and saved.exists():
            z = np.load(saved)
            thresholds = {k.removeprefix("t_"): z[k] for k in z.files if k.startswith("t_")}
            folds.append(Fold(fam, z["scores"], thresholds, z["trusted"], str(z["rule"])))
            continue
        train = [e for e in data if e.family != fam and e.split == "train"]
        calib = [e for e in data if e.family != fam and e.split == "calibration"]
        held = [e for e in data if e.family == fam]
        model = fit(train, calib)
        folds.append(Fold(fam, model.scores([e.text for e in held]), model.thresholds, model.trusted, model.rule))
        if keep:
            saved.parent.mkdir(exist_ok=True)
            np.savez(saved, scores=folds[-1].scores, trusted=model.trusted, rule=model.rule,  # pyright: ignore[reportArgumentType]
                     **{f"t_{k}": v for k, v in model.thresholds.items()})
        if log:
            print(f"  {method} without {fam}: {len(held)} held out, {time.perf_counter() - start:.0f}s",
                  file=sys.stderr)
    return folds


def table(folds: list[Fold], data: list[Example], sensitivity: str = "balanced") -> tuple[str, dict[str, float]]:
    rows = ["| held-out source | texts | harmful | AUROC | recall, harmful | false-positive rate |",
            "| --- | ---: | ---: | ---: | ---: | ---: |"]
    all_scores, all_truth, all_flag, all_kind = [], [], [], []
    recalls, fprs, aurocs = [], [], []
    for fold in folds:
        held = [e for e in data if e.family == fold.family]
        truth = np.array([bool(e.categories) for e in held])
        flags = flagged(fold.scores, fold.thresholds[sensitivity], fold.trusted, fold.rule)
        a = auroc(fold.scores[:, -1], truth)
        rec = float(flags[truth].mean()) if truth.any() else float("nan")
        fpr = float(flags[~truth].mean()) if (~truth).any() else float("nan")
        recalls += [rec] if truth.any() else []
        fprs += [fpr] if (~truth).any() else []
        aurocs += [a] if not np.isnan(a) else []
        rows.append(f"| {fold.family} | {len(held)} | {truth.sum()} | {_f(a)} | {_f(rec)} | {_f(fpr)} |")
        all_scores.append(fold.scores[:, -1])
        all_truth.append(truth)
        all_flag.append(flags)
        all_kind += [e.kind for e in held]
    s, t, f = np.concatenate(all_scores), np.concatenate(all_truth), np.concatenate(all_flag)
    kinds = np.array(all_kind)
    requests = kinds == "harmful request"
    summary = {"auroc": auroc(s, t), "recall": float(f[t].mean()), "recall_requests": float(f[requests].mean()),
               "fpr": float(f[~t].mean()), "negatives": int((~t).sum()), "harmful": int(t.sum()),
               "mean_recall": float(np.mean(recalls)), "mean_fpr": float(np.mean(fprs)),
               "mean_auroc": float(np.mean(aurocs))}
    rows.append(f"| all, pooled | {len(t)} | {t.sum()} | {_f(summary['auroc'])} | {_f(summary['recall'])} | "
                f"{_f(summary['fpr'])} |")
    rows.append(f"| mean over sources | | | {_f(summary['mean_auroc'])} | {_f(summary['mean_recall'])} | "
                f"{_f(summary['mean_fpr'])} |")
    return "\n".join(rows), summary


def _f(x: float) -> str:
    return "-" if np.isnan(x) else f"{x:.3f}"


def summary(methods: list[str], data: list[Example], families: list[str] | None = None) -> str:
    """One row per method: pooled and mean AUROC, and recall and false-positive rate at each sensitivity."""
    rows = ["| method | AUROC, pooled | AUROC, mean | strict: recall / FPR | balanced: recall / FPR | "
            "lenient: recall / FPR |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for method in methods:
        folds = run(method, data, families, keep=True)
        cells = []
        for sens in ("strict", "balanced", "lenient"):
            _, s = table(folds, data, sens)
            cells.append(f"{s['recall']:.3f} / {s['fpr']:.3f}")
        rows.append(f"| {method} | {s['auroc']:.3f} | {s['mean_auroc']:.3f} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    from methods import METHODS

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--method", action="append", choices=sorted(METHODS))
    p.add_argument("--summary", action="store_true", help="one row per method instead of a table per source")
    p.add_argument("--family", action="append", help="hold out only these families")
    args = p.parse_args(argv)
    data = load()
    methods = args.method or sorted(METHODS)
    if args.summary:
        print(summary(methods, data, args.family))
        return
    for method in methods:
        folds = run(method, data, args.family, keep=True)
        for sens in ("strict", "balanced", "lenient"):
            text, s = table(folds, data, sens)
            print(f"\n### {method}, {sens}\n\n{text}\n")
            print({k: round(v, 4) for k, v in s.items()})
        sys.stdout.flush()


if __name__ == "__main__":
    main()
