"""The battery report on a real database file written by the store: realistic battery series,
hourly rollups, raw readings purged as retention would, the newest minutes not rolled up."""

from __future__ import annotations

import asyncio
import functools
import json
import math
import random
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path

import aiosqlite
import pytest
from loguru import logger

from hub.alerts import battery
from hub.alerts.battery import (
    MIN_DRAIN_PER_DAY,
    MIN_T,
    BatteryReporter,
    Trend,
    build_report,
    build_report_sync,
    estimate_days_left,
    format_report,
    least_squares,
    report_from_dict,
    report_to_dict,
    since_last_swap,
    store_report,
    stored_reports,
)
from hub.bus import EventBus
from hub.cli import main as hub_main
from hub.clock import ManualClock
from hub.config.models import DeviceConfig, StoreConfig
from hub.events import BatteryReport, BatteryStatus, Reading
from hub.store.history import open_readonly
from hub.store.rollups import purge_raw, update_rollups
from hub.store.sqlite import SqliteStore

DAY = 86400.0
HOUR = 3600.0
STEP = 600.0  # one stored reading per sensor every 10 minutes
# Real time, so `hub battery` (which reads the clock) sees the series as recent.
NOW = float(int(time.time()))
NOT_ROLLED_UP = 20 * 60.0  # the newest readings are not in the rollups yet
RAW_KEPT = 7 * DAY  # raw readings older than this are purged (retention.raw = 7d)


@dataclass(frozen=True)
class Series:
    """One sensor: who it is, when it talked, what it said."""

    address: str
    name: str
    start: float  # seconds before NOW
    end: float  # seconds before NOW (0: still talking)
    values: Callable[[float, random.Random], dict[str, float]]  # (days before NOW) -> values
    disabled: bool = False


def drain(level_now: float, per_day: float) -> Callable[[float], float]:
    """Battery % `ago` days before now, draining `per_day` towards `level_now`."""
    return lambda ago: level_now + per_day * ago


KITCHEN = drain(60.0, 0.5)  # linear, 0.5 %/day: 120 days left
OUTDOOR = drain(60.0, 1.0)  # 1 %/day with a daily swing and noise: 60 days left
SHED = drain(46.0, 0.8)  # silent for the last 12 days: 46 % now by the line, 57.5 days left
PORCH_OLD = drain(22.0, 0.6)  # the old battery, until 10 days ago
PORCH_NEW = drain(97.0, 0.3)  # a new one since: 323 days left


def kitchen(ago: float, rng: random.Random) -> dict[str, float]:
    battery = round(KITCHEN(ago), 1)
    return {"temperature": 21.0, "battery": battery, "voltage": round(2.5 + battery / 200, 3)}


def freezer(ago: float, rng: random.Random) -> dict[str, float]:
    # Full, and jittering by one point (a percentage computed from a voltage).
    return {"temperature": -18.0, "battery": rng.choice((99, 100, 100)), "voltage": 3.0}


def outdoor(ago: float, rng: random.Random) -> dict[str, float]:
    # The percentage follows the voltage, and the voltage the temperature: a daily swing
    # of +-6 points, plus noise, in whole percent.
    swing = 6 * math.sin(2 * math.pi * ((NOW - ago * DAY) % DAY) / DAY)
    return {"temperature": 5.0, "battery": round(OUTDOOR(ago) + swing + rng.gauss(0, 2))}


def attic(ago: float, rng: random.Random) -> dict[str, float]:
    return {"temperature": 30.0, "battery": round(50 + 5 * ago)}  # steep, but 2 days only


def soil(ago: float, rng: random.Random) -> dict[str, float]:
    return {"moisture": 40.0, "voltage": round(2.9 + 0.1 * ago / 30, 3)}  # no percentage


def garage(ago: float, rng: random.Random) -> dict[str, float]:
    return {"temperature": 12.0, "battery": round(30 + 2 * ago, 1)}


