"""The clock guard on a manual clock: steps noticed, advertisements held and re-stamped exactly."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from loguru import logger

from hub.clock import ManualClock
from hub.events import Advertisement
from hub.health import HealthStatus
from hub.timekeeping.config import ClockConfig
from hub.timekeeping.guard import ClockGuard, describe_duration
from hub.timekeeping.health import ClockCheck

T0 = 1_700_000_000.0
HOUR = 3600.0
A = "AA:BB:CC:DD:EE:01"


@dataclass
class Harness:
    """A started guard on a manual clock, whose sink collects what it passes on."""

    clock: ManualClock
    guard: ClockGuard
    out: list[Advertisement] = field(default_factory=list)
    sent: int = 0
    fail_on: set[int] = field(default_factory=set)
    slow: bool = False  # the sink yields to the loop, as the router does under back-pressure
    delivering: asyncio.Event = field(default_factory=asyncio.Event)

    async def sink(self, adv: Advertisement) -> None:
        self.delivering.set()
        if self.slow:
            await asyncio.sleep(0)
        if adv.name is not None and int(adv.name) in self.fail_on:
            raise RuntimeError("the router broke")
        self.out.append(adv)

    async def hear(self, count: int = 1, every: float = 1.0, source: str = "radio") -> list[float]:
        """`count` advertisements `every` seconds apart, stamped with the wall clock as it is
        (right or wrong); returns their true times (T0 + monotonic time)."""
        truths = []
        for _ in range(count):
            self.clock.advance(every)
            truths.append(self.truth())
            await self.guard.submit(self.stamp(source=source))
        return truths

    def stamp(self, source: str = "radio") -> Advertisement:
        self.sent += 1
        return Advertisement(ts=self.clock.time(), address=A, name=str(self.sent), source=source)

    def truth(self) -> float:
        return T0 + self.clock.monotonic()

    async def wait(self, seconds: float, every: float = 1.0) -> None:
        """Let time pass without advertisements; the guard's job ticks."""
        passed = 0.0
        while passed < seconds:
            self.clock.advance(every)
            passed += every
            await self.guard.tick()
        await self.settle()

    async def settle(self) -> None:
        for _ in range(50):
            await asyncio.sleep(0)

    def check(self) -> HealthStatus:
        return ClockCheck(self.guard).evaluate(0.0)


@pytest.fixture
async def make() -> AsyncIterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def build(clock: ManualClock | None = None, **settings: Any) -> Harness:
        clock = clock or ManualClock(T0)
        harness = Harness(clock, ClockGuard(ClockConfig(**settings), clock))
        harness.guard.start(harness.sink, None, recorded=["capture"])
        made.append(harness)
        return harness

    yield build
    for harness in made:
        await harness.guard.stop()


@pytest.fixture
def messages() -> Iterator[list[str]]:
    seen: list[str] = []
    sink = logger.add(lambda message: seen.append(message.record["message"]), level="DEBUG")
    try:
        yield seen
    finally:
        logger.remove(sink)


def times(advs: list[Advertisement]) -> list[float]:
    return [a.ts for a in advs]


def near(values: list[float]) -> Any:
    return pytest.approx(values, abs=1e-6)


def test_step_sizes_read_like_a_person_would_write_them() -> None:
    assert describe_duration(-7203) == "2h 0m 3s"
    assert describe_duration(90) == "1m 30s"
    assert describe_duration(2.5) == "2.5s"
    assert describe_duration(5 * 86400 + 60) == "5d 0h 1m"


async def test_a_trusted_clock_passes_everything_as_stamped(make: Callable[..., Harness]) -> None:
    h = make()
    truths = await h.hear(5)
    assert times(h.out) == truths
    assert (h.guard.counters.passed, h.guard.held, h.guard.state) == (5, 0, "trusted")
    assert h.check().state == "ok"


