"""`GET /api/dashboard`: everything the page shows at first, in one answer.

Every sensor with its latest values (from the live view, so a reading not yet committed
shows too), its state, and a 24 h sparkline of temperature and humidity; the pending and
firing alerts and the latest transitions; the latest battery report; the hub's health.

The sparklines must stay cheap with hundreds of sensors and a year of data, so no query
reads a day of raw readings:

- up to two hours ago: hourly means from `rollups_hourly`, one primary-key range per sensor
  and measurement (about 10,000 rows for 200 sensors);
- the last two hours: one reading per five-minute bucket, found by an index seek per bucket
  on (sensor_id, ts) (about 5,000 seeks for 200 sensors).

Both are one statement, in one read transaction on the API's own read-only connection.
Measured with 200 sensors and 24 h at one reading per 10 s (1.7 M rows): about 60 ms for
the whole summary in the hub on the development machine (scripts/bench/dashboard.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiosqlite
import orjson

from hub import __version__
from hub.alerts.battery import report_to_dict, stored_reports
from hub.config.models import DeviceConfig
from hub.healthmon.monitor import HealthReport
from hub.http.live import LiveSensors, SensorState
from hub.store.sensors import configured_fields

HOUR = 3600
DAY = 86400
# The sparklines' fine part: this long before now, at one reading per bucket.
RECENT_S = 2 * HOUR
RECENT_BUCKET_S = 300
SPARK_MEASUREMENTS = ("temperature", "humidity")
RECENT_TRANSITIONS = 20

_SENSORS = """
    SELECT id, address, name, advertised_name, location, notes, integration, model,
           first_seen, last_seen
    FROM sensors WHERE NOT disabled ORDER BY id"""
_PICK = ", ".join(
    f"max(CASE WHEN r.measurement = '{m}' THEN round(r.sum / r.count, 2) END)"
    for m in SPARK_MEASUREMENTS
)
_EXTRACT = ", ".join(f"round(r.measurements ->> '$.{m}', 2)" for m in SPARK_MEASUREMENTS)
# One statement, one row per point, in (sensor, time) order:
# - hourly: CROSS JOIN fixes the loop order (sensors outside, the rollups' primary key
#   inside; the planner would otherwise scan the whole table, which grows for ever);
# - recent: the first reading of each bucket, picked from the (sensor_id, ts) index alone,
#   then its row read once (CROSS JOIN again: else the planner walks the whole readings
#   index to save a sort).
_SPARK = f"""
    WITH RECURSIVE buckets(t) AS (
        SELECT :recent UNION ALL SELECT t + :step FROM buckets WHERE t + :step < :now),
    hourly AS (
        SELECT r.sensor_id AS sensor_id, r.hour + {HOUR // 2} AS t, {_PICK}
        FROM sensors s
        CROSS JOIN (VALUES {", ".join(f"('{m}')" for m in SPARK_MEASUREMENTS)}) m
        CROSS JOIN rollups_hourly r
        WHERE NOT s.disabled AND r.sensor_id = s.id AND r.measurement = m.column1
          AND r.hour >= :start AND r.hour < :recent
        GROUP BY r.sensor_id, r.hour),
    picks AS MATERIALIZED (
        SELECT (SELECT r.id FROM readings r
                WHERE r.sensor_id = s.id AND r.ts >= b.t AND r.ts < b.t + :step
                ORDER BY r.ts LIMIT 1) AS rid
        FROM sensors s CROSS JOIN buckets b WHERE NOT s.disabled),
    recent AS (
        SELECT r.sensor_id, round(r.ts, 1), {_EXTRACT}
        FROM picks p CROSS JOIN readings r WHERE r.id = p.rid)
    SELECT * FROM hourly UNION ALL SELECT * FROM recent
    ORDER BY 1, 2"""
_ACTIVE = """
    SELECT a.rule, a.sensor, a.name, a.address, a.state, a.since, a.started, a.last_value,
           (SELECT h.severity FROM alert_history h
            WHERE h.rule = a.rule AND h.address IS a.address ORDER BY h.id DESC LIMIT 1),
           (SELECT h.message FROM alert_history h
            WHERE h.rule = a.rule AND h.address IS a.address ORDER BY h.id DESC LIMIT 1)
    FROM alert_states a ORDER BY a.state = 'pending', a.since"""
_RECENT_TRANSITIONS = """
    SELECT id, ts, rule, sensor, address, state, value, severity, message
    FROM alert_history ORDER BY id DESC LIMIT ?"""


@dataclass(slots=True)
class Spark:
    """One sensor's sparkline: times and values (None where a measurement is missing)."""

    t: list[float] = field(default_factory=list)
    values: tuple[list[float | None], ...] = field(
        default_factory=lambda: tuple([] for _ in SPARK_MEASUREMENTS)
    )

    def to_json(self) -> dict[str, list[Any]]:
        return {"t": self.t, **dict(zip(SPARK_MEASUREMENTS, self.values, strict=True))}


def spark_window(now: float) -> tuple[int, int]:
    """(start of the hourly part, start of the recent part), both on whole hours."""
    start = math.floor((now - DAY) / HOUR) * HOUR
    recent = math.floor((now - RECENT_S) / HOUR) * HOUR
    return start, recent


async def sparklines(
    conn: aiosqlite.Connection, now: float, raw_retention: float
) -> dict[int, Spark]:
    """Every enabled sensor's sparkline, by sensor id (sensors without data are absent)."""
    start, recent = spark_window(now)
    # Raw readings older than the retention are gone: the rollups cover that part.
    recent = max(recent, math.ceil((now - raw_retention) / HOUR) * HOUR)
    rows = await conn.execute_fetchall(
        _SPARK, {"start": start, "recent": recent, "now": now, "step": RECENT_BUCKET_S}
    )
    sparks: dict[int, Spark] = {}
    current = None
    t: list[float] = []
    first: list[float | None] = []
    second: list[float | None] = []
    # One pass in (sensor, time) order; the hot loop of the summary, so kept plain.
    for sensor_id, ts, a, b in rows:
        if sensor_id != current:
            current = sensor_id
            spark = sparks[sensor_id] = Spark()
            t, (first, second) = spark.t, spark.values
        t.append(ts)
        first.append(a)
        second.append(b)
    return sparks


def sensor_state(
    live: SensorState | None, last_seen: float, firing: bool, now: float, stale_after: float
) -> str:
    """`alerting` (an alert fires), `stale` (not heard for `stale_after`) or `ok`."""
    if firing:
        return "alerting"
    seen = max(last_seen, live.seen_ts or 0.0) if live is not None else last_seen
    return "stale" if now - seen > stale_after else "ok"


def latest_json(live: SensorState | None) -> dict[str, Any] | None:
    if live is None or live.reading_ts is None:
        return None
    return {"ts": live.reading_ts, "measurements": live.measurements, "rssi": live.rssi}


def configured_keys(device: DeviceConfig | None) -> list[str]:
    """The metadata the config's `devices:` sets for a sensor (it wins over edits)."""
    return sorted(configured_fields(device)) if device is not None else []


def health_json(report: HealthReport) -> dict[str, Any]:
    return {
        "status": report.state,
        "reason": report.summary(),
        "problems": {r.name: r.status.reason for r in report.problems()},
    }


@dataclass(frozen=True, slots=True)
class SummaryContext:
    """What a summary is made of, besides the database."""

    hub_name: str
    started: float
    live: LiveSensors
    devices: Mapping[str, DeviceConfig]
    health: Callable[[], HealthReport]
    stale_after: float
    live_interval: float
    raw_retention: float
    token_required: bool
    # The hub's wall clock (a soak run simulates it): states and sparklines follow it.
    clock: Callable[[], float] = time.time


def sensor_json(
    row: Sequence[Any],
    context: SummaryContext,
    firing: set[str],
    now: float,
    spark: Spark | None = None,
) -> dict[str, Any]:
    """One sensor as the page shows it (also sent on the live stream after an edit)."""
    sensor_id, address, name, advertised, location, notes, integration, model = row[:8]
    first_seen, last_seen = row[8:10]
    live = context.live.sensors.get(address)
    device = context.devices.get(address)
    shown = (device.name if device else None) or name or advertised or address
    shown_location = (device.location if device else None) or location
    seen = max(last_seen, live.seen_ts or 0.0) if live is not None else last_seen
    body: dict[str, Any] = {
        "id": sensor_id,
        "address": address,
        "name": shown,
        "given_name": name,
        "advertised_name": advertised,
        "location": shown_location,
        "notes": notes,
        "integration": integration,
        "model": (live.model if live is not None else None) or model,
        "format": live.format if live is not None else None,
        "configured": configured_keys(device),
        "first_seen": first_seen,
        "last_seen": seen,
        "state": sensor_state(live, last_seen, address in firing, now, context.stale_after),
        "latest": latest_json(live),
    }
    if spark is not None:
        body["spark"] = spark.to_json()
    return body


async def build_summary(conn: aiosqlite.Connection, context: SummaryContext) -> dict[str, Any]:
    """The whole first screen; `conn` must be a read-only connection of the API's own."""
    now = context.clock()
    own = not conn.in_transaction
    if own:
        await conn.execute("BEGIN")  # one snapshot for every statement
    try:
        sensors = await conn.execute_fetchall(_SENSORS)
        sparks = await sparklines(conn, now, context.raw_retention)
        active = await conn.execute_fetchall(_ACTIVE)
        recent = await conn.execute_fetchall(_RECENT_TRANSITIONS, (RECENT_TRANSITIONS,))
        reports = await stored_reports(conn, 1)
    finally:
        if own and conn.in_transaction:
            await conn.rollback()
    firing = {str(r[3]) for r in active if r[4] == "firing" and r[3] is not None}
    _, recent_from = spark_window(now)
    return {
        "hub": {"name": context.hub_name, "version": __version__, "started": context.started},
        "now": now,
        "settings": {
            "stale_after": context.stale_after,
            "live_interval": context.live_interval,
            "token_required": context.token_required,
            "spark_since": now - DAY,
            "spark_recent_from": recent_from,
            "spark_recent_step": RECENT_BUCKET_S,
        },
        "health": health_json(context.health()),
        "sensors": [
            sensor_json(row, context, firing, now, sparks.get(row[0]) or Spark()) for row in sensors
        ],
        "alerts": {
            "active": [
                {
                    "rule": r[0],
                    "sensor": r[2] or r[1],
                    "address": r[3],
                    "state": r[4],
                    "since": r[5],
                    "started": r[6],
                    "value": r[7],
                    "severity": r[8] or "warning",
                    "message": r[9] or "",
                }
                for r in active
            ],
            "recent": [
                {
                    "id": r[0],
                    "ts": r[1],
                    "rule": r[2],
                    "sensor": r[3],
                    "address": r[4],
                    "state": r[5],
                    "value": r[6],
                    "severity": r[7],
                    "message": r[8],
                }
                for r in recent
            ],
        },
        "battery": report_to_dict(reports[0]) if reports else None,
    }


def dumps(data: object) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
