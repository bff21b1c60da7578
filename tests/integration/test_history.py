"""History at each resolution and `hub history`, on a real database file written by the store."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hub.clock import ManualClock
from hub.commands.history import register
from hub.config.models import DeviceConfig, StoreConfig
from hub.errors import HubError
from hub.events import Reading
from hub.store.history import (
    Aggregate,
    Sample,
    SensorLookupError,
    SensorRef,
    choose_resolution,
    history,
    history_sync,
    measurements,
    measurements_sync,
    open_readonly,
    resolve_sensor,
    resolve_sensor_sync,
)
from hub.store.rollups import update_rollups
from hub.store.schema import MIGRATIONS
from hub.store.sqlite import SqliteStore

A = "C8:25:2D:8E:AB:4C"  # named "kitchen" in the config
B = "F7:6B:13:E0:51:A8"  # only its advertised name
HOUR = 3600
DAY = 86400
DAY0 = 1_795_132_800.0  # 2026-11-20T00:00:00Z
STEP = 600  # one reading of A every 10 minutes, three days
COUNT_A = 3 * DAY // STEP
# Readings of A up to here (2 days 12 h 20 min) are rolled up; the rest are not, so the hour
# 12:00-13:00 of the third day comes partly from the rollups and partly from raw readings.
ROLLED_UP_A = (2 * DAY + 12 * HOUR + 20 * 60) // STEP


def temperature(i: int) -> float:
    return 20 + (i % 7) * 0.5


def humidity(i: int) -> int:
    return 40 + i % 11


def readings_a() -> list[Reading]:
    return [
        Reading(
            ts=DAY0 + i * STEP,
            address=A,
            integration="ruuvi",
            measurements={"temperature": temperature(i), "humidity": humidity(i)},
            name="Ruuvi AB4C",
        )
        for i in range(COUNT_A)
    ]


def readings_b() -> list[Reading]:
    return [
        Reading(
            ts=DAY0 + i * HOUR + 30,
            address=B,
            integration="ruuvi",
            measurements={"temperature": 5.0 + i},
            name="Ruuvi 51A8",
        )
        for i in range(3)
    ]


@dataclass(frozen=True)
class Db:
    path: Path
    a: int  # sensor ids
    b: int


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Db:
    """Written once by the store; rollups run part-way, as the scheduled job would."""
    import asyncio

    path = tmp_path_factory.mktemp("history") / "hub.db"

    async def build() -> None:
        store = SqliteStore(
            StoreConfig(path=path, min_interval=0),
            ManualClock(DAY0),
            {A: DeviceConfig(name="kitchen", location="ground floor")},
        )
        await store.open()
        assert store._conn is not None
        a = readings_a()
        for r in [*a[:ROLLED_UP_A], *readings_b()]:
            await store.add(r)
        await store.flush()
        await update_rollups(store._conn)
        for r in a[ROLLED_UP_A:]:
            await store.add(r)
        await store.close()

    asyncio.run(build())
    with closing(sqlite3.connect(path)) as conn:
        ids = dict(conn.execute("SELECT address, id FROM sensors").fetchall())
    return Db(path, ids[A], ids[B])


@pytest.fixture
async def conn(db: Db) -> AsyncIterator[Any]:
    import aiosqlite

    async with aiosqlite.connect(db.path) as connection:
        yield connection


def expected_buckets(size: int, since: float, until: float, name: str) -> list[Aggregate]:
    """Buckets of A's `name` computed from the readings as generated."""
    values: dict[int, list[float]] = {}
    for i in range(COUNT_A):
        ts = DAY0 + i * STEP
        start = int(ts // size) * size
        if start + size > since and start < until:
            values.setdefault(start, []).append(
                temperature(i) if name == "temperature" else humidity(i)
            )
    return [
        Aggregate(b, name, min(v), sum(v) / len(v), max(v), len(v))
        for b, v in sorted(values.items())
    ]


def assert_aggregates(actual: list[Any], expected: list[Aggregate]) -> None:
    assert [(r.ts, r.measurement, r.min, r.max, r.count) for r in actual] == [
        (e.ts, e.measurement, e.min, e.max, e.count) for e in expected
    ]
    assert [r.mean for r in actual] == pytest.approx([e.mean for e in expected], rel=1e-12)


# -- resolving sensors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "sensor"),
    [
        ("kitchen", A),
        ("Ruuvi AB4C", A),
        ("Ruuvi 51A8", B),
        (A, A),
        ("f7-6b-13-e0-51-a8", B),  # any case and separator
        (" KITCHEN ", A),  # a name in another case, when no other sensor has it
    ],
)
async def test_resolve_sensor(conn: Any, db: Db, text: str, sensor: str) -> None:
    ref = await resolve_sensor(conn, text)
    assert ref.address == sensor
    assert ref == (db.a, A, "kitchen") if sensor == A else (db.b, B, "Ruuvi 51A8")
    with open_readonly(db.path) as ro:
        assert resolve_sensor_sync(ro, text) == ref


