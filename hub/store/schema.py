"""The database schema and its forward migrations, versioned by `PRAGMA user_version`.

One row per reading, its measurements as a JSON object: a wide row costs one index entry
per reading (not one per measurement), which keeps batched inserts fast on a Pi, and
history for one sensor is an index range scan on (sensor_id, ts).
"""

from __future__ import annotations

import sqlite3

import aiosqlite

from hub.errors import HubError

MIGRATIONS: tuple[str, ...] = (
    # 1: sensors and readings
    """
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
    """,
    # 2: hourly rollups kept for ever, exporter watermarks (the outbox), small settings
    """
    CREATE TABLE rollups_hourly (
        sensor_id   INTEGER NOT NULL REFERENCES sensors(id),
        measurement TEXT NOT NULL,
        hour        INTEGER NOT NULL,  -- start of the hour, seconds since the epoch (UTC)
        min         REAL NOT NULL,
        max         REAL NOT NULL,
        sum         REAL NOT NULL,
        count       INTEGER NOT NULL,
        PRIMARY KEY (sensor_id, measurement, hour)
    ) WITHOUT ROWID;
    CREATE TABLE watermarks (
        exporter   TEXT PRIMARY KEY,
        reading_id INTEGER NOT NULL,  -- the last readings.id the exporter has delivered
        updated    REAL NOT NULL
    );
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 3: alert states that survive a restart, the history of transitions, battery reports
    """
    CREATE TABLE alert_states (
        rule            TEXT NOT NULL,
        sensor          TEXT NOT NULL,  -- the engine's key: the address (or a name)
        state           TEXT NOT NULL,  -- pending | firing
        since           REAL,
        started         REAL,
        last_value      REAL,
        last_reading_ts REAL,
        last_notified   REAL,
        name            TEXT,
        address         TEXT,
        PRIMARY KEY (rule, sensor)
    ) WITHOUT ROWID;
    CREATE TABLE alert_history (
        id       INTEGER PRIMARY KEY,
        ts       REAL NOT NULL,
        rule     TEXT NOT NULL,
        sensor   TEXT NOT NULL,
        address  TEXT,
        state    TEXT NOT NULL,  -- pending | firing | resolved | inactive
        value    REAL,
        severity TEXT NOT NULL,
        message  TEXT NOT NULL
    );
    CREATE INDEX alert_history_ts ON alert_history(ts);
    CREATE TABLE battery_reports (
        id     INTEGER PRIMARY KEY,
        ts     REAL NOT NULL,
        report TEXT NOT NULL  -- JSON: one entry per sensor
    );
    """,
    # 4: lines an exporter's server refused on their own (hub.exporters.influxdb.quarantine)
    """
    CREATE TABLE export_quarantine (
        id         INTEGER PRIMARY KEY,
        exporter   TEXT NOT NULL,
        reading_id INTEGER NOT NULL,  -- the readings.id the line was made from
        line       TEXT NOT NULL,     -- exactly as it was sent
        status     INTEGER NOT NULL,  -- the HTTP status of the refusal
        error      TEXT NOT NULL,     -- the server's message
        created    REAL NOT NULL,
        UNIQUE (exporter, reading_id, line)
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


async def migrate(conn: aiosqlite.Connection) -> tuple[int, int]:
    """Bring the database up to SCHEMA_VERSION; returns (version before, version after)."""
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    before = int(row[0]) if row else 0
    if before > SCHEMA_VERSION:
        raise HubError(
            f"the database has schema version {before}, newer than this hub's "
            f"{SCHEMA_VERSION}; upgrade the hub or use a backup"
        )
    for version in range(before + 1, SCHEMA_VERSION + 1):
        # Each step and its version bump commit together or not at all.
        try:
            await conn.executescript(
                f"BEGIN;\n{MIGRATIONS[version - 1]}\nPRAGMA user_version = {version};\nCOMMIT;"
            )
        except sqlite3.Error:
            if conn.in_transaction:
                await conn.rollback()
            raise
    return before, SCHEMA_VERSION
