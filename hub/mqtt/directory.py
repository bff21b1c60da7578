"""Reads the sensors table: names, places and flags that `hub sensors` may change at any time.

Read-only SQL on the store's connection. The publisher reads it every few seconds and
compares; the store never has to tell anyone that a row changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite
import orjson

from hub.events import Reading

_SENSORS = (
    "SELECT address, name, advertised_name, location, model, integration, disabled FROM sensors"
)
# The (sensor_id, ts) index makes this one index step however long the history is.
_LAST_MEASUREMENTS = (
    "SELECT r.measurements, r.rssi FROM readings r JOIN sensors s ON s.id = r.sensor_id "
    "WHERE s.address = ? ORDER BY r.ts DESC LIMIT 1"
)

# Each enabled sensor's newest stored reading, one index step per sensor.
_LAST_READINGS = """
    SELECT s.address, s.integration, s.model, s.advertised_name, r.ts, r.measurements, r.rssi
    FROM sensors s JOIN readings r ON r.id = (
        SELECT id FROM readings WHERE sensor_id = s.id ORDER BY ts DESC LIMIT 1)
    WHERE NOT s.disabled"""


@dataclass(frozen=True, slots=True)
class SensorRow:
    """One row of the sensors table, as far as MQTT cares."""

    address: str
    name: str | None
    advertised_name: str | None
    location: str | None
    model: str | None
    integration: str
    disabled: bool


async def read_sensors(conn: aiosqlite.Connection) -> dict[str, SensorRow]:
    """Every sensor the store knows, by address."""
    async with conn.execute(_SENSORS) as cursor:
        rows = await cursor.fetchall()
    return {
        str(row[0]): SensorRow(
            address=str(row[0]),
            name=row[1],
            advertised_name=row[2],
            location=row[3],
            model=row[4],
            integration=str(row[5]),
            disabled=bool(row[6]),
        )
        for row in rows
    }


async def last_measurement_names(conn: aiosqlite.Connection, address: str) -> list[str]:
    """The measurement names of a sensor's last stored reading (and `rssi` if it had one)."""
    async with conn.execute(_LAST_MEASUREMENTS, (address,)) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return []
    try:
        names = list(orjson.loads(row[0]))
    except (orjson.JSONDecodeError, TypeError):
        return []
    if row[1] is not None:
        names.append("rssi")
    return names


async def last_readings(conn: aiosqlite.Connection) -> list[Reading]:
    """Each enabled sensor's newest stored reading (what its state was when the hub stopped)."""
    async with conn.execute(_LAST_READINGS) as cursor:
        rows = await cursor.fetchall()
    out = []
    for address, integration, model, advertised, ts, measurements, rssi in rows:
        try:
            values = orjson.loads(measurements)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(values, dict):
            continue
        out.append(
            Reading(
                ts=float(ts),
                address=str(address),
                integration=str(integration),
                measurements=values,
                model=model,
                rssi=rssi,
                name=advertised,
            )
        )
    return out
