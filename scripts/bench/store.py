#!/usr/bin/env python3
"""Readings/s committed by the SQLite store, against raw sqlite3 as the ceiling; history query
times; bytes on disk per million readings.

Pinned to one core (the aiosqlite thread shares it), like pipeline.py.

- store: `SqliteStore.add` for every reading, default batch size (1,000), min_interval 0, then
  the final flush; a reading is a decoded RuuviTag format 5 advertisement (12 measurements
  with the derived dew point) from one of 200 tags. Wall time until the last commit.
- ceiling: the same rows (measurements already JSON-encoded) into the same schema with
  stdlib sqlite3 `executemany`, one transaction per 1,000, same pragmas (WAL, NORMAL).
- queries: `hub.store.history` on a database with 30 days of raw readings and a year of
  hourly rollups for 50 sensors at one reading a minute (built in SQL; not measured): one
  sensor-measurement over 24 h raw and over a year hourly (and daily), through the hub's
  aiosqlite connection and the CLI's read-only sqlite3 connection.
- bytes per million readings: the store's database file (readings, their index, sensors).
- maintenance: rollup and purge rates and the longest write-lock hold of either.

Usage: .venv/bin/python scripts/bench/store.py [--quick] [--readings N] [--repeats R]
The last line printed is one JSON object (contract 6).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[2]
# This folder holds http.py (contract 6), which would hide the standard library's http.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

import aiosqlite  # noqa: E402
import orjson  # noqa: E402
from loguru import logger  # noqa: E402

from hub.clock import SystemClock  # noqa: E402
from hub.config.models import StoreConfig  # noqa: E402
from hub.decoding import canonical_measurements  # noqa: E402
from hub.events import Reading  # noqa: E402
from hub.integrations import Decoded  # noqa: E402
from hub.store import SqliteStore  # noqa: E402
from hub.store.history import history, history_sync, open_readonly  # noqa: E402
from hub.store.rollups import ROLLUP_KEY, purge_raw, update_rollups  # noqa: E402
from hub.store.schema import MIGRATIONS, SCHEMA_VERSION  # noqa: E402
from integrations.ruuvi.df5 import decode  # noqa: E402
from integrations.ruuvi.synthetic import payload as ruuvi_payload  # noqa: E402
from integrations.ruuvi.synthetic import tag_address, tag_name  # noqa: E402

SENSORS = 200
START = 1_795_155_600.0
BATCH = 1_000  # StoreConfig's default batch size
QUERY_SENSORS = 50
RAW_DAYS = 30
ROLLUP_DAYS = 365


# -- throughput ----------------------------------------------------------------------------


def make_readings(count: int) -> list[Reading]:
    """`count` decoded RuuviTag format 5 readings from SENSORS tags, each a new measurement."""
    readings = []
    for i in range(count):
        sensor, sequence = i % SENSORS, i // SENSORS
        payload = ruuvi_payload(i, sensor, sequence)
        decoded = decode(payload)
        assert isinstance(decoded, Decoded)
        readings.append(
            Reading(
                ts=round(START + i * 0.005, 3),
                address=tag_address(sensor),
                integration="ruuvi",
                measurements=canonical_measurements(decoded),
                model=decoded.model,
                format=decoded.format,
                rssi=-60 - i % 30,
                sequence=decoded.sequence,
                name=tag_name(sensor),
            )
        )
    return readings


async def run_store(readings: list[Reading], db: Path) -> float:
    """Wall seconds from the first `add` to the last commit."""
    store = SqliteStore(StoreConfig(path=db, min_interval=0), SystemClock())
    await store.open()
    wall = time.perf_counter()
    add = store.add
    for reading in readings:
        await add(reading)
    await store.flush()
    wall = time.perf_counter() - wall
    committed = store.counters.committed
    await store.close()
    if committed != len(readings):
        raise SystemExit(f"lost readings: {committed} committed of {len(readings)}")
    return wall


def create_schema(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    for version, script in enumerate(MIGRATIONS, 1):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")


def run_ceiling(readings: list[Reading], db: Path) -> float:
    """Wall seconds for stdlib executemany of the same rows, 1,000 per transaction."""
    conn = sqlite3.connect(db, isolation_level=None)
    create_schema(conn)
    ids: dict[str, int] = {}
    for r in readings:
        if r.address not in ids:
            ids[r.address] = conn.execute(
                "INSERT INTO sensors (address, integration, model, advertised_name, first_seen, "
                "last_seen) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                (r.address, r.integration, r.model, r.name, r.ts, r.ts),
            ).fetchone()[0]
    rows = [
        (ids[r.address], r.ts, r.sequence, r.rssi, orjson.dumps(r.measurements).decode(), None)
        for r in readings
    ]
    insert = (
        "INSERT INTO readings (sensor_id, ts, sequence, rssi, measurements, extra) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    )
    wall = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        conn.execute("BEGIN")
        conn.executemany(insert, rows[start : start + BATCH])
        conn.execute("COMMIT")
    wall = time.perf_counter() - wall
    conn.close()
    return wall


def measure(repeats: int, *runs: Callable[[], float]) -> list[float]:
    """Median wall time of each run; the runs alternate, so drifts of the machine hit all."""
    walls: list[list[float]] = [[] for _ in runs]
    for _ in range(repeats):
        for run, times in zip(runs, walls, strict=True):
            gc.collect()
            times.append(run())
    return [statistics.median(times) for times in walls]


def db_bytes(db: Path) -> int:
    """Bytes the database holds (all pages in use) after a checkpoint."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages, free, size = (
            conn.execute(f"PRAGMA {p}").fetchone()[0]
            for p in ("page_count", "freelist_count", "page_size")
        )
    finally:
        conn.close()
    return int((pages - free) * size)