def shed(ago: float, rng: random.Random) -> dict[str, float]:
    return {"temperature": 8.0, "battery": round(SHED(ago), 2), "voltage": 2.8}


def porch(ago: float, rng: random.Random) -> dict[str, float]:
    level = PORCH_NEW(ago) if ago < 10 else PORCH_OLD(ago)
    return {"temperature": 10.0, "battery": round(level, 1)}


def hall(ago: float, rng: random.Random) -> dict[str, float]:
    return {"temperature": 20.0}  # mains powered: nothing about a battery


def cellar(ago: float, rng: random.Random) -> dict[str, float]:
    return {"temperature": 9.0, "battery": 0, "voltage": 2.05}


def desk(ago: float, rng: random.Random) -> dict[str, float]:
    return {"temperature": 22.0, "battery": 88, "voltage": 2.95}  # new: nothing rolled up yet


SERIES = (
    Series("C8:25:2D:8E:AB:01", "Kitchen", 40 * DAY, 0, kitchen),
    Series("C8:25:2D:8E:AB:02", "Freezer", 40 * DAY, 0, freezer),
    Series("C8:25:2D:8E:AB:03", "Outdoor", 35 * DAY, 0, outdoor),
    Series("C8:25:2D:8E:AB:04", "Attic", 2 * DAY, 0, attic),
    Series("C8:25:2D:8E:AB:05", "Soil", 30 * DAY, 0, soil),
    Series("C8:25:2D:8E:AB:06", "Garage", 30 * DAY, 0, garage, disabled=True),
    Series("C8:25:2D:8E:AB:07", "Shed", 30 * DAY, 12 * DAY, shed),
    Series("C8:25:2D:8E:AB:08", "Porch", 30 * DAY, 0, porch),
    Series("C8:25:2D:8E:AB:09", "Hall", 10 * DAY, 0, hall),
    Series("C8:25:2D:8E:AB:0A", "Cellar", 10 * DAY, 0, cellar),
    Series("C8:25:2D:8E:AB:0B", "Desk", 15 * 60, 0, desk),
)
BY_NAME = {s.name: s for s in SERIES}
# Empty; then by days left; then unknown days by battery, by voltage; then nothing.
ORDER = [
    "Cellar",
    "Shed",
    "Outdoor",
    "Kitchen",
    "Porch",
    "Attic",
    "Desk",
    "Freezer",
    "Soil",
    "Hall",
]


@functools.cache
def readings() -> tuple[Reading, ...]:
    """Every sensor's readings, in time order (the store refuses to go back in time)."""
    rng = random.Random(6)
    out = []
    for i, series in enumerate(SERIES):
        ts = NOW - series.start + i  # sensors a second apart
        while ts <= NOW - series.end - 30:
            ago = (NOW - ts) / DAY
            out.append(Reading(ts, series.address, "bthome", series.values(ago, rng)))
            ts += STEP
    out.sort(key=lambda r: r.ts)
    return tuple(out)


def last_values(name: str) -> dict[str, float]:
    series = BY_NAME[name]
    last = [r for r in readings() if r.address == series.address][-1]
    return dict(last.measurements)


@dataclass(frozen=True)
class Db:
    path: Path  # raw readings older than RAW_KEPT purged
    intact: Path  # the same before the purge


def build_db(directory: Path) -> Db:
    path = directory / "hub.db"
    intact = directory / "intact.db"
    devices = {s.address: DeviceConfig(name=s.name, disabled=s.disabled or None) for s in SERIES}

    async def build() -> None:
        store = SqliteStore(StoreConfig(path=path, min_interval=0), ManualClock(NOW), devices)
        await store.open()
        try:
            every = readings()
            cut = next(i for i, r in enumerate(every) if r.ts > NOW - NOT_ROLLED_UP)
            for r in every[:cut]:
                await store.add(r)
            await store.flush()
            await update_rollups(store.connection, lock=store.write_lock)
            for r in every[cut:]:
                await store.add(r)
            await store.flush()
        finally:
            await store.close()
        with closing(sqlite3.connect(path)) as src, closing(sqlite3.connect(intact)) as dst:
            src.backup(dst)
        async with aiosqlite.connect(path) as conn:
            purged = await purge_raw(conn, NOW - RAW_KEPT, 5_000, asyncio.Lock())
        assert purged > 10_000

    asyncio.run(build())
    return Db(path, intact)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Db:
    return build_db(tmp_path_factory.mktemp("battery"))


