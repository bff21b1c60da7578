"""The InfluxDB exporter: committed readings from the store's outbox, in batches, to InfluxDB.

It reads the readings after its watermark (`store.watermark("influxdb")`), writes them,
and moves the watermark only once the server accepted them, so an outage, a restart or a
`kill -9` loses nothing, and at most the batch in flight at a crash is written twice (it
overwrites itself: same measurement, tags and time). The backlog stays in SQLite, never in
memory: a batch is read when it is sent.

When it writes: every `flush_interval` (a scheduler job wakes it), at once after a start,
and whenever it is behind by a full batch; it then writes batch after batch until it has
caught up. When the server fails:

- no answer, timeouts, 5xx, 429 and other refusals of the whole batch: the same batch is
  tried again after an exponential backoff with jitter (or the server's `Retry-After`);
  health is degraded, then failing after `failing_after`, with the backlog and the error;
- 401/403: no more attempts with these credentials except one every `auth_recheck` and on
  SIGHUP; health is failing, "token rejected";
- 400/413/422: the batch is bisected, the good lines written, the refused lines moved to
  the quarantine table with the server's message; the export moves on.

It never blocks the bus (it reads nothing from it but a wake-up) and never crashes the
hub: an unexpected error is logged with its traceback, counted, and retried like a
failed write.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from loguru import logger

from hub.bus import EventBus
from hub.clock import Clock
from hub.errors import HubError
from hub.events import ReadingsStored
from hub.exporters import hold_outbox
from hub.exporters.influxdb.backoff import Backoff
from hub.exporters.influxdb.config import InfluxConfig
from hub.exporters.influxdb.delivery import AuthRejected, Line, deliver
from hub.exporters.influxdb.lineprotocol import LineEncoder
from hub.exporters.influxdb.outbox import OutboxRow, has_watermark, read_after, sensor_keys
from hub.exporters.influxdb.quarantine import quarantine, quarantined_count
from hub.exporters.influxdb.transport import InfluxTransport, WriteError
from hub.health import HealthStatus
from hub.scheduler import Scheduler
from hub.store.sqlite import SqliteStore

NAME = "influxdb"
JOB_ID = "influxdb.flush"
# Points/s is averaged over this window.
_RATE_WINDOW_S = 60.0
# Repeated failures are logged at most this often (each one is counted).
_LOG_EVERY_S = 60.0
# How long `stop()` lets a write in flight finish before cutting it off (it is then simply
# sent again at the next start: the watermark has not moved).
_STOP_GRACE_S = 3.0
# Readings encoded between two yields to the event loop (a few milliseconds of work).
_ENCODE_SLICE = 500


@dataclass(slots=True)
class ExportCounters:
    """What the exporter did since the hub started (for health, the summary and metrics)."""

    readings: int = 0  # readings delivered (the watermark moved past them)
    points: int = 0  # lines the server accepted
    batches: int = 0
    requests: int = 0
    failures: int = 0  # attempts that failed and will be retried
    auth_failures: int = 0
    quarantined: int = 0
    skipped: int = 0  # readings with nothing writable (only states or events)
    last_success: float | None = None  # wall time
    last_error: str = ""
    last_error_at: float | None = None


class InfluxExporter:
    """The `influxdb` component."""

    name = NAME

    def __init__(
        self,
        settings: InfluxConfig,
        store: SqliteStore,
        scheduler: Scheduler,
        bus: EventBus,
        clock: Clock,
        transport: InfluxTransport | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._scheduler = scheduler
        self._bus = bus
        self._clock = clock
        self._transport = transport or InfluxTransport(settings)
        self._encoder = LineEncoder(settings)
        self._backoff = Backoff(settings.retry)
        self.counters = ExportCounters()
        self._wake = asyncio.Event()
        self._interrupt = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._cleanup: list[Callable[[], None]] = []
        self._watermark = 0
        self._newest_id = 0  # the newest committed reading id seen
        self._oldest_pending_ts: float | None = None  # time of the first undelivered reading
        self._next_attempt = 0.0  # monotonic; no write before it (backoff)
        self._failing_since: float | None = None  # monotonic
        self._auth_error: str | None = None
        self._reloaded = False  # a reload came during an attempt: try again at once
        self._last_log = -_LOG_EVERY_S
        self._recent: deque[tuple[float, int]] = deque()
        self._quarantined_before = 0  # lines in the quarantine table when it started

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        store = self._store
        self._watermark = await store.watermark(NAME)
        self._newest_id = await store.last_reading_id()
        if self._settings.first_run == "new" and not await has_watermark(store.connection, NAME):
            # The very first start, told to skip what is already stored.
            await store.set_watermark(NAME, self._newest_id)
            self._watermark = self._newest_id
        self._quarantined_before = await quarantined_count(store.connection, NAME)
        self._cleanup.append(hold_outbox(store, NAME))
        await self._transport.open()
        self._cleanup.append(
            self._bus.subscribe(
                ReadingsStored, self._on_stored, name=NAME, policy="drop_oldest", queue_size=16
            )
        )
        self._scheduler.add_interval(JOB_ID, self._tick, self._settings.flush_interval)
        self._cleanup.append(lambda: self._scheduler.remove(JOB_ID))
        self._task = asyncio.get_running_loop().create_task(self._run(), name="influxdb-export")
        self._wake.set()  # catch up at once with what a restart left behind
        logger.info(
            "InfluxDB export to {} bucket {!r}: {} readings waiting (batches of {}, every {:g}s)",
            self._transport.url,
            self._settings.target_bucket,
            self.backlog,
            self._settings.batch_size,
            self._settings.flush_interval,
        )

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._interrupt.set()
        task, self._task = self._task, None
        if task is not None:
            done, _ = await asyncio.wait({task}, timeout=_STOP_GRACE_S)
            if not done:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for undo in reversed(self._cleanup):
            undo()
        self._cleanup.clear()
        await self._transport.close()

    async def reload(self) -> None:
        """SIGHUP: try again now, also after the credentials were rejected."""
        if self._auth_error is not None or self._next_attempt > time.monotonic():
            logger.info("InfluxDB export: trying again now (reload)")
        self._next_attempt = 0.0
        self._reloaded = True
        self._interrupt.set()
        self._wake.set()

    # -- wake-ups ------------------------------------------------------------------------

    async def _tick(self) -> None:
        """Scheduler job: write what the last interval brought."""
        self._wake.set()
        if self._next_attempt > time.monotonic():
            # Waiting out a backoff: keep the backlog figure current for health.
            await self._note_newest()

    async def _note_newest(self) -> None:
        """Update the newest committed id (for the backlog figure); never fails."""
        with contextlib.suppress(sqlite3.Error, HubError, ValueError):
            self._newest_id = max(self._newest_id, await self._store.last_reading_id())

    def _on_stored(self, event: ReadingsStored) -> None:
        self._newest_id = max(self._newest_id, event.last_id)
        if event.last_id - self._watermark >= self._settings.batch_size:
            self._wake.set()

    async def _wait(self) -> None:
        await self._wake.wait()
        self._wake.clear()
        self._interrupt.clear()  # before the delay is read: a reload may zero it now
        delay = self._next_attempt - time.monotonic()
        if delay > 0 and not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._interrupt.wait(), delay)

    # -- the work ------------------------------------------------------------------------

    def _is_stopping(self) -> bool:
        return self._stopping

    async def _run(self) -> None:
        while not self._stopping:
            await self._wait()
            if self._is_stopping():  # set while we waited
                return
            self._reloaded = False
            try:
                await self._drain()
            except AuthRejected as exc:
                await self._note_newest()
                self._auth_rejected(exc)
            except WriteError as exc:
                await self._note_newest()
                self._failed(exc.describe(), exc.retry_after)
            except (sqlite3.Error, HubError, OSError) as exc:
                self._failed(f"database: {exc}", None)
            except Exception as exc:  # noqa: BLE001 - the exporter's supervised boundary
                logger.opt(exception=True).error("InfluxDB export failed unexpectedly")
                self._failed(f"{type(exc).__name__}: {exc}", None)

    async def _next(self, after_id: int) -> tuple[list[OutboxRow], list[Line]]:
        """The next batch after `after_id`, and its lines."""
        store = self._store
        # Under the write lock: on the store's connection a read between two statements
        # of an uncommitted batch would see readings that a failed commit takes back.
        async with store.write_lock:
            rows = await read_after(store.connection, after_id, self._settings.batch_size)
            sensors = await sensor_keys(store.connection) if rows else {}
        # Encoded in slices, giving the loop back in between: the batch before this one
        # is on its way, and aiohttp needs the loop to keep its body flowing to the server.
        lines: list[Line] = []
        for start in range(0, len(rows), _ENCODE_SLICE):
            lines += self._encoder.encode_rows(rows[start : start + _ENCODE_SLICE], sensors)
            await asyncio.sleep(0)
        return rows, lines

    async def _drain(self) -> None:
        """Write batch after batch until nothing is left (or the server fails)."""
        size = self._settings.batch_size
        rows, lines = await self._next(self._watermark)
        while rows and not self._is_stopping():
            self._oldest_pending_ts = rows[0][2]
            self._newest_id = max(self._newest_id, rows[-1][0])
            # Read and encode the next batch while this one travels (the server's work
            # and ours overlap); it is dropped if this batch fails.
            ahead = (
                asyncio.get_running_loop().create_task(self._next(rows[-1][0]))
                if len(rows) == size
                else None
            )
            try:
                await self._deliver(lines, rows)
            except BaseException:
                if ahead is not None:
                    ahead.cancel()
                    # Whatever became of it, the first failure is the one to report.
                    with contextlib.suppress(Exception, asyncio.CancelledError):
                        await ahead
                raise
            rows, lines = await ahead if ahead is not None else ([], [])
        if not rows:
            self._oldest_pending_ts = None

    async def _deliver(self, lines: list[Line], rows: list[OutboxRow]) -> None:
        """One batch of readings to the server, then the watermark past it."""
        size = self._settings.batch_size
        written = requests = 0
        rejected = []
        # The quantity layout makes several lines per reading: requests stay within size.
        for start in range(0, len(lines), size):
            outcome = await deliver(self._transport.write, lines[start : start + size])
            written += outcome.written
            requests += outcome.requests
            rejected.extend(outcome.rejected)
        last_id = rows[-1][0]
        if rejected:
            async with self._store.write_lock:
                await quarantine(self._store.connection, NAME, rejected, self._clock.time())
            self._log_rejected(rejected[0].message, len(rejected))
        await self._store.set_watermark(NAME, last_id)
        self._watermark = last_id
        counters = self.counters
        counters.readings += len(rows)
        counters.points += written
        counters.batches += 1
        counters.requests += requests
        counters.quarantined += len(rejected)
        counters.skipped += len(rows) - len({reading_id for reading_id, _ in lines})
        counters.last_success = self._clock.time()
        now = time.monotonic()
        self._recent.append((now, written))
        self._recovered()

    # -- outcomes ------------------------------------------------------------------------

    def _recovered(self) -> None:
        if self._failing_since is not None or self._auth_error is not None:
            logger.info(
                "InfluxDB writes work again after {:.0f}s; {} readings still to catch up",
                time.monotonic() - (self._failing_since or time.monotonic()),
                self.backlog,
            )
        self._failing_since = None
        self._auth_error = None
        self._backoff.reset()
        self._next_attempt = 0.0

    def _failed(self, error: str, retry_after: float | None) -> None:
        now = time.monotonic()
        counters = self.counters
        counters.failures += 1
        counters.last_error = error
        counters.last_error_at = self._clock.time()
        first = self._failing_since is None
        if first:
            self._failing_since = now
        delay = 0.0 if self._reloaded else self._backoff.next_delay(retry_after)
        self._next_attempt = now + delay
        self._wake.set()  # try again once the delay is over
        if first or now - self._last_log >= _LOG_EVERY_S:
            self._last_log = now
            logger.warning(
                "InfluxDB write failed ({}); trying again in {:.1f}s{}; {} readings wait in "
                "the database ({} failures so far)",
                error,
                delay,
                " as the server asked" if retry_after is not None else "",
                self.backlog,
                counters.failures,
            )

    def _auth_rejected(self, exc: AuthRejected) -> None:
        now = time.monotonic()
        counters = self.counters
        counters.auth_failures += 1
        counters.last_error = str(exc)
        counters.last_error_at = self._clock.time()
        if self._failing_since is None:
            self._failing_since = now
        first = self._auth_error is None
        self._auth_error = str(exc)
        recheck = 0.0 if self._reloaded else self._settings.auth_recheck
        self._next_attempt = now + recheck
        self._wake.set()
        log = logger.error if first else logger.warning
        log(
            "InfluxDB {}: export stopped, {} readings kept in the database; checking again "
            "in {:.0f}s or on SIGHUP",
            exc,
            self.backlog,
            recheck,
        )

    def _log_rejected(self, message: str, count: int) -> None:
        logger.error(
            "InfluxDB refused {} line(s) on their own ({}); moved to the quarantine table, "
            "{} so far",
            count,
            message,
            self.counters.quarantined + count,
        )

    # -- observation ---------------------------------------------------------------------

    @property
    def backlog(self) -> int:
        """Committed readings not yet delivered (from the newest id seen)."""
        return max(0, self._newest_id - self._watermark)

    @property
    def watermark(self) -> int:
        return self._watermark

    def lag_s(self) -> float:
        """Age of the oldest reading not yet delivered, 0 when caught up."""
        if self._oldest_pending_ts is None:
            return 0.0
        return max(0.0, self._clock.time() - self._oldest_pending_ts)

    def points_per_s(self) -> float:
        now = time.monotonic()
        recent = self._recent
        while recent and now - recent[0][0] > _RATE_WINDOW_S:
            recent.popleft()
        return sum(points for _, points in recent) / _RATE_WINDOW_S

    def health(self) -> HealthStatus:
        counters = self.counters
        details: dict[str, object] = {
            "url": self._transport.url,
            "bucket": self._settings.target_bucket,
            "backlog": self.backlog,
            "lag_s": round(self.lag_s(), 1),
            "points_per_s": round(self.points_per_s(), 1),
            "points": counters.points,
            "readings": counters.readings,
            "retries": counters.failures,
            "quarantined": counters.quarantined,
            "quarantined_total": self._quarantined_before + counters.quarantined,
            "last_success": counters.last_success,
            "last_error": counters.last_error,
            "last_error_at": counters.last_error_at,
        }
        if self._auth_error is not None:
            return HealthStatus("failing", self._auth_error, details)
        if self._failing_since is not None:
            failing_for = time.monotonic() - self._failing_since
            details["failing_for_s"] = round(failing_for, 1)
            reason = f"{counters.last_error}; {self.backlog} readings waiting"
            if failing_for >= self._settings.failing_after:
                return HealthStatus("failing", f"writes failing: {reason}", details)
            return HealthStatus("degraded", f"retrying: {reason}", details)
        return HealthStatus("ok", "", details)