@pytest.mark.parametrize(
    ("step", "told"), [(-7203.0, "stepped back by 2h 0m 3s"), (90.0, "stepped forward by 1m 30s")]
)
async def test_a_step_is_noticed_with_its_size_and_what_follows_is_held(
    make: Callable[..., Harness], messages: list[str], step: float, told: str
) -> None:
    h = make()
    await h.hear(3)
    h.clock.step(step)
    await h.hear(2)
    assert len(h.out) == 3
    assert h.guard.held == 2
    assert h.guard.counters.steps == 1
    assert h.guard.last_step is not None
    assert h.guard.last_step.size == pytest.approx(step)
    assert [m for m in messages if "System clock" in m] == [
        f"System clock {told}; holding advertisements until it is trusted again"
    ]
    status = h.check()
    assert status.state == "degraded"
    assert status.reason.startswith(f"system clock {told} at ")
    assert "holding 2 advertisements since" in status.reason


async def test_held_advertisements_get_their_true_times_once_the_clock_is_synchronised(
    make: Callable[..., Harness], messages: list[str]
) -> None:
    h = make()
    truths = await h.hear(3)
    # The clock goes an hour back and says it is not synchronised (the soak's fault).
    h.clock.step(-HOUR)
    h.clock.set_synchronised(False)
    truths += await h.hear(10)
    await h.wait(30)
    assert len(h.out) == 3, "nothing is released while the clock is not synchronised"
    # NTP puts it right; the guard waits until it stayed so for `settle` (5 s).
    h.clock.step(HOUR)
    h.clock.set_synchronised(True)
    truths += await h.hear(2)
    await h.settle()
    assert len(h.out) == 3
    await h.wait(4)
    assert times(h.out) == near(truths)
    assert [a.name for a in h.out] == [str(n) for n in range(1, 16)]  # in order
    counters = h.guard.counters
    assert (counters.steps, counters.released_restamped, h.guard.held) == (2, 12, 0)
    assert "Clock synchronised: 12 held advertisements stamped and stored" in messages
    # Later advertisements pass as stamped again.
    truths += await h.hear(2)
    assert times(h.out) == near(truths)
    assert h.guard.state == "trusted"


async def test_the_clock_must_stay_stable_for_the_whole_settle_time(
    make: Callable[..., Harness],
) -> None:
    h = make(settle="10s")
    await h.hear(1)
    h.clock.step(-HOUR)
    h.clock.set_synchronised(False)
    truths = await h.hear(3)
    h.clock.step(HOUR)
    h.clock.set_synchronised(True)
    await h.wait(6)
    h.clock.step(3.0)  # moved again within the settle time: start over
    await h.wait(6)
    assert len(h.out) == 1
    await h.wait(5)  # ten seconds since the first look after the last step
    # Trusted on the clock as it now is (3 s ahead of where it was before).
    assert times(h.out[1:]) == near([t + 3.0 for t in truths])


async def test_a_clock_that_cannot_tell_is_trusted_again_once_stable(
    make: Callable[..., Harness], messages: list[str]
) -> None:
    # Someone corrects a clock that was ten minutes slow; the system cannot say whether
    # it is synchronised. The new time is taken once it stayed put for `settle`.
    h = make(ManualClock(T0 - 600, synchronised=None))
    before = await h.hear(2)
    h.clock.step(600)
    after = await h.hear(3)
    assert len(h.out) == 2
    await h.wait(5)
    assert times(h.out) == near([t - 600 for t in before] + after)
    assert h.guard.counters.released_restamped == 3
    assert "Clock stable again for 5.0s: 3 held advertisements stamped and stored" in messages


async def test_a_board_booted_without_time_holds_until_ntp_then_stores_true_times(
    make: Callable[..., Harness],
) -> None:
    # No real-time clock: the clock starts five days behind, unsynchronised.
    h = make(ManualClock(T0 - 5 * 86400, synchronised=False))
    truths = await h.hear(10)
    assert h.out == []
    status = h.check()
    assert status.state == "degraded"
    assert status.reason.startswith("system clock not synchronised: holding 10 advertisements")
    h.clock.step(5 * 86400)
    h.clock.set_synchronised(True)
    await h.wait(6)  # seen synchronised at the first tick, then five seconds
    assert times(h.out) == near(truths)
    assert h.check().state == "degraded"  # the step stays in the report for a while
    await h.wait(HOUR, every=60)
    assert h.check().state == "ok"


