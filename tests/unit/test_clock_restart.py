"""A restart never writes an old value again as a new reading, whatever the clock says.

The real pipeline minus the radio: guard -> router -> bus -> SQLite store, restarted on the
same database file with the clock behind the stored data (a board before NTP).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from hub.bus import EventBus
from hub.clock import ManualClock
from hub.config.models import StoreConfig
from hub.events import Advertisement, Reading
from hub.integrations import DecodeContext, Decoded, IntegrationRegistry
from hub.records import parse_line
from hub.router import Router
from hub.store import SqliteStore
from hub.timekeeping.config import ClockConfig
from hub.timekeeping.guard import ClockGuard
from hub.timekeeping.health import ClockCheck
from integrations.ruuvi import INTEGRATION as RUUVI

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo" / "ruuvitags.jsonl"
SENSOR = "F7:6B:13:E0:51:A8"
T0 = 1_795_000_000.0
BEHIND = 2 * 3600.0
REGISTRY = IntegrationRegistry.discover()


def measurements() -> list[tuple[int, Advertisement]]:
    """One advertisement per distinct measurement of one demo sensor, in order."""
    assert RUUVI.decode is not None
    found: dict[int, Advertisement] = {}
    for line in DEMO.read_text().splitlines():
        adv = parse_line(line)
        if adv.address != SENSOR:
            continue
        decoded = RUUVI.decode(adv, DecodeContext())
        if isinstance(decoded, Decoded) and decoded.sequence is not None:
            found.setdefault(decoded.sequence, adv)
    return list(found.items())


MEASUREMENTS = measurements()


@dataclass
class Pipeline:
    clock: ManualClock
    guard: ClockGuard
    store: SqliteStore
    router: Router

    async def hear(self, index: int, every: float = 1.0) -> float:
        """The sensor sends measurement `index` now; returns the true time (T0 + mono)."""
        self.clock.advance(every)
        adv = replace(MEASUREMENTS[index][1], ts=self.clock.time(), source="radio")
        await self.guard.submit(adv)
        return self.clock.monotonic()

    async def wait(self, seconds: float) -> None:
        for _ in range(int(seconds)):
            self.clock.advance(1.0)
            await self.guard.tick()
        for _ in range(50):
            await asyncio.sleep(0)


@asynccontextmanager
async def pipeline(db: Path, clock: ManualClock, **settings: Any) -> AsyncIterator[Pipeline]:
    """Started like `Hub.start` (router seeded from the store), stopped like `Hub.stop`."""
    bus = EventBus()
    router = Router(REGISTRY, bus)
    store = SqliteStore(StoreConfig(path=db, min_interval=settings.pop("min_interval", 0)), clock)
    await store.open()
    router.seed_sequences(await store.recent_sequences())
    bus.subscribe(Reading, store.add, name="store", policy="block")
    bus.start()
    guard = ClockGuard(ClockConfig(**settings), clock)
    guard.start(router.submit)
    try:
        yield Pipeline(clock, guard, store, router)
    finally:
        await guard.stop()
        await bus.stop()
        store.release_held()
        await store.flush()
        await store.close()


def stored(db: Path) -> list[tuple[int, float]]:
    """(sequence, ts) of every stored reading, in insertion order."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT sequence, ts FROM readings ORDER BY id").fetchall()
    return [(int(s), float(t)) for s, t in rows]


def sequence(index: int) -> int:
    return MEASUREMENTS[index][0]


async def first_run(db: Path, count: int = 10) -> list[tuple[int, float]]:
    async with pipeline(db, ManualClock(T0)) as p:
        for index in range(count):
            await p.hear(index)
    rows = stored(db)
    assert rows == [(sequence(i), T0 + i + 1) for i in range(count)]
    return rows


async def test_a_restart_with_the_clock_behind_the_data_writes_nothing_old_again(
    tmp_path: Path,
) -> None:
    db = tmp_path / "hub.db"
    before = await first_run(db)
    # Restarted two hours behind the stored data; the system cannot tell it is wrong.
    async with pipeline(db, ManualClock(T0 + 100 - BEHIND, synchronised=None)) as p:
        check = ClockCheck(p.guard, p.store)  # as the health monitor makes it, at start
        for index in (7, 8, 9):  # the sensor repeats its last measurements
            await p.hear(index)
        for index in range(10, 22):  # and measures anew, stamped two hours in the past
            await p.hear(index)
        await p.wait(1)
        # Not stored, but counted and reported: never silent.
        assert p.store.throttle.stale == 12
        status = check.evaluate(0.0)
        assert status.state == "degraded"
        assert "12 readings not stored in the last 1h 0m 0s: older than their sensor's" in (
            status.reason
        )
        assert status.details["refused_older_than_stored"] == 12
    assert stored(db) == before
    assert sum(c.repeats for c in p.router.counters.by_integration.values()) == 3


async def test_a_restart_never_stores_a_repeated_measurement_as_new(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    before = await first_run(db)
    async with pipeline(db, ManualClock(T0 + 100)) as p:
        await p.hear(9)  # repeated after the restart: already stored
        await p.hear(10)
    assert stored(db) == [*before, (sequence(10), T0 + 102)]


async def test_with_hold_a_restart_before_ntp_stores_new_measurements_at_their_true_times(
    tmp_path: Path,
) -> None:
    db = tmp_path / "hub.db"
    before = await first_run(db)
    # Started 100 s after the first run, with a clock two hours behind and unsynchronised.
    async with pipeline(db, ManualClock(T0 + 100 - BEHIND, synchronised=False)) as p:
        for index in (7, 8, 9):
            await p.hear(index)
        monos = [await p.hear(index) for index in range(10, 22)]
        await p.wait(3)
        assert stored(db) == before, "nothing is stored while the clock cannot be trusted"
        # NTP sets the clock right.
        p.clock.step(BEHIND)
        p.clock.set_synchronised(True)
        await p.wait(6)
        await p.store.flush()
        new = stored(db)[len(before) :]
        truths = [T0 + 100 + mono for mono in monos]
        assert [s for s, _ in new] == [sequence(i) for i in range(10, 22)]
        assert [t for _, t in new] == pytest.approx(truths, abs=1e-6)
        assert p.store.throttle.stale == 0
        assert p.guard.counters.released_restamped == 15
    assert stored(db)[: len(before)] == before


async def test_with_a_storage_interval_readings_behind_the_data_are_counted_as_refused(
    tmp_path: Path,
) -> None:
    db = tmp_path / "hub.db"
    async with pipeline(db, ManualClock(T0), min_interval=10) as p:
        for index in range(30):
            await p.hear(index)
    before = stored(db)
    assert len(before) == 4  # one per 10 s: 1-9, 10-19, 20-29, 30
    async with pipeline(
        db, ManualClock(T0 + 100 - BEHIND, synchronised=None), min_interval=10
    ) as p:
        for index in range(30, 45):
            await p.hear(index)
        await p.wait(1)
        assert (p.store.throttle.stale, p.store.throttle.throttled) == (15, 0)
    assert stored(db) == before
