"""The soak's checker on hand-made ledgers: it finds a loss, an invention, a duplicate, a
late timestamp and a stale value, and lets through only what a kill -9 explains."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from soak.ledger import Ledger
from soak.verify import (
    BatchLatency,
    Kill,
    StoreOutcome,
    StoreParams,
    check_sensor_store,
    compare_influx,
    influx_ms,
    kill_window,
    rss_growth,
    sensor_deliveries,
    steady_cpu,
)

A = "C8:25:2D:00:00:01"
T0 = 1_800_000_000.0
PARAMS = StoreParams(interval=10.0, allowance=2.0, kill_reach=15.0, start=T0, stop=T0 + 1000)


@dataclass(frozen=True)
class Em:
    """What the ledger reads of an emission."""

    sim_ts: float
    measurement: int
    values: Mapping[str, float]
    address: str = A
    receivers: tuple[int, ...] = (0,)


def temp(n: int) -> dict[str, float]:
    return {"temperature": 20.0 + n / 100, "humidity": 40.0}


@dataclass
class World:
    """A sensor every 4 simulated seconds, each advert a new measurement, written at once."""

    every: float = 4.0
    count: int = 20
    sequence: bool = True
    ledger: Ledger = field(default_factory=lambda: Ledger([A]))

    def __post_init__(self) -> None:
        for n in range(self.count):
            t = T0 + n * self.every
            self.ledger.record([Em(t, n, temp(n))], t, t + 0.01, written=1)

    def check(
        self, stored: Sequence[tuple[float, Mapping[str, float]]], params: StoreParams = PARAMS
    ) -> StoreOutcome:
        frozen = self.ledger.freeze()
        rows = np.arange(len(frozen))
        d = sensor_deliveries(frozen, rows, self.sequence, params.allowance, params.kills)
        out = StoreOutcome()
        check_sensor_store(A, d, stored, self.ledger_values, params, out, BatchLatency())
        return out

    def ledger_values(self, m: int) -> Mapping[str, float] | None:
        return self.ledger.values(0, m)

    def ideal(self) -> list[tuple[float, dict[str, float]]]:
        """What the hub should store: each 10 s bucket's latest reading, stamped at once."""
        latest: dict[int, tuple[float, dict[str, float]]] = {}
        for n in range(self.count):
            t = T0 + n * self.every + 0.005
            latest[int(t // 10)] = (t, temp(n))
        return list(latest.values())


def test_what_the_hub_should_store_passes() -> None:
    world = World()
    out = world.check(world.ideal())
    found = (out.invented, out.duplicates, out.lost, out.wrong_time, out.not_latest)
    assert found == (0, 0, 0, 0, 0)
    assert out.matched == out.stored == len(world.ideal())


def test_a_loss_outside_a_kill_window_fails() -> None:
    world = World()
    stored = world.ideal()
    del stored[3]  # one bucket in the middle of the run
    out = world.check(stored)
    assert out.lost >= 1
    assert out.lost_buckets == 1
    assert out.examples["lost"]


def test_the_same_loss_just_before_a_kill_is_allowed_and_listed() -> None:
    world = World()
    stored = world.ideal()
    lost_ts = stored[3][0]
    del stored[3]
    kill = Kill(at=lost_ts + 5, dead=lost_ts + 5.5, ready=lost_ts + 30)
    params = StoreParams(
        interval=10.0, allowance=2.0, kill_reach=15.0, kills=(kill,), start=T0, stop=T0 + 1000
    )
    out = world.check(stored, params)
    assert out.lost == 0
    assert out.allowed_lost_deliveries >= 1
    assert [(g.kill, g.buckets) for g in out.gaps] == [(1, 1)]


def test_a_hub_behind_at_the_kill_loses_from_its_last_commit_on() -> None:
    kill = Kill(at=T0 + 100, dead=T0 + 100.2, ready=T0 + 130, last_commit=T0 + 60)
    params = StoreParams(interval=10.0, allowance=2.0, kill_reach=15.0, kills=(kill,))
    assert kill_window(T0 + 50, params) == 0  # after the last commit, minus the reach
    assert kill_window(T0 + 40, params) is None  # before it: a hole, not the kill's doing
    assert kill_window(T0 + 101, params) is None  # after the process was gone


def test_an_invented_reading_fails() -> None:
    world = World()
    stored = [*world.ideal(), (T0 + 33.0, {"temperature": 99.0, "humidity": 40.0})]
    out = world.check(stored)
    assert out.invented == 1
    assert out.examples["invented"]


def test_two_readings_in_one_bucket_are_a_duplicate() -> None:
    world = World()
    stored = world.ideal()
    t, _ = stored[2]
    stored.append((t - 3.0, dict(temp(int((t - 3.0 - T0) // 4)))))
    out = world.check(stored)
    assert out.duplicates == 1


def test_a_late_timestamp_fails() -> None:
    world = World()
    stored = world.ideal()
    t, values = stored[4]
    stored[4] = (t + 30.0, values)  # the right values, stamped well after they were written
    out = world.check(stored)
    assert out.wrong_time == 1
    assert "stored at" in out.examples["wrong timestamp"][0]


def test_a_stored_value_that_is_not_the_latest_of_its_bucket_fails() -> None:
    world = World(every=3.0)  # several measurements per bucket
    stored = world.ideal()
    t, _ = stored[5]
    bucket = int(t // 10)
    first = min(n for n in range(world.count) if int((T0 + n * 3.0) // 10) == bucket)
    stored[5] = (T0 + first * 3.0 + 0.005, temp(first))
    out = world.check(stored)
    assert out.not_latest == 1


def test_repeats_of_a_counted_measurement_are_no_new_readings() -> None:
    """A measurement repeated (same number) by a sensor with a counter is one reading."""
    ledger = Ledger([A])
    for k in range(12):  # measurement k // 3, three adverts each, one every 2 s
        t = T0 + 2 * k
        ledger.record([Em(t, k // 3, temp(k // 3))], t, t + 0.01, written=1)
    world = World(count=0, ledger=ledger)
    # Measurements 0..3 first heard at 0, 6, 12, 18 s: buckets 0 (0, 6) and 1 (12, 18).
    stored = [(T0 + 6.005, temp(1)), (T0 + 18.005, temp(3))]
    out = world.check(stored)
    assert (out.lost, out.not_latest, out.invented) == (0, 0, 0)


def test_influx_points_missing_extra_and_resent_after_a_kill() -> None:
    stored = [(T0 + 1.0, {"temperature": 20.5}, -60), (T0 + 11.0, {"temperature": 20.6}, None)]
    ms = influx_ms(T0 + 1.0)
    series: list[dict[str, Any]] = [
        {"metric": {"__name__": "ble_temperature"}, "values": [20.5, 20.5], "timestamps": [ms, ms]},
        {"metric": {"__name__": "ble_rssi"}, "values": [-60], "timestamps": [ms]},
    ]
    exact = compare_influx(stored, series)
    assert (exact.expected, exact.missing, exact.extra, exact.resent) == (3, 1, 1, 0)
    near_kill = compare_influx(stored, series, resend_windows=[(T0, T0 + 5)])
    assert (near_kill.extra, near_kill.resent) == (0, 1)
    wrong = [{"metric": {"__name__": "ble_temperature"}, "values": [20.7], "timestamps": [ms]}]
    assert compare_influx(stored, wrong, resend_windows=[(T0, T0 + 5)]).extra == 1


def test_rss_growth_compares_the_second_hour_with_the_last() -> None:
    samples = [
        {"life": 1, "sim": T0 + t, "rss_kib": 100_000 + (t // 3600) * 2_000}
        for t in range(0, 6 * 3600, 60)
    ]
    early, late, growth = rss_growth(samples, 1) or (0.0, 0.0, 0.0)
    assert early == 102_000
    assert late == 110_000
    assert growth == pytest.approx(8_000 / 102_000)


def test_steady_cpu_leaves_out_each_start() -> None:
    samples = [
        {"life": 1, "real": r, "cpu_s": 2.0 + 0.05 * r, "counters": {"advertisements": 1000 * r}}
        for r in range(20)
    ]
    cpu, adverts = steady_cpu(samples, warm_real_s=5)
    assert adverts == 14_000
    assert cpu == pytest.approx(0.7)


def test_stamps_of_a_tick_lie_between_those_measured_on_the_ticks_around_it() -> None:
    """One socket, read in order: a line is stamped after the lines written before it and
    before those written after it, whatever the hub's latency was."""
    ledger = Ledger([A])
    for k in range(3):
        t = T0 + 10 * k
        ledger.record([Em(t, k, temp(k))], t, t + 0.01, written=1)
    frozen = ledger.freeze()
    d = sensor_deliveries(frozen, np.arange(3), True, 100.0, ())
    latency = BatchLatency([(0, 0, T0 + 3.0), (2, 0, T0 + 21.0)])
    early, late = latency.windows(d, spread=0.5)
    assert list(early) == pytest.approx([T0, T0 + 10, T0 + 20])
    # Tick 1 was stamped after tick 0's line (T0 + 3) and before tick 2's (T0 + 21).
    assert late[1] == pytest.approx(T0 + 21.5)
    assert late[0] == pytest.approx(T0 + 21.5)  # before the next measured tick
    assert late[2] == pytest.approx(T0 + 20.01 + 100.0)  # nothing measured after it
