"""Evaluates every check, remembers since when each is in its state, and reports changes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hub.events import HealthChanged, HealthState
from hub.health import HealthStatus
from hub.healthmon.checks import (
    BusCheck,
    Check,
    ReporterCheck,
    RouterCheck,
    SchedulerCheck,
    SourcesCheck,
    StoreCheck,
    worst,
)
from hub.healthmon.view import HubView
from hub.timekeeping.health import ClockCheck

if TYPE_CHECKING:
    from hub.healthmon.config import HealthConfig

SOURCE_PREFIX = "source:"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's status, and the wall time its state began."""

    name: str
    status: HealthStatus
    since: float

    @property
    def state(self) -> HealthState:
        return self.status.state

    def to_json(self, now: float) -> dict[str, Any]:
        return {
            "state": self.status.state,
            "reason": self.status.reason,
            "since": self.since,
            "for_s": round(max(0.0, now - self.since), 3),
            "details": _plain(self.status.details),
        }


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Every check at one moment; `state` is the worst of them."""

    ts: float
    state: HealthState
    checks: dict[str, CheckResult] = field(default_factory=dict)

    def problems(self) -> list[CheckResult]:
        return [r for r in self.checks.values() if r.state != "ok"]

    def summary(self) -> str:
        """`ok`, or e.g. `failing: store (only 12 MiB free on /var/lib/hub)`."""
        bad = self.problems()
        if not bad:
            return "ok"
        shown = ", ".join(f"{r.name} ({r.status.reason})" for r in bad[:3])
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        return f"{self.state}: {shown}{more}"

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.state,
            "ts": self.ts,
            "checks": {name: r.to_json(self.ts) for name, r in sorted(self.checks.items())},
        }


def _plain(value: object) -> Any:
    """Details as JSON-ready data (a component may put anything in them)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


class HealthMonitor:
    """The hub's checks: the core parts, then every component and source with `health()`."""

    def __init__(
        self,
        view: HubView,
        settings: HealthConfig,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        skip: object = None,
        hub_monotonic: Callable[[], float] | None = None,
    ) -> None:
        self._view = view
        self._monotonic = monotonic
        self._wall = wall
        # The component that owns this monitor: its own health() is not a check.
        self._skip = skip
        core: list[Check] = [
            StoreCheck(view.store, settings.store, view.config.store.max_buffer),
            BusCheck(view.bus, settings.bus),
            SchedulerCheck(view.scheduler, settings.scheduler, wall),
            RouterCheck(view.router, settings.sources),
        ]
        if view.sources is not None:
            # Silence is measured on `hub_monotonic` when given: the hub's clock, simulated
            # in a soak run; the other checks watch real-time machinery.
            core.append(
                SourcesCheck(view.sources, view.router, settings.sources, monotonic=hub_monotonic)
            )
        if view.clock_guard is not None:
            core.append(ClockCheck(view.clock_guard, view.store))
        self._core = core
        self._reporters: dict[str, ReporterCheck] = {}
        self._results: dict[str, CheckResult] = {}
        self.evaluations = 0

    def _checks(self) -> list[Check]:
        """The core checks and one per reporter; reporters are looked up afresh each time."""
        wanted: dict[str, object] = {}
        for component in self._view.components:
            if component is self._skip or not callable(getattr(component, "health", None)):
                continue
            wanted[str(getattr(component, "name", type(component).__name__))] = component
        if self._view.sources is not None:
            for source in self._view.sources.sources:
                if callable(getattr(source, "health", None)):
                    wanted[SOURCE_PREFIX + source.name] = source
        for name, reporter in wanted.items():
            check = self._reporters.get(name)
            if check is None or check.reporter is not reporter:
                self._reporters[name] = ReporterCheck(name, reporter)
        for gone in set(self._reporters) - set(wanted):
            del self._reporters[gone]
        return [*self._core, *self._reporters.values()]

    def evaluate(self) -> tuple[HealthReport, list[HealthChanged]]:
        """Run every check; returns the report and one event per check whose state changed."""
        now, wall = self._monotonic(), self._wall()
        results: dict[str, CheckResult] = {}
        changes: list[HealthChanged] = []
        for check in self._checks():
            try:
                status = check.evaluate(now)
            except Exception as exc:  # noqa: BLE001 - a bug in one check must not hide the rest
                status = HealthStatus("failing", f"the check itself failed: {exc!r}")
            before = self._results.get(check.name)
            previous: HealthState = before.state if before is not None else "ok"
            since = before.since if before is not None and previous == status.state else wall
            results[check.name] = CheckResult(check.name, status, since)
            if status.state != previous:
                changes.append(
                    HealthChanged(
                        ts=wall,
                        component=check.name,
                        state=status.state,
                        previous=previous,
                        reason=status.reason,
                    )
                )
        self._results = results
        self.evaluations += 1
        state = worst(r.state for r in results.values())
        return HealthReport(wall, state, results), changes
