"""The clock guard's release of what it held shares the loop (found by the soak run: a
release of minutes of advertisements held the loop for a second, the sources could not read,
and the readings they stamped afterwards were late)."""

from __future__ import annotations

import asyncio

from hub.clock import ManualClock
from hub.events import Advertisement
from hub.timekeeping.config import ClockConfig
from hub.timekeeping.guard import ClockGuard

T0 = 1_700_000_000.0


async def test_a_large_release_lets_other_tasks_run_in_between() -> None:
    clock = ManualClock(T0)
    passed: list[float] = []
    others_ran_during_release: list[int] = []
    ticks = 0

    async def sink(adv: Advertisement) -> None:
        passed.append(adv.ts)  # fast, never waits: like the router with room on the bus
        if len(passed) % 500 == 0:
            others_ran_during_release.append(ticks)

    guard = ClockGuard(ClockConfig(settle=5.0), clock)
    submit = guard.start(sink)
    try:
        await submit(Advertisement(ts=clock.time(), address="AA:BB:CC:DD:EE:01"))
        clock.step(-7200)  # the wall clock jumps: what follows is held
        for n in range(5_000):
            clock.advance(0.01)
            await submit(Advertisement(ts=clock.time(), address="AA:BB:CC:DD:EE:01", name=str(n)))
        assert guard.held == 5_000

        async def other_task() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.get_running_loop().create_task(other_task())
        clock.step(7200)  # set right...
        await guard.tick()
        clock.advance(6)  # ...and stable for the settle time: released
        await guard.tick()
        for _ in range(10_000):
            if guard.held == 0 and len(passed) == 5_001:
                break
            await asyncio.sleep(0)
        task.cancel()
    finally:
        await guard.stop()
    assert len(passed) == 5_001
    # The other task kept running all through the release, not only before and after it.
    assert len(set(others_ran_during_release)) >= 5
