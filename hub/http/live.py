"""The latest values of every sensor, kept from the bus for /metrics and /api/sensors.

Seeded from the database at start (each sensor's last stored reading), then kept current
by Reading and SensorSeen events. Names and locations come from the sensors table, read
again every few seconds (renames with `hub sensors` show up without a restart).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import aiosqlite
import orjson

from hub.events import Reading, SensorSeen


@dataclass(slots=True)
class SensorState:
    """What the hub last heard from one sensor."""

    address: str
    integration: str | None = None
    model: str | None = None
    advertised_name: str | None = None
    measurements: dict[str, float] = field(default_factory=dict)
    reading_ts: float | None = None
    seen_ts: float | None = None
    rssi: int | None = None
    # The payload format of the last reading (e.g. Ruuvi "5"); not stored, so None until heard.
    format: str | None = None


@dataclass(frozen=True, slots=True)
class SensorInfo:
    """A sensor's row in the sensors table: how people name and place it."""

    id: int
    address: str
    name: str | None
    advertised_name: str | None
    location: str | None
    integration: str
    model: str | None
    disabled: bool

    @property
    def display_name(self) -> str:
        return self.name or self.advertised_name or self.address


_LAST_READINGS = """
    SELECT s.address, s.integration, s.model, s.advertised_name, s.last_seen,
           r.ts, r.measurements, r.rssi
    FROM sensors s
    LEFT JOIN readings r ON r.id = (
        SELECT id FROM readings WHERE sensor_id = s.id ORDER BY ts DESC LIMIT 1)
    WHERE NOT s.disabled"""
_DIRECTORY = """
    SELECT id, address, name, advertised_name, location, integration, model, disabled
    FROM sensors"""


def _numbers(measurements: object) -> dict[str, float]:
    if not isinstance(measurements, dict):
        return {}
    return {
        str(k): float(v)
        for k, v in measurements.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }


class LiveSensors:
    """Latest state per sensor address, bounded to `max_sensors`."""

    def __init__(
        self,
        max_sensors: int = 10_000,
        configured: Mapping[str, tuple[str | None, str | None]] | None = None,
    ) -> None:
        self._max = max_sensors
        # (name, location) by address from the config's `devices:`; they win, as in the store.
        self._configured = dict(configured or {})
        self.sensors: dict[str, SensorState] = {}
        self.directory: dict[str, SensorInfo] = {}
        self.overflow = 0

    def _state(self, address: str) -> SensorState | None:
        state = self.sensors.get(address)
        if state is None:
            if len(self.sensors) >= self._max:
                self.overflow += 1
                return None
            state = self.sensors[address] = SensorState(address)
        return state

    def on_reading(self, reading: Reading) -> None:
        """Bus handler: a new reading."""
        state = self._state(reading.address)
        if state is None:
            return
        if state.reading_ts is not None and reading.ts < state.reading_ts:
            return  # an older reading (a slower receiver): not the latest
        state.integration = reading.integration
        state.model = reading.model or state.model
        state.format = reading.format or state.format
        state.advertised_name = reading.name or state.advertised_name
        state.measurements = _numbers(dict(reading.measurements))
        state.reading_ts = reading.ts
        state.seen_ts = max(reading.ts, state.seen_ts or reading.ts)
        if reading.rssi is not None:
            state.rssi = reading.rssi

    def on_seen(self, seen: SensorSeen) -> None:
        """Bus handler: a sensor was heard (a repeat, or a frame without measurements)."""
        state = self._state(seen.address)
        if state is None:
            return
        state.integration = state.integration or seen.integration
        if state.seen_ts is None or seen.ts >= state.seen_ts:
            state.seen_ts = seen.ts
            if seen.rssi is not None:
                state.rssi = seen.rssi

    async def seed(self, conn: aiosqlite.Connection) -> int:
        """Each enabled sensor's last stored reading; returns how many sensors."""
        rows = await conn.execute_fetchall(_LAST_READINGS)
        for address, integration, model, advertised, last_seen, ts, measurements, rssi in rows:
            state = self._state(address)
            if state is None:
                break
            state.integration, state.model = integration, model
            state.advertised_name = advertised
            state.seen_ts = last_seen
            if ts is not None:
                state.reading_ts = ts
                state.measurements = _numbers(orjson.loads(measurements))
                state.rssi = rssi
        await self.refresh(conn)
        return len(self.sensors)

    async def refresh(self, conn: aiosqlite.Connection) -> None:
        """Read names, locations and disabled flags again."""
        rows = await conn.execute_fetchall(_DIRECTORY)
        self.directory = {
            row[1]: SensorInfo(row[0], row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7]))
            for row in rows
        }
        for address, info in self.directory.items():
            if info.disabled:
                self.sensors.pop(address, None)

    def labelled(self) -> Iterable[tuple[SensorState, str, str]]:
        """Every sensor with its display name and location."""
        directory, configured = self.directory, self._configured
        for address, state in self.sensors.items():
            info = directory.get(address)
            given_name, given_location = configured.get(address, (None, None))
            name = given_name or (info.name or info.advertised_name if info else None)
            location = given_location or (info.location if info else None)
            yield state, name or state.advertised_name or address, location or ""
