"""Hourly rollups and the raw-reading purge, on real database files written by the store."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any, Literal

import pytest
from loguru import logger

from hub.clock import ManualClock
from hub.config.models import RetentionConfig, StoreConfig
from hub.events import Reading
from hub.store.rollups import (
    ROLLUP_KEY,
    Maintenance,
    purge_raw,
    rollup_position,
    update_rollups,
)
from hub.store.sqlite import SqliteStore

A = "C8:25:2D:8E:AB:4C"
B = "F7:6B:13:E0:51:A8"
C = "D1:00:00:00:00:0C"
HOUR = 3600
DAY0 = 1_795_132_800.0  # midnight UTC, so on the hour too
Key = tuple[int, str, int]
Aggregate = tuple[float, float, float, int]  # min, max, sum, count


def reading(address: str, ts: float, **measurements: float | int) -> Reading:
    return Reading(ts=ts, address=address, integration="ruuvi", measurements=measurements)


def varied(n: int, start: float = DAY0) -> list[Reading]:
    """Three sensors over several hours; ints and floats; not every reading has every value."""
    out = []
    for i in range(n):
        address = (A, B, C)[i % 3]
        m: dict[str, float | int] = {"temperature": round(15 + (i * 37 % 200) * 0.05, 3)}
        if i % 2:
            m["humidity"] = round(30 + (i * 13 % 500) * 0.1, 2)
        if i % 5 == 0:
            m["movement_counter"] = i % 256
        out.append(reading(address, start + i * 97.5, **m))
    return out


async def open_store(path: Path, **settings: Any) -> SqliteStore:
    settings.setdefault("min_interval", 0)
    store = SqliteStore(StoreConfig(path=path, **settings), ManualClock(DAY0))
    await store.open()
    return store


async def store_all(store: SqliteStore, readings: list[Reading]) -> None:
    for r in readings:
        await store.add(r)
    await store.flush()


def conn_of(store: SqliteStore) -> Any:
    assert store._conn is not None
    return store._conn


def rows(path: Path, query: str, *args: object) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(query, args).fetchall()


def direct(path: Path, up_to_id: int | None = None) -> dict[Key, Aggregate]:
    """Rollups computed in Python over the raw rows in the file."""
    result: dict[Key, Aggregate] = {}
    for id_, sensor_id, ts, text in rows(
        path, "SELECT id, sensor_id, ts, measurements FROM readings ORDER BY id"
    ):
        if up_to_id is not None and id_ > up_to_id:
            continue
        hour = int(ts // HOUR) * HOUR
        for name, value in json.loads(text).items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            key = (sensor_id, name, hour)
            lo, hi, total, count = result.get(key, (value, value, 0.0, 0))
            result[key] = (min(lo, value), max(hi, value), total + value, count + 1)
    return result


def stored(path: Path) -> dict[Key, Aggregate]:
    return {
        (s, m, h): (lo, hi, total, count)
        for s, m, h, lo, hi, total, count in rows(
            path, "SELECT sensor_id, measurement, hour, min, max, sum, count FROM rollups_hourly"
        )
    }


def assert_rollups_equal(actual: dict[Key, Aggregate], expected: dict[Key, Aggregate]) -> None:
    assert actual.keys() == expected.keys()
    for key, (lo, hi, total, count) in expected.items():
        a_lo, a_hi, a_total, a_count = actual[key]
        assert (a_lo, a_hi, a_count) == (lo, hi, count), key
        # Sums may be added in another order: equal to the last bits.
        assert a_total == pytest.approx(total, rel=1e-12, abs=1e-12), key
        assert a_total / a_count == pytest.approx(total / count, rel=1e-12), key


class CountingLock(asyncio.Lock):
    """The store's lock, counting how often it was taken."""

    def __init__(self) -> None:
        super().__init__()
        self.taken = 0

    async def acquire(self) -> Literal[True]:
        self.taken += 1
        return await super().acquire()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "hub.db"


@pytest.fixture
async def store(path: Path) -> AsyncIterator[SqliteStore]:
    store = await open_store(path, batch_size=50)
    yield store
    await store.close()


