"""The SQLite store against real database files: batching, durability, failure and recovery."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from hub.clock import ManualClock
from hub.config.models import StoreConfig
from hub.errors import HubError
from hub.events import Reading
from hub.router import SEQUENCE_WINDOW
from hub.store.schema import SCHEMA_VERSION
from hub.store.sqlite import SqliteStore

A = "C8:25:2D:8E:AB:4C"
B = "F7:6B:13:E0:51:A8"
T0 = 1_795_155_600.0


def reading(
    sequence: int | None,
    *,
    address: str = A,
    ts: float | None = None,
    measurements: dict[str, float | int] | None = None,
    **kwargs: Any,
) -> Reading:
    return Reading(
        ts=T0 + (sequence or 0) if ts is None else ts,
        address=address,
        integration=kwargs.pop("integration", "ruuvi"),
        measurements={"temperature": 21.5, "humidity": 40.25}
        if measurements is None
        else measurements,
        model=kwargs.pop("model", "RuuviTag"),
        sequence=sequence,
        **kwargs,
    )


@contextmanager
def db(path: Path) -> Iterator[sqlite3.Connection]:
    """A separate connection to the file, as another process (or a user) would open it."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        yield conn


def rows(path: Path, query: str, *args: object) -> list[tuple[Any, ...]]:
    with db(path) as conn:
        return conn.execute(query, args).fetchall()


def stored_sequences(path: Path) -> list[int]:
    return [s for (s,) in rows(path, "SELECT sequence FROM readings ORDER BY id")]


def count(path: Path) -> int:
    return rows(path, "SELECT count(*) FROM readings")[0][0]


async def open_store(path: Path, **settings: Any) -> SqliteStore:
    # Every measurement is stored unless a test asks for a storage interval.
    settings.setdefault("min_interval", 0)
    store = SqliteStore(StoreConfig(path=path, **settings), ManualClock(T0))
    await store.open()
    return store


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "hub.db"


@pytest.fixture
async def store(path: Path) -> AsyncIterator[SqliteStore]:
    store = await open_store(path, batch_size=10)
    yield store
    await store.close()


@contextmanager
def write_locked(path: Path, store: SqliteStore) -> Iterator[None]:
    """Another connection holds the write lock, so every write of the store fails for real."""
    assert store._conn is not None
    with db(path) as locker:
        locker.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            locker.execute("ROLLBACK")


async def short_busy_timeout(store: SqliteStore) -> None:
    assert store._conn is not None
    await store._conn.execute("PRAGMA busy_timeout = 50")


# -- the file ---------------------------------------------------------------------------