class TimedLock(asyncio.Lock):
    """The store's lock, recording how long each hold lasted."""

    def __init__(self) -> None:
        super().__init__()
        self.holds: list[float] = []
        self._since = 0.0

    async def acquire(self) -> Literal[True]:
        result = await super().acquire()
        self._since = time.perf_counter()
        return result

    def release(self) -> None:
        self.holds.append(time.perf_counter() - self._since)
        super().release()


async def run_rollups(db: Path, chunk: int | None) -> tuple[int, float, float]:
    """(readings rolled up, wall seconds, longest lock hold) over the store run's database."""
    lock = TimedLock()
    async with aiosqlite.connect(db) as conn:
        wall = time.perf_counter()
        if chunk is None:
            count = await update_rollups(conn, lock=lock)
        else:
            count = await update_rollups(conn, lock=lock, chunk=chunk)
        wall = time.perf_counter() - wall
    return count, wall, max(lock.holds)


# -- history queries -----------------------------------------------------------------------


def build_query_db(db: Path, sensors: int, raw_days: int, rollup_days: int) -> tuple[float, int]:
    """Raw readings (one a minute per sensor) and hourly rollups, generated in SQL.

    Returns (the end of the data, readings.id of the last reading rolled up). The last five
    minutes of readings are left out of the rollups, as between two rollup jobs.
    """
    begin = START - START % 86400  # midnight UTC, as rollup hours are whole hours
    end = begin + rollup_days * 86400.0
    conn = sqlite3.connect(db, isolation_level=None)
    create_schema(conn)
    conn.execute("BEGIN")
    conn.execute(
        """WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?)
        INSERT INTO sensors (id, address, integration, model, advertised_name, name,
                             first_seen, last_seen)
        SELECT i, printf('C0:00:00:00:%02X:%02X', i / 256, i % 256), 'ruuvi', 'RuuviTag',
               printf('Ruuvi %04X', i), printf('room %d', i), ?, ?
        FROM s""",
        (sensors, begin, end),
    )
    minutes = raw_days * 1440
    first = end - minutes * 60
    # Readings in time order, sensors interleaved, as the store commits them.
    conn.execute(
        """WITH RECURSIVE m(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM m WHERE k < ?),
        s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?)
        INSERT INTO readings (sensor_id, ts, sequence, rssi, measurements)
        SELECT i, ? + k * 60 + i * 0.5, k % 65535, -60 - (k + i) % 30, json_object(
            'temperature', round(18 + ((k * 7 + i * 13) % 900) * 0.01, 3),
            'humidity', round(30 + ((k * 11 + i * 5) % 4000) * 0.01, 4),
            'pressure', round(990 + ((k * 3 + i) % 3000) * 0.01, 2),
            'acceleration_x', ((k + i) % 50 - 25) / 1000.0,
            'acceleration_y', ((k * 3 + i) % 50 - 25) / 1000.0,
            'acceleration_z', 1 + ((k * 5 + i) % 20) / 1000.0,
            'voltage', 2.9 + (i % 10) / 100.0,
            'battery', 80 + i % 20,
            'tx_power', 4,
            'movement_counter', (k / 60) % 256,
            'measurement_sequence', k % 65535,
            'dew_point', round(5 + ((k * 7 + i * 13) % 900) * 0.01, 2))
        FROM m, s ORDER BY k, i""",
        (minutes - 1, sensors, first),
    )
    hours = rollup_days * 24
    conn.execute(
        """WITH RECURSIVE h(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM h WHERE k < ?),
        s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?),
        ms(name) AS (VALUES ('temperature'), ('humidity'), ('pressure'), ('acceleration_x'),
            ('acceleration_y'), ('acceleration_z'), ('voltage'), ('battery'), ('tx_power'),
            ('movement_counter'), ('measurement_sequence'), ('dew_point'))
        INSERT INTO rollups_hourly (sensor_id, measurement, hour, min, max, sum, count)
        SELECT i, name, CAST(? AS INTEGER) + k * 3600,
               ((k * 7 + i) % 50) * 0.1, 10 + ((k * 7 + i) % 50) * 0.1,
               60 * (5 + ((k * 7 + i) % 50) * 0.1), 60
        FROM s, ms, h ORDER BY i, name, k""",
        (hours - 1, sensors, begin),
    )
    newest = conn.execute("SELECT max(id) FROM readings").fetchone()[0]
    rolled_up = max(0, newest - 5 * sensors)
    conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (ROLLUP_KEY, str(rolled_up)))
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return end, rolled_up