# -- rollups -------------------------------------------------------------------------------


async def test_rollups_equal_a_direct_computation_over_the_raw_rows(
    store: SqliteStore, path: Path
) -> None:
    await store_all(store, varied(300))

    count = await update_rollups(conn_of(store), lock=store._lock)

    assert count == 300
    expected = direct(path)
    assert len({hour for _, _, hour in expected}) >= 8  # several hours, three sensors
    assert_rollups_equal(stored(path), expected)
    assert rows(path, "SELECT value FROM meta WHERE key = ?", ROLLUP_KEY) == [("300",)]
    assert await rollup_position(conn_of(store)) == 300


async def test_known_values_in_one_hour(store: SqliteStore, path: Path) -> None:
    await store_all(
        store,
        [
            reading(A, DAY0 + 10, temperature=20.5, battery=90),
            reading(A, DAY0 + 1800, temperature=21.0, battery=89),
            reading(A, DAY0 + 3599.9, temperature=19.75),
            reading(A, DAY0 + 3600, temperature=30.0),  # the next hour
        ],
    )
    await update_rollups(conn_of(store))

    assert rows(
        path,
        "SELECT measurement, hour, min, max, sum, count FROM rollups_hourly ORDER BY hour, 1",
    ) == [
        ("battery", DAY0, 89.0, 90.0, 179.0, 2),
        ("temperature", DAY0, 19.75, 21.0, 61.25, 3),
        ("temperature", DAY0 + HOUR, 30.0, 30.0, 30.0, 1),
    ]


async def test_new_readings_in_a_rolled_up_hour_are_merged(store: SqliteStore, path: Path) -> None:
    await store_all(store, [reading(A, DAY0 + 60, temperature=20.0, humidity=50.0)])
    assert await update_rollups(conn_of(store)) == 1
    await store_all(
        store,
        [
            reading(A, DAY0 + 120, temperature=18.5),  # a new minimum, same hour
            reading(A, DAY0 + 180, temperature=25.0, humidity=40.0),  # new maximum / minimum
            reading(A, DAY0 + HOUR + 5, temperature=22.0),  # a new hour
            reading(B, DAY0 + 200, temperature=10.0),  # a new sensor in the old hour
        ],
    )

    assert await update_rollups(conn_of(store)) == 4
    assert await update_rollups(conn_of(store)) == 0  # nothing new

    assert_rollups_equal(stored(path), direct(path))
    a_id = rows(path, "SELECT id FROM sensors WHERE address = ?", A)[0][0]
    assert stored(path)[(a_id, "temperature", int(DAY0))] == (18.5, 25.0, 63.5, 3)
    assert stored(path)[(a_id, "humidity", int(DAY0))] == (40.0, 50.0, 90.0, 2)


async def test_a_late_reading_lands_in_its_own_older_hour(store: SqliteStore, path: Path) -> None:
    await store_all(store, varied(60))
    await update_rollups(conn_of(store))
    # Committed after the rollup, stamped two hours into the data (e.g. a held batch).
    await store_all(store, [reading(A, DAY0 + 2 * HOUR + 1, temperature=-5.0)])

    assert await update_rollups(conn_of(store)) == 1

    assert_rollups_equal(stored(path), direct(path))
    a_id = rows(path, "SELECT id FROM sensors WHERE address = ?", A)[0][0]
    assert stored(path)[(a_id, "temperature", int(DAY0) + 2 * HOUR)][0] == -5.0


@pytest.mark.parametrize("chunk", [1, 7, 100, 1_000])
async def test_chunked_rollups_equal_one_pass(store: SqliteStore, path: Path, chunk: int) -> None:
    await store_all(store, varied(150))
    lock = CountingLock()

    assert await update_rollups(conn_of(store), lock=lock, chunk=chunk) == 150

    assert_rollups_equal(stored(path), direct(path))
    # One transaction per chunk, plus the one that finds nothing left when 150 is a multiple.
    assert lock.taken == 150 // chunk + 1