async def test_creates_a_wal_database_at_the_current_schema(store: SqliteStore, path: Path) -> None:
    # In the directory it created; a file made by this test's own connection would not be WAL.
    assert rows(path, "PRAGMA journal_mode") == [("wal",)]
    assert rows(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    tables = {name for (name,) in rows(path, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sensors", "readings"} <= tables


async def test_reopening_keeps_the_data_and_the_schema(path: Path) -> None:
    first = await open_store(path)
    await first.add(reading(1))
    await first.close()

    second = await open_store(path)
    try:
        assert await second.count_readings() == 1
        await second.add(reading(2))
        assert await second.flush() == 1
    finally:
        await second.close()
    assert rows(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    # The known sensor was reused, not registered twice.
    assert rows(path, "SELECT count(*) FROM sensors") == [(1,)]
    assert rows(path, "SELECT count(DISTINCT sensor_id) FROM readings") == [(1,)]


async def test_a_database_from_a_newer_hub_is_refused(path: Path) -> None:
    path.parent.mkdir(parents=True)
    with db(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    store = SqliteStore(StoreConfig(path=path), ManualClock())
    with pytest.raises(HubError, match="newer"):
        await store.open()
    # Nothing was migrated or created in it.
    assert rows(path, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]
    assert rows(path, "SELECT name FROM sqlite_master") == []


# -- batching -----------------------------------------------------------------------------


async def test_readings_reach_the_file_only_when_flushed(store: SqliteStore, path: Path) -> None:
    for sequence in range(3):
        await store.add(reading(sequence))
    assert store.buffered == 3
    assert count(path) == 0

    assert await store.flush() == 3
    assert store.buffered == 0
    assert stored_sequences(path) == [0, 1, 2]
    assert await store.flush() == 0  # nothing left to write
    assert store.counters.committed == 3
    assert store.counters.batches == 1
    assert store.counters.last_commit == T0


async def test_a_full_batch_is_committed_without_a_flush(store: SqliteStore, path: Path) -> None:
    for sequence in range(9):
        await store.add(reading(sequence))
    assert count(path) == 0

    await store.add(reading(9))  # the tenth fills the batch (batch_size 10)
    assert count(path) == 10
    assert store.buffered == 0
    assert store.counters.batches == 1

    await store.add(reading(10))
    assert count(path) == 10
    assert store.buffered == 1


async def test_the_bus_handler_never_waits_for_a_commit(store: SqliteStore, path: Path) -> None:
    """Behind a busy connection (the write lock taken: an export's long read, a checkpoint)
    readings from the bus go on being taken; full batches are committed by a task of their
    own once the connection is free. Before, the handler waited for the commit, its `block`
    mailbox filled and held the sources back, so that they stamped readings late."""
    from hub.bus import EventBus

    bus = EventBus(default_queue_size=10)
    bus.subscribe(Reading, store.offer, name="store", policy="block")
    bus.start()
    try:
        async with store.write_lock:
            # Ten mailboxes' worth: with a waiting handler, publish_wait would block here.
            await asyncio.wait_for(_publish_all(bus, [reading(n) for n in range(100)]), timeout=5)
            await bus.idle()
            assert store.counters.received == 100
            assert count(path) == 0
        # The next full batch, once the connection is free, takes everything waiting.
        await _publish_all(bus, [reading(n) for n in range(100, 110)])
        await until_committed(store, 110)
        assert stored_sequences(path) == list(range(110))
    finally:
        await bus.stop()


async def _publish_all(bus: Any, readings: list[Reading]) -> None:
    for one in readings:
        await bus.publish_wait(one)


async def until_committed(store: SqliteStore, n: int) -> None:
    for _ in range(200):
        if store.counters.committed >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{store.counters.committed} committed, not {n}")


async def test_one_transaction_per_batch(store: SqliteStore, path: Path) -> None:
    assert store._conn is not None
    statements: list[str] = []
    await store._conn.set_trace_callback(statements.append)
    # Below the batch size, from three sensors, two of them new.
    for i in range(9):
        await store.add(reading(i, address=(A, B, "D1:D2:D3:D4:D5:D6")[i % 3]))
    assert await store.flush() == 9
    await store._conn.set_trace_callback(None)

    verbs = [s.split()[0].upper() for s in statements]
    assert verbs.count("BEGIN") == 1
    assert verbs.count("COMMIT") == 1
    assert verbs[0] == "BEGIN"
    assert verbs[-1] == "COMMIT"
    assert count(path) == 9


# -- what is stored -----------------------------------------------------------------------


async def test_sensors_are_registered_and_kept_up_to_date(store: SqliteStore, path: Path) -> None:
    await store.add(reading(7, ts=T0 + 1, name="Ruuvi AB4C"))
    await store.add(reading(8, ts=T0 + 2, name="Ruuvi AB4C"))
    await store.add(reading(3, address=B, ts=T0 + 1.5, integration="bthome", model=None))
    await store.flush()

    query = (
        "SELECT address, integration, model, advertised_name, first_seen, last_seen, "
        "last_sequence FROM sensors ORDER BY address"
    )
    assert rows(path, query) == [
        (A, "ruuvi", "RuuviTag", "Ruuvi AB4C", T0 + 1, T0 + 2, 8),
        (B, "bthome", None, None, T0 + 1.5, T0 + 1.5, 3),
    ]

    # A later batch: no name and no sequence this time; what was known is kept.
    await store.add(reading(None, ts=T0 + 10))
    await store.flush()
    assert rows(path, query)[0] == (A, "ruuvi", "RuuviTag", "Ruuvi AB4C", T0 + 1, T0 + 10, 8)
    assert rows(path, "SELECT count(*) FROM sensors") == [(2,)]
    by_sensor = rows(
        path,
        "SELECT s.address, count(*) FROM readings r JOIN sensors s ON s.id = r.sensor_id "
        "GROUP BY s.address ORDER BY s.address",
    )
    assert by_sensor == [(A, 3), (B, 1)]


async def test_measurements_are_stored_exactly(store: SqliteStore, path: Path) -> None:
    measurements: dict[str, float | int] = {
        "temperature": 24.3,
        "humidity": 53.49,
        "pressure": 1000.44,
        "acceleration_x": -0.004,
        "voltage": 2.977,
        "battery": 95,
        "tx_power": -40,
        "movement_counter": 0,
        "tiny": 0.1 + 0.2,
        "huge": 2**53 + 1,
        "dew_point": -12.05,
    }
    await store.add(reading(205, measurements=measurements, rssi=-67, ts=T0 + 0.125))
    await store.flush()

    [(ts, sequence, rssi, text, extra)] = rows(
        path, "SELECT ts, sequence, rssi, measurements, extra FROM readings"
    )
    assert (ts, sequence, rssi) == (T0 + 0.125, 205, -67)
    stored = json.loads(text)
    assert stored == measurements
    # Integers stay integers, floats round-trip bit for bit.
    assert {k: type(v) for k, v in stored.items()} == {k: type(v) for k, v in measurements.items()}
    assert extra is None


async def test_states_and_events_are_kept_in_extra(store: SqliteStore, path: Path) -> None:
    await store.add(reading(1, states={"door_open": True, "leak": False}, events=("button",)))
    await store.add(reading(2, events=("long_press", "button")))
    await store.flush()

    extras = [json.loads(e) for (e,) in rows(path, "SELECT extra FROM readings ORDER BY id")]
    assert extras == [
        {"states": {"door_open": True, "leak": False}, "events": ["button"]},
        {"states": {}, "events": ["long_press", "button"]},
    ]


async def test_recent_sequences_are_the_last_stored_per_sensor(store: SqliteStore) -> None:
    count = SEQUENCE_WINDOW + 24
    for sequence in range(count):
        await store.add(reading(sequence))
    # Sensor B wrapped its counter: the newest sequences are the smallest numbers.
    for i, sequence in enumerate((65533, 65534, 0, 1)):
        await store.add(reading(sequence, address=B, ts=T0 + i))
    await store.add(reading(None, ts=T0 + 100))  # no sequence: not part of the window
    await store.flush()

    recent = await store.recent_sequences()
    assert {address: [s for s, _ in stored] for address, stored in recent.items()} == {
        A: list(range(count - SEQUENCE_WINDOW, count)),
        B: [65533, 65534, 0, 1],
    }
    # With the values, so the router can tell a repeat from a new measurement after a wrap.
    assert recent[A][-1][1] == dict(reading(count - 1).measurements)


async def test_recent_sequences_of_an_empty_database(store: SqliteStore) -> None:
    assert await store.recent_sequences() == {}


# -- failure and recovery -----------------------------------------------------------------


async def test_a_locked_database_holds_readings_until_it_can_be_written(
    store: SqliteStore, path: Path
) -> None:
    await short_busy_timeout(store)
    await store.add(reading(0))
    await store.flush()
    assert stored_sequences(path) == [0]

    with write_locked(path, store):
        for sequence in range(1, 6):
            await store.add(reading(sequence))
        assert await store.flush() == 0
        assert store.buffered == 5
        assert store.counters.failures == 1
        assert "locked" in store.counters.last_error

        # More arrive while it is still locked (the tenth buffered reading fills a batch,
        # but a full batch right after a failure waits for the back-off): the order holds.
        for sequence in range(6, 12):
            await store.add(reading(sequence, address=B if sequence % 2 else A))
        assert await store.flush() == 0
        assert store.counters.failures == 2
        assert store.buffered == 11
        assert stored_sequences(path) == [0]

    assert await store.flush() == 11
    assert store.buffered == 0
    assert stored_sequences(path) == list(range(12))  # each once, in the order received
    assert store.counters.committed == 12
    assert store.counters.dropped == 0
    # The sensor first seen while locked was registered once, with its readings.
    assert rows(path, "SELECT address FROM sensors ORDER BY id") == [(A,), (B,)]


async def test_while_writes_fail_a_flush_tries_one_row_before_the_whole_buffer(
    store: SqliteStore, path: Path
) -> None:
    """After a failed commit each retry first writes one small row: while the disk still
    refuses, the buffer (a read-only hour of readings) is not encoded and written in vain
    every flush interval (a soak run's read-only disk burned the hub's CPU that way)."""
    await short_busy_timeout(store)
    statements: list[str] = []
    assert store._conn is not None
    await store._conn.set_trace_callback(statements.append)
    with write_locked(path, store):
        for sequence in range(30):
            await store.add(reading(sequence))  # fills batches: the first commit fails
        statements.clear()
        for _ in range(3):
            assert await store.flush() == 0
        assert not [s for s in statements if "INSERT INTO readings" in s]
        assert any("write_probe" in s for s in statements)
        assert store.buffered == 30
    assert await store.flush() == 30
    assert stored_sequences(path) == list(range(30))


async def test_a_flush_after_the_lock_is_released_does_not_wait_for_the_backoff(
    store: SqliteStore, path: Path
) -> None:
    await short_busy_timeout(store)
    with write_locked(path, store):
        await store.add(reading(1))
        assert await store.flush() == 0
    # The scheduled flush job keeps its own interval; an explicit flush writes at once.
    assert await store.flush() == 1
    assert stored_sequences(path) == [1]


@pytest.mark.parametrize(
    "batch_size",
    [
        pytest.param(10, id="dropped-on-add"),
        pytest.param(100_000, id="dropped-on-failed-flush"),
    ],
)
async def test_a_full_buffer_drops_the_oldest_and_counts_them(path: Path, batch_size: int) -> None:
    store = await open_store(path, batch_size=batch_size, max_buffer=1_000)
    try:
        await short_busy_timeout(store)
        with write_locked(path, store):
            for sequence in range(1_200):
                await store.add(reading(sequence, ts=T0 + sequence))
            await store.flush()
            assert store.buffered == 1_000
            assert store.counters.dropped == 200
            assert store.counters.received == 1_200
        assert await store.flush() == 1_000
    finally:
        await store.close()
    assert stored_sequences(path) == list(range(200, 1_200))  # the newest 1000, in order


async def test_close_writes_what_is_buffered(path: Path) -> None:
    store = await open_store(path, batch_size=100)
    for sequence in range(5):
        await store.add(reading(sequence))
    assert count(path) == 0
    await store.close()
    assert stored_sequences(path) == [0, 1, 2, 3, 4]
    await store.close()  # closing twice is harmless


async def test_one_unencodable_reading_does_not_cost_the_batch(
    store: SqliteStore, path: Path
) -> None:
    from types import MappingProxyType

    await store.add(reading(1, states=MappingProxyType({"door_open": True})))
    await store.add(reading(2, measurements={"temperature": {1, 2}}))  # type: ignore[dict-item]
    await store.add(reading(3))
    assert await store.flush() == 2
    assert store.counters.rejected == 1
    assert store.counters.committed == 2
    assert stored_sequences(path) == [1, 3]
    assert rows(path, "SELECT extra FROM readings WHERE sequence = 1") == [
        ('{"states":{"door_open":true},"events":[]}',)
    ]


async def test_each_commit_is_announced_on_the_bus(path: Path) -> None:
    from hub.bus import EventBus
    from hub.events import ReadingsStored

    bus = EventBus()
    seen: list[ReadingsStored] = []
    bus.subscribe(ReadingsStored, seen.append)
    bus.start()
    store = SqliteStore(StoreConfig(path=path, min_interval=0), ManualClock(T0), bus=bus)
    await store.open()
    for sequence in range(1, 6):
        await store.add(reading(sequence))
    await store.flush()
    await bus.idle()
    await store.close()
    await bus.stop()
    assert [(e.count, e.last_id) for e in seen] == [(5, 5)]


async def test_a_large_held_buffer_is_committed_in_pieces(path: Path) -> None:
    """What a long disk outage left in memory is written in transactions of 10,000, the
    loop given back in between (a soak run's read-only hour left 100,000 readings, whose one
    commit held the loop long enough to stamp readings late)."""
    store = await open_store(path, batch_size=100_000, max_buffer=100_000)
    try:
        await short_busy_timeout(store)
        with write_locked(path, store):
            for sequence in range(25_000):
                await store.add(reading(sequence, ts=T0 + sequence))
            assert await store.flush() == 0  # refused: held
        statements: list[str] = []
        assert store._conn is not None
        await store._conn.set_trace_callback(statements.append)
        assert await store.flush() == 25_000
    finally:
        await store.close()
    assert sum(1 for s in statements if s.strip().upper() == "COMMIT") >= 3
    assert stored_sequences(path) == list(range(25_000))


async def test_a_full_buffer_tells_of_its_drops_now_and_then(path: Path) -> None:
    """Every dropped reading is counted; the log says so once a minute, not once a reading."""
    from loguru import logger

    errors: list[str] = []
    sink = logger.add(lambda m: errors.append(m.record["message"]), level="ERROR")
    store = await open_store(path, batch_size=100_000, max_buffer=1_000)
    try:
        await short_busy_timeout(store)
        with write_locked(path, store):
            for sequence in range(1_500):
                await store.add(reading(sequence, ts=T0 + sequence))
                if sequence % 100 == 99:
                    await store.flush()
            assert store.counters.dropped >= 500
    finally:
        logger.remove(sink)
        await store.close()
    assert len([m for m in errors if m.startswith("Store buffer full")]) == 1