@pytest.fixture(scope="module")
def report(db: Db) -> BatteryReport:
    with open_readonly(db.path) as conn:
        return build_report_sync(conn, NOW)


def status(report: BatteryReport, name: str) -> BatteryStatus:
    found = [s for s in report.sensors if s.name == name]
    assert len(found) == 1, f"{name} is listed {len(found)} times"
    return found[0]


# -- what the report says about each kind of sensor ----------------------------------------


def test_a_linear_drain_is_estimated_within_two_percent(report: BatteryReport) -> None:
    kitchen = status(report, "Kitchen")
    assert kitchen.days_left == pytest.approx(120, rel=0.02)
    assert kitchen.trend_per_day == pytest.approx(-0.5, rel=0.02)
    # The newest reading is not rolled up yet, and it is the one shown.
    assert kitchen.battery == last_values("Kitchen")["battery"]
    assert kitchen.voltage == last_values("Kitchen")["voltage"]
    assert NOW - STEP - 60 < kitchen.last_seen <= NOW


def test_a_flat_battery_has_no_estimate(report: BatteryReport) -> None:
    freezer = status(report, "Freezer")
    assert freezer.days_left is None
    assert freezer.battery in (99, 100)
    assert freezer.trend_per_day is not None
    assert abs(freezer.trend_per_day) < MIN_DRAIN_PER_DAY * 2


def test_a_noisy_swinging_decline_is_estimated_within_five_percent(
    report: BatteryReport,
) -> None:
    outdoor = status(report, "Outdoor")
    assert outdoor.battery == last_values("Outdoor")["battery"]  # not rolled up yet
    assert outdoor.days_left == pytest.approx(60, rel=0.05)
    assert outdoor.trend_per_day == pytest.approx(-1.0, rel=0.1)


def test_two_days_of_data_are_too_short(report: BatteryReport) -> None:
    attic = status(report, "Attic")
    assert attic.battery == last_values("Attic")["battery"]
    assert attic.trend_per_day is not None
    assert attic.trend_per_day < -4  # steep, yet:
    assert attic.days_left is None


def test_a_voltage_only_sensor_shows_its_voltage_and_no_guess(report: BatteryReport) -> None:
    soil = status(report, "Soil")
    assert soil.battery is None
    assert soil.voltage == last_values("Soil")["voltage"]
    assert soil.days_left is None
    assert soil.trend_per_day is None


def test_a_disabled_sensor_is_not_listed(report: BatteryReport) -> None:
    assert "Garage" not in {s.name for s in report.sensors}
    assert BY_NAME["Garage"].address not in {s.address for s in report.sensors}
    assert len(report.sensors) == len(SERIES) - 1


def test_a_silent_sensor_whose_raw_readings_are_purged_comes_from_the_rollups(
    db: Db, report: BatteryReport
) -> None:
    with closing(sqlite3.connect(db.path)) as conn:
        raw = conn.execute(
            "SELECT count(*) FROM readings r JOIN sensors s ON s.id = r.sensor_id "
            "WHERE s.name = 'Shed'"
        ).fetchone()[0]
    assert raw == 0
    shed = status(report, "Shed")
    # Its last hour's mean (the raw readings are gone); it drains 0.13 points an hour.
    assert shed.battery == pytest.approx(last_values("Shed")["battery"], abs=0.05)
    assert shed.last_seen == pytest.approx(NOW - 12 * DAY, abs=STEP)
    # The line drains on through the silence: 46 % now, 0.8 %/day.
    assert shed.days_left == pytest.approx(57.5, rel=0.02)


