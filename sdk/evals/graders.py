"""Graders, in the shapes OpenAI's evals define them (``testing_criteria``), and one of llmaas's own:

- ``string_check``: ``input`` against ``reference`` with ``eq``, ``ne``, ``like`` (contains) or ``ilike``
  (contains, ignoring case); score 1 or 0.
- ``text_similarity``: a metric of ``metrics.py`` or ``cosine`` (over the embedding model), passed at
  ``pass_threshold``.
- ``python``: a function registered in this process with ``register_python_grader``, or installed as an
  entry point of group ``llmaas.graders`` (how a server's admin offers one). Code sent in a request is
  never run: a grader with ``source`` is refused, in process and on the server alike.
- ``label_model``: another model reads ``input`` (messages, templated) and answers one of ``labels``
  (constrained decoding holds it to them); passed when the label is in ``passing_labels``.
- ``score_model``: another model answers a number in ``range``; passed at ``pass_threshold``.
- ``multiple_choice``: the model under test's log-probability of each of ``choices`` after ``input``, as
  lm-evaluation-harness scores multiple choice (no generation); passed when the most likely choice is
  ``answer`` (an index or the choice's text). ``normalize`` divides by each choice's length in characters.

``parse`` checks a grader against the eval's ``item_schema`` before any model is called, naming the field;
``grade`` scores one item with the ``Tools`` the caller gives (the models it may call).
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from llmaas._errors import BadRequestError
from llmaas._json import is_array, is_object

from . import templates
from .metrics import METRICS, TEXT_METRICS, cosine

OPERATIONS = ("eq", "ne", "like", "ilike")
PythonGrader = Callable[[dict[str, Any], dict[str, Any]], Any]  # (sample, item) -> score, bool or dict
_PYTHON: dict[str, PythonGrader] = {}


def register_python_grader(name: str, function: PythonGrader) -> None:
    """Make ``function(sample, item)`` available as ``{"type": "python", "name": ..., "function": name}``.
    It returns a score (a number; passed at ``pass_threshold``), a bool, or ``{"score", "reason"}``."""
    if not name or not callable(function):
        raise ValueError("register_python_grader needs a name and a function")
    _PYTHON[name] = function


_installed = False


def _load_installed() -> None:
    """Graders installed as packages (entry points of group ``llmaas.graders``, name -> function): how an
    admin gives a server python graders, since code sent in a request is never run."""
    global _installed
    if _installed:
        return
    _installed = True
    from importlib.metadata import entry_points

    for point in entry_points(group="llmaas.graders"):
        try:
            _PYTHON.setdefault(point.name, point.load())
        except Exception:  # noqa: BLE001 - a broken package: its grader is not offered
            import logging

            logging.getLogger("llmaas.evals").exception("the python grader %r could not be loaded", point.name)


@dataclass
class Tools:
    """What graders may call: the model under test's log-probabilities of continuations, the embedding model,
    and a grading model that answers under a JSON schema."""

    score_choices: Callable[[str, list[str]], Awaitable[list[float]]] | None = None
    embed: Callable[[list[str]], Awaitable[list[list[float]]]] | None = None
    judge: Callable[[str, list[dict[str, str]], dict[str, Any]], Awaitable[dict[str, Any]]] | None = None


@dataclass
class Grade:
    """One grader's verdict on one item: its score, whether it passed, the reason, and details for the output
    item."""
    name: str
    type: str
    score: float
    passed: bool
    reason: str
    details: dict[str, Any] = field(default_factory=dict[str, Any])

    def result(self) -> dict[str, Any]:
        """As an output item's ``results`` entry."""
        return {"name": self.name, "type": self.type, "score": self.score, "passed": self.passed,
                "reason": self.reason, "sample": self.details or None}


@dataclass
class Grader:
    """A testing criterion of an eval, ready to grade items (one of the six grader types in ``spec``)."""
    spec: dict[str, Any]
    name: str
    type: str

    async def grade(self, item: dict[str, Any], sample: dict[str, Any] | None, tools: Tools) -> Grade:
        """Grade ``item`` with ``sample`` (the model's answer, or None for a given-samples data source);
        ``tools`` reaches the models that label_model and score_model graders call."""
        return await _GRADE[self.type](self, item, sample or {}, tools)


def _bad(message: str, param: str) -> BadRequestError:
    return BadRequestError(message, status_code=400, param=param, code="invalid_grader")


def _require(spec: dict[str, Any], key: str, param: str) -> Any:
    if key not in spec or spec[key] is None:
        raise _bad(f"{param}: a {spec.get('type')} grader needs {key!r}", f"{param}.{key}")
    return spec[key]