async def test_past_max_hold_the_held_ones_continue_the_timeline_before_the_step(
    make: Callable[..., Harness], messages: list[str]
) -> None:
    h = make(max_hold="60s")
    truths = await h.hear(3)
    h.clock.step(-HOUR)
    h.clock.set_synchronised(False)
    truths += await h.hear(30)
    await h.wait(31)
    # Released with the best time known: the timeline before the step, here the truth.
    assert times(h.out) == near(truths)
    assert h.guard.counters.released_unsynchronised == 30
    assert any(
        m.startswith("Clock still not trusted, held for 1m 0s (clock.max_hold)") for m in messages
    )
    status = h.check()
    assert status.state == "failing"
    assert status.reason.startswith("system clock still not trusted: 30 advertisements passed on")
    # What comes next is not held any more, but stamped the same way.
    truths += await h.hear(2)
    await h.settle()
    assert times(h.out) == near(truths)
    assert h.guard.counters.released_unsynchronised == 32
    # NTP again: trusted; the report stays failing for an hour, then clears.
    h.clock.step(HOUR)
    h.clock.set_synchronised(True)
    await h.wait(6)
    truths += await h.hear(1)
    assert times(h.out) == near(truths)
    assert h.check().state == "failing"
    assert "were passed on with an untrusted clock" in h.check().reason
    await h.wait(HOUR, every=60)
    assert h.check().state == "ok"


async def test_past_max_held_the_held_ones_are_released_too(
    make: Callable[..., Harness],
) -> None:
    h = make(max_held=5)
    await h.hear(1)
    h.clock.step(-HOUR)
    h.clock.set_synchronised(False)
    truths = await h.hear(5)
    await h.settle()
    assert times(h.out[1:]) == near(truths)
    assert h.guard.counters.released_unsynchronised == 5
    assert h.guard.state == "released_unsynchronised"


async def test_with_no_timeline_before_the_released_ones_keep_their_stamps(
    make: Callable[..., Harness],
) -> None:
    h = make(ManualClock(T0 - 86400, synchronised=False), max_hold="10s")
    await h.hear(3)
    await h.wait(10)
    assert times(h.out) == near([T0 - 86400 + t for t in (1.0, 2.0, 3.0)])
    assert h.guard.counters.released_unsynchronised == 3


async def test_store_mode_holds_nothing_and_tells(make: Callable[..., Harness]) -> None:
    h = make(unsynchronised="store")
    stamped = []
    await h.hear(2)
    h.clock.step(-HOUR)
    h.clock.set_synchronised(False)
    for _ in range(3):
        h.clock.advance(1)
        adv = h.stamp()
        stamped.append(adv.ts)
        await h.guard.submit(adv)
    assert times(h.out[2:]) == stamped
    assert (h.guard.held, h.guard.counters.steps) == (0, 1)
    status = h.check()
    assert status.state == "degraded"
    assert "system clock stepped back by 1h 0m 0s at" in status.reason
    assert "not synchronised since" in status.reason
    assert "(stored as stamped)" in status.reason


async def test_ordinary_jitter_slewing_and_small_corrections_are_not_steps(
    make: Callable[..., Harness],
) -> None:
    h = make()
    rng = random.Random(12)
    stamped = []
    for second in range(3600):
        h.clock.advance(1.0)
        h.clock.step(0.0005)  # NTP slewing at its fastest (500 ppm)
        if second % 300 == 0:
            h.clock.step(rng.choice((-0.05, 0.05)))  # a small NTP step
        # Queueing in the source: stamped up to 1.5 s before it reaches the guard.
        adv = h.stamp()
        adv = Advertisement(ts=adv.ts - rng.uniform(0, 1.5), address=A, name=adv.name)
        stamped.append(adv.ts)
        await h.guard.submit(adv)
    assert times(h.out) == stamped
    assert (h.guard.counters.steps, h.guard.held) == (0, 0)
    assert h.check().state == "ok"