async def test_an_unknown_sensor_is_reported_with_close_names(conn: Any) -> None:
    with pytest.raises(SensorLookupError, match="unknown sensor 'kitchn'") as info:
        await resolve_sensor(conn, "kitchn")
    assert info.value.candidates == ["kitchen"]
    with pytest.raises(SensorLookupError, match=r"unknown sensor 'garage'$"):
        await resolve_sensor(conn, "garage")


async def test_an_advertised_name_shared_by_two_sensors_is_ambiguous(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    store = SqliteStore(StoreConfig(path=path, min_interval=0), ManualClock(DAY0))
    await store.open()
    for address in (A, B):
        await store.add(Reading(DAY0, address, "ruuvi", {"temperature": 1.0}, name="Ruuvi"))
    await store.flush()
    try:
        assert store._conn is not None
        with pytest.raises(SensorLookupError, match="2 sensors have the advertised name 'Ruuvi'"):
            await resolve_sensor(store._conn, "Ruuvi")
        assert (await resolve_sensor(store._conn, B.lower())).address == B
    finally:
        await store.close()


# -- raw -----------------------------------------------------------------------------------


async def test_raw_history_of_one_measurement(conn: Any, db: Db) -> None:
    result = await history(conn, db.a, "temperature", DAY0 + HOUR, DAY0 + 2 * HOUR, "raw")

    assert result.resolution == "raw"
    # [since, until): 01:00 up to 01:50, not 02:00.
    assert result.rows == [
        Sample(DAY0 + i * STEP, "temperature", temperature(i)) for i in range(6, 12)
    ]


async def test_raw_history_of_every_measurement(conn: Any, db: Db) -> None:
    result = await history(conn, db.a, None, DAY0, DAY0 + 1200, "raw")

    assert result.rows == [
        Sample(DAY0, "temperature", 20.0),
        Sample(DAY0, "humidity", 40),
        Sample(DAY0 + 600, "temperature", 20.5),
        Sample(DAY0 + 600, "humidity", 41),
    ]


async def test_raw_history_includes_a_reading_just_stored(conn: Any, db: Db) -> None:
    last = DAY0 + (COUNT_A - 1) * STEP
    result = await history(conn, db.a, "humidity", last, last + 1, "raw")
    assert result.rows == [Sample(last, "humidity", humidity(COUNT_A - 1))]


async def test_an_unknown_measurement_has_no_rows(conn: Any, db: Db) -> None:
    result = await history(conn, db.a, "pressure", DAY0, DAY0 + DAY, "raw")
    assert result.rows == []
    assert await measurements(conn, db.a) == ["humidity", "temperature"]
    with open_readonly(db.path) as ro:
        assert measurements_sync(ro, db.b) == ["temperature"]


# -- hour and day --------------------------------------------------------------------------


@pytest.mark.parametrize("by_index", [False, True])
async def test_hourly_history_equals_the_raw_readings_per_hour(
    conn: Any, db: Db, by_index: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if by_index:  # as when the rollups are far behind: readings found through the index
        monkeypatch.setattr("hub.store.history._UNROLLED_BY_ID_MAX", 0)
    since, until = DAY0, DAY0 + 3 * DAY
    for name in ("temperature", "humidity"):
        result = await history(conn, db.a, name, since, until, "hour")

        assert result.resolution == "hour"
        assert len(result.rows) == 72
        assert_aggregates(result.rows, expected_buckets(HOUR, since, until, name))


async def test_hourly_history_merges_rollups_with_readings_not_yet_rolled_up(
    conn: Any, db: Db
) -> None:
    # 12:00-13:00 on the third day: 12:00, 12:10, 12:20 rolled up, 12:30 to 12:50 not.
    hour = DAY0 + 2 * DAY + 12 * HOUR
    result = await history(conn, db.a, "temperature", hour, hour + HOUR, "hour")

    first = (2 * DAY + 12 * HOUR) // STEP
    values = [temperature(i) for i in range(first, first + 6)]
    assert result.rows == [
        Aggregate(hour, "temperature", min(values), sum(values) / 6, max(values), 6)
    ]
    # The newest hours exist only as raw readings, and show up all the same.
    last_hour = DAY0 + 3 * DAY - HOUR
    latest = await history(conn, db.a, "temperature", last_hour, last_hour + 1, "hour")
    assert [(r.ts, r.count) for r in latest.rows] == [(last_hour, 6)]


async def test_buckets_overlapping_the_range_are_whole(conn: Any, db: Db) -> None:
    # 01:30 to 02:30 touches the hours starting 01:00 and 02:00, each with all six readings.
    result = await history(conn, db.a, "humidity", DAY0 + 5400, DAY0 + 9000, "hour")
    assert_aggregates(result.rows, expected_buckets(HOUR, DAY0 + 5400, DAY0 + 9000, "humidity"))
    assert [(r.ts, r.count) for r in result.rows] == [(DAY0 + HOUR, 6), (DAY0 + 2 * HOUR, 6)]


async def test_hourly_history_of_every_measurement(conn: Any, db: Db) -> None:
    result = await history(conn, db.a, None, DAY0, DAY0 + 2 * HOUR, "hour")
    assert [(r.ts, r.measurement) for r in result.rows] == [
        (DAY0, "humidity"),
        (DAY0, "temperature"),
        (DAY0 + HOUR, "humidity"),
        (DAY0 + HOUR, "temperature"),
    ]
    late = await history(conn, db.a, None, DAY0 + 3 * DAY - HOUR, DAY0 + 3 * DAY, "hour")
    assert [(r.measurement, r.count) for r in late.rows] == [("humidity", 6), ("temperature", 6)]


async def test_daily_history_aggregates_the_hours(conn: Any, db: Db) -> None:
    since, until = DAY0, DAY0 + 3 * DAY
    for name in ("temperature", "humidity"):
        result = await history(conn, db.a, name, since, until, "day")

        assert result.resolution == "day"
        expected = expected_buckets(DAY, since, until, name)
        assert [r.count for r in expected] == [144, 144, 144]
        assert_aggregates(result.rows, expected)


async def test_another_sensor_is_not_mixed_in(conn: Any, db: Db) -> None:
    result = await history(conn, db.b, "temperature", DAY0, DAY0 + DAY, "hour")
    assert result.rows == [
        Aggregate(DAY0 + i * HOUR, "temperature", 5.0 + i, 5.0 + i, 5.0 + i, 1) for i in range(3)
    ]


# -- auto ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("span", "ago", "resolution"),
    [
        (24 * HOUR, 0, "raw"),
        (48 * HOUR, 0, "raw"),
        (48 * HOUR + 1, 0, "hour"),
        (24 * HOUR, 29 * DAY, "raw"),  # still inside the 30 days of raw readings
        (24 * HOUR, 30 * DAY, "hour"),  # raw readings of then are purged
        (90 * DAY, 0, "hour"),
        (90 * DAY + 1, 0, "day"),
        (365 * DAY, 0, "day"),
    ],
)
def test_auto_resolution(span: float, ago: float, resolution: str) -> None:
    now = DAY0 + 400 * DAY
    until = now - ago
    assert choose_resolution(until - span, until, now, 30 * DAY) == resolution


async def test_auto_history_uses_the_chosen_resolution(conn: Any, db: Db) -> None:
    now = DAY0 + 3 * DAY
    raw = await history(conn, db.a, "temperature", now - DAY, now, "auto", now=now)
    hourly = await history(conn, db.a, "temperature", now - 3 * DAY, now, "auto", now=now)
    daily = await history(conn, db.a, "temperature", now - 100 * DAY, now, "auto", now=now)
    old = await history(conn, db.a, "temperature", now - DAY, now, "auto", now=now + 40 * DAY)

    assert (raw.resolution, len(raw.rows)) == ("raw", 144)
    assert (hourly.resolution, len(hourly.rows)) == ("hour", 72)
    assert (daily.resolution, [r.count for r in daily.rows]) == ("day", [144, 144, 144])
    assert (old.resolution, len(old.rows)) == ("hour", 24)


async def test_an_empty_range_is_refused(conn: Any, db: Db) -> None:
    with pytest.raises(ValueError, match="since must be before until"):
        await history(conn, db.a, None, DAY0, DAY0, "raw")


# -- the read-only twin --------------------------------------------------------------------


@pytest.mark.parametrize("resolution", ["raw", "hour", "day"])
async def test_sync_history_equals_async(conn: Any, db: Db, resolution: str) -> None:
    args = (db.a, None, DAY0 + 2 * DAY, DAY0 + 3 * DAY, resolution)
    expected = await history(conn, *args)  # type: ignore[arg-type]
    with open_readonly(db.path) as ro:
        assert history_sync(ro, *args) == expected  # type: ignore[arg-type]


def test_a_query_reads_one_snapshot(tmp_path: Path) -> None:
    """A rollup committed between the statements of an hourly query is not counted twice."""
    import asyncio

    import aiosqlite

    path = tmp_path / "hub.db"

    async def write() -> None:
        store = SqliteStore(StoreConfig(path=path, min_interval=0), ManualClock(DAY0))
        await store.open()
        for r in readings_a()[:12]:  # two hours, not rolled up yet
            await store.add(r)
        await store.close()

    async def roll_up() -> None:
        async with aiosqlite.connect(path) as writer:
            assert await update_rollups(writer) == 12

    asyncio.run(write())

    class RollupMidway:
        """A connection on which the rollup job commits right after the first query."""

        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn
            self.queries = 0

        @property
        def in_transaction(self) -> bool:
            return self.conn.in_transaction

        def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
            cursor = self.conn.execute(sql, params)
            if sql.lstrip().startswith("SELECT"):
                self.queries += 1
                if self.queries == 1:
                    asyncio.run(roll_up())
            return cursor

    with open_readonly(path) as ro:
        result = history_sync(RollupMidway(ro), 1, "temperature", DAY0, DAY0 + 2 * HOUR, "hour")  # type: ignore[arg-type]
        assert not ro.in_transaction
        assert [r.count for r in result.rows] == [6, 6]
        after = history_sync(ro, 1, "temperature", DAY0, DAY0 + 2 * HOUR, "hour")
    assert after.rows == result.rows


async def test_a_query_leaves_no_transaction_open(conn: Any, db: Db) -> None:
    await history(conn, db.a, None, DAY0, DAY0 + DAY, "hour")
    assert not conn.in_transaction


def test_the_cli_connection_cannot_write(db: Db) -> None:
    with open_readonly(db.path) as ro, pytest.raises(sqlite3.OperationalError, match="readonly"):
        ro.execute("DELETE FROM readings")


def test_a_missing_database_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(HubError, match="no database at"), open_readonly(tmp_path / "nope.db"):
        pass


def test_a_database_of_an_older_schema_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(f"{MIGRATIONS[0]}\nPRAGMA user_version = 1;")
    with pytest.raises(HubError, match="schema version 1, older"), open_readonly(path):
        pass


# -- hub history ---------------------------------------------------------------------------


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="hub")
    register(parser.add_subparsers())
    args = parser.parse_args(["history", *argv])
    return int(args.func(args))


