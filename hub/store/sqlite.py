"""The SQLite store: readings arrive from the bus, are buffered, and committed in batches.

A batch is committed by the scheduled flush job or as soon as it fills, in one transaction
(from the bus, by a task of its own: the bus never waits for the disk).
At most one reading per sensor per storage interval is kept (`hub.store.throttle`). If SQLite
cannot be written (disk full, read-only, locked) the readings stay buffered in order,
bounded by `max_buffer` (the oldest are dropped and counted beyond it), and the next flush
tries again. Committed readings are the outbox: exporters read them in id order after a
watermark they keep in the same database.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiosqlite
import orjson
from loguru import logger

from hub.bus import EventBus
from hub.clock import Clock
from hub.config.models import DeviceConfig, StoreConfig
from hub.errors import HubError
from hub.events import Reading, ReadingsStored
from hub.router import SEQUENCE_WINDOW
from hub.store.schema import migrate
from hub.store.sensors import apply_device_config
from hub.store.throttle import StorageThrottle

_INSERT_READING = (
    "INSERT INTO readings (sensor_id, ts, sequence, rssi, measurements, extra) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_SENSOR = (
    "INSERT INTO sensors (address, integration, model, advertised_name, first_seen, last_seen, "
    "name, location, notes, disabled) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(address) DO UPDATE SET integration = excluded.integration RETURNING id"
)
_READ_AFTER = """
    SELECT r.id, r.ts, s.address, s.integration, s.model, coalesce(s.name, s.advertised_name),
           s.location, r.measurements, r.rssi, r.sequence
    FROM readings r JOIN sensors s ON s.id = r.sensor_id
    WHERE r.id > ? ORDER BY r.id LIMIT ?"""
_UPDATE_SENSOR = (
    "UPDATE sensors SET last_seen = max(last_seen, ?), last_sequence = coalesce(?, last_sequence), "
    "model = coalesce(?, model), advertised_name = coalesce(?, advertised_name) WHERE id = ?"
)
_MAX_BACKOFF_S = 60.0
# Readings per transaction when a large buffer is written (after an outage of the disk).
_COMMIT_CHUNK = 10_000
# A full buffer's drops are logged at most this often (each is counted).
_DROP_LOG_INTERVAL_S = 60.0


def _dumps(value: object) -> str:
    # orjson writes what json.dumps(separators=(",", ":")) writes, ten times faster. It would
    # write NaN as null, but the router lets no non-finite value through.
    return orjson.dumps(value).decode()


@dataclass(frozen=True, slots=True)
class StoredReading:
    """A committed reading as exporters read it from the outbox."""

    id: int
    ts: float
    address: str
    integration: str
    model: str | None
    name: str | None
    location: str | None
    measurements: dict[str, float | int]
    rssi: int | None
    sequence: int | None


@dataclass(slots=True)
class StoreCounters:
    """What the store did so far (for the summary, metrics and health)."""

    received: int = 0
    committed: int = 0
    batches: int = 0
    failures: int = 0
    dropped: int = 0
    rejected: int = 0
    last_commit: float | None = None
    last_error: str = ""


class SqliteStore:
    """Buffers readings and commits them in batches to a WAL-mode SQLite file."""

    def __init__(
        self,
        settings: StoreConfig,
        clock: Clock,
        devices: Mapping[str, DeviceConfig] | None = None,
        bus: EventBus | None = None,
    ) -> None:
        self._settings = settings
        self._bus = bus
        self._clock = clock
        self._devices = dict(devices or {})
        self.throttle = StorageThrottle(
            settings.min_interval,
            {a: d.min_interval for a, d in self._devices.items() if d.min_interval is not None},
            # A staged reading's interval passes on the hub's clock (simulated in a soak run).
            monotonic=clock.monotonic,
        )
        self._conn: aiosqlite.Connection | None = None
        self._pending: list[Reading] = []
        self._lock = asyncio.Lock()
        self._sensor_ids: dict[str, int] = {}
        self._backoff = 0.0
        self._retry_at = 0.0
        self._flusher: asyncio.Task[None] | None = None
        self._drop_logged = -_DROP_LOG_INTERVAL_S
        self.counters = StoreCounters()

    @property
    def path(self) -> Path:
        return self._settings.path

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    @property
    def connection(self) -> aiosqlite.Connection:
        """The open connection, for maintenance that must share the store's writer."""
        if self._conn is None:
            raise HubError(f"the database {self.path} is not open")
        return self._conn

    @property
    def write_lock(self) -> asyncio.Lock:
        """Held by every write on `connection`; other writers take it too."""
        return self._lock

    @property
    def buffered(self) -> int:
        return len(self._pending)

    # -- lifecycle -----------------------------------------------------------------------

    async def open(self) -> None:
        path = self._settings.path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = await aiosqlite.connect(path)
        except (OSError, sqlite3.Error) as exc:
            raise HubError(f"cannot open the database {path}: {exc}") from exc
        try:
            await conn.execute("PRAGMA busy_timeout = 5000")
            async with conn.execute("PRAGMA journal_mode = WAL") as cursor:
                row = await cursor.fetchone()
            if not row or str(row[0]).lower() != "wal":
                logger.warning("SQLite refused WAL mode for {}; using {}", path, row)
            await conn.execute(f"PRAGMA synchronous = {self._settings.synchronous.upper()}")
            before, after = await migrate(conn)
            await apply_device_config(conn, self._devices)
            last_stored: dict[str, float] = {}
            async with conn.execute("SELECT address, id, last_seen FROM sensors") as cursor:
                async for address, sensor_id, last_seen in cursor:
                    self._sensor_ids[address] = sensor_id
                    last_stored[address] = last_seen
            self.throttle.seed(last_stored)
        except (OSError, sqlite3.Error) as exc:
            await conn.close()
            raise HubError(f"cannot use the database {path}: {exc}") from exc
        except BaseException:
            await conn.close()
            raise
        if before != after:
            logger.info("Database {} migrated from schema {} to {}", path, before, after)
        self._conn = conn

    def release_held(self) -> None:
        """Hand what the storage interval holds to the next flush (at shutdown)."""
        self._pending.extend(self.throttle.drain())

    async def close(self) -> None:
        """Flush what is buffered (and what the throttle holds), then close the file."""
        if self._conn is None:
            return
        if self._flusher is not None:
            await self._flusher
        self.release_held()
        await self.flush()
        if self._pending:
            logger.error(
                "Closing the database with {} readings not written: {}",
                len(self._pending),
                self.counters.last_error,
            )
        await self._conn.close()
        self._conn = None

    # -- writing -------------------------------------------------------------------------

    async def add(self, reading: Reading) -> None:
        """Buffer a reading; commit at once (and wait for it) when the batch is full."""
        if self._buffer(reading):
            await self.flush()

    def offer(self, reading: Reading) -> None:
        """Bus handler: buffer a reading, never waiting for the disk. A full batch is
        committed by a task of its own while readings keep coming: a slow commit (a WAL
        checkpoint, a busy connection, a slow SD card) must not hold the bus up, and through
        its `block` mailbox the sources, whose readings would then be stamped late.
        `max_buffer` bounds what waits meanwhile."""
        if self._buffer(reading) and (self._flusher is None or self._flusher.done()):
            self._flusher = asyncio.get_running_loop().create_task(
                self._flush_in_background(), name="store:flush"
            )

    def _buffer(self, reading: Reading) -> bool:
        """Keep what the storage interval lets through; True when a batch is due now."""
        self.counters.received += 1
        keep = self.throttle.offer(reading)
        if keep is None:
            return False
        pending = self._pending
        pending.append(keep)
        if len(pending) > self._settings.max_buffer:
            self._drop_oldest(len(pending) - self._settings.max_buffer)
        return (
            len(pending) >= self._settings.batch_size
            and not self._lock.locked()
            and time.monotonic() >= self._retry_at
        )

    async def _flush_in_background(self) -> None:
        try:
            await self.flush()
        except Exception:  # noqa: BLE001 - the task's boundary: the flush job tries again
            logger.opt(exception=True).error("Committing a full batch failed unexpectedly")

    async def flush(self) -> int:
        """Commit everything buffered in one transaction; returns how many were committed."""
        if self._conn is None:
            return 0
        self._pending.extend(self.throttle.due())
        if not self._pending:
            return 0
        async with self._lock:
            batch, self._pending = self._pending, []
            if not batch:
                return 0
            new_ids: dict[str, int] = {}
            written = done = 0
            try:
                if self._backoff:
                    # The last commit failed: a one-row write tells whether the disk takes
                    # writes again before the whole buffer is encoded and written (every
                    # flush interval, for as long as a read-only disk lasts).
                    await self._probe(self._conn)
                # What a long outage left behind goes in pieces, the loop given back in
                # between: the sources go on reading (and stamping) meanwhile.
                for start in range(0, len(batch), _COMMIT_CHUNK):
                    if start:
                        await asyncio.sleep(0)
                    chunk = batch[start : start + _COMMIT_CHUNK]
                    ids, count = await self._write(self._conn, chunk)
                    self._sensor_ids.update(ids)
                    new_ids.update(ids)
                    written += count
                    done = start + len(chunk)
            except (sqlite3.Error, OSError, ValueError) as exc:  # ValueError: connection closed
                await self._rollback()
                self.counters.committed += written
                self._requeue(batch[done:])
                # Flushes triggered by full batches wait this long; the scheduled flush
                # job keeps trying at its own interval.
                self._backoff = min(_MAX_BACKOFF_S, max(1.0, self._backoff * 2))
                self._retry_at = time.monotonic() + self._backoff
                self.counters.failures += 1
                self.counters.last_error = f"{type(exc).__name__}: {exc}"
                logger.warning(
                    "Could not commit {} readings ({}); holding {} in memory and retrying",
                    len(batch),
                    exc,
                    len(self._pending),
                )
                return 0
            if self._backoff:
                logger.info("Database writable again; committed {} held readings", len(batch))
                self._backoff = 0.0
                self._retry_at = 0.0
            counters = self.counters
            counters.committed += written
            counters.batches += 1
            counters.last_commit = self._clock.time()
            if self._bus is not None and written:
                async with self._conn.execute("SELECT last_insert_rowid()") as cursor:
                    row = await cursor.fetchone()
                last_id = int(row[0]) if row else 0
                # Exporters wake on this instead of waiting for their next poll.
                self._bus.publish(ReadingsStored(counters.last_commit, written, last_id))
            return written

    async def _write(
        self, conn: aiosqlite.Connection, batch: list[Reading]
    ) -> tuple[dict[str, int], int]:
        """One transaction: new sensors, the readings, sensor updates; (new ids, rows written)."""
        ids = self._sensor_ids
        new_ids: dict[str, int] = {}
        latest: dict[str, Reading] = {}
        for reading in batch:
            latest[reading.address] = reading
            if reading.address not in ids and reading.address not in new_ids:
                meta = self._devices.get(reading.address)
                name = meta.name if meta else None
                if name is not None:  # the config's name wins over one given by hand
                    await conn.execute("UPDATE sensors SET name = NULL WHERE name = ?", (name,))
                async with conn.execute(
                    _INSERT_SENSOR,
                    (
                        reading.address,
                        reading.integration,
                        reading.model,
                        reading.name,
                        reading.ts,
                        reading.ts,
                        name,
                        meta.location if meta else None,
                        meta.notes if meta else None,
                        int(bool(meta and meta.disabled)),
                    ),
                ) as cursor:
                    row = await cursor.fetchone()
                assert row is not None
                new_ids[reading.address] = int(row[0])
        both = {**ids, **new_ids} if new_ids else ids
        rows = []
        for r in batch:
            try:
                encoded = _dumps(r.measurements)
                extra = (
                    _dumps({"states": dict(r.states), "events": list(r.events)})
                    if r.states or r.events
                    else None
                )
            except TypeError as exc:  # orjson's encode error; one bad reading, not the batch
                self.counters.rejected += 1
                logger.error("Reading from {} cannot be stored ({}): {!r}", r.address, exc, r)
                continue
            rows.append((both[r.address], r.ts, r.sequence, r.rssi, encoded, extra))
        await conn.executemany(_INSERT_READING, rows)
        await conn.executemany(
            _UPDATE_SENSOR,
            [(r.ts, r.sequence, r.model, r.name, both[address]) for address, r in latest.items()],
        )
        await conn.commit()
        return new_ids, len(rows)

    async def _probe(self, conn: aiosqlite.Connection) -> None:
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES ('write_probe', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (str(self._clock.time()),),
        )
        await conn.commit()

    async def _rollback(self) -> None:
        assert self._conn is not None
        try:
            await self._conn.rollback()
        except sqlite3.Error as exc:
            logger.debug("Rollback after a failed commit failed too: {}", exc)

    def _requeue(self, batch: list[Reading]) -> None:
        """Put a batch that failed back in front of what arrived since, within the bound."""
        self._pending = batch + self._pending
        excess = len(self._pending) - self._settings.max_buffer
        if excess > 0:
            self._drop_oldest(excess)

    def _drop_oldest(self, count: int) -> None:
        del self._pending[:count]
        self.counters.dropped += count
        now = time.monotonic()
        if now - self._drop_logged >= _DROP_LOG_INTERVAL_S:
            # Once a reading is dropped at every arrival: told now and then, all counted.
            self._drop_logged = now
            logger.error(
                "Store buffer full ({} readings): dropping the oldest ({} so far)",
                self._settings.max_buffer,
                self.counters.dropped,
            )

    # -- reading -------------------------------------------------------------------------

    async def recent_sequences(self) -> dict[str, list[tuple[int, dict[str, float]]]]:
        """The last few stored (sequence, measurements) per sensor, oldest first (router
        seeding: a restart must not store a repeat of what is already stored)."""
        assert self._conn is not None
        query = f"""
            SELECT s.address, r.sequence, r.measurements FROM sensors s
            JOIN readings r ON r.id IN (
                SELECT id FROM readings WHERE sensor_id = s.id AND sequence IS NOT NULL
                ORDER BY ts DESC LIMIT {SEQUENCE_WINDOW})
            ORDER BY s.address, r.ts"""
        result: dict[str, list[tuple[int, dict[str, float]]]] = {}
        async with self._conn.execute(query) as cursor:
            async for address, sequence, measurements in cursor:
                result.setdefault(address, []).append((int(sequence), orjson.loads(measurements)))
        return result

    async def last_stored(self) -> dict[str, float]:
        """The time of the last stored reading per sensor."""
        assert self._conn is not None
        async with self._conn.execute("SELECT address, last_seen FROM sensors") as cursor:
            return {address: ts async for address, ts in cursor}

    async def disabled_addresses(self) -> set[str]:
        """Sensors disabled in the database (by the config at start-up or `hub sensors`)."""
        assert self._conn is not None
        async with self._conn.execute("SELECT address FROM sensors WHERE disabled") as cursor:
            return {address async for (address,) in cursor}

    # -- the outbox ----------------------------------------------------------------------

    async def read_after(self, after_id: int, limit: int) -> list[StoredReading]:
        """Committed readings with an id above `after_id`, in id order."""
        assert self._conn is not None
        # Under the write lock: on the store's own connection a read between two statements
        # of a batch would see rows that are not committed yet.
        async with self._lock, self._conn.execute(_READ_AFTER, (after_id, limit)) as cursor:
            rows = await cursor.fetchall()
        return [
            StoredReading(
                id=row[0],
                ts=row[1],
                address=row[2],
                integration=row[3],
                model=row[4],
                name=row[5],
                location=row[6],
                measurements=orjson.loads(row[7]),
                rssi=row[8],
                sequence=row[9],
            )
            for row in rows
        ]

    async def watermark(self, exporter: str) -> int:
        """The last reading id `exporter` delivered (0 when it never did)."""
        assert self._conn is not None
        async with self._conn.execute(
            "SELECT reading_id FROM watermarks WHERE exporter = ?", (exporter,)
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def set_watermark(self, exporter: str, reading_id: int) -> None:
        """Record, durably, that `exporter` delivered everything up to `reading_id`."""
        assert self._conn is not None
        async with self._lock:
            await self._conn.execute(
                "INSERT INTO watermarks (exporter, reading_id, updated) VALUES (?, ?, ?) "
                "ON CONFLICT(exporter) DO UPDATE SET reading_id = excluded.reading_id, "
                "updated = excluded.updated",
                (exporter, reading_id, self._clock.time()),
            )
            await self._conn.commit()

    async def last_reading_id(self) -> int:
        assert self._conn is not None
        async with self._conn.execute("SELECT coalesce(max(id), 0) FROM readings") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def count_readings(self) -> int:
        assert self._conn is not None
        async with self._conn.execute("SELECT count(*) FROM readings") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0


async def open_store(
    settings: StoreConfig,
    clock: Clock,
    devices: Mapping[str, DeviceConfig] | None = None,
    bus: EventBus | None = None,
) -> AsyncIterator[SqliteStore]:
    """Container resource: an open store, flushed and closed at shutdown."""
    store = SqliteStore(settings, clock, devices, bus)
    started = time.monotonic()
    await store.open()
    logger.debug("Opened {} in {:.0f} ms", settings.path, (time.monotonic() - started) * 1000)
    try:
        yield store
    finally:
        await store.close()
