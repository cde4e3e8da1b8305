"""Lanes: bounded pools of threads, one per kind of blocking work, so that one kind cannot take the threads
another needs. Store calls run in the ``store`` lane; reading and describing model files in the ``models``
lane; converting GGUF files in the ``convert`` lane. Work in a lane has a time limit: a caller waits at most that long (503 ``work_timed_out``),
while the call itself runs on to its end in its thread, counted as stuck until it does. When every thread of
a lane is busy and ``max_waiting`` calls already wait, a new call is refused at once (503 ``server_busy``)
rather than queued behind work that may never end. ``stats()`` is what ``/ready`` and ``/metrics`` show.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

import anyio

from ._errors import APIStatusError
from ._threads import call_soon_threadsafe

T = TypeVar("T")


class LaneError(APIStatusError):
    """A lane refused or gave up waiting for a call (503)."""


class _DaemonPool:
    """``threads`` daemon threads taking calls from one queue, started as calls come. Daemon, as anyio's and
    asyncio's worker threads of an event loop are not joined either: an idle lane never holds up the
    interpreter's exit (joining pool threads at exit, after torch had run in the process, aborted it)."""

    def __init__(self, threads: int, name: str) -> None:
        self._threads, self._name = threads, name
        self._calls: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]]] = queue.SimpleQueue()
        self._started = 0
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        future: Future[T] = Future()
        self._calls.put((future, lambda: fn(*args)))
        with self._lock:
            if self._started < self._threads:
                self._started += 1
                threading.Thread(target=self._work, name=f"{self._name}-{self._started}", daemon=True).start()
        return future

    def _work(self) -> None:
        while True:
            future, call = self._calls.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
                future.set_exception(exc)


class Lane:
    def __init__(self, name: str, threads: int, timeout: float | None = None, max_waiting: int = 64) -> None:
        if threads < 1:
            raise ValueError("a lane needs at least one thread")
        self.name, self.threads, self.timeout, self.max_waiting = name, threads, timeout, max_waiting
        self._pool = _DaemonPool(threads, f"llmaas-{name}")
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._running: dict[int, float] = {}  # call -> when it started
        self._pending = 0  # submitted, not finished
        self.timed_out = 0
        self.refused = 0

    def stats(self) -> dict[str, int]:
        now = time.monotonic()
        with self._lock:
            busy = len(self._running)
            stuck = sum(1 for t in self._running.values() if self.timeout is not None and now - t > self.timeout)
            waiting = self._pending - busy
        return {"threads": self.threads, "busy": busy, "waiting": waiting, "stuck": stuck,
                "timed_out": self.timed_out, "refused": self.refused}

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        key = next(self._ids)
        with self._lock:
            self._running[key] = time.monotonic()
        try:
            return fn(*args, **kwargs)
        finally:
            with self._lock:
                del self._running[key]
                self._pending -= 1

    async def run(self, fn: Callable[..., T], *args: Any, timeout: float | None = -1.0, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on one of the lane's threads; ``timeout`` (default: the lane's) bounds the
        wait."""
        limit = self.timeout if timeout == -1.0 else timeout
        with self._lock:
            if self._pending >= self.threads + self.max_waiting:
                self.refused += 1
                raise LaneError(f"the server is busy: {self._pending} {self.name} tasks are in progress or waiting; "
                                "try again later", status_code=503, code="server_busy", type="server_error",
                                retry_after=5.0)
            self._pending += 1
        try:
            future: Future[T] = self._pool.submit(self._call, fn, args, kwargs)
        except BaseException:
            with self._lock:
                self._pending -= 1
            raise
        done = anyio.Event()
        schedule = call_soon_threadsafe()

        def wake(_: Future[T]) -> None:
            with contextlib.suppress(RuntimeError):  # the event loop has finished meanwhile
                schedule(done.set)

        future.add_done_callback(wake)
        try:
            with anyio.fail_after(limit) if limit is not None else contextlib.nullcontext():
                await done.wait()
        except TimeoutError:
            self.timed_out += 1
            raise LaneError(f"{self.name} work did not finish within {limit:g} s; it goes on in the background",
                            status_code=503, code="work_timed_out", type="server_error") from None
        finally:
            if not future.done() and future.cancel():  # never started: it will not run
                with self._lock:
                    self._pending -= 1
        return future.result()


_LANES: dict[str, Lane] = {}
# store calls; reading and describing model files; converting GGUF files (a child process each, minutes
# for a large model: a lane of their own, so that listing models never waits behind one)
_DEFAULTS: dict[str, tuple[int, float | None]] = {"store": (4, None), "models": (2, 600.0), "convert": (1, 1800.0)}
_guard = threading.Lock()


def lane(name: str) -> Lane:
    """The process's lane ``name`` (made on first use, with its defaults unless ``configure`` came first)."""
    with _guard:
        if name not in _LANES:
            threads, timeout = _DEFAULTS.get(name, (2, None))
            _LANES[name] = Lane(name, threads, timeout)
        return _LANES[name]


def configure(name: str, threads: int, timeout: float | None) -> Lane:
    """Size lane ``name`` (before its first use, or it is replaced: calls in flight finish in the old one)."""
    with _guard:
        _LANES[name] = Lane(name, threads, timeout)
        return _LANES[name]


def all_stats() -> dict[str, dict[str, int]]:
    with _guard:
        lanes = list(_LANES.values())
    return {lane.name: lane.stats() for lane in lanes}
