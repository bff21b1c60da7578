"""Health checks of the hub's core parts: store, bus, scheduler, sources and router.

Each check is a small object that remembers what it saw last time, so it can tell a
counter that moved (drops, failures, decode errors) from one that merely is not zero, and
how long a condition has lasted. `evaluate(now)` takes monotonic seconds and must be cheap
and never raise: it runs on the event loop every few seconds and on every /healthz.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from hub.events import HealthState
from hub.health import HealthStatus
from hub.healthmon.sizes import format_size

if TYPE_CHECKING:
    from hub.bus import EventBus
    from hub.healthmon.config import BusHealth, SchedulerHealth, SourcesHealth, StoreHealth
    from hub.router import Router
    from hub.scheduler import Scheduler
    from hub.sources import SourceRunner
    from hub.store import SqliteStore

RANK: dict[HealthState, int] = {"ok": 0, "degraded": 1, "failing": 2}


class Check(Protocol):
    """One named health check."""

    name: str

    def evaluate(self, now: float) -> HealthStatus: ...


def worst(states: Iterable[HealthState]) -> HealthState:
    """The worst of `states` (ok when there are none)."""
    return max(states, key=RANK.__getitem__, default="ok")


def duration(seconds: float) -> str:
    """A length of time for people: 2.5 s, 45 s, 12 min, 3.5 h, 2.0 d."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


@dataclass(slots=True)
class _Findings:
    """Problems found by one check; the status is the worst of them, reasons joined."""

    problems: list[tuple[HealthState, str]]

    def add(self, state: HealthState, reason: str) -> None:
        self.problems.append((state, reason))

    def status(self, details: dict[str, object]) -> HealthStatus:
        if not self.problems:
            return HealthStatus("ok", "", details)
        state = worst(s for s, _ in self.problems)
        # The worst problems first: a reason is read from its start.
        ordered = sorted(self.problems, key=lambda p: -RANK[p[0]])
        return HealthStatus(state, "; ".join(r for _, r in ordered), details)


def _findings() -> _Findings:
    return _Findings([])


