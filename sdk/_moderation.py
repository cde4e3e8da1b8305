"""The names of llmaas's own moderation models and of their calibrated threshold sets, with no imports, so
that the CLI, the store and the guardrails can name them cheaply."""

from __future__ import annotations

from typing import Literal

# the moderation models served in process, oldest first; the last is the default
MODERATION_MODELS = ("llmaas-moderation-1", "llmaas-moderation-2")
# a model's threshold sets, most readily flagging first: each is set for a stated false-positive rate on safe
# text (docs/moderation.md)
SENSITIVITIES = ("strict", "balanced", "lenient")
Sensitivity = Literal["strict", "balanced", "lenient"]