def test_a_new_battery_is_fitted_from_the_swap_on(report: BatteryReport) -> None:
    porch = status(report, "Porch")
    assert porch.battery == pytest.approx(97.0, abs=0.1)
    assert porch.trend_per_day == pytest.approx(-0.3, rel=0.03)
    assert porch.days_left == pytest.approx(323, rel=0.03)


def test_an_empty_battery_has_no_estimate_but_comes_first(report: BatteryReport) -> None:
    cellar = status(report, "Cellar")
    assert cellar.battery == 0
    assert cellar.days_left is None
    assert report.sensors[0].name == "Cellar"


def test_a_new_sensor_shows_what_it_said_so_far(report: BatteryReport) -> None:
    desk = status(report, "Desk")
    assert (desk.battery, desk.voltage, desk.days_left) == (88, 2.95, None)


def test_a_sensor_without_battery_data_is_listed_last(report: BatteryReport) -> None:
    hall = report.sensors[-1]
    assert hall.name == "Hall"
    assert (hall.battery, hall.voltage, hall.days_left, hall.trend_per_day) == (
        None,
        None,
        None,
        None,
    )


def test_most_urgent_first(report: BatteryReport) -> None:
    names = [s.name for s in report.sensors]
    assert names == ORDER
    assert report.ts == NOW


# -- where the figures come from -----------------------------------------------------------


def test_purging_raw_readings_changes_no_estimate(db: Db, report: BatteryReport) -> None:
    with open_readonly(db.intact) as conn:
        intact = build_report_sync(conn, NOW)
    assert [s.name for s in intact.sensors] == [s.name for s in report.sensors]
    for before, after in zip(intact.sensors, report.sensors, strict=True):
        # The fit reads only rollups and readings not rolled up: exactly the same figures.
        assert (after.days_left, after.trend_per_day) == (before.days_left, before.trend_per_day)
        if after.name == "Shed":  # the last raw value before, its hour's mean after
            assert after.battery == pytest.approx(before.battery, abs=0.05)
        else:
            assert after == before


async def test_the_async_and_the_sync_paths_give_the_same_report(
    db: Db, report: BatteryReport
) -> None:
    async with aiosqlite.connect(db.path) as conn:
        assert await build_report(conn, NOW) == report


