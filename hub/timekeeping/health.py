"""The `clock` health check: is the hub stamping readings with a clock it can trust?"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.events import HealthState
from hub.health import HealthStatus
from hub.timekeeping.guard import ClockGuard, clock_time, describe_duration

if TYPE_CHECKING:
    from hub.store import SqliteStore

# A step, a release with an untrusted clock, or refused readings stay in the health report
# this long (monotonic seconds of the hub's clock).
RECENT_S = 3600.0
# Readings refused as older than their sensor's stored ones make the check degraded from
# this many within RECENT_S: a handful comes from receivers delivering out of order.
REFUSED_MIN = 10


class ClockCheck:
    """ok; degraded while holding, after a step, while unsynchronised, or when readings are
    refused as older than the stored ones; failing when readings went on with an untrusted
    clock recently."""

    name = "clock"

    def __init__(
        self, guard: ClockGuard, store: SqliteStore | None = None, recent: float = RECENT_S
    ) -> None:
        self._guard = guard
        self._store = store
        self._recent = recent
        self._refused_seen = self._refused()
        self._refused_first = self._refused_seen
        self._refused_at: float | None = None

    def _refused(self) -> int:
        return self._store.throttle.stale if self._store is not None else 0

    def evaluate(self, now: float) -> HealthStatus:
        # `now` is the monitor's real monotonic time; this check works in the hub's clock,
        # like the guard (they differ only under a simulated clock).
        guard = self._guard
        mono = guard.clock.monotonic()
        details = guard.status()
        problems: list[tuple[HealthState, str]] = []
        step = guard.last_step
        counters = guard.counters

        if guard.given_up:
            problems.append(
                (
                    "failing",
                    f"system clock still not trusted: {counters.released_unsynchronised:,} "
                    "advertisements passed on with the best time known",
                )
            )
        elif (
            guard.last_unsynchronised_release is not None
            and mono - guard.last_unsynchronised_release < self._recent
        ):
            problems.append(
                (
                    "failing",
                    f"{counters.released_unsynchronised:,} advertisements were passed on with "
                    "an untrusted clock, last at "
                    f"{clock_time(guard.wall(guard.last_unsynchronised_release))}",
                )
            )

        if guard.suspect and not guard.given_up:
            since = guard.suspect_since if guard.suspect_since is not None else mono
            what = (
                f"system clock {step.describe()} at {clock_time(step.wall)}"
                if step is not None and step.mono >= since
                else "system clock not synchronised"
            )
            problems.append(
                (
                    "degraded",
                    f"{what}: holding {guard.held:,} advertisements since "
                    f"{clock_time(guard.wall(since))}",
                )
            )
        elif step is not None and mono - step.mono < self._recent:
            problems.append(
                ("degraded", f"system clock {step.describe()} at {clock_time(step.wall)}")
            )
        if guard.unsynchronised_since is not None:
            problems.append(
                (
                    "degraded",
                    "system clock not synchronised since "
                    f"{clock_time(guard.wall(guard.unsynchronised_since))}"
                    + (" (stored as stamped)" if guard.settings.unsynchronised == "store" else ""),
                )
            )

        refused = self._refused()
        if refused > self._refused_seen:
            if self._refused_at is None or mono - self._refused_at >= self._recent:
                self._refused_first = self._refused_seen
            self._refused_seen = refused
            self._refused_at = mono
        details["refused_older_than_stored"] = refused
        if self._refused_at is not None and mono - self._refused_at < self._recent:
            recent = refused - self._refused_first
            if recent >= REFUSED_MIN:
                problems.append(
                    (
                        "degraded",
                        f"{recent:,} readings not stored in the last "
                        f"{describe_duration(self._recent)}: older than their sensor's last "
                        "stored reading (is the clock behind the stored data?)",
                    )
                )

        if not problems:
            return HealthStatus("ok", "", details)
        state: HealthState = "failing" if any(s == "failing" for s, _ in problems) else "degraded"
        problems.sort(key=lambda p: p[0] != "failing")
        return HealthStatus(state, "; ".join(reason for _, reason in problems), details)
