"""An `mqtt` alert notification channel, through the publisher's own connection.

The alert notifier (`hub.alerts.notify`) runs channels that have a `name` and an
`async send(note)` that raises when the note could not be delivered (its worker retries
with backoff). The MQTT publisher owns the broker connection, so it registers itself here
when it is built, and the notifier asks for the channel by the bus both share:

    channel = alert_channel(context.bus, name="mqtt")
    if channel is not None:
        notifier.add_channel(channel, settings)

`send` publishes one JSON message to `<prefix>/alerts` (not retained) and returns once the
broker acknowledged it (QoS 1 and 2); it raises `MqttUnavailable` while the broker is
unreachable, so the notifier's retries and counters apply. It never waits longer than
`timeout` seconds.
"""

from __future__ import annotations

import weakref
from dataclasses import asdict, is_dataclass
from typing import TYPE_CHECKING, Any, Protocol

import aiomqtt
import orjson

from hub.mqtt.connection import MqttUnavailable

if TYPE_CHECKING:
    from hub.bus import EventBus
    from hub.mqtt.publisher import MqttPublisher

_PUBLISHERS: weakref.WeakKeyDictionary[EventBus, MqttPublisher] = weakref.WeakKeyDictionary()


class AlertNote(Protocol):
    """What the channel reads from a notification (hub.alerts.notify.Notification)."""

    @property
    def rule(self) -> str: ...

    @property
    def sensor(self) -> str: ...


def register_channel(bus: EventBus, publisher: MqttPublisher) -> None:
    """Make `publisher`'s connection available as an alert channel to the hub using `bus`."""
    _PUBLISHERS[bus] = publisher


def alert_channel(
    bus: EventBus, name: str = "mqtt", timeout: float = 5.0
) -> MqttAlertChannel | None:
    """The MQTT alert channel of the hub using `bus`; None when `mqtt` is not enabled."""
    publisher = _PUBLISHERS.get(bus)
    if publisher is None:
        return None
    return MqttAlertChannel(name, publisher, timeout)


def note_payload(note: object) -> dict[str, Any]:
    """A notification as a JSON object: its fields, plus `status` when it has one."""
    if is_dataclass(note) and not isinstance(note, type):
        payload = asdict(note)
    elif isinstance(note, dict):
        payload = dict(note)
    else:
        payload = {k: v for k, v in vars(note).items() if not k.startswith("_")}
    status = getattr(note, "status", None)
    if isinstance(status, str):
        payload["status"] = status
    return payload


class MqttAlertChannel:
    """Publishes alert notifications to `<prefix>/alerts`; see the module docstring."""

    def __init__(self, name: str, publisher: MqttPublisher, timeout: float = 5.0) -> None:
        self.name = name
        self._publisher = publisher
        self._timeout = timeout
        self.sent = 0

    @property
    def topic(self) -> str:
        return self._publisher.topics.alerts

    async def send(self, note: AlertNote) -> None:
        await self.publish(note_payload(note))

    async def publish(self, payload: dict[str, Any]) -> None:
        """Publish one alert payload; raises MqttUnavailable if the broker did not take it."""
        publisher = self._publisher
        body = orjson.dumps(payload, default=str)
        try:
            await publisher.connection.publish(
                self.topic,
                body,
                qos=publisher.settings.qos,
                retain=False,
                wait_s=self._timeout,
            )
        except aiomqtt.MqttError as exc:
            raise MqttUnavailable(f"the broker did not take the alert: {exc}") from exc
        self.sent += 1