def test_summed_in_sql_or_point_by_point_the_figures_agree(
    db: Db, report: BatteryReport, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Sensors whose means span more than SWAP_RISE are fitted point by point (to look for
    # a swap), the others from sums in SQL. With no swap possible, all go through SQL.
    monkeypatch.setattr(battery, "SWAP_RISE", 1000.0)
    with open_readonly(db.path) as conn:
        summed = build_report_sync(conn, NOW)
    for before in report.sensors:
        after = status(summed, str(before.name))
        if before.name == "Porch":  # its swap is not seen any more
            assert after.trend_per_day is not None
            assert after.trend_per_day > 0
            continue
        assert after.trend_per_day == pytest.approx(before.trend_per_day, abs=1e-4)
        if before.days_left is None:
            assert after.days_left is None
        else:
            assert after.days_left == pytest.approx(before.days_left, rel=1e-3)


def test_the_window_limits_what_is_fitted(db: Db) -> None:
    with open_readonly(db.path) as conn:
        short = build_report_sync(conn, NOW, window=2.5 * DAY)
    # Under three days of data for everyone: no estimate at all.
    assert all(s.days_left is None for s in short.sensors)
    assert status(short, "Kitchen").trend_per_day == pytest.approx(-0.5, rel=0.05)


async def test_readings_not_rolled_up_are_fitted_with_the_rollups(tmp_path: Path) -> None:
    # Exact lines, 1 %/day, for four days. A's last hour is split: the readings rolled up
    # lie 5 points above the line and those not rolled up yet 5 below, together on the
    # line. None of B's readings are rolled up (as when the rollup job has not run yet).
    start = 1_795_132_800.0  # 2026-11-20T00:00:00Z
    last_hour = start + 4 * DAY - HOUR
    a, b = "C8:25:2D:8E:AB:01", "C8:25:2D:8E:AB:02"
    store = SqliteStore(StoreConfig(path=tmp_path / "hub.db", min_interval=0), ManualClock(0))
    await store.open()

    async def add(address: str, ts: float, offset: float = 0.0) -> None:
        level = 80 - (ts - start) / DAY
        await store.add(Reading(ts, address, "ruuvi", {"battery": level + offset}))

    try:
        for i in range(int((last_hour - start) / STEP)):
            await add(a, start + i * STEP)
        for minute in (0, 10, 20):
            await add(a, last_hour + minute * 60, +5)
        await store.flush()
        assert await update_rollups(store.connection) > 0
        for minute in (30, 40, 50):
            await add(a, last_hour + minute * 60, -5)
        for i in range(int(4 * DAY / STEP)):
            await add(b, start + i * STEP)
        await store.flush()
    finally:
        await store.close()
    with open_readonly(tmp_path / "hub.db") as conn:
        report = build_report_sync(conn, last_hour + HOUR)
    assert [s.address for s in report.sensors] == [a, b]
    for line in report.sensors:
        assert line.trend_per_day == pytest.approx(-1.0, abs=1e-4)
        assert line.days_left == pytest.approx(80 - 4, abs=0.15)


def test_a_database_without_sensors_gives_an_empty_report(tmp_path: Path) -> None:
    async def create() -> None:
        store = SqliteStore(StoreConfig(path=tmp_path / "empty.db"), ManualClock(NOW))
        await store.open()
        await store.close()

    asyncio.run(create())
    with open_readonly(tmp_path / "empty.db") as conn:
        empty = build_report_sync(conn, NOW)
    assert empty == BatteryReport(NOW, ())
    assert format_report(empty).splitlines()[1] == "(no sensors yet)"


# -- the fit and its criteria --------------------------------------------------------------


def sums(points: list[tuple[float, float]]) -> tuple[float, ...]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return (
        sum(xs),
        sum(ys),
        sum(x * x for x in xs),
        sum(x * y for x, y in points),
        sum(y * y for y in ys),
    )


def test_least_squares_of_an_exact_line() -> None:
    points = [(d / 24, 80 - 0.5 * d / 24) for d in range(240)]
    trend = least_squares(len(points), 10.0, *sums(points))
    assert trend is not None
    assert trend.slope == pytest.approx(-0.5, rel=1e-9)
    assert trend.stderr == pytest.approx(0, abs=1e-6)
    assert trend.level(10.0) == pytest.approx(75.0, rel=1e-9)


def test_least_squares_needs_three_points_and_a_spread() -> None:
    assert least_squares(2, 1.0, *sums([(0, 1), (1, 2)])) is None
    assert least_squares(3, 0.0, *sums([(1, 1), (1, 2), (1, 3)])) is None


def trend(slope: float, stderr: float = 0.0, points: int = 720, span: float = 30.0) -> Trend:
    return Trend(points, span, slope, stderr, mean_x=15.0, mean_y=50.0)


@pytest.mark.parametrize(
    ("battery", "line", "expected"),
    [
        (50.0, trend(-0.5), 85.0),  # the line's level now, 50 - 0.5 * 15, over 0.5 %/day
        (None, trend(-0.5), None),  # no percentage
        (0.0, trend(-0.5), None),  # already empty
        (50.0, None, None),
        (50.0, trend(-0.5, points=23), None),  # too few hourly means
        (50.0, trend(-0.5, span=2.9), None),  # too short a span
        (50.0, trend(-MIN_DRAIN_PER_DAY * 0.9), None),  # too flat
        (50.0, trend(-0.5, stderr=0.5 / MIN_T * 1.01), None),  # lost in the noise
        (50.0, trend(-0.5, stderr=0.5 / MIN_T * 0.99), 85.0),
        (50.0, trend(0.2), None),  # rising
    ],
)
def test_when_days_left_are_known(
    battery: float | None, line: Trend | None, expected: float | None
) -> None:
    days = estimate_days_left(battery, line, x_now=30.0)
    assert days == (pytest.approx(expected) if expected is not None else None)


def test_a_line_already_below_zero_means_no_days_left() -> None:
    assert estimate_days_left(3.0, trend(-5.0), 30.0) == 0.0


def test_a_swap_is_a_rise_above_everything_before_it() -> None:
    old = [(h, 40 - h * 0.1) for h in range(100)]
    new = [(h, 99 - (h - 100) * 0.01) for h in range(100, 150)]
    assert since_last_swap(old + new) == new
    # A daily swing of 16 points comes back to where it was: no swap.
    swinging = [(h, 50 + 8 * math.sin(h / 24 * 2 * math.pi) - h * 0.04) for h in range(720)]
    assert since_last_swap(swinging) == swinging


# -- storing, publishing, notifying --------------------------------------------------------


@pytest.fixture
async def store(db: Db, tmp_path: Path) -> AsyncIterator[SqliteStore]:
    path = tmp_path / "hub.db"
    shutil.copyfile(db.path, path)
    live = SqliteStore(StoreConfig(path=path, min_interval=0), ManualClock(NOW))
    await live.open()
    try:
        yield live
    finally:
        await live.close()


@pytest.fixture
def log() -> Iterator[list[tuple[str, str]]]:
    lines: list[tuple[str, str]] = []
    sink = logger.add(
        lambda m: lines.append((m.record["level"].name, m.record["message"])), level="INFO"
    )
    yield lines
    logger.remove(sink)


async def test_the_job_stores_publishes_logs_and_notifies(
    store: SqliteStore, report: BatteryReport, log: list[tuple[str, str]]
) -> None:
    bus = EventBus()
    published: list[BatteryReport] = []
    bus.subscribe(BatteryReport, published.append, name="test")
    notified: list[tuple[BatteryReport, str]] = []

    async def notify(report: BatteryReport, text: str) -> None:
        notified.append((report, text))

    bus.start()
    try:
        reporter = BatteryReporter(store, bus, ManualClock(NOW), notify)
        made = await reporter.run()
        await bus.idle()
    finally:
        await bus.stop()
    assert made == report
    assert published == [report]
    assert notified == [(report, format_report(report))]
    assert ("INFO", "Battery report (built in") in [(lv, m[:24]) for lv, m in log]
    assert any(format_report(report) in message for _, message in log)
    assert await stored_reports(store.connection) == [report]
    assert (reporter.counters.runs, reporter.counters.notify_failures) == (1, 0)


async def test_stored_reports_are_trimmed_to_the_newest(store: SqliteStore) -> None:
    clock = ManualClock(NOW)
    reporter = BatteryReporter(store, EventBus(), clock, keep=3)
    for _ in range(5):
        await reporter.run()
        clock.advance(DAY)
    kept = await stored_reports(store.connection, limit=10)
    assert [r.ts for r in kept] == [NOW + 4 * DAY, NOW + 3 * DAY, NOW + 2 * DAY]
    # A day on, Kitchen's line has a day less to go.
    days = [status(r, "Kitchen").days_left for r in kept]
    assert days[0] is not None
    assert days[2] is not None
    assert days[2] - days[0] == pytest.approx(2, abs=0.15)


async def test_store_report_keeps_n(store: SqliteStore, report: BatteryReport) -> None:
    for i in range(4):
        await store_report(store.connection, store.write_lock, replace(report, ts=NOW + i), 2)
    async with store.connection.execute("SELECT ts FROM battery_reports ORDER BY id") as cursor:
        assert [row[0] for row in await cursor.fetchall()] == [NOW + 2, NOW + 3]


async def test_a_failing_or_hanging_channel_does_not_fail_the_job(
    store: SqliteStore, log: list[tuple[str, str]]
) -> None:
    def broken(report: BatteryReport, text: str) -> None:
        raise ConnectionError("ntfy.example unreachable")

    async def hanging(report: BatteryReport, text: str) -> None:
        await asyncio.sleep(3600)

    bus = EventBus()
    published: list[BatteryReport] = []
    bus.subscribe(BatteryReport, published.append, name="test")
    bus.start()
    try:
        first = BatteryReporter(store, bus, ManualClock(NOW), broken)
        second = BatteryReporter(store, bus, ManualClock(NOW + 1), hanging, notify_timeout=0.05)
        assert await first.run() is not None
        started = time.monotonic()
        assert await second.run() is not None
        assert time.monotonic() - started < 5
        await bus.idle()
    finally:
        await bus.stop()
    assert (first.counters.notify_failures, second.counters.notify_failures) == (1, 1)
    assert "ConnectionError" in first.counters.last_error
    assert "TimeoutError" in second.counters.last_error
    assert len(published) == 2
    assert len(await stored_reports(store.connection, limit=5)) == 2
    assert [lv for lv, m in log if "could not be handed" in m] == ["WARNING", "WARNING"]


async def test_a_report_that_cannot_be_stored_is_still_sent(store: SqliteStore) -> None:
    await store.connection.execute("DROP TABLE battery_reports")  # as if the disk refused it
    await store.connection.commit()
    notified: list[str] = []
    reporter = BatteryReporter(
        store, EventBus(), ManualClock(NOW), lambda r, text: notified.append(text)
    )
    assert await reporter.run() is not None
    assert reporter.counters.store_failures == 1
    assert len(notified) == 1


def test_the_stored_json_round_trips(report: BatteryReport) -> None:
    data = json.loads(json.dumps(report_to_dict(report)))
    assert report_from_dict(data) == report


# -- hub battery ---------------------------------------------------------------------------


def test_hub_battery_prints_the_table(
    db: Db, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text(f"store:\n  path: {db.path}\n")
    assert hub_main(["battery", "--config", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Battery report: 10 sensors, 1 below 20 %, 0 with under 30 days")
    assert lines[1].split() == [
        "SENSOR",
        "BATTERY",
        "VOLTAGE",
        "LAST",
        "SEEN",
        "TREND",
        "DAYS",
        "LEFT",
    ]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert list(rows) == ORDER
    assert rows["Kitchen"][:4] == ["60", "%", "2.800", "V"]
    assert rows["Kitchen"][-3:-1] == ["-0.50", "%/d"]
    assert rows["Kitchen"][-1] in ("119", "120", "121", "122")
    assert rows["Shed"][4:7] == ["12", "d", "ago"]
    assert rows["Freezer"][-1] == "unknown"
    assert rows["Soil"][:3] == ["-", "2.900", "V"]
    assert rows["Soil"][-2:] == ["-", "unknown"]


def test_hub_battery_prints_json(db: Db, capsys: pytest.CaptureFixture[str]) -> None:
    assert hub_main(["battery", "--db", str(db.path), "--format", "json"]) == 0
    printed = report_from_dict(json.loads(capsys.readouterr().out))
    with open_readonly(db.path) as conn:
        expected = build_report_sync(conn, printed.ts)
    assert printed == expected
    assert abs(printed.ts - time.time()) < 60


def test_hub_battery_without_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert hub_main(["battery", "--db", str(tmp_path / "none.db")]) == 1
    assert "hub battery: no database at" in capsys.readouterr().err
