"""Backfill: any range of stored readings to InfluxDB, for a new bucket or a lost range.

Used by `hub export influx`. It reads the database through a read-only connection of its
own (it runs beside a live hub), in id order, and sends the same lines the exporter would.
It moves no watermark: the live exporter's position is its own, and a point written twice
overwrites itself (same measurement, tags and time), so a backfill can be repeated.

Transient failures are retried with the configured backoff, a limited number of times in a
row; then the backfill stops and says up to when everything was written, so it can be
resumed with `--since`. Lines the server refuses on their own are found by bisection
(`delivery`), reported, and skipped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite

from hub.errors import HubError
from hub.exporters.influxdb.backoff import Backoff
from hub.exporters.influxdb.delivery import Rejected, Write, deliver
from hub.exporters.influxdb.lineprotocol import LineEncoder
from hub.exporters.influxdb.outbox import Selection, read_selected, scope, sensor_keys
from hub.exporters.influxdb.transport import WriteError
from hub.store.schema import SCHEMA_VERSION

# Attempts in a row at one batch before a backfill gives up (a person is waiting).
MAX_ATTEMPTS = 8


@dataclass(slots=True)
class BackfillResult:
    """What a backfill did."""

    readings: int = 0
    lines: int = 0
    written: int = 0
    requests: int = 0
    retries: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    first_ts: float | None = None
    last_ts: float | None = None  # the last reading fully delivered
    seconds: float = 0.0
    stopped: str | None = None  # why it stopped early, None when it finished


def _readonly_uri(path: Path) -> str:
    if not path.is_file():
        raise HubError(f"no database at {path} (has the hub run with this config?)")
    return f"{path.resolve().as_uri()}?mode=ro"


async def open_database(path: Path) -> aiosqlite.Connection:
    """A read-only connection to the hub's database."""
    uri = await asyncio.to_thread(_readonly_uri, path)
    try:
        conn = await aiosqlite.connect(uri, uri=True)
    except Exception as exc:
        raise HubError(f"cannot open the database {path}: {exc}") from exc
    try:
        await conn.execute("PRAGMA busy_timeout = 5000")
        async with conn.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        version = int(row[0]) if row else 0
    except BaseException:
        await conn.close()
        raise
    if version < SCHEMA_VERSION:
        await conn.close()
        raise HubError(
            f"the database {path} has schema version {version}, older than this hub's "
            f"{SCHEMA_VERSION}; start the hub once to migrate it"
        )
    return conn


Progress = Callable[[BackfillResult], None]


async def backfill(
    conn: aiosqlite.Connection,
    selection: Selection,
    encoder: LineEncoder,
    write: Write | None,
    *,
    batch_size: int,
    backoff: Backoff,
    on_progress: Progress | None = None,
    on_lines: Callable[[Sequence[str]], None] | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> BackfillResult:
    """Send the selected readings batch by batch; `write=None` only encodes (a dry run).

    `on_lines` receives every batch's lines (the dry run prints them); `on_progress` the
    running totals after each batch. Raises AuthRejected when the credentials are refused.
    """
    result = BackfillResult()
    started = time.monotonic()
    found = await scope(conn, selection)
    sensors = await sensor_keys(conn)
    after = found.first_id - 1
    while found.count:
        rows = await read_selected(conn, selection, after, found.last_id, batch_size)
        if not rows:
            break
        lines = encoder.encode_rows(rows, sensors)
        if on_lines is not None:
            on_lines([text for _, text in lines])
        if write is not None:
            failure = await _send(write, lines, batch_size, backoff, max_attempts, result, sleep)
            if failure is not None:
                result.stopped = failure
                break
        after = rows[-1][0]
        result.readings += len(rows)
        result.lines += len(lines)
        if result.first_ts is None:
            result.first_ts = rows[0][2]
        result.last_ts = rows[-1][2]
        if on_progress is not None:
            on_progress(result)
        if len(rows) < batch_size:
            break
    result.seconds = time.monotonic() - started
    return result


async def _send(
    write: Write,
    lines: list[tuple[int, str]],
    batch_size: int,
    backoff: Backoff,
    max_attempts: int,
    result: BackfillResult,
    sleep: Callable[[float], Awaitable[None]],
) -> str | None:
    """One batch, retried; returns why it gave up, or None once the batch is written."""
    for start in range(0, len(lines), batch_size):
        chunk = lines[start : start + batch_size]
        backoff.reset()
        while True:
            try:
                outcome = await deliver(write, chunk)
            except WriteError as error:
                if backoff.failures + 1 >= max_attempts:
                    return f"{error.describe()} ({max_attempts} attempts)"
                result.retries += 1
                await sleep(backoff.next_delay(error.retry_after))
                continue
            result.written += outcome.written
            result.requests += outcome.requests
            result.rejected.extend(outcome.rejected)
            break
    return None