async def test_recorded_timestamps_are_not_guarded(make: Callable[..., Harness]) -> None:
    h = make()
    h.clock.step(-HOUR)
    h.clock.set_synchronised(False)
    adv = h.stamp(source="capture")
    await h.guard.submit(adv)
    assert h.out == [adv]
    assert (h.guard.counters.not_guarded, h.guard.counters.steps) == (1, 0)


@pytest.mark.parametrize("step", [-HOUR, HOUR])
async def test_an_advertisement_stamped_just_before_a_step_keeps_its_true_time(
    make: Callable[..., Harness], step: float
) -> None:
    h = make()
    await h.hear(2)
    h.clock.advance(1)
    late = h.stamp()  # stamped by the source, still queued when the clock steps
    truth = h.truth()
    h.clock.step(step)
    h.clock.set_synchronised(False)
    await h.guard.submit(late)
    truths = await h.hear(2)
    h.clock.step(-step)
    h.clock.set_synchronised(True)
    await h.wait(6)
    assert times(h.out[2:]) == near([truth, *truths])


async def test_the_order_holds_while_a_release_is_under_way(
    make: Callable[..., Harness],
) -> None:
    h = make(settle=0)
    await h.hear(1)
    h.clock.step(-HOUR)
    h.clock.set_synchronised(False)
    await h.hear(50)
    h.clock.step(HOUR)
    h.clock.set_synchronised(True)
    h.slow = True
    h.delivering.clear()
    await h.guard.tick()
    await h.delivering.wait()
    assert 0 < h.guard.held < 50
    await h.hear(20)  # arriving while the 50 are still being released
    await h.settle()
    await h.wait(1)
    assert [int(a.name or 0) for a in h.out] == list(range(1, 72))
    assert times(h.out) == sorted(times(h.out))


async def test_stopping_passes_on_what_is_held_with_the_best_time_known(
    make: Callable[..., Harness], messages: list[str]
) -> None:
    h = make()
    truths = await h.hear(2)
    h.clock.step(-HOUR)
    h.clock.set_synchronised(False)
    truths += await h.hear(4)
    await h.guard.stop()
    assert times(h.out) == near(truths)
    assert h.guard.counters.released_unsynchronised == 4
    assert any(m.startswith("Stopping while the clock is not trusted: 4 held") for m in messages)


async def test_losing_synchronisation_without_a_step_holds_nothing(
    make: Callable[..., Harness], messages: list[str]
) -> None:
    h = make()
    truths = await h.hear(2)
    h.clock.set_synchronised(False)
    truths += await h.hear(3)
    assert times(h.out) == truths
    status = h.check()
    assert status.state == "degraded"
    assert status.reason.startswith("system clock not synchronised since ")
    h.clock.set_synchronised(True)
    await h.hear(1)
    assert h.check().state == "ok"
    assert "System clock synchronised again" in messages
    assert h.guard.counters.unsynchronised_periods == 1


async def test_a_failing_sink_costs_one_advertisement_not_the_release(
    make: Callable[..., Harness],
) -> None:
    h = make()
    await h.hear(1)
    h.clock.step(-HOUR)
    h.clock.set_synchronised(False)
    await h.hear(4)
    h.fail_on = {3}
    h.clock.step(HOUR)
    h.clock.set_synchronised(True)
    await h.wait(6)
    assert [a.name for a in h.out] == ["1", "2", "4", "5"]
    assert h.guard.counters.sink_errors == 1
    assert h.guard.held == 0


async def test_status_shows_the_counters(make: Callable[..., Harness]) -> None:
    h = make()
    await h.hear(1)
    h.clock.step(-HOUR)
    await h.hear(2)
    status = h.guard.status()
    assert status["state"] == "holding"
    assert (status["steps"], status["held"], status["last_step_s"]) == (1, 2, -HOUR)
    assert status["held_since"] == pytest.approx(T0 + 2.0)
    assert "clock holding: 2 held, 1 steps" in h.guard.summary()