def timed_ms(call: Callable[[], object], repeats: int) -> tuple[float, int]:
    """Median milliseconds of `call` after one warm-up, and how many rows it returned."""
    result: Any = call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), len(result.rows)


async def timed_ms_async(call: Callable[[], Awaitable[Any]], repeats: int) -> tuple[float, int]:
    result = await call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), len(result.rows)


QUERIES: dict[str, tuple[str, float, str]] = {
    # name: (resolution, span in seconds, measurement)
    "24h_raw": ("raw", 86400.0, "temperature"),
    "1y_hourly": ("hour", 365 * 86400.0, "temperature"),
    "1y_daily": ("day", 365 * 86400.0, "temperature"),
    "24h_raw_all": ("raw", 86400.0, ""),
}


async def run_queries(
    db: Path, end: float, sensor_id: int, repeats: int
) -> dict[str, tuple[float, float, int]]:
    """name -> (aiosqlite ms, sqlite3 read-only ms, rows)."""
    results: dict[str, tuple[float, float, int]] = {}
    async with aiosqlite.connect(db) as conn:
        with open_readonly(db) as ro:
            for name, (resolution, span, measurement) in QUERIES.items():
                args = (sensor_id, measurement or None, end - span, end, resolution)

                async def hub_call(args: Any = args) -> Any:
                    return await history(conn, *args)

                def cli_call(args: Any = args) -> Any:
                    return history_sync(ro, *args)

                hub_ms, rows = await timed_ms_async(hub_call, repeats)
                cli_ms, _ = timed_ms(cli_call, repeats)
                results[name] = (hub_ms, cli_ms, rows)
    return results


async def run_purge(db: Path, cutoff: float, batch: int) -> tuple[int, float, float]:
    lock = TimedLock()
    async with aiosqlite.connect(db) as conn:
        wall = time.perf_counter()
        count = await purge_raw(conn, cutoff, batch, lock)
        wall = time.perf_counter() - wall
    return count, wall, max(lock.holds)