async def test_only_numbers_are_rolled_up(store: SqliteStore, path: Path) -> None:
    await store_all(store, [reading(A, DAY0, temperature=20.0)])
    with closing(sqlite3.connect(path)) as conn, conn:  # written by hand, not by the store
        conn.execute(
            "INSERT INTO readings (sensor_id, ts, measurements) VALUES (1, ?, ?)",
            (DAY0 + 1, '{"temperature": 22, "door": true, "label": "x", "nested": {"a": 1}}'),
        )

    assert await update_rollups(conn_of(store)) == 2

    assert rows(path, "SELECT measurement, min, max, sum, count FROM rollups_hourly") == [
        ("temperature", 20.0, 22.0, 42.0, 2)
    ]


async def test_a_failed_rollup_changes_nothing(store: SqliteStore, path: Path) -> None:
    await store_all(store, varied(30))
    conn = conn_of(store)
    # The position update fails: the aggregates written before it in the same transaction
    # must go too, or a retry would count those readings twice.
    await conn.execute(
        "CREATE TEMP TRIGGER fail_meta BEFORE INSERT ON meta "
        "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
    )
    with pytest.raises(sqlite3.IntegrityError, match="disk on fire"):
        await update_rollups(conn, lock=store._lock)
    assert not conn.in_transaction
    assert rows(path, "SELECT count(*) FROM rollups_hourly") == [(0,)]
    assert await rollup_position(conn) == 0

    await conn.execute("DROP TRIGGER fail_meta")
    assert await update_rollups(conn, lock=store._lock) == 30
    assert_rollups_equal(stored(path), direct(path))


async def test_rollups_interleave_safely_with_batch_commits(path: Path) -> None:
    store = await open_store(path, batch_size=10)
    readings = varied(600)
    try:

        async def write() -> None:
            for i, r in enumerate(readings):
                await store.add(r)
                if i % 25 == 0:
                    await asyncio.sleep(0)
            await store.flush()

        async def roll() -> int:
            total = 0
            for _ in range(40):
                total += await update_rollups(conn_of(store), lock=store._lock, chunk=13)
                await asyncio.sleep(0)
            return total

        _, rolled = await asyncio.gather(write(), roll())
        rolled += await update_rollups(conn_of(store), lock=store._lock)
    finally:
        await store.close()

    assert rolled == 600
    assert store.counters.committed == 600
    assert store.counters.failures == 0
    assert_rollups_equal(stored(path), direct(path))


# -- purge ---------------------------------------------------------------------------------


async def test_purge_deletes_only_old_rolled_up_readings(store: SqliteStore, path: Path) -> None:
    old = [reading(A, DAY0 + i * 60, temperature=float(i)) for i in range(20)]
    await store_all(store, old)
    await update_rollups(conn_of(store))  # ids 1-20 rolled up
    later_old = [reading(B, DAY0 + i * 60, temperature=1.0) for i in range(5)]  # ids 21-25
    new = [reading(A, DAY0 + 86400 + i, temperature=2.0) for i in range(3)]  # ids 26-28
    await store_all(store, later_old + new)
    rollups_before = stored(path)

    deleted = await purge_raw(conn_of(store), DAY0 + 86400, 1_000, store._lock)

    assert deleted == 20
    # Old but not rolled up yet, and new: kept.
    assert [i for (i,) in rows(path, "SELECT id FROM readings ORDER BY id")] == list(range(21, 29))
    assert stored(path) == rollups_before  # the purge never touches the rollups

    await update_rollups(conn_of(store))
    assert await purge_raw(conn_of(store), DAY0 + 86400, 1_000, store._lock) == 5
    assert [i for (i,) in rows(path, "SELECT id FROM readings ORDER BY id")] == [26, 27, 28]


async def test_purge_works_in_small_transactions(store: SqliteStore, path: Path) -> None:
    await store_all(store, varied(100))
    await store_all(store, [reading(A, DAY0 + 10 * 86400, temperature=1.0)])
    await update_rollups(conn_of(store))
    lock = CountingLock()

    assert await purge_raw(conn_of(store), DAY0 + 86400, 30, lock) == 100

    assert lock.taken == 4  # 30 + 30 + 30 + 10
    assert rows(path, "SELECT count(*) FROM readings") == [(1,)]


