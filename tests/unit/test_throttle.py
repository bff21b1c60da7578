"""The storage interval: at most one stored reading per sensor per interval, the latest."""

from __future__ import annotations

from hub.events import Reading
from hub.store.throttle import StorageThrottle

A, B = "AA:AA:AA:AA:AA:01", "AA:AA:AA:AA:AA:02"


class Ticks:
    """A monotonic clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def reading(ts: float, address: str = A, value: float = 0.0) -> Reading:
    return Reading(ts=ts, address=address, integration="t", measurements={"temperature": value})


def stored(throttle: StorageThrottle, readings: list[Reading]) -> list[float]:
    out = [kept.ts for r in readings if (kept := throttle.offer(r)) is not None]
    return out + [r.ts for r in throttle.drain()]


def test_the_latest_reading_of_each_interval_is_kept() -> None:
    throttle = StorageThrottle(10.0, monotonic=Ticks())
    # 1000..1009 is one interval, 1010..1019 the next, 1020.. the third
    timestamps = [1000.0, 1003.0, 1009.5, 1010.0, 1015.0, 1021.0]
    assert stored(throttle, [reading(t) for t in timestamps]) == [1009.5, 1015.0, 1021.0]
    assert throttle.throttled == 3


def test_sensors_are_throttled_independently() -> None:
    throttle = StorageThrottle(10.0, monotonic=Ticks())
    readings = [reading(1000.0, A), reading(1001.0, B), reading(1002.0, A), reading(1011.0, B)]
    assert sorted(stored(throttle, readings)) == [1001.0, 1002.0, 1011.0]


def test_zero_interval_stores_everything_at_once() -> None:
    throttle = StorageThrottle(0.0, monotonic=Ticks())
    assert [throttle.offer(reading(t)) is not None for t in (1.0, 1.1, 1.2)] == [True] * 3


def test_per_sensor_interval_overrides_the_default() -> None:
    throttle = StorageThrottle(10.0, {B: 0.0}, monotonic=Ticks())
    assert throttle.offer(reading(1000.0, B)) is not None
    assert throttle.offer(reading(1000.0, A)) is None


def test_a_quiet_sensor_is_released_after_one_interval() -> None:
    ticks = Ticks()
    throttle = StorageThrottle(10.0, monotonic=ticks)
    assert throttle.offer(reading(1000.0)) is None
    ticks.now = 9.9
    assert throttle.due() == []
    ticks.now = 10.0
    assert [r.ts for r in throttle.due()] == [1000.0]
    # A later reading of the interval already stored is not stored again.
    assert throttle.offer(reading(1005.0)) is None
    assert throttle.drain() == []


def test_late_readings_of_a_past_interval_are_not_stored() -> None:
    throttle = StorageThrottle(10.0, monotonic=Ticks())
    assert throttle.offer(reading(1015.0)) is None
    assert throttle.offer(reading(1005.0)) is None  # an older interval: superseded
    assert [r.ts for r in throttle.drain()] == [1015.0]


def test_seeded_last_stored_time_survives_a_restart() -> None:
    throttle = StorageThrottle(10.0, monotonic=Ticks())
    throttle.seed({A: 1004.0})
    assert stored(throttle, [reading(1008.0), reading(1012.0)]) == [1012.0]
