"""Forward migrations on real files: a database made by the first schema, with data, upgraded."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from hub.clock import ManualClock
from hub.commands import db as db_command
from hub.config.models import StoreConfig
from hub.errors import HubError
from hub.events import Reading
from hub.store import schema
from hub.store.schema import MIGRATIONS, SCHEMA_VERSION, migrate
from hub.store.sqlite import SqliteStore

T0 = 1_795_155_600.0

# The first schema exactly as it was released. A released migration must never change: a
# database made by it would otherwise not be what the later steps expect.
V1_SCHEMA = """
    CREATE TABLE sensors (
        id              INTEGER PRIMARY KEY,
        address         TEXT NOT NULL UNIQUE,
        integration     TEXT NOT NULL,
        model           TEXT,
        advertised_name TEXT,
        name            TEXT UNIQUE,
        location        TEXT,
        notes           TEXT,
        disabled        INTEGER NOT NULL DEFAULT 0,
        first_seen      REAL NOT NULL,
        last_seen       REAL NOT NULL,
        last_sequence   INTEGER
    );
    CREATE TABLE readings (
        id           INTEGER PRIMARY KEY,
        sensor_id    INTEGER NOT NULL REFERENCES sensors(id),
        ts           REAL NOT NULL,
        sequence     INTEGER,
        rssi         INTEGER,
        measurements TEXT NOT NULL,
        extra        TEXT
    );
    CREATE INDEX readings_sensor_ts ON readings(sensor_id, ts);
"""
V1_TABLES = {"sensors", "readings"}

SENSORS = [
    # id, address, integration, model, advertised_name, name, location, notes, disabled,
    # first_seen, last_seen, last_sequence
    (1, "C8:25:2D:8E:AB:4C", "ruuvi", "RuuviTag", "Ruuvi AB4C", "Küche", "EG", "über dem Herd",
     0, T0, T0 + 1_000.5, 999),
    (2, "F7:6B:13:E0:51:A8", "ruuvi", None, None, None, None, None, 0, T0 + 3, T0 + 3, None),
    (3, "A4:C1:38:12:34:56", "bthome", "LYWSD03MMC", "ATC_123456", "Bad", None,
     "salt test 2025-03: -0.8 %", 1, T0 + 0.125, T0 + 900.25, 65535),
]  # fmt: skip


def v1_readings() -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for i in range(1, 1_001):
        sensor = (1, 2, 3)[i % 3]
        measurements = {
            "temperature": round(-20 + i * 0.0137, 4),
            "humidity": 0.1 + 0.2 * (i % 7),  # floats that only survive bit for bit
            "pressure": 1000.44,
            "battery": i % 101,
            "movement_counter": i,
        }
        extra = json.dumps({"states": {"door_open": i % 2 == 0}, "events": []}) if i % 10 else None
        rows.append(
            (
                i,
                sensor,
                T0 + i * 0.9,
                None if sensor == 2 else (i * 7) % 65536,
                None if i % 11 == 0 else -40 - i % 60,
                json.dumps(measurements, separators=(",", ":")),
                extra,
            )
        )
    return rows


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        yield conn


def build_v1(path: Path) -> None:
    """A database exactly as the first version of the hub left it: WAL, schema 1, data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(f"BEGIN;\n{V1_SCHEMA}\nPRAGMA user_version = 1;\nCOMMIT;")
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO sensors VALUES ({', '.join('?' * 12)})", SENSORS)
        conn.executemany("INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?, ?)", v1_readings())
        conn.execute("COMMIT")


def user_version(path: Path) -> int:
    with connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def file_bytes(path: Path) -> bytes:
    return path.read_bytes()


