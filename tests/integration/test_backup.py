"""Online backups of a real database while the store keeps committing, and the backup job."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from hub.clock import ManualClock
from hub.commands import db as db_command
from hub.config.models import StoreConfig
from hub.errors import HubError
from hub.events import Reading
from hub.store.backup import BACKUP_NAME, BackupSource, ScheduledBackups, backup_to
from hub.store.schema import SCHEMA_VERSION
from hub.store.sqlite import SqliteStore

T0 = 1_795_155_600.0
SENSORS = ("C8:25:2D:8E:AB:4C", "F7:6B:13:E0:51:A8", "CE:3A:88:14:6F:02")
BATCH = 250
PREFILL = 40_000  # enough pages that a backup takes a while


def reading(n: int) -> Reading:
    """The n-th reading (n from 1): its content follows from n, so a copy can be checked."""
    return Reading(
        ts=T0 + n * 0.5,
        address=SENSORS[n % 3],
        integration="ruuvi",
        measurements={
            "temperature": round(-10 + (n % 4000) * 0.01, 2),
            "humidity": 0.1 + 0.2 * (n % 9),
            "pressure": 990 + (n % 300) * 0.1,
            "movement_counter": n,
        },
        model="RuuviTag",
        rssi=-40 - n % 50,
        sequence=n % 65536,
    )


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        yield conn


def readings_of(path: Path) -> list[tuple[Any, ...]]:
    with connect(path) as conn:
        return conn.execute("SELECT * FROM readings ORDER BY id").fetchall()


def integrity(path: Path) -> list[tuple[Any, ...]]:
    with connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchall()


def journal_mode(path: Path) -> str:
    with connect(path) as conn:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])


def check_consistent_copy(copy: Path, source_rows: list[tuple[Any, ...]]) -> int:
    """The copy is whole and a prefix of what was committed; returns its last reading id."""
    assert integrity(copy) == [("ok",)]
    rows = readings_of(copy)
    last = rows[-1][0] if rows else 0
    # Ids are given in commit order and never reused: a prefix is 1..last, each row exactly
    # as committed (nothing torn, nothing from a later transaction).
    assert [r[0] for r in rows] == list(range(1, last + 1))
    assert rows == source_rows[:last]
    with connect(copy) as conn:
        # A sensor row is updated in the transaction of its readings: the two agree.
        sensors = conn.execute(
            "SELECT s.id, s.last_seen, s.last_sequence, "
            "(SELECT max(ts) FROM readings WHERE sensor_id = s.id), "
            "(SELECT sequence FROM readings WHERE sensor_id = s.id ORDER BY id DESC LIMIT 1) "
            "FROM sensors s"
        ).fetchall()
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert len(sensors) == len(SENSORS)
    for _, last_seen, last_sequence, max_ts, latest_sequence in sensors:
        assert (last_seen, last_sequence) == (max_ts, latest_sequence)
    return int(last)


async def open_store(path: Path, **settings: Any) -> SqliteStore:
    settings.setdefault("min_interval", 0)
    store = SqliteStore(StoreConfig(path=path, **settings), ManualClock(T0))
    await store.open()
    return store


async def prefill(store: SqliteStore, count: int) -> None:
    for n in range(1, count + 1):
        await store.add(reading(n))
    await store.flush()


def hub_db(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="hub")
    db_command.register(parser.add_subparsers())
    args = parser.parse_args(["db", *argv])
    status = args.func(args)
    out, err = capsys.readouterr()
    return status, out, err


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def move(path: Path, to: Path) -> None:
    path.rename(to)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith((".tmp", "-wal", "-shm")))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "hub.db"


# -- a backup while the store writes ------------------------------------------------------------


async def test_backups_while_batches_are_committed_are_consistent_prefixes(
    path: Path, tmp_path: Path
) -> None:
    store = await open_store(path, batch_size=BATCH)
    await prefill(store, PREFILL)
    boundaries = [PREFILL]  # the last reading id after each commit
    stop = asyncio.Event()

    async def writer() -> None:
        n = PREFILL
        while not stop.is_set():
            for _ in range(BATCH):
                n += 1
                await store.add(reading(n))  # the last one fills the batch: a commit
            assert store.buffered == 0, store.counters.last_error
            boundaries.append(n)
            await asyncio.sleep(0.005)  # a busy hub, but one that leaves the CPU to others

    copies: list[Path] = []
    commits_during: list[int] = []
    task = asyncio.create_task(writer())
    try:
        await asyncio.sleep(0.05)
        assert store._conn is not None
        sources: list[BackupSource] = [store, store._conn, path, str(path)]
        for i in range(8):
            dest = tmp_path / "backups" / f"copy-{i}.db"
            before = len(boundaries)
            result = await backup_to(sources[i % len(sources)], dest)
            commits_during.append(len(boundaries) - before)
            assert result.integrity == "ok"
            assert result.path == dest
            assert result.size == dest.stat().st_size
            copies.append(dest)
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        await task
        await store.close()
    assert store.counters.failures == 0  # the backups never got in the writer's way
    # The writer really was committing while the copies were made.
    assert sum(commits_during) > 0, commits_during

    committed = readings_of(path)
    assert len(committed) == boundaries[-1]
    lasts = []
    for copy in copies:
        last = check_consistent_copy(copy, committed)
        assert last in boundaries, f"{copy.name} ends inside a batch (at {last})"
        # A backup is one self-contained file.
        assert journal_mode(copy) == "delete"
        lasts.append(last)
    assert lasts == sorted(lasts)
    assert lasts[-1] > PREFILL
    assert leftovers(tmp_path / "backups") == []


async def test_an_uncommitted_transaction_neither_blocks_nor_enters_the_backup(
    path: Path, tmp_path: Path
) -> None:
    store = await open_store(path, batch_size=BATCH)
    await prefill(store, 1_000)
    await store.close()
    with connect(path) as writer:
        writer.execute("BEGIN IMMEDIATE")  # the write lock, as the hub holds it mid-commit
        writer.execute(
            "INSERT INTO readings (sensor_id, ts, measurements) VALUES (1, ?, '{}')", (T0,)
        )
        started = time.monotonic()
        result = await backup_to(path, tmp_path / "copy.db")
        assert time.monotonic() - started < 5
        writer.execute("COMMIT")
    assert result.readings == 1_000
    assert len(readings_of(tmp_path / "copy.db")) == 1_000
    assert len(readings_of(path)) == 1_001


async def test_the_copy_is_a_working_database(path: Path, tmp_path: Path) -> None:
    store = await open_store(path, batch_size=BATCH)
    await prefill(store, 1_000)
    copy = tmp_path / "restore" / "hub.db"
    await backup_to(store, copy)
    await store.close()

    restored = await open_store(copy)  # as a user restoring it would
    try:
        assert await restored.count_readings() == 1_000
        await restored.add(reading(1_001))
        assert await restored.flush() == 1
    finally:
        await restored.close()
    assert readings_of(copy)[:1_000] == readings_of(path)


# -- failures ------------------------------------------------------------------------------


async def test_a_failed_backup_leaves_the_destination_as_it_was(path: Path, tmp_path: Path) -> None:
    store = await open_store(path)
    await prefill(store, 10)
    await store.close()
    dest = tmp_path / "backups" / "hub.db"
    await backup_to(path, dest)
    good = dest.read_bytes()

    not_a_database = tmp_path / "garbage.db"
    not_a_database.write_bytes(b"this is not a database" * 200)
    with pytest.raises(HubError, match=r"cannot back up .*garbage.db"):
        await backup_to(not_a_database, dest)
    assert dest.read_bytes() == good
    assert leftovers(dest.parent) == []


async def test_a_missing_database_is_an_error_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    with pytest.raises(HubError, match="no database at"):
        await backup_to(missing, tmp_path / "copy.db")
    assert names(tmp_path) == []


async def test_the_database_itself_is_never_the_destination(path: Path, tmp_path: Path) -> None:
    store = await open_store(path)
    await prefill(store, 10)
    link = tmp_path / "link.db"
    link.symlink_to(path)
    wal = path.with_name("hub.db-wal")
    for dest in (path, link, path.parent / ".." / "data" / "hub.db", wal):
        with pytest.raises(HubError, match="would overwrite the database itself"):
            await backup_to(store, dest)
    await store.close()
    assert len(readings_of(path)) == 10


# -- the scheduled job ---------------------------------------------------------------------------


async def test_scheduled_backups_keep_the_newest_n(path: Path, tmp_path: Path) -> None:
    store = await open_store(path)
    await prefill(store, 100)
    directory = tmp_path / "backups"
    directory.mkdir()
    unrelated = ["notes.txt", "hub-latest.db", "hub-20200101-000000.db.bak", "hub.db"]
    for name in unrelated:
        (directory / name).write_text("keep me")
    clock = ManualClock(T0)  # 2026-11-20 06:20:00 UTC
    job = ScheduledBackups(store, directory, keep=3, clock=clock)

    made = []
    for day in range(5):
        await store.add(reading(101 + day))
        await store.flush()
        result = await job.run()
        assert result.integrity == "ok"
        assert result.readings == 101 + day
        made.append(result.path.name)
        clock.advance(86_400 + 61)
    await store.close()

    assert made[:2] == ["hub-20261120-062000.db", "hub-20261121-062101.db"]
    assert all(BACKUP_NAME.match(name) for name in made)
    assert [p.name for p in job.backups()] == made[-3:]
    assert sorted(p.name for p in directory.iterdir()) == sorted(made[-3:] + unrelated)
    for name in unrelated:
        assert (directory / name).read_text() == "keep me"
    assert job.last is not None
    assert job.last.path.name == made[-1]


async def test_a_failed_scheduled_backup_deletes_no_old_one(path: Path, tmp_path: Path) -> None:
    store = await open_store(path)
    await prefill(store, 10)
    await store.close()
    clock = ManualClock(T0)
    job = ScheduledBackups(path, tmp_path / "backups", keep=1, clock=clock)
    await job.run()
    kept = job.backups()
    assert len(kept) == 1

    move(path, path.with_suffix(".gone"))
    clock.advance(3_600)
    with pytest.raises(HubError, match="no database at"):
        await job.run()
    assert job.failures == 1
    assert "no database" in job.last_error
    assert job.backups() == kept  # the only good backup stays


async def test_stale_temporary_files_of_an_interrupted_backup_are_removed(
    path: Path, tmp_path: Path
) -> None:
    store = await open_store(path)
    await prefill(store, 10)
    await store.close()
    directory = tmp_path / "backups"
    directory.mkdir()
    stale = directory / ".hub-20200101-000000.db.123-456.tmp"
    recent = directory / ".hub-20990101-000000.db.123-789.tmp"  # maybe still being written
    for leftover in (stale, recent):
        leftover.write_bytes(b"half a backup")
    two_days_ago = time.time() - 2 * 86_400
    os.utime(stale, (two_days_ago, two_days_ago))

    await ScheduledBackups(path, directory, keep=2).run()
    assert not stale.exists()
    assert recent.exists()


# -- hub db backup / info -------------------------------------------------------------------------


def test_hub_db_backup_while_a_writer_holds_the_database(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def make() -> None:
        store = await open_store(path, batch_size=BATCH)
        await prefill(store, 500)
        await store.close()

    asyncio.run(make())
    dest = tmp_path / "out" / "hub-copy.db"
    with connect(path) as writer:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("DELETE FROM readings WHERE id > 100")  # uncommitted: not in the copy
        status, out, err = hub_db(capsys, "backup", str(dest), "--database", str(path))
        writer.execute("ROLLBACK")
    assert status == 0, err
    assert re.search(rf"^backup: +{re.escape(str(dest))}$", out, re.M)
    assert re.search(rf"^size: +.*\({dest.stat().st_size} bytes\)$", out, re.M)
    assert re.search(r"^integrity: +ok$", out, re.M)
    assert re.search(r"^readings: +500$", out, re.M)
    assert readings_of(dest) == readings_of(path)

    # A directory as FILE: a timestamped name inside it.
    status, out, err = hub_db(capsys, "backup", str(dest.parent), "--database", str(path))
    assert status == 0, err
    named = [p for p in dest.parent.iterdir() if BACKUP_NAME.match(p.name)]
    assert len(named) == 1
    assert f"backup:         {named[0]}" in out

    # Through the config, as a user runs it next to a running hub.
    config = tmp_path / "hub.yaml"
    config.write_text("store:\n  path: data/hub.db\n")
    status, out, err = hub_db(capsys, "backup", str(tmp_path / "c.db"), "--config", str(config))
    assert status == 0, err
    assert readings_of(tmp_path / "c.db") == readings_of(path)


def test_hub_db_backup_failures_are_one_line_and_status_1(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = hub_db(capsys, "backup", str(tmp_path / "x.db"), "--database", str(path))
    assert (status, out) == (1, "")
    assert err == f"hub: no database at {path}\n"

    config = tmp_path / "hub.yaml"
    config.write_text("store:\n  batch_size: lots\n")
    status, out, err = hub_db(capsys, "backup", str(tmp_path / "x.db"), "--config", str(config))
    assert status == 2
    assert f"{config}: store.batch_size:" in err


def test_hub_db_info(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def make() -> None:
        store = await open_store(path, batch_size=BATCH)
        await prefill(store, 300)
        await store.set_watermark("influxdb", 120)
        await store.close()

    asyncio.run(make())
    status, out, err = hub_db(capsys, "info", "--database", str(path))
    assert status == 0, err
    assert re.search(rf"^schema version: +{SCHEMA_VERSION}, this hub {SCHEMA_VERSION}$", out, re.M)
    assert re.search(r"^sensors: +3 \(0 disabled\)$", out, re.M)
    assert re.search(r"^readings: +300$", out, re.M)
    assert re.search(r"^oldest reading: +2026-11-20 06:20:00 UTC$", out, re.M)
    assert re.search(r"^newest reading: +2026-11-20 06:22:30 UTC$", out, re.M)
    assert re.search(r"^exporters: +influxdb at 120$", out, re.M)

    status, out, err = hub_db(capsys, "info", "--json", "--database", str(path))
    assert status == 0, err
    facts = json.loads(out)
    assert facts["readings"] == 300
    assert facts["oldest_reading"] == T0 + 0.5
    assert facts["newest_reading"] == T0 + 150
    assert facts["journal_mode"] == "wal"
