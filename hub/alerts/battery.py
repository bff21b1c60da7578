"""The battery report: every sensor's battery and voltage, and how many days it has left.

Days left come from an ordinary least-squares line through the battery percentage over the
last 30 days, one point per hour (the hour's mean): the hourly rollups, kept for ever, plus
the readings not rolled up yet, so purging raw readings changes nothing. The estimate is the
line's level now divided by its drain per day, given only when the data can carry it (see
`estimate_days_left`); otherwise it is unknown (None). A sensor that reports only a voltage
gets no estimate: a coin cell's voltage stays flat for most of its life and then falls off
a cliff, so a straight line through it says nothing.

A new battery shows as an hourly mean more than `SWAP_RISE` points above every earlier one;
only the hours from the last such swap on are fitted, so the old battery's decline does not
bend the new one's line.

The queries are written once, as plans (see hub.store.history), and run on a stdlib
connection (`hub battery`, and the scheduled job in a worker thread) or an aiosqlite one.
Every statement covers all sensors at once; the fit is one grouped query streamed off the
rollups' primary key.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosqlite
import orjson
from loguru import logger

from hub.events import BatteryReport, BatteryStatus
from hub.store.history import Plan, _run_async, _run_sync, open_readonly
from hub.store.rollups import ROLLUP_KEY

if TYPE_CHECKING:
    from hub.bus import EventBus
    from hub.clock import Clock
    from hub.store.sqlite import SqliteStore

HOUR = 3600
DAY = 86400.0
DEFAULT_WINDOW = 30 * DAY
DEFAULT_KEEP = 90
# No estimate from fewer days or hourly means than this: a drain of tenths of a percent a
# day only shows over several daily swings of the voltage (and of the percentage most
# devices compute from it), and a sensor heard now and then gives few means per day.
MIN_SPAN_DAYS = 3.0
MIN_POINTS = 24
# Flatter than this is "no measurable drain": 100 % would last over 27 years.
MIN_DRAIN_PER_DAY = 0.01
# The decline must be at least this many standard errors of the slope. Hourly means are
# not independent (temperature moves the voltage, and the percentage with it, in a daily
# cycle), so the textbook standard error is optimistic; 3 rather than 2 allows for that.
# At t = 3 the days left are good to about a third either way (one sigma).
MIN_T = 3.0
# An hourly mean this many points above every earlier one in the window is a new battery.
# Above all earlier means, not just the previous one: the daily swing of a percentage that
# follows the voltage (and the temperature) comes back to where it was and goes no higher.
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
# Hourly sums of the battery values not rolled up yet, since the window's first hour (read
# by id: normally the last few minutes, at the end of the table). ?1: the rollup position,
# ?2: the window's first hour.
_FRESH_HOURS = f"""
    SELECT r.sensor_id, CAST(r.ts / {HOUR} AS INTEGER) * {HOUR} AS hour,
           total(r.measurements ->> '$.battery'), count(*)
    FROM readings r NOT INDEXED
    WHERE r.id > ?1 AND r.ts >= ?2 AND typeof(r.measurements ->> '$.battery') {_NUMBER}
    GROUP BY r.sensor_id, hour"""
# The sums of a least-squares fit through the rolled-up hourly battery means in [?1, ?2),
# per sensor, with their lowest and highest mean: one range of the rollups' primary key per
# sensor, streamed into one grouped aggregate (no sort). x is days since ?1 at each hour's
# middle, which keeps the sums small enough for doubles.
_FIT = f"""
    SELECT sensor_id, count(*), min(hour), max(hour), min(y), max(y),
           total(x), total(y), total(x * x), total(x * y), total(y * y)
    FROM (
        SELECT sensor_id, hour, (hour + {HOUR // 2} - ?1) / {DAY} AS x, sum / count AS y
        FROM rollups_hourly
        WHERE sensor_id IN (SELECT id FROM sensors WHERE NOT disabled)
          AND measurement = 'battery' AND hour >= ?1 AND hour < ?2)
    GROUP BY sensor_id"""
# Rolled-up hourly battery sums of some sensors (?1: a JSON array of ids) in [?2, ?3).
_POINTS = """
    SELECT sensor_id, hour, sum, count FROM rollups_hourly
    WHERE sensor_id IN (SELECT value FROM json_each(?1))
      AND measurement = 'battery' AND hour >= ?2 AND hour < ?3
    ORDER BY sensor_id, hour"""


# -- the fit -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trend:
    """A least-squares line through hourly battery means: %/day and its standard error."""

    points: int
    span_days: float
    slope: float
    stderr: float
    # The line passes through (mean_x, mean_y); x in days since the window's first hour.
    mean_x: float
    mean_y: float

    def level(self, x: float) -> float:
        """The battery % the line gives at `x`."""
        return self.mean_y + self.slope * (x - self.mean_x)


class _Line:
    """The running sums of a least-squares fit; x in days since `origin`."""

    __slots__ = ("first", "last", "n", "origin", "sx", "sxx", "sxy", "sy", "syy")

    def __init__(self, origin: int) -> None:
        self.origin = origin
        self.n = 0
        self.first = math.inf
        self.last = -math.inf
        self.sx = self.sy = self.sxx = self.sxy = self.syy = 0.0

    @classmethod
    def from_row(cls, origin: int, row: tuple[Any, ...]) -> _Line:
        """From a `_FIT` row: (id, n, first, last, low, high, sx, sy, sxx, sxy, syy)."""
        line = cls(origin)
        line.n, line.first, line.last = int(row[1]), float(row[2]), float(row[3])
        line.sx, line.sy, line.sxx, line.sxy, line.syy = (float(v) for v in row[6:11])
        return line

    def extend(self, points: list[tuple[int, float]]) -> None:
        """Add (hour, mean) points, in hour order."""
        if not points:
            return
        origin, half = self.origin, HOUR // 2
        sx = sy = sxx = sxy = syy = 0.0
        for hour, y in points:
            x = (hour + half - origin) / DAY
            sx += x
            sy += y
            sxx += x * x
            sxy += x * y
            syy += y * y
        self.n += len(points)
        self.first = min(self.first, points[0][0])
        self.last = max(self.last, points[-1][0])
        self.sx += sx
        self.sy += sy
        self.sxx += sxx
        self.sxy += sxy
        self.syy += syy

    def trend(self) -> Trend | None:
        if self.n == 0:
            return None
        span = (self.last - self.first) / DAY
        return least_squares(self.n, span, self.sx, self.sy, self.sxx, self.sxy, self.syy)


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
    return Trend(n, span_days, slope, stderr, mean_x, mean_y)


def since_last_swap(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """The (hour, mean) points from the last battery swap on (all of them when none)."""
    start = 0
    highest = -math.inf
    for i, (_, y) in enumerate(points):
        if y > highest + SWAP_RISE:
            start = i
        highest = max(highest, y)
    return points[start:]


def estimate_days_left(battery: float | None, trend: Trend | None, x_now: float) -> float | None:
    """Days from now until the line reaches 0 %; None when the data cannot tell.

    Unknown when: there is no battery percentage, or the latest is already 0 (the sensor
    still talks, so the percentage has stopped meaning anything); less than MIN_SPAN_DAYS or
    MIN_POINTS of hourly means; a drain flatter than MIN_DRAIN_PER_DAY; or a decline less
    than MIN_T standard errors (noise that could as well be flat).

    The days are counted from the line's level now, not from the latest reading: a
    percentage that follows the temperature is read at a daily high or low, and the line is
    the better estimate of the charge left. For a sensor silent for a while, the line goes
    on draining through the silence.
    """
    if battery is None or battery <= 0 or trend is None:
        return None
    if trend.points < MIN_POINTS or trend.span_days < MIN_SPAN_DAYS:
        return None
    drain = -trend.slope
    if drain < MIN_DRAIN_PER_DAY or drain < MIN_T * trend.stderr:
        return None
    return max(min(trend.level(x_now), 100.0), 0.0) / drain


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


def _latest_plan(last: int, newest: int) -> Plan[dict[tuple[int, str], tuple[float, float]]]:
    """(sensor id, battery | voltage) -> (ts, value) of the newest value of each."""
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
    return latest


def _trends_plan(last: int, newest: int, first_hour: int) -> Plan[dict[int, Trend]]:
    """Each sensor's battery trend over the hours from `first_hour` on.

    The rolled-up hours before the first hour that has readings not rolled up yet are summed
    in SQL (`_FIT`); the hours from there on (the tail: normally the current hour) are merged
    with those readings here. A sensor whose means span more than SWAP_RISE may hold a
    battery swap: its points are read one by one and fitted from the last swap on.
    """
    fresh: dict[int, dict[int, tuple[float, int]]] = {}
    if newest > last:
        for sensor_id, hour, total, count in (yield (_FRESH_HOURS, (last, first_hour))):
            fresh.setdefault(sensor_id, {})[int(hour)] = (float(total), int(count))
    end = 2**62
    cut = min((h for hours in fresh.values() for h in hours), default=end)
    rows = yield (_FIT, (first_hour, cut))
    lines = {int(row[0]): _Line.from_row(first_hour, row) for row in rows}
    spans = {int(row[0]): (float(row[4]), float(row[5])) for row in rows}
    # The tail: rolled-up hours from the cut on, merged with the fresh sums, in hour order.
    tails: dict[int, dict[int, tuple[float, int]]] = {}
    if cut < end:
        ids = orjson.dumps(sorted(set(lines) | set(fresh))).decode()
        for sensor_id, hour, total, count in (yield (_POINTS, (ids, cut, end))):
            tails.setdefault(sensor_id, {})[int(hour)] = (float(total), int(count))
        for sensor_id, hours in fresh.items():
            merged = tails.setdefault(sensor_id, {})
            for hour, (total, count) in hours.items():
                old_total, old_count = merged.get(hour, (0.0, 0))
                merged[hour] = (old_total + total, old_count + count)
    tail_points = {
        sensor_id: [(hour, total / count) for hour, (total, count) in sorted(hours.items())]
        for sensor_id, hours in tails.items()
    }
    for sensor_id, points in tail_points.items():
        low, high = spans.get(sensor_id, (math.inf, -math.inf))
        values = [y for _, y in points]
        spans[sensor_id] = (min(low, *values), max(high, *values))
    suspects = {sensor_id for sensor_id, (low, high) in spans.items() if high - low > SWAP_RISE}
    rolled: dict[int, list[tuple[int, float]]] = {}
    if suspects:
        ids = orjson.dumps(sorted(suspects)).decode()
        for sensor_id, hour, total, count in (yield (_POINTS, (ids, first_hour, cut))):
            rolled.setdefault(sensor_id, []).append((hour, total / count))
    trends: dict[int, Trend] = {}
    for sensor_id in spans:
        tail = tail_points.get(sensor_id, [])
        if sensor_id in suspects:
            line = _Line(first_hour)
            tail = since_last_swap([*rolled.get(sensor_id, []), *tail])
        else:
            line = lines.get(sensor_id) or _Line(first_hour)
        line.extend(tail)
        trend = line.trend()
        if trend is not None:
            trends[sensor_id] = trend
    return trends


def _report_plan(now: float, window: float) -> Plan[BatteryReport]:
    if window <= 0:
        raise ValueError("window must be positive")
    first_hour = math.ceil((now - window) / HOUR) * HOUR
    position = yield (_POSITION, ())
    last = int(position[0][0] or 0) if position else 0
    newest = int(position[0][1] or 0) if position else 0
    x_now = (now - first_hour) / DAY
    sensors = yield (_SENSORS, ())
    latest = yield from _latest_plan(last, newest)
    trends = yield from _trends_plan(last, newest, first_hour)
    statuses = []
    for sensor_id, address, name, model, location, last_seen in sensors:
        battery = latest.get((sensor_id, "battery"))
        voltage = latest.get((sensor_id, "voltage"))
        trend = trends.get(sensor_id)
        days = estimate_days_left(battery[1] if battery else None, trend, x_now)
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


def _build_from_file(path: Path, now: float, window: float) -> BatteryReport:
    with open_readonly(path) as conn:
        return build_report_sync(conn, now, window)


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
        # In a worker thread, on a read-only connection of its own: the reads run in one
        # snapshot, and neither the queries nor the fit hold up the event loop.
        report = await asyncio.to_thread(_build_from_file, store.path, now, self._window)
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
