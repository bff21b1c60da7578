"""Reading the store's outbox as plain rows: committed readings in id order.

The readings `SqliteStore.read_after` gives, without making a `StoredReading` and a parsed
dict of each, and without the sensor's five strings on every row (the sensors come in a
small map, read with each batch, so a rename shows from the next batch on): at the
export's rate, tens of thousands a second, that is half of the exporter's CPU.
`LineEncoder.encode_rows` takes these rows and the map as they come.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

# (id, sensor id, ts, measurements JSON, rssi)
OutboxRow = tuple[int, int, float, str, int | None]
# (address, integration, model, name, location): what a line's tags are made of.
SensorKey = tuple[str, str, str | None, str | None, str | None]

_COLUMNS = "SELECT id, sensor_id, ts, measurements, rssi FROM readings"
_AFTER = f"{_COLUMNS} WHERE id > ? ORDER BY id LIMIT ?"
_SENSORS = (
    "SELECT id, address, integration, model, coalesce(name, advertised_name), location FROM sensors"
)


async def read_after(conn: aiosqlite.Connection, after_id: int, limit: int) -> list[OutboxRow]:
    """Up to `limit` readings with an id above `after_id`, in id order.

    On the store's connection, hold the store's write lock around this: between two
    statements of a batch not yet committed, a read would see readings that a failed
    commit then takes back.
    """
    async with conn.execute(_AFTER, (after_id, limit)) as cursor:
        rows = await cursor.fetchall()
    return rows  # type: ignore[return-value]  # the columns above, in this order


async def sensor_keys(conn: aiosqlite.Connection) -> dict[int, SensorKey]:
    """Every sensor's tag material, by its id (the name: given, else advertised)."""
    async with conn.execute(_SENSORS) as cursor:
        return {row[0]: (row[1], row[2], row[3], row[4], row[5]) async for row in cursor}


async def has_watermark(conn: aiosqlite.Connection, exporter: str) -> bool:
    """Whether `exporter` has a position at all (a first start has none)."""
    sql = "SELECT 1 FROM watermarks WHERE exporter = ?"
    async with conn.execute(sql, (exporter,)) as cursor:
        return await cursor.fetchone() is not None


@dataclass(frozen=True, slots=True)
class Selection:
    """Which readings a backfill takes: `since <= ts < until`, of some sensors (None: all)."""

    since: float
    until: float
    sensor_ids: tuple[int, ...] | None = None

    def sensor_filter(self, column: str) -> tuple[str, tuple[int, ...]]:
        if self.sensor_ids is None:
            return f"{column} IN (SELECT id FROM sensors)", ()
        marks = ",".join("?" * len(self.sensor_ids))
        return f"{column} IN ({marks})", self.sensor_ids


@dataclass(frozen=True, slots=True)
class Scope:
    """How many readings a selection holds, and the ids they lie between."""

    count: int
    first_id: int
    last_id: int


async def scope(conn: aiosqlite.Connection, selection: Selection) -> Scope:
    """Counted through the (sensor_id, ts) index: one range per sensor, no table rows."""
    where, params = selection.sensor_filter("sensor_id")
    sql = f"SELECT count(*), min(id), max(id) FROM readings WHERE {where} AND ts >= ? AND ts < ?"
    async with conn.execute(sql, (*params, selection.since, selection.until)) as cursor:
        row = await cursor.fetchone()
    if not row or not row[0]:
        return Scope(0, 0, 0)
    return Scope(int(row[0]), int(row[1]), int(row[2]))


async def read_selected(
    conn: aiosqlite.Connection, selection: Selection, after_id: int, last_id: int, limit: int
) -> list[OutboxRow]:
    """The next `limit` selected readings with an id in `(after_id, last_id]`, in id order."""
    where, params = selection.sensor_filter("sensor_id")
    sql = (
        f"{_COLUMNS} WHERE id > ? AND id <= ? AND {where} AND ts >= ? AND ts < ? "
        "ORDER BY id LIMIT ?"
    )
    args = (after_id, last_id, *params, selection.since, selection.until, limit)
    async with conn.execute(sql, args) as cursor:
        rows = await cursor.fetchall()
    return rows  # type: ignore[return-value]