def parse(spec: object, param: str, item_schema: dict[str, Any] | None, generates: bool) -> Grader:
    """A grader from its JSON, checked: its kind, its fields, and every template against ``item_schema``
    (``generates``: the run produces a sample the templates may read)."""
    if not is_object(spec):
        raise _bad(f"{param} must be an object describing a grader", param)
    kind = spec.get("type")
    if kind not in _GRADE:
        raise _bad(f"{param}.type must be one of {', '.join(sorted(_GRADE))}, got {kind!r}", f"{param}.type")
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _bad(f"{param} needs a name", f"{param}.name")

    def template(key: str) -> None:
        templates.check(_require(spec, key, param), item_schema, f"{param}.{key}", sample=generates)

    if kind == "string_check":
        template("input")
        template("reference")
        if spec.get("operation") not in OPERATIONS:
            raise _bad(f"{param}.operation must be one of {', '.join(OPERATIONS)}", f"{param}.operation")
    elif kind == "text_similarity":
        template("input")
        template("reference")
        if spec.get("evaluation_metric") not in TEXT_METRICS:
            raise _bad(f"{param}.evaluation_metric must be one of {', '.join(sorted(TEXT_METRICS))} (meteor is "
                       "not offered)", f"{param}.evaluation_metric")
        _threshold(spec, param)
    elif kind == "python":
        if "source" in spec:
            raise _bad(f"{param}: llmaas never runs code sent in a request; register the function in the "
                       "process (llmaas.evals.register_python_grader) and name it in 'function'", f"{param}.source")
        if spec.get("function") not in _PYTHON:
            _load_installed()
        if spec.get("function") not in _PYTHON:
            raise _bad(f"{param}.function names no registered python grader (registered: "
                       f"{', '.join(sorted(_PYTHON)) or 'none'})", f"{param}.function")
        _threshold(spec, param, default=0.5)
    elif kind in ("label_model", "score_model"):
        if not isinstance(_require(spec, "model", param), str):
            raise _bad(f"{param}.model must be a model name", f"{param}.model")
        messages = _require(spec, "input", param)
        if not is_array(messages) or not messages:
            raise _bad(f"{param}.input must be a list of messages", f"{param}.input")
        for i, m in enumerate(messages):
            if not is_object(m) or not isinstance(m.get("role"), str):
                raise _bad(f"{param}.input[{i}] must be a message with a role and content", f"{param}.input[{i}]")
            templates.check(m.get("content"), item_schema, f"{param}.input[{i}].content", sample=generates)
        if kind == "label_model":
            labels, passing = _require(spec, "labels", param), _require(spec, "passing_labels", param)
            if not is_array(labels) or not labels or not all(isinstance(x, str) for x in labels):
                raise _bad(f"{param}.labels must be a list of strings", f"{param}.labels")
            if not is_array(passing) or not set(passing) <= set(labels):
                raise _bad(f"{param}.passing_labels must be some of the labels", f"{param}.passing_labels")
        else:
            low, high = _range(spec, param)
            _threshold(spec, param, default=(low + high) / 2)
    elif kind == "multiple_choice":
        template("input")
        choices = _require(spec, "choices", param)
        if isinstance(choices, str):
            templates.check(choices, item_schema, f"{param}.choices", sample=False)
        elif not is_array(choices) or len(choices) < 2 or not all(isinstance(c, str) for c in choices):
            raise _bad(f"{param}.choices must be a template (\"{{{{item.choices}}}}\") or at least two strings",
                       f"{param}.choices")
        template("answer")
    return Grader(spec=spec, name=name, type=kind)


