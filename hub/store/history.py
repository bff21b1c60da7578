"""History of one sensor: raw readings, or hourly or daily min/mean/max, over a time range.

Shared by `hub history` (a read-only stdlib `sqlite3` connection, so it works beside a
running hub) and the HTTP API (an `aiosqlite` connection). The queries are written once, as
plans that yield `(sql, params)` and receive the rows; `_run_sync` and `_run_async` execute
them on either kind of connection, in one read transaction (one snapshot).

Give the async functions a connection of their own, not the store's: on the store's
connection a query could run between two statements of a rollup transaction (aiosqlite
interleaves awaits) and count readings twice; it would also queue behind batch commits.

Resolutions:

- raw: every stored value in `[since, until)`, from the (sensor_id, ts) index.
- hour: `rollups_hourly`, plus the readings not yet rolled up (the newest minutes), so a
  reading shows in hourly history as soon as it is committed.
- day: the hours above, aggregated per UTC day (min of mins, max of maxes, sum / count).
- auto: raw when the range is at most 48 h and inside the raw retention, hour up to
  90 days, else day.

Hour and day buckets are whole buckets (UTC) that overlap `[since, until)`, each labelled by
its start; a bucket's mean is its sum over its count.
"""

from __future__ import annotations

import bisect
import difflib
import math
import sqlite3
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeVar, cast

import aiosqlite

from hub.errors import HubError, RecordError
from hub.records import normalise_address
from hub.store.rollups import HOUR, HOUR_OF_TS, ROLLUP_KEY
from hub.store.schema import SCHEMA_VERSION

DAY = 86400
RAW_AUTO_MAX_S = 48 * 3600
HOUR_AUTO_MAX_S = 90 * 86400
DEFAULT_RAW_RETENTION_S = 30 * 86400.0
# Hourly history finds the readings not yet rolled up by their ids when there are at most
# this many (normally a few minutes' worth), else through the (sensor_id, ts) index.
_UNROLLED_BY_ID_MAX = 200_000

Resolution = Literal["raw", "hour", "day"]
RESOLUTIONS: tuple[str, ...] = ("raw", "hour", "day", "auto")

T = TypeVar("T")
Rows = list[tuple[Any, ...]]
Plan = Generator[tuple[str, tuple[object, ...]], Rows, T]


class SensorRef(NamedTuple):
    """A sensor as history names it: its row id, address and shown name."""

    id: int
    address: str
    name: str | None


class Sample(NamedTuple):
    """One raw value."""

    ts: float
    measurement: str
    value: float


@dataclass(slots=True)
class Aggregate:
    """One bucket of values: `ts` is the start of the hour or day (UTC)."""

    ts: float
    measurement: str
    min: float
    mean: float
    max: float
    count: int


@dataclass(frozen=True, slots=True)
class History:
    """What a history query found, at the resolution it used."""

    sensor_id: int
    measurement: str | None
    since: float
    until: float
    resolution: Resolution
    rows: list[Sample] | list[Aggregate]


class SensorLookupError(HubError):
    """No sensor, or more than one, answers to the name or address given."""

    def __init__(self, message: str, candidates: list[str] | None = None) -> None:
        super().__init__(message)
        self.candidates = candidates or []


# -- resolving a sensor --------------------------------------------------------------------

_SENSORS = "SELECT id, address, name, advertised_name FROM sensors ORDER BY id"


