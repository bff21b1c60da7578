"""Notification channels: each has its own bounded queue and worker, so a channel that is
slow or down never holds back the alert engine or the other channels.

A notification that cannot be sent is retried with exponential backoff and jitter; after
the last try it is counted as failed and logged. A queue that overflows drops its oldest
notification and counts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from loguru import logger

from hub.config.models import ChannelConfig
from hub.health import HealthStatus

if TYPE_CHECKING:
    import aiohttp

Kind = Literal["firing", "resolved", "repeat"]
_ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's "not ended"
_NTFY_PRIORITY = {"critical": "urgent", "warning": "high", "info": "default"}


@dataclass(frozen=True, slots=True)
class Notification:
    """What people are told about one alert."""

    kind: Kind
    ts: float
    rule: str
    sensor: str
    address: str | None
    severity: str
    value: float | None
    message: str
    measurement: str | None
    started: float
    # When it resolved (resolved notifications only).
    ended: float | None = None
    # For free-form content such as the battery report (no alert behind it).
    title: str | None = None

    @property
    def status(self) -> Literal["firing", "resolved"]:
        return "resolved" if self.kind == "resolved" else "firing"

    def headline(self) -> str:
        if self.title:
            return self.title
        return f"[{self.status.upper()}] {self.rule}: {self.sensor}"


class Channel(Protocol):
    """Sends one notification; raises when it could not (the worker retries)."""

    name: str

    async def send(self, note: Notification) -> None: ...


class LogChannel:
    """Writes notifications to the hub's log (always available)."""

    name = "log"

    async def send(self, note: Notification) -> None:
        level = {"critical": "CRITICAL", "warning": "WARNING"}.get(note.severity, "INFO")
        if note.kind == "resolved":
            level = "INFO"
        logger.log(level, "{} — {}", note.headline(), note.message)