def _threshold(spec: dict[str, Any], param: str, default: float | None = None) -> None:
    value = spec.get("pass_threshold", default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad(f"{param}.pass_threshold must be a number", f"{param}.pass_threshold")


def _range(spec: dict[str, Any], param: str) -> tuple[float, float]:
    value = spec.get("range", [0, 1])
    if (not is_array(value) or len(value) != 2 or not all(isinstance(v, (int, float)) for v in value)
            or value[0] >= value[1]):
        raise _bad(f"{param}.range must be [low, high] with low < high", f"{param}.range")
    return float(value[0]), float(value[1])


# -- grading ----------------------------------------------------------------------------------------------

async def _string_check(g: Grader, item: dict[str, Any], sample: dict[str, Any], tools: Tools) -> Grade:
    got = templates.render(g.spec["input"], item, sample)
    want = templates.render(g.spec["reference"], item, sample)
    op = g.spec["operation"]
    passed = {"eq": got == want, "ne": got != want, "like": want in got,
              "ilike": want.lower() in got.lower()}[op]
    return Grade(g.name, g.type, float(passed), passed, f"{got!r} {op} {want!r}: {'true' if passed else 'false'}")


async def _text_similarity(g: Grader, item: dict[str, Any], sample: dict[str, Any], tools: Tools) -> Grade:
    got = templates.render(g.spec["input"], item, sample)
    want = templates.render(g.spec["reference"], item, sample)
    metric = g.spec["evaluation_metric"]
    if metric == "cosine":
        if tools.embed is None:
            raise RuntimeError("the cosine metric needs the embedding model, which this run was not given")
        a, b = await tools.embed([got, want])
        score = cosine(a, b)
    else:
        score = METRICS[metric](got, want)
    threshold = float(g.spec["pass_threshold"])
    return Grade(g.name, g.type, score, score >= threshold, f"{metric} {score:.3f} against {threshold}")


async def _python(g: Grader, item: dict[str, Any], sample: dict[str, Any], tools: Tools) -> Grade:
    out = _PYTHON[g.spec["function"]](sample, item)
    reason = ""
    if is_object(out):
        reason, out = str(out.get("reason", "")), out.get("score")
    if isinstance(out, bool):
        score = float(out)
    elif isinstance(out, (int, float)) and math.isfinite(out):
        score = float(out)
    else:
        raise RuntimeError(f"python grader {g.spec['function']!r} returned {out!r}, not a score")
    threshold = float(g.spec.get("pass_threshold", 0.5))
    return Grade(g.name, g.type, score, score >= threshold, reason or f"score {score:.3f} against {threshold}")


def _messages(g: Grader, item: dict[str, Any], sample: dict[str, Any]) -> list[dict[str, str]]:
    return [{"role": m["role"], "content": templates.render(m["content"], item, sample)} for m in g.spec["input"]]


async def _label_model(g: Grader, item: dict[str, Any], sample: dict[str, Any], tools: Tools) -> Grade:
    if tools.judge is None:
        raise RuntimeError("a label_model grader needs a grading model, which this run was not given")
    labels: list[str] = g.spec["labels"]
    schema = {"type": "object", "properties": {"label": {"type": "string", "enum": labels}}, "required": ["label"],
              "additionalProperties": False}
    answer = await tools.judge(g.spec["model"], _messages(g, item, sample), schema)
    label = answer.get("label")
    passed = label in g.spec["passing_labels"]
    return Grade(g.name, g.type, float(passed), passed, f"{g.spec['model']} labelled it {label!r}",
                 {"label": label})


async def _score_model(g: Grader, item: dict[str, Any], sample: dict[str, Any], tools: Tools) -> Grade:
    if tools.judge is None:
        raise RuntimeError("a score_model grader needs a grading model, which this run was not given")
    low, high = _range(g.spec, "score_model")
    schema = {"type": "object", "properties": {"score": {"type": "number", "minimum": low, "maximum": high}},
              "required": ["score"], "additionalProperties": False}
    answer = await tools.judge(g.spec["model"], _messages(g, item, sample), schema)
    score = min(max(float(answer.get("score", low)), low), high)
    threshold = float(g.spec.get("pass_threshold", (low + high) / 2))
    return Grade(g.name, g.type, score, score >= threshold, f"{g.spec['model']} scored it {score:g} in "
                 f"[{low:g}, {high:g}]")


async def _multiple_choice(g: Grader, item: dict[str, Any], sample: dict[str, Any], tools: Tools) -> Grade:
    if tools.score_choices is None:
        raise RuntimeError("a multiple_choice grader needs the model's log-probabilities, which this run lacks")
    context = templates.render(g.spec["input"], item, sample)
    raw = g.spec["choices"]
    choices = templates.lookup(raw, item, sample) if isinstance(raw, str) else \
        [templates.render(c, item, sample) for c in raw]
    if isinstance(choices, str):
        choices = json.loads(choices)
    if not is_array(choices) or len(choices) < 2:
        raise RuntimeError(f"the item's choices are not a list of at least two: {choices!r}")
    texts = [c if isinstance(c, str) else json.dumps(c) for c in choices]
    logprobs = await tools.score_choices(context, texts)
    scored = [lp / max(len(t), 1) for lp, t in zip(logprobs, texts, strict=True)] \
        if g.spec.get("normalize") else logprobs
    best = max(range(len(texts)), key=lambda i: scored[i])
    answer = templates.lookup(g.spec["answer"], item, sample)
    right = int(answer) if isinstance(answer, int) or (isinstance(answer, str) and answer.isdigit()
                                                         and answer not in texts) else \
        texts.index(answer) if answer in texts else -1
    if right < 0 or right >= len(texts):
        raise RuntimeError(f"the answer {answer!r} is neither an index of the choices nor one of them")
    passed = best == right
    return Grade(g.name, g.type, float(passed), passed,
                 f"chose {texts[best]!r} (log-probability {logprobs[best]:.2f}); the answer is {texts[right]!r}",
                 {"logprobs": logprobs, "chosen": best, "answer": right})


_GRADE: dict[str, Callable[[Grader, dict[str, Any], dict[str, Any], Tools], Awaitable[Grade]]] = {
    "string_check": _string_check, "text_similarity": _text_similarity, "python": _python,
    "label_model": _label_model, "score_model": _score_model, "multiple_choice": _multiple_choice,
}
