"""Which work a request is: interactive (someone waits on it) or batch (it fills capacity left idle).

A batch runner sets ``BATCH`` for the requests it makes; the in-process engine reads it when a request is
queued, admits interactive requests first, and gives their sequences the slots batch sequences hold."""

from __future__ import annotations

from contextvars import ContextVar

BATCH: ContextVar[bool] = ContextVar("llmaas_batch_priority", default=False)