class HttpChannel:
    """Shared HTTP machinery of the webhook and ntfy channels."""

    def __init__(self, name: str, settings: ChannelConfig) -> None:
        self.name = name
        self._settings = settings
        self._session: aiohttp.ClientSession | None = None

    def _headers(self) -> dict[str, str]:
        headers = dict(self._settings.headers)
        if self._settings.token is not None:
            headers["Authorization"] = f"Bearer {self._settings.token.get_secret_value()}"
        return headers

    async def _post(
        self, *, json: Any = None, data: bytes | None = None, headers: dict[str, str]
    ) -> None:
        import aiohttp

        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=self._settings.timeout)
            self._session = aiohttp.ClientSession(timeout=timeout)
        assert self._settings.url is not None
        async with self._session.post(
            self._settings.url, json=json, data=data, headers=headers
        ) as response:
            if response.status >= 300:
                body = (await response.text())[:200]
                raise RuntimeError(f"HTTP {response.status}: {body}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class WebhookChannel(HttpChannel):
    """POSTs a JSON body shaped like Alertmanager's webhook payload."""

    async def send(self, note: Notification) -> None:
        await self._post(json=webhook_payload(self.name, note), headers=self._headers())


class NtfyChannel(HttpChannel):
    """ntfy-style push: the message as the body, title and priority in headers."""

    async def send(self, note: Notification) -> None:
        headers = self._headers()
        headers["Title"] = note.headline()
        headers["Priority"] = (
            "default" if note.kind == "resolved" else _NTFY_PRIORITY.get(note.severity, "default")
        )
        headers["Tags"] = "white_check_mark" if note.kind == "resolved" else "warning"
        await self._post(data=note.message.encode(), headers=headers)


def webhook_payload(receiver: str, note: Notification) -> dict[str, Any]:
    """The JSON body: Alertmanager's webhook format with one alert."""
    labels = {"alertname": note.rule, "sensor": note.sensor, "severity": note.severity}
    if note.address:
        labels["address"] = note.address
    if note.measurement:
        labels["measurement"] = note.measurement
    annotations = {"summary": note.message}
    if note.value is not None:
        annotations["value"] = f"{note.value:g}"
    alert = {
        "status": note.status,
        "labels": labels,
        "annotations": annotations,
        "startsAt": _iso(note.started),
        "endsAt": _iso(note.ended) if note.ended is not None else _ZERO_TIME,
        "fingerprint": f"{note.rule}:{note.address or note.sensor}",
    }
    return {
        "version": "4",
        "status": note.status,
        "receiver": receiver,
        "groupKey": f"{note.rule}:{note.sensor}",
        "repeat": note.kind == "repeat",
        "groupLabels": {"alertname": note.rule},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "alerts": [alert],
    }


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class ChannelCounters:
    """What one channel did so far."""

    sent: int = 0
    failed: int = 0
    retries: int = 0
    dropped: int = 0
    last_error: str = ""
    last_failure: float | None = None


@dataclass(slots=True)
class _Lane:
    channel: Channel
    settings: ChannelConfig
    queue: deque[Notification] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    empty: asyncio.Event = field(default_factory=asyncio.Event)  # set while nothing waits
    counters: ChannelCounters = field(default_factory=ChannelCounters)
    task: asyncio.Task[None] | None = None


class Notifier:
    """Hands notifications to channels without ever waiting for one."""

    def __init__(self, channels: Mapping[str, ChannelConfig]) -> None:
        self._lanes: dict[str, _Lane] = {"log": _Lane(LogChannel(), ChannelConfig(type="log"))}
        for name, settings in channels.items():
            self._lanes[name] = _Lane(_make(name, settings), settings)
        self._started = False

    @property
    def counters(self) -> dict[str, ChannelCounters]:
        return {name: lane.counters for name, lane in self._lanes.items()}

    def add_channel(self, channel: Channel, settings: ChannelConfig) -> None:
        """Plug in a channel built elsewhere (e.g. MQTT, which owns its connection)."""
        lane = _Lane(channel, settings)
        self._lanes[channel.name] = lane
        if self._started:
            lane.task = asyncio.get_running_loop().create_task(self._work(lane))

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._started = True
        for name, lane in self._lanes.items():
            lane.task = loop.create_task(self._work(lane), name=f"notify:{name}")

    async def stop(self, drain_timeout: float = 5.0) -> None:
        """Send what is queued (within the timeout), then close the channels."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(lane.empty.wait() for lane in self._lanes.values())),
                drain_timeout,
            )
        for lane in self._lanes.values():
            if lane.task is not None:
                lane.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lane.task
            if lane.queue:
                logger.warning(
                    "Channel {}: {} notifications not sent at shutdown",
                    lane.channel.name,
                    len(lane.queue),
                )
            close = getattr(lane.channel, "close", None)
            if close is not None:
                await close()
        self._started = False

    def notify(self, note: Notification, channels: Iterable[str]) -> None:
        """Queue `note` for each named channel; never waits."""
        for name in channels:
            lane = self._lanes.get(name)
            if lane is None:
                logger.error("Alert {} names unknown channel {!r}", note.rule, name)
                continue
            if len(lane.queue) >= lane.settings.queue_size:
                lane.queue.popleft()
                lane.counters.dropped += 1
            lane.queue.append(note)
            lane.empty.clear()
            lane.wake.set()

    async def _work(self, lane: _Lane) -> None:
        while True:
            if not lane.queue:
                lane.empty.set()
                lane.wake.clear()
                await lane.wake.wait()
                continue
            note = lane.queue[0]
            await self._deliver(lane, note)
            if lane.queue and lane.queue[0] is note:
                lane.queue.popleft()

    async def _deliver(self, lane: _Lane, note: Notification) -> None:
        settings, counters = lane.settings, lane.counters
        delay = settings.backoff
        for attempt in range(settings.retries + 1):
            try:
                await lane.channel.send(note)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure of a channel is counted
                counters.last_error = f"{type(exc).__name__}: {exc}"
                if attempt == settings.retries:
                    counters.failed += 1
                    counters.last_failure = time.time()
                    logger.warning(
                        "Channel {} could not send {} after {} tries: {}",
                        lane.channel.name,
                        note.headline(),
                        attempt + 1,
                        counters.last_error,
                    )
                    return
                counters.retries += 1
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # jitter, not security
                delay *= 2
            else:
                counters.sent += 1
                return

    def health(self, now: float, window: float = 600.0) -> HealthStatus:
        """Degraded while a channel has failed to deliver within `window` seconds."""
        failing = [
            f"{name}: {lane.counters.last_error}"
            for name, lane in self._lanes.items()
            if lane.counters.last_failure is not None and now - lane.counters.last_failure < window
        ]
        if failing:
            return HealthStatus("degraded", "notifications failing: " + "; ".join(failing))
        return HealthStatus("ok")


def _make(name: str, settings: ChannelConfig) -> Channel:
    if settings.type == "webhook":
        return WebhookChannel(name, settings)
    if settings.type == "ntfy":
        return NtfyChannel(name, settings)
    if settings.type == "log":
        return LogChannel()
    # An MQTT channel is added by the MQTT publisher, which owns the connection.
    return _Unavailable(name, "the mqtt section is not enabled")


class _Unavailable:
    """A channel whose transport is missing: every send fails with the reason."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self._reason = reason

    async def send(self, note: Notification) -> None:
        raise RuntimeError(self._reason)
