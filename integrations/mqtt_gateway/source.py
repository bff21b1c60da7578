"""A source that listens to BLE gateways on an MQTT broker.

Each message on a configured topic is read in its gateway's format (`formats`) and handed
to the router as an advertisement, exactly like one from a local adapter: decoded by the
same integrations, stored, alerted on. Readings of one sensor heard by several receivers
merge as those of several local adapters do (the router drops repeated measurements).

The connection reconnects by itself (`hub.mqtt.connection`); messages wait in a bounded
buffer between the connection and the router, and beyond it the oldest are dropped and
counted, so a slow store never makes the broker disconnect us.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter, deque
from typing import Literal

import aiomqtt
from loguru import logger
from pydantic import Field, field_validator

from hub.clock import Clock
from hub.config.models import SourceSettings
from hub.config.types import Section
from hub.events import Advertisement
from hub.integrations import AdvertisementSink, SourceContext
from hub.mqtt.config import BrokerSettings, check_filter
from hub.mqtt.connection import MqttConnection
from integrations.mqtt_gateway.formats import (
    NO_RAW_DATA,
    Format,
    GatewayMessageError,
    Received,
    parse_message,
)

# Bad messages are logged for the first few, then at most this often; all are counted.
_LOG_FIRST = 5
_LOG_INTERVAL_S = 300.0


class GatewayTopic(Section):
    """One subscription and the format of its messages."""

    topic: str
    format: Format

    @field_validator("topic")
    @classmethod
    def _filter(cls, value: str) -> str:
        return check_filter(value)


def _default_topics() -> list[GatewayTopic]:
    return [
        GatewayTopic(topic="ruuvi/#", format="ruuvi"),
        GatewayTopic(topic="home/+/BTtoMQTT/#", format="openmqttgateway"),
    ]


class GatewaySettings(SourceSettings, BrokerSettings):
    """Settings of an `mqtt_gateway` source: the broker, and what to listen to."""

    type: Literal["mqtt_gateway"] = "mqtt_gateway"
    topics: list[GatewayTopic] = Field(default_factory=_default_topics, min_length=1)
    qos: Literal[0, 1, 2] = 0
    # `now`: the time the hub received the message; `gateway`: the gateway's own time when
    # the message carries one (Ruuvi Gateway, whole seconds), else the time received.
    timestamps: Literal["now", "gateway"] = "now"
    # Advertisements waiting for the router; beyond it the oldest are dropped and counted.
    queue_size: int = Field(default=10_000, ge=10)


class GatewaySource:
    """See the module docstring."""

    def __init__(self, name: str, settings: GatewaySettings, context: SourceContext) -> None:
        self.name = name
        self._settings = settings
        self._clock: Clock = context.clock
        # With the gateway's own times the hub's clock guard has nothing to check.
        self.live_timestamps = settings.timestamps == "now"
        self._pending: deque[Advertisement] = deque()
        self._wake = asyncio.Event()
        self.messages = 0
        self.advertisements = 0
        self.dropped = 0
        self.bad = 0
        self.skipped: Counter[str] = Counter()
        self.gateways: Counter[str] = Counter()
        self._last_bad_log = -_LOG_INTERVAL_S
        self._hinted = False
        self.connection = MqttConnection(
            settings,
            name=f"source {name}",
            client_id=settings.client_id or f"hub-{name}-{socket.gethostname()}"[:128],
            subscriptions=[(t.topic, settings.qos) for t in settings.topics],
            on_message=self._on_message,
            incoming_queue=settings.queue_size,
            timeout=settings.timeout,
        )

    @classmethod
    def create(cls, name: str, settings: SourceSettings, context: SourceContext) -> GatewaySource:
        assert isinstance(settings, GatewaySettings)
        return cls(name, settings, context)

    async def run(self, sink: AdvertisementSink) -> None:
        self.connection.start()
        try:
            while True:
                pending = self._pending
                if not pending:
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                await sink(pending.popleft())
        finally:
            await self.connection.stop()

    def _on_message(self, message: aiomqtt.Message) -> None:
        self.messages += 1
        topic = str(message.topic)
        fmt = next(
            (t.format for t in self._settings.topics if message.topic.matches(t.topic)), None
        )
        payload = message.payload
        if fmt is None or not isinstance(payload, bytes | bytearray):
            self.skipped["no format for the topic"] += 1
            return
        try:
            found = parse_message(
                fmt,
                topic,
                bytes(payload),
                now=self._clock.time(),
                source=self.name,
                gateway_time=self._settings.timestamps == "gateway",
            )
        except GatewayMessageError as exc:
            self._bad(topic, str(exc))
            return
        if not isinstance(found, Received):
            self.skipped[found.reason] += 1
            if found.reason == NO_RAW_DATA and not self._hinted:
                self._hinted = True
                logger.warning(
                    "Source {}: messages on {} carry no raw advertisement data; set the "
                    "gateway to publish raw data (see integrations/mqtt_gateway/README.md)",
                    self.name,
                    topic,
                )
            return
        self.advertisements += 1
        self.gateways[found.gateway] += 1
        if len(self._pending) >= self._settings.queue_size:
            self._pending.popleft()
            self.dropped += 1
        self._pending.append(found.advertisement)
        self._wake.set()

    def _bad(self, topic: str, reason: str) -> None:
        self.bad += 1
        now = time.monotonic()
        if self.bad <= _LOG_FIRST or now - self._last_bad_log >= _LOG_INTERVAL_S:
            self._last_bad_log = now
            logger.warning(
                "Source {}: unreadable message on {} ({}); {} so far",
                self.name,
                topic,
                reason,
                self.bad,
            )
