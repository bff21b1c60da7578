"""Telling people about health: a check failing for `notify_after` is sent to the channels
like an alert ("influxdb failing for 10 min: ..."), and its recovery too.

The channels are the alert service's (`hub.alerts.notify.Notifier`): the same webhook,
ntfy or MQTT channels, queues and retries. When alerts are off, a notifier of our own is
made from the same `notify:` config.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

from loguru import logger

from hub.alerts.notify import Notification
from hub.healthmon.checks import duration
from hub.healthmon.monitor import HealthReport

if TYPE_CHECKING:
    from hub.healthmon.config import HealthConfig

RULE = "hub_health"


class NotifierLike(Protocol):
    """What we need of the alert service's notifier."""

    def notify(self, note: Notification, channels: Iterable[str]) -> None: ...


class HealthNotifications:
    """Decides when a check has been bad long enough to tell, and when it is over."""

    def __init__(self, settings: HealthConfig, notifier: Callable[[], NotifierLike | None]):
        self._settings = settings
        self._notifier = notifier
        self._bad_since: dict[str, float] = {}
        self._told: dict[str, float] = {}
        self.sent = 0

    def _is_bad(self, state: str) -> bool:
        return state == "failing" or (state == "degraded" and self._settings.notify_degraded)

    def update(self, report: HealthReport) -> None:
        """Look at a new report; send what is due. Never waits."""
        settings = self._settings
        now = report.ts
        for name, result in report.checks.items():
            if self._is_bad(result.state):
                since = self._bad_since.setdefault(name, result.since)
                if name not in self._told and now - since >= settings.notify_after:
                    self._told[name] = since
                    self._send(
                        Notification(
                            kind="firing",
                            ts=now,
                            rule=RULE,
                            sensor=name,
                            address=None,
                            severity="critical" if result.state == "failing" else "warning",
                            value=None,
                            message=f"{name} {result.state} for {duration(now - since)}: "
                            f"{result.status.reason}",
                            measurement=None,
                            started=since,
                            title=f"[{result.state.upper()}] hub health: {name}",
                        )
                    )
            else:
                self._bad_since.pop(name, None)
                started = self._told.pop(name, None)
                if started is not None:
                    self._send(
                        Notification(
                            kind="resolved",
                            ts=now,
                            rule=RULE,
                            sensor=name,
                            address=None,
                            severity="info",
                            value=None,
                            message=f"{name} is {result.state} again after "
                            f"{duration(now - started)}",
                            measurement=None,
                            started=started,
                            ended=now,
                            title=f"[RESOLVED] hub health: {name}",
                        )
                    )
        for gone in set(self._bad_since) - set(report.checks):
            self._bad_since.pop(gone, None)
            self._told.pop(gone, None)

    def _send(self, note: Notification) -> None:
        channels = self._settings.notify
        notifier = self._notifier()
        if not channels or notifier is None:
            return
        self.sent += 1
        logger.debug("Health notification to {}: {}", ", ".join(channels), note.message)
        notifier.notify(note, channels)