def tables(path: Path) -> set[str]:
    with connect(path) as conn:
        return {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def schema_of(path: Path) -> set[tuple[str, str, str]]:
    """Every table and index with its SQL (whitespace normalised)."""
    with connect(path) as conn:
        return {
            (kind, name, " ".join((sql or "").split()))
            for kind, name, sql in conn.execute(
                "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
            )
        }


def v1_data(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the first schema's tables, with every column, in id order."""
    with connect(path) as conn:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
            for table in sorted(V1_TABLES)
        }


async def open_store(path: Path) -> SqliteStore:
    store = SqliteStore(StoreConfig(path=path, min_interval=0), ManualClock(T0 + 5_000))
    await store.open()
    return store


def hub_db(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`hub db ...` through its own parser (the CLI registers the same module)."""
    parser = argparse.ArgumentParser(prog="hub")
    db_command.register(parser.add_subparsers())
    args = parser.parse_args(["db", *argv])
    status = args.func(args)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def v1(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "hub.db"
    build_v1(path)
    assert user_version(path) == 1
    assert tables(path) == V1_TABLES
    return path


@pytest.fixture
def fresh_schema(tmp_path: Path) -> set[tuple[str, str, str]]:
    """The schema of a database this hub creates from nothing."""
    path = tmp_path / "fresh" / "hub.db"
    asyncio.run(_create(path))
    return schema_of(path)


async def _create(path: Path) -> None:
    store = await open_store(path)
    await store.close()


# -- the first schema is frozen -------------------------------------------------------------


def test_the_released_first_migration_is_unchanged() -> None:
    assert " ".join(MIGRATIONS[0].split()) == " ".join(V1_SCHEMA.split())
    assert len(MIGRATIONS) == SCHEMA_VERSION
    assert SCHEMA_VERSION >= 2


# -- upgrading a database made by the first schema ------------------------------------------


def test_opening_a_v1_database_migrates_it_and_keeps_every_row(
    v1: Path, fresh_schema: set[tuple[str, str, str]]
) -> None:
    before = v1_data(v1)
    assert len(before["readings"]) == 1_000
    assert len(before["sensors"]) == 3

    asyncio.run(_create(v1))  # the hub's start-up: open (migrates), close

    assert user_version(v1) == SCHEMA_VERSION
    assert v1_data(v1) == before  # every row, every column, exactly
    assert {"rollups_hourly", "watermarks", "meta"} <= tables(v1)
    # The upgraded schema is exactly what a new database gets: no step was skipped.
    assert schema_of(v1) == fresh_schema
    with connect(v1) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_a_migrated_database_is_used_as_if_it_had_always_been_current(v1: Path) -> None:
    store = await open_store(v1)
    try:
        # The old readings are in the outbox, in order, decoded exactly.
        old = await store.read_after(0, 10_000)
        assert [r.id for r in old] == list(range(1, 1_001))
        assert old[0].address == "F7:6B:13:E0:51:A8"  # reading 1 belongs to sensor 2
        assert (old[1].name, old[1].location) == ("Bad", None)
        assert (old[2].name, old[2].location) == ("Küche", "EG")
        assert [r.measurements for r in old] == [json.loads(r[5]) for r in v1_readings()]
        # The new tables work.
        await store.set_watermark("influxdb", 500)
        assert await store.watermark("influxdb") == 500
        # Known sensors are reused; new readings follow the old ones.
        await store.add(
            Reading(
                ts=T0 + 2_000,
                address="C8:25:2D:8E:AB:4C",
                integration="ruuvi",
                measurements={"temperature": 21.5},
                sequence=1_000,
            )
        )
        assert await store.flush() == 1
        assert await store.last_reading_id() == 1_001
        assert (await store.recent_sequences())["C8:25:2D:8E:AB:4C"][-1][0] == 1_000
    finally:
        await store.close()
    with connect(v1) as conn:
        assert conn.execute("SELECT count(*) FROM sensors").fetchone() == (3,)
        assert conn.execute("SELECT last_seen FROM sensors WHERE id = 1").fetchone() == (
            T0 + 2_000,
        )


def test_hub_db_migrate_upgrades_and_says_so(
    v1: Path, capsys: pytest.CaptureFixture[str], fresh_schema: set[tuple[str, str, str]]
) -> None:
    before = v1_data(v1)
    status, out, err = hub_db(capsys, "info", "--database", str(v1))
    assert status == 0, err
    assert re.search(
        rf"schema version: +1, this hub {SCHEMA_VERSION} \(run `hub db migrate`\)", out
    )
    assert re.search(r"readings: +1000\n", out)
    assert re.search(r"sensors: +3 \(1 disabled\)", out)

    status, out, err = hub_db(capsys, "migrate", "--database", str(v1))
    assert status == 0, err
    assert out == f"{v1}: schema version 1 -> {SCHEMA_VERSION}\n"
    assert user_version(v1) == SCHEMA_VERSION
    assert v1_data(v1) == before
    assert schema_of(v1) == fresh_schema

    status, out, err = hub_db(capsys, "migrate", "--database", str(v1))
    assert status == 0, err
    assert out == f"{v1}: schema version {SCHEMA_VERSION}, up to date\n"


def test_hub_db_migrate_takes_the_database_from_the_config(
    v1: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = v1.parent.parent / "hub.yaml"
    config.write_text("store:\n  path: data/hub.db\n")  # relative to the config's directory
    status, out, err = hub_db(capsys, "migrate", "--config", str(config))
    assert status == 0, err
    assert out.endswith(f"schema version 1 -> {SCHEMA_VERSION}\n")
    assert user_version(v1) == SCHEMA_VERSION


def test_hub_db_migrate_does_not_create_a_missing_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.db"
    status, _, err = hub_db(capsys, "migrate", "--database", str(missing))
    assert status == 1
    assert f"no database at {missing}" in err
    assert not missing.exists()


# -- a second open is a no-op -----------------------------------------------------------------


async def test_migrating_a_current_database_changes_nothing(v1: Path) -> None:
    await _migrate_once(v1)
    schema_after, data_after = schema_of(v1), v1_data(v1)
    main_bytes = file_bytes(v1)

    async with aiosqlite.connect(v1) as conn:
        statements: list[str] = []
        await conn.set_trace_callback(statements.append)
        assert await migrate(conn) == (SCHEMA_VERSION, SCHEMA_VERSION)
        await conn.set_trace_callback(None)
    # It only read the version: no transaction, no DDL, no write.
    assert statements == ["PRAGMA user_version"]

    store = await open_store(v1)  # and the hub's own start-up again
    await store.close()
    assert user_version(v1) == SCHEMA_VERSION
    assert schema_of(v1) == schema_after
    assert v1_data(v1) == data_after
    assert file_bytes(v1) == main_bytes  # not one byte written


async def _migrate_once(path: Path) -> None:
    async with aiosqlite.connect(path) as conn:
        assert await migrate(conn) == (1, SCHEMA_VERSION)


# -- a failing step leaves the database as it was -----------------------------------------------


BROKEN_TAIL = "\nINSERT INTO no_such_table VALUES (1);\n"


async def test_a_failing_step_is_rolled_back_whole(
    v1: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before_data, before_schema = v1_data(v1), schema_of(v1)
    # Step 2 creates its tables, then fails on its last statement.
    monkeypatch.setattr(schema, "MIGRATIONS", (MIGRATIONS[0], MIGRATIONS[1] + BROKEN_TAIL))

    store = SqliteStore(StoreConfig(path=v1, min_interval=0), ManualClock(T0))
    with pytest.raises(HubError, match="no such table: no_such_table"):
        await store.open()

    assert user_version(v1) == 1
    assert schema_of(v1) == before_schema  # none of the step's tables is left behind
    assert v1_data(v1) == before_data

    # Fixed (the next release), the same file migrates.
    monkeypatch.undo()
    store = await open_store(v1)
    await store.close()
    assert user_version(v1) == SCHEMA_VERSION
    assert v1_data(v1) == before_data


async def test_a_failing_later_step_keeps_the_earlier_ones(
    v1: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A hub with a third step that fails: steps 1 to 2 commit, step 3 does not.
    broken = "CREATE TABLE extra (x INTEGER); ALTER TABLE readings ADD COLUMN unit TEXT;"
    monkeypatch.setattr(schema, "MIGRATIONS", (*MIGRATIONS, broken + BROKEN_TAIL))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    before = v1_data(v1)

    conn = await aiosqlite.connect(v1)
    try:
        with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
            await migrate(conn)
        # Seen from another connection while the failed step's connection is still open.
        assert user_version(v1) == SCHEMA_VERSION
        assert "extra" not in tables(v1)
    finally:
        await conn.close()
    assert user_version(v1) == SCHEMA_VERSION
    assert "extra" not in tables(v1)
    with connect(v1) as check:
        columns = [row[1] for row in check.execute("PRAGMA table_info(readings)")]
    assert "unit" not in columns
    assert v1_data(v1) == before


def test_hub_db_migrate_reports_a_failed_step_and_the_version_kept(
    v1: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(schema, "MIGRATIONS", (MIGRATIONS[0], MIGRATIONS[1] + BROKEN_TAIL))
    before = v1_data(v1)
    status, out, err = hub_db(capsys, "migrate", "--database", str(v1))
    assert status == 1
    assert out == ""
    assert "stays at schema version 1" in err
    assert "no such table: no_such_table" in err
    assert user_version(v1) == 1
    assert tables(v1) == V1_TABLES
    assert v1_data(v1) == before


def test_a_database_newer_than_the_hub_is_refused_by_hub_db_migrate(
    v1: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with connect(v1) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    status, _, err = hub_db(capsys, "migrate", "--database", str(v1))
    assert status == 1
    assert "newer than this hub" in err
    assert user_version(v1) == SCHEMA_VERSION + 1