@pytest.mark.parametrize("batch", [2, 1_000])
async def test_purge_of_old_readings_scattered_among_new_ones(
    store: SqliteStore, path: Path, batch: int
) -> None:
    # ids 1-5 old, 6-105 new, 106 old (a sensor whose clock went wrong), 107 new. Small
    # batches go through the index, large ones walk the ids: the same rows go either way.
    await store_all(store, [reading(A, DAY0 + i, temperature=1.0) for i in range(5)])
    await store_all(store, [reading(B, DAY0 + 9 * 86400 + i, temperature=2.0) for i in range(100)])
    await store_all(
        store, [reading(C, DAY0 + 7, temperature=3.0), reading(A, DAY0 + 10 * 86400, humidity=1)]
    )
    await update_rollups(conn_of(store))

    assert await purge_raw(conn_of(store), DAY0 + 86400, batch, store._lock) == 6

    ids = [i for (i,) in rows(path, "SELECT id FROM readings ORDER BY id")]
    assert ids == [*range(6, 106), 107]


async def test_purge_keeps_the_newest_reading_so_ids_are_never_reused(
    store: SqliteStore, path: Path
) -> None:
    # The hub was off for longer than the retention: every reading is old.
    await store_all(store, varied(10))
    await update_rollups(conn_of(store))

    assert await purge_raw(conn_of(store), DAY0 + 100 * 86400, 1_000, store._lock) == 9

    assert rows(path, "SELECT id FROM readings") == [(10,)]
    await store_all(store, [reading(A, DAY0 + 101 * 86400, temperature=3.0)])
    assert rows(path, "SELECT max(id) FROM readings") == [(11,)]  # not 1 again
    assert await update_rollups(conn_of(store)) == 1


async def test_purge_of_an_empty_database(store: SqliteStore) -> None:
    assert await purge_raw(conn_of(store), DAY0, 100, store._lock) == 0
    assert await update_rollups(conn_of(store)) == 0


# -- the scheduled jobs --------------------------------------------------------------------


async def test_maintenance_jobs_roll_up_then_purge(path: Path) -> None:
    clock = ManualClock(DAY0 + 3 * 86400)
    store = SqliteStore(StoreConfig(path=path, min_interval=0), clock)
    await store.open()
    messages: list[str] = []
    sink = logger.add(lambda m: messages.append(m.record["message"]), level="DEBUG")
    try:
        await store_all(store, varied(40))  # all on the first day
        await store_all(store, [reading(A, clock.time() - 60, temperature=5.0)])
        jobs = Maintenance(store, RetentionConfig(raw=86400, purge_batch=100), clock)

        assert await jobs.rollup_job() == 41
        assert await jobs.rollup_job() == 0
        await store_all(store, [reading(B, clock.time() - 30, temperature=6.0)])
        # Rolls up the new reading first, then purges the 40 old ones.
        assert await jobs.retention_job() == 40
    finally:
        logger.remove(sink)
        await store.close()

    counters = jobs.counters
    assert (counters.rollup_runs, counters.rolled_up) == (3, 42)
    assert (counters.purge_runs, counters.purged) == (1, 40)
    assert counters.last_purge == clock.time()
    assert rows(path, "SELECT count(*) FROM readings") == [(2,)]
    assert sum(c for *_, c in stored(path).values()) == 42 + 20 + 8  # + humidity, movement
    assert any(m.startswith("Rolled up 41 readings") for m in messages)
    assert any(m.startswith("Purged 40 raw readings") for m in messages)


async def test_maintenance_of_a_closed_store_does_nothing(path: Path) -> None:
    store = SqliteStore(StoreConfig(path=path), ManualClock(DAY0))
    jobs = Maintenance(store, RetentionConfig(), ManualClock(DAY0))
    assert await jobs.rollup_job() == 0
    assert await jobs.retention_job() == 0
    assert jobs.counters.rollup_runs == 0
