"""Prompt scoring (completions with ``echo`` and ``logprobs``) batched across requests. Graders and
lm-evaluation-harness send many small scoring requests at once (each choice of each item a prompt of a few
dozen tokens); one forward pass over many of them costs little more than over one. The first request that
finds the scorer idle is scored at once; those that arrive while a pass runs wait for it and go together in
the next (so nothing waits on a timer), at most ``MAX_PROMPTS`` prompts and ``MAX_TOKENS`` padded tokens a
pass. A prompt's scores do not depend on its company (``score_many`` scores prompts together only where each
alone would use the same kernel)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch

MAX_PROMPTS = 64
MAX_TOKENS = 8192  # padded positions in one pass: prompts x the longest

Scores = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


@dataclass
class _Ask:
    prompts: list[torch.Tensor]
    top: int
    adapter: Any
    done: asyncio.Future[list[Scores]]


class ScoreBatcher:
    def __init__(self, model: Any, on_thread: Callable[[Callable[[], Any]], Awaitable[Any]]) -> None:
        self._model = weakref.ref(model)  # an unloaded model is freed, not kept by its scorer
        self.on_thread = on_thread  # run a function on the torch thread
        self._waiting: list[_Ask] = []
        self._busy = False

    async def score(self, prompts: list[torch.Tensor], top: int, adapter: Any = None) -> list[Scores]:
        ask = _Ask(prompts, top, adapter, asyncio.get_running_loop().create_future())
        self._waiting.append(ask)
        if not self._busy:
            self._busy = True
            asyncio.get_running_loop().create_task(self._drain())
        return await ask.done

    async def _drain(self) -> None:
        try:
            while self._waiting:
                asks, self._waiting = self._waiting, []
                groups: dict[tuple[int, int], list[_Ask]] = {}
                for ask in asks:
                    if not ask.done.done():  # a request cancelled while it waited is left out
                        groups.setdefault((ask.top, id(ask.adapter)), []).append(ask)
                for group in groups.values():
                    await self._pass(group)
        finally:
            self._busy = False

    async def _pass(self, asks: list[_Ask]) -> None:
        """Score ``asks`` (one top and adapter) in passes of at most the limits, in order of length."""
        items = sorted(((len(p), i, j) for i, a in enumerate(asks) for j, p in enumerate(a.prompts)))
        results: list[list[Scores | None]] = [[None] * len(a.prompts) for a in asks]
        try:
            start = 0
            while start < len(items):
                end = start + 1
                while end < len(items) and end - start < MAX_PROMPTS and items[end][0] * (end - start + 1) <= MAX_TOKENS:
                    end += 1
                chunk = items[start:end]
                tensors = [asks[i].prompts[j] for _, i, j in chunk]
                model = self._model()
                if model is None:
                    raise RuntimeError("the model was unloaded while its prompts waited to be scored")
                scored: list[Scores] = await self.on_thread(partial(model.score_many, tensors, asks[0].top,
                                                                    adapter=asks[0].adapter))
                del model
                for (_, i, j), s in zip(chunk, scored, strict=True):
                    results[i][j] = s
                start = end
        except Exception as exc:  # noqa: BLE001 - every request of the pass gets the error
            for ask in asks:
                if not ask.done.done():
                    ask.done.set_exception(exc)
            return
        for ask, got in zip(asks, results, strict=True):
            if not ask.done.done():
                ask.done.set_result([s for s in got if s is not None])
