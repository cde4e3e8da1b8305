"""The text similarity metrics of OpenAI's ``text_similarity`` grader, computed here with the standard
library: each takes the model's answer and the reference and gives a score in [0, 1].

- ``fuzzy_match``: the similarity ratio of the two strings (difflib's, 2·matches / total length).
- ``bleu``: sentence BLEU, up to 4-grams, with the brevity penalty and add-epsilon smoothing of n-gram
  orders without a match (Chen and Cherry's method 1), on word and punctuation tokens, case-sensitive.
- ``gleu``: Google-BLEU, the smaller of n-gram precision and recall over 1- to 4-grams.
- ``rouge_1`` to ``rouge_5``: the F1 of n-gram overlap; ``rouge_l``: the F1 of the longest common
  subsequence; lower-cased word tokens, as the ROUGE package's default.
- ``cosine`` needs embeddings and is computed by the grader with the embedding model.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from difflib import SequenceMatcher

TOKEN = re.compile(r"\w+|[^\w\s]")
WORD = re.compile(r"\w+")
SMOOTHING = 0.1  # the count given to an n-gram order without a match (BLEU)


def _ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def fuzzy_match(output: str, reference: str) -> float:
    """Similarity of two strings by their longest matching blocks (``difflib``'s ratio), 0 to 1; two empty
    strings score 1."""
    if not output and not reference:
        return 1.0
    return SequenceMatcher(None, output, reference, autojunk=False).ratio()


def bleu(output: str, reference: str, max_n: int = 4) -> float:
    """Sentence BLEU of ``output`` against one ``reference``: the geometric mean of clipped n-gram precisions
    up to ``max_n`` (an order without a match counts ``SMOOTHING`` matches) times the brevity penalty, 0 to 1."""
    hyp, ref = TOKEN.findall(output), TOKEN.findall(reference)
    if not hyp or not ref:
        return float(hyp == ref)
    logs = 0.0
    for n in range(1, max_n + 1):
        h, r = _ngrams(hyp, n), _ngrams(ref, n)
        total = max(sum(h.values()), 0)
        if total == 0:  # an answer shorter than n: this order carries no evidence either way
            logs += math.log(SMOOTHING / 1)
            continue
        matched = sum(min(c, r[g]) for g, c in h.items())
        logs += math.log((matched or SMOOTHING) / total)
    brevity = 1.0 if len(hyp) > len(ref) else math.exp(1 - len(ref) / len(hyp))
    return brevity * math.exp(logs / max_n)


def gleu(output: str, reference: str, max_n: int = 4) -> float:
    """Google-BLEU: the smaller of n-gram precision and recall, over all n-grams from 1 to ``max_n`` together,
    0 to 1."""
    hyp, ref = TOKEN.findall(output), TOKEN.findall(reference)
    h: Counter[tuple[str, ...]] = Counter()
    r: Counter[tuple[str, ...]] = Counter()
    for n in range(1, max_n + 1):
        h.update(_ngrams(hyp, n))
        r.update(_ngrams(ref, n))
    if not h or not r:
        return float(not h and not r)
    matched = sum(min(c, r[g]) for g, c in h.items())
    return min(matched / sum(h.values()), matched / sum(r.values()))


def _f1(matched: int, hyp_total: int, ref_total: int) -> float:
    if matched == 0 or hyp_total == 0 or ref_total == 0:
        return 0.0
    precision, recall = matched / hyp_total, matched / ref_total
    return 2 * precision * recall / (precision + recall)


def rouge_n(output: str, reference: str, n: int) -> float:
    """ROUGE-N F1: overlap of word ``n``-grams (lower-cased) between ``output`` and ``reference``."""
    hyp, ref = _ngrams(WORD.findall(output.lower()), n), _ngrams(WORD.findall(reference.lower()), n)
    return _f1(sum(min(c, ref[g]) for g, c in hyp.items()), sum(hyp.values()), sum(ref.values()))


def rouge_l(output: str, reference: str) -> float:
    """ROUGE-L F1: the longest common subsequence of words (lower-cased), as precision and recall combined."""
    hyp, ref = WORD.findall(output.lower()), WORD.findall(reference.lower())
    if not hyp or not ref:
        return 0.0
    previous = [0] * (len(ref) + 1)
    for a in hyp:  # the longest common subsequence, one row at a time
        row = [0]
        for j, b in enumerate(ref):
            row.append(previous[j] + 1 if a == b else max(previous[j + 1], row[j]))
        previous = row
    return _f1(previous[-1], len(hyp), len(ref))


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors of the same length; 0 when either is all zeros."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


METRICS: dict[str, Callable[[str, str], float]] = {
    "fuzzy_match": fuzzy_match, "bleu": bleu, "gleu": gleu, "rouge_l": rouge_l,
    **{f"rouge_{n}": (lambda o, r, n=n: rouge_n(o, r, n)) for n in range(1, 6)},
}
TEXT_METRICS = frozenset({*METRICS, "cosine"})