RANGE = ("--since", "2026-11-20T01:00:00Z", "--until", "2026-11-20T02:00")  # naive: UTC


def test_cli_table(db: Db, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("kitchen", "--db", str(db.path), "-m", "temperature", "-r", "raw", *RANGE) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"kitchen ({A}) — 6 rows, times in UTC"
    assert lines[1].split() == ["time", "measurement", "value"]
    assert lines[3].split() == ["2026-11-20", "01:00:00", "temperature", "23"]
    assert lines[4].split() == ["2026-11-20", "01:10:00", "temperature", "20"]
    assert len(lines) == 3 + 6
    assert len({len(line) for line in lines[1:]}) == 1  # aligned: values right-aligned


def test_cli_table_of_buckets(db: Db, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(A.lower(), "--db", str(db.path), "-m", "humidity", "-r", "hour", *RANGE) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"kitchen ({A}) — 1 row, hourly, times in UTC"
    assert lines[1].split() == ["time", "measurement", "min", "mean", "max", "count"]
    values = [humidity(i) for i in range(6, 12)]
    mean = round(sum(values) / 6, 4)
    assert lines[3].split() == [
        "2026-11-20", "01:00:00", "humidity", str(min(values)), str(mean), str(max(values)), "6"
    ]  # fmt: skip


def test_cli_csv(db: Db, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("kitchen", "--db", str(db.path), "-r", "raw", "-f", "csv", *RANGE) == 0

    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert table[0] == ["time", "ts", "measurement", "value"]
    assert table[1:3] == [
        ["2026-11-20T01:00:00Z", str(int(DAY0 + HOUR)), "temperature", "23.0"],
        ["2026-11-20T01:00:00Z", str(int(DAY0 + HOUR)), "humidity", "46"],
    ]
    assert len(table) == 1 + 12


def test_cli_csv_of_days(db: Db, capsys: pytest.CaptureFixture[str]) -> None:
    day_range = ("--since", "2026-11-20", "--until", "2026-11-23")
    assert cli("kitchen", "--db", str(db.path), "-m", "temperature", "-r", "day", "-f", "csv",
               *day_range) == 0  # fmt: skip

    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert table[0] == ["time", "ts", "measurement", "min", "mean", "max", "count"]
    expected = expected_buckets(DAY, DAY0, DAY0 + 3 * DAY, "temperature")
    assert [row[0] for row in table[1:]] == [
        "2026-11-20T00:00:00Z",
        "2026-11-21T00:00:00Z",
        "2026-11-22T00:00:00Z",
    ]
    for row, e in zip(table[1:], expected, strict=True):
        assert (float(row[3]), float(row[5]), int(row[6])) == (e.min, e.max, e.count)
        assert float(row[4]) == pytest.approx(e.mean, rel=1e-12)


def test_cli_json_lines(db: Db, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("Ruuvi 51A8", "--db", str(db.path), "-r", "hour", "-f", "json",
               "--since", "2026-11-20", "--until", "2026-11-21") == 0  # fmt: skip

    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert records == [
        {
            "time": f"2026-11-20T0{i}:00:00Z",
            "ts": DAY0 + i * HOUR,
            "measurement": "temperature",
            "min": 5.0 + i,
            "mean": 5.0 + i,
            "max": 5.0 + i,
            "count": 1,
        }
        for i in range(3)
    ]


def test_cli_reads_the_database_path_from_the_config(
    db: Db, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text(f"store:\n  path: {db.path}\nretention:\n  raw: 7d\n")
    assert cli("kitchen", "--config", str(config), "-m", "humidity", "-f", "csv", *RANGE) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1 + 6  # auto: an hour is raw


def test_cli_unknown_sensor(db: Db, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("kitchn", "--db", str(db.path)) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "hub history: unknown sensor 'kitchn'; did you mean 'kitchen'?\n"


def test_cli_unknown_measurement(db: Db, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("kitchen", "--db", str(db.path), "-m", "pressure", *RANGE) == 1
    assert "has no measurement 'pressure' (it has: humidity, temperature)" in (
        capsys.readouterr().err
    )


def test_cli_empty_range_is_not_an_error(db: Db, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("kitchen", "--db", str(db.path), "--since", "2020-01-01", "--until", "2020-01-02",
               "-r", "raw") == 0  # fmt: skip
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no raw history for kitchen" in captured.err


def test_cli_missing_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("kitchen", "--db", str(tmp_path / "none.db")) == 1
    assert "no database at" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["kitchen", "--since", "yesterday"],
        ["kitchen", "--until", "2026-13-01"],
        ["kitchen", "--resolution", "minute"],
        ["kitchen", "--format", "xml"],
        ["kitchen", "--since", "1h", "--until", "2h"],  # since after until
        [],
    ],
)
def test_cli_bad_arguments_exit_2(
    db: Db, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli(*argv, "--db", str(db.path))
    assert info.value.code == 2
    assert "usage: hub history" in capsys.readouterr().err


def test_time_arguments() -> None:
    from hub.commands.history import time_arg

    now = DAY0 + 1000.0
    assert time_arg("24h").resolve(now) == now - DAY
    assert time_arg("1h30m").resolve(now) == now - 5400
    assert time_arg("now").resolve(now) == now
    assert time_arg("2026-11-20T00:00:00Z").resolve(now) == DAY0
    assert time_arg("2026-11-20T01:00:00+01:00").resolve(now) == DAY0
    assert time_arg("2026-11-20").resolve(now) == DAY0  # no offset: UTC


def test_sensor_ref_is_a_tuple() -> None:
    sensor_id, address, name = SensorRef(1, A, "kitchen")
    assert (sensor_id, address, name) == (1, A, "kitchen")