class StoreCheck:
    """Commits happen, the buffer is not filling up, nothing is dropped, the disk has room."""

    name = "store"

    def __init__(
        self,
        store: SqliteStore,
        settings: StoreHealth,
        max_buffer: int,
        disk_free: Callable[[str], int] | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._max_buffer = max_buffer
        self._disk_free = disk_free or _disk_free
        self._seen_commit: float | None = store.counters.last_commit
        self._failures_at_commit = store.counters.failures
        self._waiting_since: float | None = None
        self._dropped_seen = store.counters.dropped
        self._dropped_at: float | None = None

    def evaluate(self, now: float) -> HealthStatus:
        store, settings = self._store, self._settings
        counters = store.counters
        found = _findings()
        buffered = store.buffered
        details: dict[str, object] = {
            "buffered": buffered,
            "max_buffer": self._max_buffer,
            "committed": counters.committed,
            "failures": counters.failures,
            "dropped": counters.dropped,
            "last_commit": counters.last_commit,
        }
        if not store.is_open:
            found.add("failing", "the database is not open")
            return found.status(details)

        committed_since = counters.last_commit != self._seen_commit
        if committed_since:
            self._seen_commit = counters.last_commit
            self._failures_at_commit = counters.failures
        # How long readings have waited with no commit: from the first evaluation that saw
        # them waiting (a quiet hour before a reading is not a stuck store).
        if buffered == 0 or committed_since:
            self._waiting_since = None
        if buffered and self._waiting_since is None:
            self._waiting_since = now
        waited = now - self._waiting_since if self._waiting_since is not None else 0.0
        failing_now = counters.failures > self._failures_at_commit and buffered > 0
        error = counters.last_error or "no commit ran"
        if buffered and waited >= settings.commit_age_failing:
            found.add(
                "failing",
                f"nothing committed for {duration(waited)} ({error}); "
                f"{buffered} readings held in memory",
            )
        elif buffered and (waited >= settings.commit_age_degraded or failing_now):
            found.add("degraded", f"cannot commit ({error}); {buffered} readings held in memory")
        details["waiting_s"] = round(waited, 1)

        share = buffered / self._max_buffer
        if share >= settings.buffer_failing or share >= settings.buffer_degraded:
            state: HealthState = "failing" if share >= settings.buffer_failing else "degraded"
            found.add(state, f"buffer {share:.0%} full ({buffered} of store.max_buffer)")

        if counters.dropped > self._dropped_seen:
            self._dropped_seen = counters.dropped
            self._dropped_at = now
        if self._dropped_at is not None and now - self._dropped_at < settings.commit_age_failing:
            found.add("failing", f"readings dropped: the buffer was full ({counters.dropped} lost)")

        path = str(store.path.parent)
        try:
            free = self._disk_free(path)
        except OSError as exc:
            found.add("degraded", f"cannot tell the free space of {path}: {exc.strerror}")
        else:
            details["disk_free_bytes"] = free
            if free < settings.disk_free_failing:
                found.add("failing", f"only {format_size(free)} free on {path}")
            elif free < settings.disk_free_degraded:
                found.add("degraded", f"only {format_size(free)} free on {path}")
        return found.status(details)


def _disk_free(path: str) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


class BusCheck:
    """No mailbox is filling up, stuck full, dropping events or seeing its handler fail."""

    name = "bus"

    def __init__(self, bus: EventBus, settings: BusHealth) -> None:
        self._bus = bus
        self._settings = settings
        self._seen: dict[tuple[str, str], tuple[int, int]] = {}
        self._dropped_at: dict[tuple[str, str], float] = {}
        self._failed_at: dict[tuple[str, str], float] = {}
        self._full_since: dict[tuple[str, str], float] = {}
        self._dropped_first: dict[tuple[str, str], int] = {}

    def evaluate(self, now: float) -> HealthStatus:
        settings = self._settings
        found = _findings()
        fullest, fullest_share = "", 0.0
        current = set()
        for stats in self._bus.stats():
            key = (stats.name, stats.event_type)
            current.add(key)
            dropped, errors = self._seen.get(key, (stats.dropped, stats.errors))
            self._seen[key] = (stats.dropped, stats.errors)
            if stats.dropped > dropped:
                if key not in self._dropped_at:
                    self._dropped_first[key] = dropped
                self._dropped_at[key] = now
            if stats.errors > errors:
                self._failed_at[key] = now
            share = stats.depth / stats.maxsize
            if share > fullest_share:
                fullest, fullest_share = stats.name, share
            if share >= settings.queue_degraded:
                full_for = now - self._full_since.setdefault(key, now)
            else:
                self._full_since.pop(key, None)
                full_for = 0.0
            label = f"mailbox {stats.name} ({stats.event_type})"
            if full_for >= settings.full_failing_after:
                found.add(
                    "failing",
                    f"{label} {share:.0%} full for {duration(full_for)}: "
                    "its handler is stuck or too slow",
                )
            elif share >= settings.queue_degraded:
                found.add("degraded", f"{label} {share:.0%} full ({stats.depth}/{stats.maxsize})")
            if now - self._dropped_at.get(key, -settings.window) < settings.window:
                lost = stats.dropped - self._dropped_first.get(key, 0)
                found.add("degraded", f"{label} dropped {lost} events ({stats.policy})")
            else:
                self._dropped_at.pop(key, None)
                self._dropped_first.pop(key, None)
            if now - self._failed_at.get(key, -settings.window) < settings.window:
                found.add("degraded", f"handler {stats.name} is failing ({stats.errors} errors)")
        for gone in set(self._seen) - current:  # unsubscribed
            for table in (self._seen, self._dropped_at, self._failed_at, self._full_since):
                table.pop(gone, None)
        details: dict[str, object] = {
            "published": self._bus.published,
            "dropped": self._bus.dropped,
            "handler_errors": self._bus.handler_errors,
            "fullest": fullest,
            "fullest_share": round(fullest_share, 3),
        }
        return found.status(details)


class SchedulerCheck:
    """Jobs run on time, are not skipped, and do not keep failing."""

    name = "scheduler"

    def __init__(
        self,
        scheduler: Scheduler,
        settings: SchedulerHealth,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._scheduler = scheduler
        self._settings = settings
        # APScheduler runs on the real clock, whatever clock the hub was given.
        self._wall = wall
        self._seen: dict[str, tuple[int, int, int]] = {}
        self._failing: dict[str, bool] = {}
        self._missed_at: dict[str, float] = {}

    def evaluate(self, now: float) -> HealthStatus:
        scheduler, settings = self._scheduler, self._settings
        found = _findings()
        details: dict[str, object] = {"jobs": len(scheduler.jobs)}
        if not scheduler.running:
            found.add("failing", "the scheduler is not running")
            return found.status(details)
        wall = self._wall()
        latest = 0.0
        for job_id, counters in list(scheduler.jobs.items()):
            runs, errors, missed = self._seen.get(
                job_id, (counters.runs, counters.errors, counters.missed)
            )
            self._seen[job_id] = (counters.runs, counters.errors, counters.missed)
            new_runs, new_errors = counters.runs - runs, counters.errors - errors
            if new_runs:
                # Failing while every run since the last look failed; one good run clears it.
                self._failing[job_id] = new_errors == new_runs
            if counters.missed > missed:
                self._missed_at[job_id] = now
            next_run = scheduler.next_run(job_id)
            late = wall - next_run if next_run is not None else 0.0
            latest = max(latest, late)
            if late >= settings.late_failing:
                found.add("failing", f"job {job_id} is {duration(late)} late")
            elif late >= settings.late_degraded:
                found.add("degraded", f"job {job_id} is {duration(late)} late")
            if self._failing.get(job_id):
                found.add("degraded", f"job {job_id} is failing: {counters.last_error}")
            if now - self._missed_at.get(job_id, -settings.window) < settings.window:
                found.add("degraded", f"job {job_id} missed runs ({counters.missed} so far)")
        for gone in set(self._seen) - set(scheduler.jobs):
            for table in (self._seen, self._failing, self._missed_at):
                table.pop(gone, None)
        details["most_late_s"] = round(max(latest, 0.0), 3)
        details["failing_jobs"] = sorted(j for j, bad in self._failing.items() if bad)
        return found.status(details)


class SourcesCheck:
    """Sources run (not stuck restarting), and advertisements keep arriving."""

    name = "sources"

    def __init__(
        self,
        runner: SourceRunner,
        router: Router,
        settings: SourcesHealth,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        self._runner = runner
        self._router = router
        self._settings = settings
        # The hub's clock when given (silence is simulated time in a soak run), else `now`.
        self._monotonic = monotonic
        self._adverts = router.counters.advertisements
        self._heard_at: float | None = None

    def evaluate(self, now: float) -> HealthStatus:
        if self._monotonic is not None:
            now = self._monotonic()
        runner, settings = self._runner, self._settings
        found = _findings()
        adverts = self._router.counters.advertisements
        if self._heard_at is None or adverts != self._adverts:
            self._heard_at = now
            self._adverts = adverts
        states = {name: status.state for name, status in runner.status.items()}
        details: dict[str, object] = {"sources": states, "advertisements": adverts}
        if not runner.sources:
            found.add("degraded", "no source is enabled: the hub receives nothing")
            return found.status(details)
        restarting = [n for n, s in runner.status.items() if s.state == "restarting"]
        for name in restarting:
            status = runner.status[name]
            found.add(
                "failing" if len(restarting) == len(states) else "degraded",
                f"source {name} failed {status.restarts} times, restarting: {status.last_error}",
            )
        silent = now - self._heard_at
        details["silent_s"] = round(silent, 1)
        if any(s == "running" for s in states.values()):
            if silent >= settings.silence_failing:
                found.add("failing", f"no advertisement for {duration(silent)}")
            elif silent >= settings.silence_degraded:
                found.add("degraded", f"no advertisement for {duration(silent)}")
        return found.status(details)


class RouterCheck:
    """Most advertisements an integration recognises can be decoded (over a time window)."""

    name = "router"

    def __init__(self, router: Router, settings: SourcesHealth) -> None:
        self._router = router
        self._settings = settings
        # (time, totals) samples; the oldest one inside the window is the baseline.
        self._samples: deque[tuple[float, dict[str, tuple[int, int]]]] = deque()

    def _totals(self) -> dict[str, tuple[int, int]]:
        return {
            name: (c.decoded + c.repeats, c.errors)
            for name, c in self._router.counters.by_integration.items()
        }

    def evaluate(self, now: float) -> HealthStatus:
        settings = self._settings
        found = _findings()
        totals = self._totals()
        samples = self._samples
        samples.append((now, totals))
        while len(samples) > 1 and now - samples[1][0] >= settings.decode_errors_window:
            samples.popleft()
        baseline = samples[0][1]
        good = bad = 0
        failing_integrations: dict[str, int] = {}
        for name, (ok_count, errors) in totals.items():
            before_ok, before_errors = baseline.get(name, (0, 0))
            good += ok_count - before_ok
            new_errors = errors - before_errors
            bad += new_errors
            if new_errors:
                failing_integrations[name] = new_errors
        counters = self._router.counters
        details: dict[str, object] = {
            "advertisements": counters.advertisements,
            "unmatched": counters.unmatched,
            "decode_errors": sum(errors for _, errors in totals.values()),
        }
        share = bad / (good + bad) if bad else 0.0
        if bad >= settings.decode_errors_min and share >= settings.decode_errors_degraded:
            latest = self._router.recent_errors[-1] if self._router.recent_errors else None
            which = ", ".join(f"{n}: {c}" for n, c in sorted(failing_integrations.items()))
            reason = (
                f"{share:.0%} of recognised advertisements undecodable in the last "
                f"{duration(min(now - samples[0][0], settings.decode_errors_window))} ({which})"
            )
            if latest is not None:
                reason += f"; latest: {latest.address} {latest.reason}"
            found.add("degraded", reason)
        return found.status(details)


class ReporterCheck:
    """A component's or a source's own `health()`, guarded: a raising health() is failing."""

    def __init__(self, name: str, reporter: object) -> None:
        self.name = name
        self.reporter = reporter

    def evaluate(self, now: float) -> HealthStatus:
        health = getattr(self.reporter, "health", None)
        try:
            status = health() if callable(health) else None
        except Exception as exc:  # noqa: BLE001 - one broken reporter must not hide the rest
            return HealthStatus("failing", f"health() raised {type(exc).__name__}: {exc}")
        if not isinstance(status, HealthStatus) or status.state not in RANK:
            return HealthStatus("failing", f"health() returned {status!r}, not a HealthStatus")
        return status
