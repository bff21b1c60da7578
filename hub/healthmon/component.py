"""The health component: evaluates the checks on a schedule, publishes HealthChanged on the
bus for every change, logs it, and tells the notification channels about lasting failures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loguru import logger

from hub.alerts.notify import Notifier
from hub.components import ComponentContext
from hub.errors import HubError
from hub.events import HealthChanged
from hub.health import HealthStatus
from hub.healthmon.checks import RANK
from hub.healthmon.monitor import HealthMonitor, HealthReport
from hub.healthmon.notify import HealthNotifications, NotifierLike
from hub.healthmon.view import HubView

if TYPE_CHECKING:
    from hub.app import Hub
    from hub.healthmon.config import HealthConfig

JOB_ID = "health.check"


def build(context: ComponentContext) -> HealthComponent | None:
    settings = context.config.health
    if not settings.enabled:
        return None
    known = context.config.channel_names()
    unknown = [name for name in settings.notify if name not in known]
    if unknown:
        raise HubError(
            f"health.notify names channels not defined under notify: {unknown} "
            f"(defined: {', '.join(known)})"
        )
    return HealthComponent(context, settings)


class HealthComponent:
    """Owns the monitor and its scheduled job."""

    name = "health"

    def __init__(self, context: ComponentContext, settings: HealthConfig) -> None:
        self._context = context
        self._settings = settings
        self._view = HubView.of_context(context)
        self._monitor: HealthMonitor | None = None
        self._report: HealthReport | None = None
        self._own_notifier: Notifier | None = None
        self.notifications = HealthNotifications(settings, self._find_notifier)
        self.published = 0

    def attach(self, hub: Hub) -> None:
        """Called by the hub before `start`: the checks see its sources and components."""
        self._view = HubView.of_hub(hub)

    @property
    def view(self) -> HubView:
        return self._view

    async def start(self) -> None:
        self._monitor = HealthMonitor(
            self._view, self._settings, skip=self, hub_monotonic=self._view.clock.monotonic
        )
        if self._settings.notify and self._alerts_notifier() is None:
            # Alerts are off: the same channels, from the same config, on their own.
            self._own_notifier = Notifier(
                {n: c for n, c in self._context.config.notify.items() if n in self._settings.notify}
            )
            await self._own_notifier.start()
        self._context.scheduler.add_interval(JOB_ID, self.check_job, self._settings.interval)
        logger.info(
            "Health checks every {:g}s; failures told to {} after {:g}s",
            self._settings.interval,
            ", ".join(self._settings.notify) or "nobody (log and bus only)",
            self._settings.notify_after,
        )

    async def stop(self) -> None:
        self._context.scheduler.remove(JOB_ID)
        if self._own_notifier is not None:
            await self._own_notifier.stop()
            self._own_notifier = None

    async def check_job(self) -> None:
        """Scheduled: evaluate, publish and tell."""
        self.check()

    def check(self) -> HealthReport:
        """Evaluate every check now; publish a HealthChanged for each change."""
        if self._monitor is None:
            self._monitor = HealthMonitor(
                self._view, self._settings, skip=self, hub_monotonic=self._view.clock.monotonic
            )
        report, changes = self._monitor.evaluate()
        self._report = report
        bus = self._context.bus
        for change in changes:
            _log(change)
            bus.publish(change)
            self.published += 1
        self.notifications.update(report)
        return report

    @property
    def last_report(self) -> HealthReport | None:
        return self._report

    def latest(self) -> HealthReport:
        """The last report; evaluated now if there is none yet."""
        return self._report if self._report is not None else self.check()

    def _alerts_notifier(self) -> NotifierLike | None:
        alerts = self._view.component("alerts")
        notifier = getattr(alerts, "notifier", None)
        return notifier if callable(getattr(notifier, "notify", None)) else None

    def _find_notifier(self) -> NotifierLike | None:
        return self._alerts_notifier() or self._own_notifier

    def health(self) -> HealthStatus:
        report = self._report
        details = {
            "evaluations": self._monitor.evaluations if self._monitor else 0,
            "changes_published": self.published,
            "notifications": self.notifications.sent,
            "status": report.state if report else None,
        }
        return HealthStatus("ok", "", details)


def _log(change: HealthChanged) -> None:
    worse = RANK[change.state] > RANK[change.previous]
    logger.log(
        "WARNING" if worse else "INFO",
        "Health: {} is {} (was {}){}",
        change.component,
        change.state,
        change.previous,
        f": {change.reason}" if change.reason else "",
    )
