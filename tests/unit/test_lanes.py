"""Lanes of blocking work: work stuck in one lane never delays another, a caller waits at most the lane's
time limit, a full lane refuses at once, and stuck work shows in the lane's stats."""

import threading
import time

import anyio
import pytest

from llmaas._errors import APIStatusError
from llmaas._lanes import Lane


def test_stuck_work_in_one_lane_leaves_another_free():
    models, store = Lane("models", 2, timeout=None), Lane("store", 2)
    release = threading.Event()

    async def main():
        async with anyio.create_task_group() as tg:
            for _ in range(6):  # both model threads stuck, four more calls waiting behind them
                tg.start_soon(models.run, release.wait)
            await anyio.sleep(0.1)
            assert models.stats()["busy"] == 2 and models.stats()["waiting"] == 4
            started = time.monotonic()
            assert await store.run(lambda: 42) == 42
            waited = time.monotonic() - started
            release.set()
        return waited

    assert anyio.run(main) < 1.0
    assert models.stats()["busy"] == 0 and models.stats()["waiting"] == 0


def test_a_caller_waits_at_most_the_time_limit_and_stuck_work_shows():
    lane = Lane("models", 1, timeout=0.2)
    release = threading.Event()

    async def main():
        with pytest.raises(APIStatusError) as caught:
            await lane.run(release.wait)
        assert caught.value.status_code == 503 and caught.value.code == "work_timed_out"
        await anyio.sleep(0.05)
        assert lane.stats()["stuck"] == 1 and lane.stats()["timed_out"] == 1
        release.set()
        await anyio.sleep(0.1)
        assert lane.stats()["stuck"] == 0 and lane.stats()["busy"] == 0

    anyio.run(main)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_full_lane_refuses_at_once(backend):
    lane = Lane("models", 1, timeout=None, max_waiting=1)
    release = threading.Event()

    async def main():
        async with anyio.create_task_group() as tg:
            tg.start_soon(lane.run, release.wait)
            tg.start_soon(lane.run, release.wait)
            await anyio.sleep(0.1)
            started = time.monotonic()
            with pytest.raises(APIStatusError) as caught:
                await lane.run(release.wait)
            assert caught.value.status_code == 503 and caught.value.code == "server_busy"
            assert time.monotonic() - started < 1.0 and lane.stats()["refused"] == 1
            release.set()
        assert await lane.run(lambda: "after") == "after"

    anyio.run(main, backend=backend)
