"""Evaluation building blocks: graders in OpenAI's shapes (``graders``), the text metrics they use
(``metrics``), templates over items and samples (``templates``), tools over a client that give graders the
models they call (``tools``), the bias suite ``llmaas-bias-1`` scored by log-probability (``bias``) and by
generation (``bias_generation``), eval specs and shipped suites (``spec``, ``suites``), comparisons of two
runs (``compare``) and one item's generation and grading (``items``)."""

from .bias import run_bias
from .graders import Grade, Grader, Tools, parse, register_python_grader
from .tools import tools_for

__all__ = ["Grade", "Grader", "Tools", "parse", "register_python_grader", "run_bias", "tools_for"]