def _resolve_plan(text: str) -> Plan[SensorRef]:
    rows = yield (_SENSORS, ())
    wanted = text.strip()

    def ref(row: tuple[Any, ...]) -> SensorRef:
        return SensorRef(int(row[0]), str(row[1]), row[2] if row[2] is not None else row[3])

    def unique(matches: list[tuple[Any, ...]], how: str) -> SensorRef | None:
        if len(matches) == 1:
            return ref(matches[0])
        if matches:
            addresses = sorted(str(m[1]) for m in matches)
            raise SensorLookupError(
                f"{len(matches)} sensors have the {how} {wanted!r} ({', '.join(addresses)}); "
                "give the address, or a name of its own (`hub sensors rename`)",
                addresses,
            )
        return None

    # The user's name, then the name the device advertises, then the address (any case
    # and separator); then either name in any case.
    for how, column in (("name", 2), ("advertised name", 3)):
        found = unique([r for r in rows if r[column] == wanted], how)
        if found is not None:
            return found
    try:
        address = normalise_address(wanted)
    except RecordError:
        address = None
    for row in rows:
        if row[1] == address:
            return ref(row)
    folded = wanted.casefold()
    found = unique(
        [r for r in rows if folded in {str(n).casefold() for n in (r[2], r[3]) if n is not None}],
        "name (in any case)",
    )
    if found is not None:
        return found
    known = [str(n) for r in rows for n in (r[2], r[3], r[1]) if n is not None]
    close = difflib.get_close_matches(wanted, known, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    if not rows:
        hint = " (the database has no sensors yet)"
    raise SensorLookupError(f"unknown sensor {wanted!r}{hint}", close)


# -- history -------------------------------------------------------------------------------


def choose_resolution(
    since: float, until: float, now: float, raw_retention: float = DEFAULT_RAW_RETENTION_S
) -> Resolution:
    """The resolution `auto` picks for this range."""
    span = until - since
    if span <= RAW_AUTO_MAX_S and since >= now - raw_retention:
        return "raw"
    if span <= HOUR_AUTO_MAX_S:
        return "hour"
    return "day"


def _key_filter(column: str, measurement: str | None) -> str:
    return f" AND {column} = ?" if measurement is not None else ""


def _raw_plan(
    sensor_id: int, measurement: str | None, since: float, until: float
) -> Plan[list[Sample]]:
    """Readings in time order, each one's values in the order its decoder wrote them."""
    params: tuple[object, ...] = (sensor_id, since, until)
    if measurement is not None and '"' not in measurement:
        # One value per reading, found by its path: a third cheaper than json_each. The store
        # keeps only numbers in `measurements` (a bool would read as 0 or 1 here).
        sql = """
            SELECT r.ts, r.measurements ->> ?
            FROM readings r INDEXED BY readings_sensor_ts
            WHERE r.sensor_id = ? AND r.ts >= ? AND r.ts < ?
            ORDER BY r.ts"""
        rows = yield (sql, (f'$."{measurement}"', *params))
        return [Sample(ts, measurement, value) for ts, value in rows if value is not None]
    sql = f"""
        SELECT r.ts, j.key, j.value
        FROM readings r INDEXED BY readings_sensor_ts, json_each(r.measurements) j
        WHERE r.sensor_id = ? AND r.ts >= ? AND r.ts < ?
          AND j.type IN ('integer', 'real'){_key_filter("j.key", measurement)}
        ORDER BY r.ts"""
    if measurement is not None:
        params += (measurement,)
    rows = yield (sql, params)
    return [Sample(ts, key, value) for ts, key, value in rows]


def _bucket_plan(
    sensor_id: int, measurement: str | None, start: int, end: int, size: int
) -> Plan[list[Aggregate]]:
    """Buckets of `size` seconds (an hour or a day) in `[start, end)`, in (time, name) order.

    From the rollups, and the readings not yet rolled up: those are few (the minutes since
    the last rollup job) and in the newest buckets, so they are aggregated on their own and
    merged into the rollups' rows here, instead of merging every row in SQL.
    """
    position = yield (
        f"SELECT (SELECT CAST(value AS INTEGER) FROM meta WHERE key = '{ROLLUP_KEY}'), "
        "(SELECT max(id) FROM readings)",
        (),
    )
    last = int(position[0][0] or 0) if position else 0
    newest = int(position[0][1] or 0) if position else 0
    key: tuple[object, ...] = (measurement,) if measurement is not None else ()
    if size == HOUR:
        # Straight off the primary key; a single measurement is already in hour order.
        order = "" if measurement is not None else " ORDER BY hour, measurement"
        rolled_sql = f"""
            SELECT hour, measurement, min, max, sum, count FROM rollups_hourly
            WHERE sensor_id = ?{_key_filter("measurement", measurement)}
              AND hour >= ? AND hour < ?{order}"""
    else:
        rolled_sql = f"""
            SELECT (hour / {size}) * {size} AS bucket, measurement,
                   min(min), max(max), total(sum), sum(count)
            FROM rollups_hourly
            WHERE sensor_id = ?{_key_filter("measurement", measurement)}
              AND hour >= ? AND hour < ?
            GROUP BY bucket, measurement ORDER BY bucket, measurement"""
    rolled = yield (rolled_sql, (sensor_id, *key, start, end))
    if newest <= last:
        fresh: Rows = []
    else:
        if newest - last <= _UNROLLED_BY_ID_MAX:
            # A few minutes of readings at the end of the table: read them by id.
            source = "readings r NOT INDEXED"
        else:
            # Rollups far behind (never run yet): the sensor's index range, ids tested on it.
            source = "readings r INDEXED BY readings_sensor_ts"
        fresh = yield (
            f"""
            SELECT (({HOUR_OF_TS}) / {size}) * {size} AS bucket, j.key,
                   min(j.value), max(j.value), total(j.value), count(*)
            FROM {source}, json_each(r.measurements) j
            WHERE r.id > ? AND r.sensor_id = ? AND r.ts >= ? AND r.ts < ?
              AND j.type IN ('integer', 'real'){_key_filter("j.key", measurement)}
            GROUP BY bucket, j.key ORDER BY bucket, j.key""",
            (last, sensor_id, start, end, *key),
        )
    if fresh:
        rolled = _merge_buckets(rolled, fresh)
    return [
        Aggregate(bucket, name, low, total / count, high, count)
        for bucket, name, low, high, total, count in rolled
    ]


def _merge_buckets(rolled: Rows, fresh: Rows) -> Rows:
    """Both sorted by (bucket, name); equal buckets combined, the rest kept in order."""
    # Fresh readings are in the newest buckets: only the rolled-up rows from the first of
    # those on need looking at.
    first = (fresh[0][0], fresh[0][1])
    cut = bisect.bisect_left(rolled, first, key=lambda row: (row[0], row[1]))
    head, tail = rolled[:cut], rolled[cut:]
    combined = {(row[0], row[1]): row for row in tail}
    for bucket, name, low, high, total, count in fresh:
        old = combined.get((bucket, name))
        if old is not None:
            low, high = min(old[2], low), max(old[3], high)
            total, count = old[4] + total, old[5] + count
        combined[bucket, name] = (bucket, name, low, high, total, count)
    return head + [combined[k] for k in sorted(combined)]


def _history_plan(
    sensor_id: int,
    measurement: str | None,
    since: float,
    until: float,
    resolution: Resolution | Literal["auto"],
    raw_retention: float,
    now: float | None,
) -> Plan[History]:
    if not since < until:
        raise ValueError("since must be before until")
    if resolution == "auto":
        resolution = choose_resolution(
            since, until, time.time() if now is None else now, raw_retention
        )
    rows: list[Sample] | list[Aggregate]
    if resolution == "raw":
        rows = yield from _raw_plan(sensor_id, measurement, since, until)
    elif resolution in ("hour", "day"):
        size = HOUR if resolution == "hour" else DAY
        start = math.floor(since / size) * size
        end = math.ceil(until / size) * size
        rows = yield from _bucket_plan(sensor_id, measurement, start, end, size)
    else:
        raise ValueError(f"unknown resolution {resolution!r}; use one of {RESOLUTIONS}")
    return History(sensor_id, measurement, since, until, resolution, rows)


def _measurements_plan(sensor_id: int) -> Plan[list[str]]:
    rolled = yield (
        "SELECT DISTINCT measurement FROM rollups_hourly WHERE sensor_id = ?",
        (sensor_id,),
    )
    latest = yield (
        "SELECT j.key FROM readings r, json_each(r.measurements) j WHERE r.id = "
        "(SELECT id FROM readings WHERE sensor_id = ? ORDER BY ts DESC LIMIT 1)",
        (sensor_id,),
    )
    return sorted({str(k) for (k,) in rolled} | {str(k) for (k,) in latest})


# -- running plans -------------------------------------------------------------------------


def _run_sync(conn: sqlite3.Connection, plan: Plan[T]) -> T:
    # One read transaction: every statement of the plan sees the same snapshot, so a rollup
    # committed meanwhile cannot be counted twice (in the rollups and as not rolled up).
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        sql, params = next(plan)
        while True:
            sql, params = plan.send(conn.execute(sql, params).fetchall())
    except StopIteration as stop:
        result: T = stop.value
        return result
    finally:
        if own and conn.in_transaction:
            conn.execute("ROLLBACK")  # nothing was written


async def _run_async(conn: aiosqlite.Connection, plan: Plan[T]) -> T:
    own = not conn.in_transaction
    if own:
        await conn.execute("BEGIN")
    try:
        sql, params = next(plan)
        while True:
            rows = await conn.execute_fetchall(sql, params)
            sql, params = plan.send(cast(Rows, rows))
    except StopIteration as stop:
        result: T = stop.value
        return result
    finally:
        if own and conn.in_transaction:
            await conn.rollback()


async def resolve_sensor(conn: aiosqlite.Connection, text: str) -> SensorRef:
    """The sensor named `text` (its name, advertised name, or address in any case).

    Raises SensorLookupError when none or several match.
    """
    return await _run_async(conn, _resolve_plan(text))


async def history(
    conn: aiosqlite.Connection,
    sensor_id: int,
    measurement: str | None,
    since: float,
    until: float,
    resolution: Resolution | Literal["auto"] = "auto",
    *,
    raw_retention: float = DEFAULT_RAW_RETENTION_S,
    now: float | None = None,
) -> History:
    """One sensor's values (one measurement, or all when None) in `[since, until)`."""
    plan = _history_plan(sensor_id, measurement, since, until, resolution, raw_retention, now)
    return await _run_async(conn, plan)


async def measurements(conn: aiosqlite.Connection, sensor_id: int) -> list[str]:
    """The measurements a sensor has history of (rollups, and its latest reading)."""
    return await _run_async(conn, _measurements_plan(sensor_id))


# -- the synchronous, read-only twin (the CLI) ----------------------------------------------


@contextmanager
def open_readonly(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the database file; raises HubError when it cannot be used."""
    if not path.is_file():
        raise HubError(f"no database at {path} (has the hub run with this config?)")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise HubError(f"cannot open the database {path}: {exc}") from exc
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version < SCHEMA_VERSION:
            raise HubError(
                f"the database {path} has schema version {version}, older than this hub's "
                f"{SCHEMA_VERSION}; start the hub once to migrate it"
            )
        yield conn
    except sqlite3.Error as exc:
        raise HubError(f"cannot read the database {path}: {exc}") from exc
    finally:
        conn.close()


def resolve_sensor_sync(conn: sqlite3.Connection, text: str) -> SensorRef:
    """`resolve_sensor` on a stdlib connection."""
    return _run_sync(conn, _resolve_plan(text))


def history_sync(
    conn: sqlite3.Connection,
    sensor_id: int,
    measurement: str | None,
    since: float,
    until: float,
    resolution: Resolution | Literal["auto"] = "auto",
    *,
    raw_retention: float = DEFAULT_RAW_RETENTION_S,
    now: float | None = None,
) -> History:
    """`history` on a stdlib connection."""
    plan = _history_plan(sensor_id, measurement, since, until, resolution, raw_retention, now)
    return _run_sync(conn, plan)


def measurements_sync(conn: sqlite3.Connection, sensor_id: int) -> list[str]:
    """`measurements` on a stdlib connection."""
    return _run_sync(conn, _measurements_plan(sensor_id))
