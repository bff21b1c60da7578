"""The battery report: every sensor's battery and voltage, and how many days it has left.

Days left come from an ordinary least-squares line through the battery percentage over the
last 30 days, one point per hour (the hour's mean): the hourly rollups, kept for ever, plus
the readings not rolled up yet, so purging raw readings changes nothing. The estimate is
`battery now / -slope`, less the time since that battery value was seen, and it is given
only when the data can carry it (see `estimate_days_left`); otherwise it is unknown (None).
A sensor that reports only a voltage gets no estimate: the voltage of a coin cell stays flat
for most of its life and then falls off a cliff, so a straight line through it says nothing.

A battery swap shows as a rise of more than `SWAP_RISE` points from one hourly mean to the
next; only the hours from the last swap on are fitted, so the old battery's decline does not
bend the new one's line.

The queries are written once, as plans (see hub.store.history), and run on an aiosqlite
connection (the scheduled job) or a stdlib one (`hub battery`). Every statement covers all
sensors at once: the fit is one grouped query over the rollups' primary key.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosqlite
import orjson
from loguru import logger

from hub.events import BatteryReport, BatteryStatus
from hub.store.history import Plan, _run_async, _run_sync
from hub.store.rollups import ROLLUP_KEY

if TYPE_CHECKING:
    from hub.bus import EventBus
    from hub.clock import Clock
    from hub.store.sqlite import SqliteStore

HOUR = 3600
DAY = 86400.0
DEFAULT_WINDOW = 30 * DAY
DEFAULT_KEEP = 90
# No estimate from less than this: a few days cover the daily temperature swing of the
# voltage a percentage is usually computed from, and a day's worth of hourly points.
MIN_SPAN_DAYS = 3.0
MIN_POINTS = 24
# Flatter than this is "no measurable drain": 100 % would last over 27 years.
MIN_DRAIN_PER_DAY = 0.01
# The decline must be at least this many standard errors of the slope. Hourly means are
# not independent (temperature moves the voltage, and the percentage with it, in a daily
# cycle), so the textbook standard error is optimistic; 3 rather than 2 allows for that.
# At t = 3 the days left are good to about a third either way (one sigma).
MIN_T = 3.0
# A rise of more than this many points between consecutive hourly means is a new battery.
SWAP_RISE = 10.0
# A sensor this close to empty (days left, or battery %) is listed as needing attention.
SOON_DAYS = 30.0
LOW_BATTERY = 20.0

Notify = Callable[[BatteryReport, str], Awaitable[None] | None]
"""Receives each scheduled report and its table; may be a coroutine function."""

# -- the queries ---------------------------------------------------------------------------

_POSITION = (
    f"SELECT (SELECT CAST(value AS INTEGER) FROM meta WHERE key = '{ROLLUP_KEY}'), "
    "(SELECT max(id) FROM readings)"
)
_SENSORS = """
    SELECT id, address, coalesce(name, advertised_name), model, location, last_seen
    FROM sensors WHERE NOT disabled ORDER BY id"""
_KEYS = "keys (key, path) AS (VALUES ('battery', '$.battery'), ('voltage', '$.voltage'))"
_NUMBER = "IN ('integer', 'real')"
# The newest rolled-up hour of each value (a primary-key seek per sensor), and the newest
# raw reading inside that hour that carries it (at most an hour of one sensor's index).
# When the raw readings are purged, the hour's mean stands in. ?1: the rollup position.
_LATEST_ROLLED = f"""
    WITH {_KEYS},
    last_hour AS (
        SELECT s.id AS sensor_id, k.key, k.path,
               (SELECT max(h.hour) FROM rollups_hourly h
                WHERE h.sensor_id = s.id AND h.measurement = k.key) AS hour
        FROM sensors s, keys k WHERE NOT s.disabled
    ),
    picked AS (
        SELECT l.sensor_id, l.key, l.path, l.hour,
               (SELECT r.id FROM readings r INDEXED BY readings_sensor_ts
                WHERE r.sensor_id = l.sensor_id AND r.ts >= l.hour AND r.ts < l.hour + {HOUR}
                  AND r.id <= ?1 AND typeof(r.measurements ->> l.path) {_NUMBER}
                ORDER BY r.ts DESC LIMIT 1) AS raw_id
        FROM last_hour l WHERE l.hour IS NOT NULL
    )
    SELECT p.sensor_id, p.key, p.hour, h.sum / h.count, r.ts, r.measurements ->> p.path
    FROM picked p
    JOIN rollups_hourly h
      ON h.sensor_id = p.sensor_id AND h.measurement = p.key AND h.hour = p.hour
    LEFT JOIN readings r ON r.id = p.raw_id"""
# The newest value of each kind among the readings not rolled up yet (normally the last few
# minutes, at the end of the table: read by id). SQLite takes a bare column from the row
# that holds the max(). ?1: the rollup position.
_LATEST_FRESH = f"""
    WITH {_KEYS}
    SELECT r.sensor_id, k.key, max(r.ts), r.measurements ->> k.path
    FROM readings r NOT INDEXED, keys k
    WHERE r.id > ?1 AND typeof(r.measurements ->> k.path) {_NUMBER}
    GROUP BY r.sensor_id, k.key"""
# The sums of an ordinary least-squares fit of the hourly battery means since the window's
# start (and since the last battery swap), per sensor. x is days since the window's start
# (at each hour's middle), which keeps the sums small enough for doubles. The rollups are
# read by their primary key, one range per sensor; hours that also have readings not rolled
# up yet are merged with them (sum and count), as hourly history does.
# ?1: the rollup position, ?2: the first hour of the window, ?3: SWAP_RISE.
_FIT = f"""
    WITH fresh AS MATERIALIZED (
        SELECT r.sensor_id, CAST(r.ts / {HOUR} AS INTEGER) * {HOUR} AS hour,
               total(r.measurements ->> '$.battery') AS sum, count(*) AS count
        FROM readings r NOT INDEXED
        WHERE r.id > ?1 AND r.ts >= ?2 AND typeof(r.measurements ->> '$.battery') {_NUMBER}
        GROUP BY r.sensor_id, hour
    ),
    points AS (
        SELECT h.sensor_id, h.hour,
               (h.sum + coalesce(f.sum, 0)) / (h.count + coalesce(f.count, 0)) AS y
        FROM rollups_hourly h
        LEFT JOIN fresh f ON f.sensor_id = h.sensor_id AND f.hour = h.hour
        WHERE h.sensor_id IN (SELECT id FROM sensors WHERE NOT disabled)
          AND h.measurement = 'battery' AND h.hour >= ?2
        UNION ALL
        SELECT f.sensor_id, f.hour, f.sum / f.count FROM fresh f
        WHERE NOT EXISTS (
            SELECT 1 FROM rollups_hourly h
            WHERE h.sensor_id = f.sensor_id AND h.measurement = 'battery' AND h.hour = f.hour)
    ),
    steps AS (
        SELECT sensor_id, hour, y,
               y - lag(y) OVER (PARTITION BY sensor_id ORDER BY hour) AS rise
        FROM points
    ),
    swaps AS (
        SELECT sensor_id, max(hour) AS hour FROM steps WHERE rise > ?3 GROUP BY sensor_id
    ),
    fitted AS (
        SELECT s.sensor_id, s.hour, (s.hour + {HOUR // 2} - ?2) / {DAY} AS x, s.y
        FROM steps s LEFT JOIN swaps w ON w.sensor_id = s.sensor_id
        WHERE s.hour >= coalesce(w.hour, s.hour)
    )
    SELECT sensor_id, count(*), min(hour), max(hour),
           total(x), total(y), total(x * x), total(x * y), total(y * y)
    FROM fitted GROUP BY sensor_id"""


# -- the fit -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trend:
    """A least-squares line through hourly battery means: %/day and its standard error."""

    points: int
    span_days: float
    slope: float
    stderr: float


def least_squares(
    n: int, span_days: float, sx: float, sy: float, sxx: float, sxy: float, syy: float
) -> Trend | None:
    """The line's slope (y per x) and its standard error from the sums; None below 3 points."""
    if n < 3:
        return None
    mean_x, mean_y = sx / n, sy / n
    cxx = sxx - n * mean_x * mean_x
    if cxx <= 0:
        return None
    cxy = sxy - n * mean_x * mean_y
    cyy = syy - n * mean_y * mean_y
    slope = cxy / cxx
    # The residual sum of squares; rounding may take a perfect fit a hair below zero.
    residual = max(cyy - slope * cxy, 0.0)
    stderr = math.sqrt(residual / (n - 2) / cxx)
    return Trend(n, span_days, slope, stderr)


def estimate_days_left(battery: float | None, age_days: float, trend: Trend | None) -> float | None:
    """Days until 0 %, counted from now; None when the data cannot tell.

    Unknown when: there is no battery percentage, or it is already 0 (the sensor still
    talks, so the percentage has stopped meaning anything); less than MIN_SPAN_DAYS or
    MIN_POINTS of hourly means; a drain flatter than MIN_DRAIN_PER_DAY; or a decline less
    than MIN_T standard errors (noise that could as well be flat). `age_days` is how old the
    battery value is; a silent sensor's battery kept draining meanwhile.
    """
    if battery is None or battery <= 0 or trend is None:
        return None
    if trend.points < MIN_POINTS or trend.span_days < MIN_SPAN_DAYS:
        return None
    drain = -trend.slope
    if drain < MIN_DRAIN_PER_DAY or drain < MIN_T * trend.stderr:
        return None
    return max(battery / drain - max(age_days, 0.0), 0.0)


# -- building the report -------------------------------------------------------------------


def urgency(status: BatteryStatus) -> tuple[float, float, float, str]:
    """Sort key: fewest days left first, then an empty battery, then lowest battery, voltage."""
    inf = math.inf
    days = status.days_left
    if days is None:
        days = 0.0 if status.battery is not None and status.battery <= 0 else inf
    battery = status.battery if status.battery is not None else inf
    voltage = status.voltage if status.voltage is not None else inf
    return (days, battery, voltage, status.name or status.address)


def _report_plan(now: float, window: float) -> Plan[BatteryReport]:
    if window <= 0:
        raise ValueError("window must be positive")
    first_hour = math.ceil((now - window) / HOUR) * HOUR
    position = yield (_POSITION, ())
    last = int(position[0][0] or 0) if position else 0
    newest = int(position[0][1] or 0) if position else 0
    sensors = yield (_SENSORS, ())
    # (sensor id, battery | voltage) -> (ts, value): the newest value wins.
    latest: dict[tuple[int, str], tuple[float, float]] = {}
    for sensor_id, key, hour, mean, raw_ts, raw_value in (yield (_LATEST_ROLLED, (last,))):
        if raw_value is not None:
            latest[sensor_id, key] = (float(raw_ts), float(raw_value))
        else:  # raw readings purged: the hour's mean, at the middle of the hour
            latest[sensor_id, key] = (float(hour) + HOUR / 2, float(mean))
    if newest > last:
        for sensor_id, key, ts, value in (yield (_LATEST_FRESH, (last,))):
            seen = latest.get((sensor_id, key))
            if seen is None or ts >= seen[0]:
                latest[sensor_id, key] = (float(ts), float(value))
    trends: dict[int, Trend] = {}
    for sensor_id, n, low, high, *sums in (yield (_FIT, (last, first_hour, SWAP_RISE))):
        trend = least_squares(int(n), (high - low) / DAY, *sums)
        if trend is not None:
            trends[sensor_id] = trend
    statuses = []
    for sensor_id, address, name, model, location, last_seen in sensors:
        battery = latest.get((sensor_id, "battery"))
        voltage = latest.get((sensor_id, "voltage"))
        trend = trends.get(sensor_id)
        days = None
        if battery is not None:
            days = estimate_days_left(battery[1], (now - battery[0]) / DAY, trend)
        statuses.append(
            BatteryStatus(
                address=address,
                name=name,
                battery=round(battery[1], 2) if battery is not None else None,
                voltage=round(voltage[1], 3) if voltage is not None else None,
                last_seen=float(last_seen),
                days_left=round(days, 1) if days is not None else None,
                trend_per_day=round(trend.slope, 4) if trend is not None else None,
                model=model,
                location=location,
            )
        )
    statuses.sort(key=urgency)
    return BatteryReport(ts=now, sensors=tuple(statuses))


async def build_report(
    conn: aiosqlite.Connection, now: float, window: float = DEFAULT_WINDOW
) -> BatteryReport:
    """Every enabled sensor's battery, voltage, last seen and days left, most urgent first.

    Give it a connection of its own (not the store's): the plan runs in one read
    transaction, which must not interleave with a rollup on the same connection.
    """
    return await _run_async(conn, _report_plan(now, window))


def build_report_sync(
    conn: sqlite3.Connection, now: float, window: float = DEFAULT_WINDOW
) -> BatteryReport:
    """`build_report` on a stdlib connection (`hub battery`)."""
    return _run_sync(conn, _report_plan(now, window))


# -- storing and showing -------------------------------------------------------------------


def report_to_dict(report: BatteryReport) -> dict[str, Any]:
    """The report as JSON-ready data: what is stored, and what `hub battery -f json` prints."""
    return {"ts": report.ts, "sensors": [asdict(status) for status in report.sensors]}


def report_from_dict(data: dict[str, Any]) -> BatteryReport:
    """The inverse of `report_to_dict` (for the dashboard); unknown keys are ignored."""
    fields = set(BatteryStatus.__dataclass_fields__)
    return BatteryReport(
        ts=float(data["ts"]),
        sensors=tuple(
            BatteryStatus(**{k: v for k, v in entry.items() if k in fields})
            for entry in data["sensors"]
        ),
    )


async def store_report(
    conn: aiosqlite.Connection, lock: asyncio.Lock, report: BatteryReport, keep: int = DEFAULT_KEEP
) -> int:
    """Store `report` and delete all but the newest `keep`; returns the new row's id.

    `conn` and `lock` are the store's connection and write lock: one transaction under it.
    """
    if keep < 1:
        raise ValueError("keep must be at least 1")
    body = orjson.dumps(report_to_dict(report)).decode()
    async with lock:
        try:
            async with conn.execute(
                "INSERT INTO battery_reports (ts, report) VALUES (?, ?)", (report.ts, body)
            ) as cursor:
                row_id = cursor.lastrowid
            await conn.execute(
                "DELETE FROM battery_reports WHERE id <= "
                "(SELECT id FROM battery_reports ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (keep,),
            )
            await conn.commit()
        except BaseException:
            if conn.in_transaction:
                await conn.rollback()
            raise
    assert row_id is not None
    return row_id


async def stored_reports(conn: aiosqlite.Connection, limit: int = 1) -> list[BatteryReport]:
    """The newest stored reports, newest first (the dashboard shows the first)."""
    async with conn.execute(
        "SELECT report FROM battery_reports ORDER BY id DESC LIMIT ?", (limit,)
    ) as cursor:
        rows = await cursor.fetchall()
    return [report_from_dict(orjson.loads(row[0])) for row in rows]


def summary(report: BatteryReport) -> str:
    """One line for a notification's title: how many sensors, how many need a battery soon."""
    count = len(report.sensors)
    soon = sum(1 for s in report.sensors if s.days_left is not None and s.days_left < SOON_DAYS)
    low = sum(1 for s in report.sensors if s.battery is not None and s.battery < LOW_BATTERY)
    noun = "sensor" if count == 1 else "sensors"
    return (
        f"Battery report: {count} {noun}, {low} below {LOW_BATTERY:.0f} %, "
        f"{soon} with under {SOON_DAYS:.0f} days left"
    )


def _ago(seconds: float) -> str:
    if seconds < 0:
        return "in the future"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


def _percent(value: float) -> str:
    return f"{value:.0f} %" if float(value).is_integer() else f"{value:.1f} %"


def _days(value: float | None) -> str:
    if value is None:
        return "unknown"
    return "<1" if value < 1 else f"{value:.0f}"


def format_report(report: BatteryReport) -> str:
    """A table, most urgent first: sensor, battery, voltage, last seen, trend, days left."""
    when = datetime.fromtimestamp(report.ts, UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"{summary(report)} ({when})"]
    if not report.sensors:
        lines.append("(no sensors yet)")
        return "\n".join(lines)
    header = ("SENSOR", "BATTERY", "VOLTAGE", "LAST SEEN", "TREND", "DAYS LEFT")
    rows = [header]
    for s in sorted(report.sensors, key=urgency):
        rows.append(
            (
                s.name or s.address,
                _percent(s.battery) if s.battery is not None else "-",
                f"{s.voltage:.3f} V" if s.voltage is not None else "-",
                _ago(report.ts - s.last_seen),
                f"{s.trend_per_day:+.2f} %/d" if s.trend_per_day is not None else "-",
                _days(s.days_left),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    # The sensor and last-seen columns read left to right; numbers line up on the right.
    left = {0, 3}
    for row in rows:
        cells = [
            cell.ljust(w) if i in left else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


# -- the scheduled job ---------------------------------------------------------------------


@asynccontextmanager
async def _read_connection(path: Path) -> AsyncIterator[aiosqlite.Connection]:
    # A connection of the job's own, read-only: the report's reads run in one snapshot and
    # neither wait for nor interleave with the store's writes.
    conn = await aiosqlite.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        await conn.execute("PRAGMA busy_timeout = 5000")
        yield conn
    finally:
        await conn.close()


@dataclass(slots=True)
class ReporterCounters:
    """What the battery job did so far."""

    runs: int = 0
    store_failures: int = 0
    notify_failures: int = 0
    last_report: float | None = None
    last_error: str = ""


class BatteryReporter:
    """The scheduled battery report: build, store, publish, log, notify.

    Storing or notifying may fail (disk full, a channel down): that is logged and counted,
    and the rest still happens. A notify callable that hangs is given up after
    `notify_timeout`, so the job always ends.
    """

    def __init__(
        self,
        store: SqliteStore,
        bus: EventBus,
        clock: Clock,
        notify: Notify | None = None,
        *,
        keep: int = DEFAULT_KEEP,
        window: float = DEFAULT_WINDOW,
        notify_timeout: float = 60.0,
    ) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        self._notify = notify
        self._keep = keep
        self._window = window
        self._notify_timeout = notify_timeout
        self.counters = ReporterCounters()

    async def run(self) -> BatteryReport | None:
        """Make one report; None when the store is not open."""
        store = self._store
        if not store.is_open:
            logger.debug("Battery report skipped: the store is not open")
            return None
        started = time.perf_counter()
        now = self._clock.time()
        async with _read_connection(store.path) as conn:
            report = await build_report(conn, now, self._window)
        built_ms = (time.perf_counter() - started) * 1000
        counters = self.counters
        counters.runs += 1
        counters.last_report = now
        try:
            await store_report(store.connection, store.write_lock, report, self._keep)
        except (sqlite3.Error, OSError) as exc:
            counters.store_failures += 1
            counters.last_error = f"{type(exc).__name__}: {exc}"
            logger.warning("Battery report not stored ({}); it is still sent", exc)
        self._bus.publish(report)
        text = format_report(report)
        logger.info("Battery report (built in {:.0f} ms):\n{}", built_ms, text)
        if self._notify is not None:
            await self._send(report, text)
        return report

    async def _send(self, report: BatteryReport, text: str) -> None:
        assert self._notify is not None
        try:
            result = self._notify(report, text)
            if inspect.isawaitable(result):
                await asyncio.wait_for(result, self._notify_timeout)
        except Exception as exc:  # noqa: BLE001 - a failing channel must not fail the job
            self.counters.notify_failures += 1
            self.counters.last_error = f"{type(exc).__name__}: {exc}"
            logger.opt(exception=True).warning(
                "Battery report could not be handed to the channels ({} failures so far)",
                self.counters.notify_failures,
            )