# -- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller run, same figures")
    parser.add_argument("--readings", type=int, help="readings per throughput run")
    parser.add_argument("--repeats", type=int, help="runs (and queries) per figure")
    parser.add_argument("--sensors", type=int, help="sensors in the query database")
    args = parser.parse_args()
    count = args.readings or (50_000 if args.quick else 200_000)
    repeats = args.repeats or (3 if args.quick else 5)
    query_repeats = 9 if args.quick else 21
    # --quick keeps the per-sensor data of the full database (30 days raw, a year of
    # rollups per sensor) with fewer sensors, so each query does the same work.
    sensors = args.sensors or (10 if args.quick else QUERY_SENSORS)

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    cpu = sorted(os.sched_getaffinity(0))[0]
    os.sched_setaffinity(0, {cpu})
    print(f"store: {count:,} readings from {SENSORS} RuuviTags (12 measurements each), ", end="")
    print(f"median of {repeats}; SQLite {sqlite3.sqlite_version}, schema {SCHEMA_VERSION}")
    print(f"pinned to CPU {cpu}; Python {sys.version.split()[0]}")
    readings = make_readings(count)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        runs = iter(range(10_000))

        def store_run() -> float:
            return asyncio.run(run_store(readings, tmp / f"store{next(runs)}.db"))

        def ceiling_run() -> float:
            return run_ceiling(readings, tmp / f"ceiling{next(runs)}.db")

        store_s, ceiling_s = measure(repeats, store_run, ceiling_run)
        store_db = tmp / "store0.db"
        size = db_bytes(store_db)
        json_bytes = sum(len(orjson.dumps(r.measurements)) for r in readings) / count
        bytes_per_million = size / count * 1_000_000
        rolled, rollup_s, rollup_hold = asyncio.run(run_rollups(store_db, None))
        store_rate, ceiling_rate = count / store_s, count / ceiling_s
        print(f"ceiling (sqlite3 executemany, {BATCH}/txn): {ceiling_rate:>10,.0f} readings/s")
        print(f"store (SqliteStore.add + commits):         {store_rate:>10,.0f} readings/s")
        print(f"ratio store/ceiling:                       {store_rate / ceiling_rate:>10.2f}")
        print(
            f"on disk:                                   {bytes_per_million / 2**20:>10.1f} MiB "
            f"per million readings ({size / count:.0f} bytes each, {json_bytes:.0f} of them "
            "the measurements' JSON)"
        )
        print(
            f"rollups (update_rollups):                  {rolled / rollup_s:>10,.0f} readings/s, "
            f"longest lock hold {rollup_hold * 1000:.0f} ms"
        )

        # The readings of the runs above are garbage to the queries: not theirs to collect.
        readings.clear()
        gc.collect()
        query_db = tmp / "query.db"
        built = time.perf_counter()
        end, _ = build_query_db(query_db, sensors, RAW_DAYS, ROLLUP_DAYS)
        built = time.perf_counter() - built
        conn = sqlite3.connect(query_db)
        raw_rows = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
        rollup_rows = conn.execute("SELECT count(*) FROM rollups_hourly").fetchone()[0]
        conn.close()
        print(
            f"query database: {sensors} sensors, {raw_rows:,} raw readings ({RAW_DAYS} days), "
            f"{rollup_rows:,} hourly rollups ({ROLLUP_DAYS} days), "
            f"{query_db.stat().st_size / 2**20:,.0f} MiB, built in {built:.1f} s"
        )
        queries = asyncio.run(run_queries(query_db, end, sensors // 2, query_repeats))
        print(f"history of sensor {sensors // 2}, median of {query_repeats} (hub / CLI):")
        for name, (hub_ms, cli_ms, rows) in queries.items():
            print(f"  {name:<12} {rows:>7,} rows  {hub_ms:>7.1f} ms / {cli_ms:>7.1f} ms")
        # A day of raw readings past the retention: what the hourly purge job meets.
        purged, purge_s, purge_hold = asyncio.run(
            run_purge(query_db, end - (RAW_DAYS - 1) * 86400.0, 5_000)
        )
        print(
            f"purge (purge_raw, 5,000/txn):              {purged / purge_s:>10,.0f} readings/s, "
            f"longest lock hold {purge_hold * 1000:.0f} ms ({purged:,} purged)"
        )

    print(
        json.dumps(
            {
                "readings_per_s": round(store_rate),
                "ceiling_readings_per_s": round(ceiling_rate),
                "ratio": round(store_rate / ceiling_rate, 3),
                "query_ms_24h_raw": round(queries["24h_raw"][0], 2),
                "query_ms_1y_hourly": round(queries["1y_hourly"][0], 2),
                "bytes_per_million_readings": round(bytes_per_million),
                "query_ms_1y_daily": round(queries["1y_daily"][0], 2),
                "query_ms_24h_raw_all_measurements": round(queries["24h_raw_all"][0], 2),
                "cli_query_ms_24h_raw": round(queries["24h_raw"][1], 2),
                "cli_query_ms_1y_hourly": round(queries["1y_hourly"][1], 2),
                "rollup_readings_per_s": round(rolled / rollup_s),
                "rollup_max_lock_ms": round(rollup_hold * 1000, 1),
                "purge_readings_per_s": round(purged / purge_s),
                "purge_max_lock_ms": round(purge_hold * 1000, 1),
                "readings": count,
                "repeats": repeats,
                "query_sensors": sensors,
            }
        )
    )


if __name__ == "__main__":
    main()
