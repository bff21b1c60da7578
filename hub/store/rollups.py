"""Hourly rollups kept for ever, and the purge of raw readings past their retention.

Rollups are incremental: `meta.rollup_last_id` is the last `readings.id` folded into
`rollups_hourly`. Readings are committed in id order by one writer, so every reading with an
id up to it is counted exactly once; a reading stored late (a held batch written after a
disk failure) lands in its own, older hour and is merged there. Each chunk of new readings
is aggregated and merged, and the position moved, in one transaction: a crash leaves the
rollups either before or after the chunk, never half-counted.

The purge deletes only readings that are past the retention AND rolled up, a few thousand
per transaction in id order (adjacent pages), and lets the store commit between
transactions. It never deletes the
reading with the highest id: SQLite gives a new row the highest rowid plus one, so removing
that row would hand out ids again that the rollup position and the exporters' watermarks
already cover.

Both take the store's write lock around each transaction: the store's batch commits use the
same connection, and two transactions must not interleave on it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiosqlite
from loguru import logger

from hub.clock import Clock
from hub.config.models import RetentionConfig
from hub.exporters import outbox_floor
from hub.store.sqlite import SqliteStore

ROLLUP_KEY = "rollup_last_id"
HOUR = 3600
# Readings aggregated per transaction: about 50 ms of write lock on a desktop for
# Ruuvi-sized readings (see scripts/bench/store.py), a few times that on a Raspberry Pi.
ROLLUP_CHUNK = 5_000

# The hour a reading belongs to, in SQL; history uses the same expression (hub.store.history).
HOUR_OF_TS = f"(CAST(r.ts / {HOUR} AS INTEGER) * {HOUR})"

_LAST_ID = f"SELECT CAST(value AS INTEGER) FROM meta WHERE key = '{ROLLUP_KEY}'"
# How many readings the next chunk holds, and the id of its last one.
_NEXT_CHUNK = (
    "SELECT count(*), max(id) FROM (SELECT id FROM readings WHERE id > ? ORDER BY id LIMIT ?)"
)
# NOT INDEXED: the planner would otherwise walk the whole (sensor_id, ts) index to save the
# GROUP BY a sort, instead of reading the chunk's rowid range. Only numbers are rolled up
# (the store keeps nothing else in `measurements`, but a value written by hand or a future
# format must not break the job). total() never overflows.
_MERGE = f"""
    INSERT INTO rollups_hourly (sensor_id, measurement, hour, min, max, sum, count)
    SELECT r.sensor_id, j.key, {HOUR_OF_TS} AS hour,
           min(j.value), max(j.value), total(j.value), count(*)
    FROM readings r NOT INDEXED, json_each(r.measurements) j
    WHERE r.id > ? AND r.id <= ? AND j.type IN ('integer', 'real')
    GROUP BY r.sensor_id, j.key, hour
    ON CONFLICT (sensor_id, measurement, hour) DO UPDATE SET
        min = min(rollups_hourly.min, excluded.min),
        max = max(rollups_hourly.max, excluded.max),
        sum = rollups_hourly.sum + excluded.sum,
        count = rollups_hourly.count + excluded.count"""
_SET_LAST_ID = (
    f"INSERT INTO meta (key, value) VALUES ('{ROLLUP_KEY}', ?) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)
# What a purge has to do: the rows past the cutoff and up to an id, counted through the
# (sensor_id, ts) index (one range per sensor, index entries only: they carry the rowid).
_PURGE_SCOPE = """
    SELECT count(*), min(id), max(id) FROM readings
    WHERE sensor_id IN (SELECT id FROM sensors) AND ts < ? AND id <= ?"""
# Old rows in id order: they sit together at the start of the table, so a transaction
# rewrites a few hundred adjacent pages. Used when the ids in scope are mostly old rows.
_PURGE_BY_ID = """
    DELETE FROM readings WHERE id IN (
        SELECT id FROM readings WHERE id >= ? AND id <= ? AND ts < ? ORDER BY id LIMIT ?)"""
# Old rows per sensor through the index: for scattered old rows (a reading with a wrong
# clock stored among new ones), where walking the ids would visit every row in between.
# Several times the pages per row of the above, as each sensor's rows are spread out.
_PURGE_BY_INDEX = """
    DELETE FROM readings WHERE id IN (
        SELECT id FROM readings
        WHERE sensor_id IN (SELECT id FROM sensors) AND ts < ? AND id >= ? AND id <= ?
        LIMIT ?)"""
# Walk the ids while at most this many rows in scope for each old one are not old.
_BY_ID_SPREAD = 4


async def rollup_position(conn: aiosqlite.Connection) -> int:
    """The last readings.id counted in the rollups (0 before the first rollup)."""
    async with conn.execute(_LAST_ID) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


async def _scalar(conn: aiosqlite.Connection, sql: str, params: tuple[object, ...] = ()) -> int:
    async with conn.execute(sql, params) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row and row[0] is not None else 0


async def _rollback(conn: aiosqlite.Connection) -> None:
    if conn.in_transaction:
        await conn.rollback()


async def update_rollups(
    conn: aiosqlite.Connection,
    *,
    lock: asyncio.Lock | None = None,
    chunk: int = ROLLUP_CHUNK,
) -> int:
    """Fold the readings stored since the last call into the hourly rollups.

    Returns how many readings were rolled up. Works in transactions of at most `chunk`
    readings, taking `lock` (the store's write lock) around each and yielding to the event
    loop between them. Safe to run concurrently with itself: the position is read inside
    each transaction.
    """
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    guard = lock or asyncio.Lock()
    total = 0
    while True:
        async with guard:
            try:
                # IMMEDIATE: the write lock is taken before the position is read, so no
                # other connection can slip a write in between (and no upgrade can fail).
                await conn.execute("BEGIN IMMEDIATE")
                last = await _scalar(conn, _LAST_ID)
                async with conn.execute(_NEXT_CHUNK, (last, chunk)) as cursor:
                    row = await cursor.fetchone()
                count, end = (int(row[0]), row[1]) if row else (0, None)
                if not count:
                    await conn.rollback()
                    return total
                await conn.execute(_MERGE, (last, end))
                await conn.execute(_SET_LAST_ID, (str(end),))
                await conn.commit()
            except BaseException:
                await _rollback(conn)
                raise
        total += count
        if count < chunk:
            return total
        await asyncio.sleep(0)  # let the store commit between chunks


async def purge_raw(
    conn: aiosqlite.Connection,
    older_than: float,
    batch: int,
    lock: asyncio.Lock,
    *,
    keep_after: int | None = None,
) -> int:
    """Delete raw readings with `ts < older_than` that are rolled up; returns how many.

    At most `batch` rows per transaction, under `lock`, yielding to the event loop between
    transactions so the store's commits get in. Readings not yet rolled up, and the reading
    with the highest id, are kept; readings rolled up while the purge runs wait for the next.
    Readings with an id above `keep_after` (what a running exporter has not delivered yet,
    `hub.exporters.outbox_floor`) are kept too.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    # The scope is read outside the lock: the rollup position and the newest id only grow,
    # so a bound read a little early only leaves more for the next purge.
    rolled_up = await _scalar(conn, _LAST_ID)
    newest = await _scalar(conn, "SELECT max(id) FROM readings")
    bound = min(rolled_up, newest - 1, keep_after if keep_after is not None else newest)
    async with conn.execute(_PURGE_SCOPE, (older_than, bound)) as cursor:
        row = await cursor.fetchone()
    if not row or not row[0]:
        return 0
    candidates, low, high = int(row[0]), int(row[1]), int(row[2])
    params: tuple[object, ...]
    if high - low + 1 <= _BY_ID_SPREAD * candidates + batch:
        statement, params = _PURGE_BY_ID, (low, high, older_than, batch)
    else:
        statement, params = _PURGE_BY_INDEX, (older_than, low, high, batch)
    total = 0
    while True:
        async with lock:
            try:
                await conn.execute("BEGIN IMMEDIATE")
                async with conn.execute(statement, params) as cursor:
                    deleted = max(cursor.rowcount, 0)
                await conn.commit()
            except BaseException:
                await _rollback(conn)
                raise
        total += deleted
        if deleted < batch or total >= candidates:
            return total
        await asyncio.sleep(0)


@dataclass(slots=True)
class MaintenanceCounters:
    """What the rollup and retention jobs did so far."""

    rollup_runs: int = 0
    rolled_up: int = 0
    purge_runs: int = 0
    purged: int = 0
    last_rollup: float | None = None
    last_purge: float | None = None


class Maintenance:
    """The store's scheduled upkeep: `rollup_job` ("store.rollups", every
    `retention.rollup_interval`) and `retention_job` ("store.retention", every
    `retention.purge_interval`)."""

    def __init__(self, store: SqliteStore, settings: RetentionConfig, clock: Clock) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self.counters = MaintenanceCounters()

    async def rollup_job(self) -> int:
        """Roll up the readings committed since the last run; returns how many."""
        if not self._store.is_open:
            logger.debug("Rollups skipped: the store is not open")
            return 0
        conn = self._store.connection
        started = time.perf_counter()
        count = await update_rollups(conn, lock=self._store.write_lock)
        counters = self.counters
        counters.rollup_runs += 1
        counters.rolled_up += count
        counters.last_rollup = self._clock.time()
        logger.debug(
            "Rolled up {} readings in {:.0f} ms", count, (time.perf_counter() - started) * 1000
        )
        return count

    async def retention_job(self) -> int:
        """Roll up what is new, then purge raw readings older than `retention.raw`."""
        if not self._store.is_open:
            logger.debug("Retention skipped: the store is not open")
            return 0
        conn = self._store.connection
        # Whatever is past the cutoff must be in the rollups before it can go.
        await self.rollup_job()
        started = time.perf_counter()
        cutoff = self._clock.time() - self._settings.raw
        count = await purge_raw(
            conn,
            cutoff,
            self._settings.purge_batch,
            self._store.write_lock,
            keep_after=await outbox_floor(self._store),
        )
        counters = self.counters
        counters.purge_runs += 1
        counters.purged += count
        counters.last_purge = self._clock.time()
        logger.debug(
            "Purged {} raw readings older than {:.0f} in {:.0f} ms",
            count,
            cutoff,
            (time.perf_counter() - started) * 1000,
        )
        return count
