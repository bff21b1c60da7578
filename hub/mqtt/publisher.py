"""The MQTT publisher component: sensor states, Home Assistant discovery, alerts, health and
battery reports, from the bus to a broker.

The bus handlers never wait for the broker: they only update what is kept in memory, the
latest reading per sensor (not a queue) and the few messages waiting to go out. A sender,
which runs only while connected, publishes what is due. Every (re)connection, and every
`online` from Home Assistant, republishes all discovery configs and all latest states, so
nothing is lost by an outage except the readings that a newer one replaced.

States are rate-limited per sensor: at most one per `min_interval`, and the one sent at the
end of an interval is the latest reading (latest wins).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import aiomqtt
import orjson
from loguru import logger

from hub.errors import HubError
from hub.events import AlertChanged, BatteryReport, HealthChanged, Reading
from hub.health import HealthStatus
from hub.mqtt.channel import register_channel
from hub.mqtt.connection import MqttConnection
from hub.mqtt.directory import SensorRow, last_measurement_names, last_readings, read_sensors
from hub.mqtt.discovery import (
    DiscoveryLedger,
    IntervalTracker,
    SensorMeta,
    expire_after,
    expire_moved,
)
from hub.mqtt.stream import PublishStream
from hub.mqtt.topics import Topics, sensor_id

if TYPE_CHECKING:
    from hub.bus import EventBus
    from hub.components import ComponentContext
    from hub.config.models import DeviceConfig
    from hub.mqtt.config import MqttConfig
    from hub.scheduler import Scheduler
    from hub.store import SqliteStore

ONLINE, OFFLINE = b"online", b"offline"
# At shutdown, how long the states still waiting for their interval may take to go out.
_FINAL_FLUSH_S = 2.0
_ALERT_STATES = ("firing", "resolved")
_SEVERITY = {"ok": 0, "degraded": 1, "failing": 2}

Message = tuple[str, bytes, bool, bool]  # topic, payload, retain, is a state


@dataclass(slots=True)
class PublisherCounters:
    """What the publisher did so far."""

    readings: int = 0
    states: int = 0
    superseded: int = 0  # readings replaced by a newer one before they were published
    discovery: int = 0
    removals: int = 0
    resyncs: int = 0
    alerts: int = 0
    alerts_dropped: int = 0
    over_limit: int = 0  # readings of sensors beyond max_sensors
    poll_errors: int = 0
    last_poll_error: str = ""


@dataclass(slots=True)
class _Sensor:
    """What is kept about one sensor: its latest reading and what was announced."""

    address: str
    sid: str
    latest: Reading | None = None
    sent: bool = True  # the latest reading was published
    last_sent: float = float("-inf")  # loop time of the last state published
    last_heard: float = 0.0  # loop time of the last reading
    timer: asyncio.TimerHandle | None = None
    intervals: IntervalTracker = field(default_factory=IntervalTracker)
    measurements: set[str] = field(default_factory=set)
    announced_expire: int | None = None
    online: bool = False
    disabled: bool = False
    integration: str = ""
    model: str | None = None
    advertised_name: str | None = None


def default_client_id(hub_name: str) -> str:
    return f"hub-{hub_name}-{socket.gethostname()}"[:128]


class MqttPublisher:
    """See the module docstring."""

    name = "mqtt"

    def __init__(
        self,
        settings: MqttConfig,
        *,
        bus: EventBus,
        store: SqliteStore,
        scheduler: Scheduler,
        devices: Mapping[str, DeviceConfig] | None = None,
        client_id: str,
    ) -> None:
        self.settings = settings
        self._bus = bus
        self._store = store
        self._scheduler = scheduler
        self._devices = dict(devices or {})
        ha = settings.home_assistant
        self.topics = Topics(settings.topic_prefix, ha.discovery_prefix)
        self._ledger = DiscoveryLedger(self.topics, settings.qos)
        self.connection = MqttConnection(
            settings,
            name="publisher",
            client_id=client_id,
            status_topic=self.topics.status,
            subscriptions=[(ha.status_topic, 1)] if ha.enabled else [],
            on_message=self._on_message,
            session=self._session,
            incoming_queue=100,
            timeout=settings.timeout,
        )
        self._sensors: dict[str, _Sensor] = {}
        self._rows: dict[str, SensorRow] = {}
        # What waits for the sender: addresses (insertion-ordered sets) and messages.
        self._due_states: dict[str, None] = {}
        self._due_discovery: dict[str, None] = {}
        self._due_availability: dict[str, None] = {}
        self._removals: list[tuple[str, bytes]] = []
        self._alerts: deque[bytes] = deque()
        self._battery: bytes | None = None
        self._battery_due = False
        self._health: dict[str, dict[str, object]] = {}
        self._health_due = False
        self._resync = False
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._unsubscribe: list[Callable[[], None]] = []
        self._warned_limit = False
        self.counters = PublisherCounters()
        # Built before any component starts, so the alert notifier finds it at its start.
        register_channel(bus, self)

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        await self.poll()
        await self._seed_latest()
        bus, size = self._bus, self.settings.queue_size
        self._unsubscribe = [
            bus.subscribe(Reading, self.on_reading, name="mqtt.readings", queue_size=size),
            bus.subscribe(AlertChanged, self.on_alert, name="mqtt.alerts", queue_size=size),
            bus.subscribe(HealthChanged, self.on_health, name="mqtt.health", queue_size=size),
            bus.subscribe(BatteryReport, self.on_battery, name="mqtt.battery", queue_size=size),
        ]
        self._scheduler.add_interval("mqtt.sensors", self.poll, self.settings.poll_interval)
        self.connection.start()
        logger.info(
            "MQTT publisher: states under {}/sensor/, discovery under {}/ ({}), "
            "one state per sensor per {:g} s at most",
            self.topics.prefix,
            self.topics.discovery_prefix,
            "on" if self.settings.home_assistant.enabled else "off",
            self.settings.min_interval,
        )

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        self._scheduler.remove("mqtt.sensors")
        # States held back by the rate limit go out now rather than never.
        for sensor in self._sensors.values():
            if sensor.timer is not None:
                sensor.timer.cancel()
                sensor.timer = None
                self._due_states[sensor.address] = None
        if self.connection.connected:
            # Until everything due is sent and acknowledged.
            self._idle.clear()
            self._wake.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), _FINAL_FLUSH_S)
        await self.connection.stop()

    @property
    def waiting_states(self) -> int:
        """States due but not yet handed to the broker."""
        return len(self._due_states)

    def health(self) -> HealthStatus:
        base = self.connection.health()
        counters = self.counters
        details = {
            **base.details,
            "sensors": len(self._sensors),
            "states": counters.states,
            "superseded": counters.superseded,
            "discovery_configs": counters.discovery,
            "resyncs": counters.resyncs,
            "alerts_dropped": counters.alerts_dropped,
            "over_limit": counters.over_limit,
            "waiting_states": self.waiting_states,
            "bus_dropped": sum(s.dropped for s in self._bus.stats() if s.name.startswith("mqtt.")),
        }
        if base.state == "ok" and counters.poll_errors and counters.last_poll_error:
            return HealthStatus("degraded", f"sensors table: {counters.last_poll_error}", details)
        return HealthStatus(base.state, base.reason, details)

    # -- bus handlers: memory only, never the network -------------------------------------

    def on_reading(self, reading: Reading) -> None:
        self.counters.readings += 1
        sensor = self._sensors.get(reading.address) or self._new_sensor(reading.address)
        if sensor is None or sensor.disabled:
            return
        latest = sensor.latest
        if latest is not None:
            if reading.ts < latest.ts:  # a late copy from a slower receiver
                return
            if not sensor.sent:
                self.counters.superseded += 1
        sensor.intervals.add(reading.ts)
        sensor.latest = reading
        sensor.sent = False
        sensor.last_heard = asyncio.get_running_loop().time()
        sensor.integration = reading.integration
        sensor.model = reading.model or sensor.model
        sensor.advertised_name = reading.name or sensor.advertised_name
        announce = False
        for name in reading.measurements:
            if name not in sensor.measurements:
                sensor.measurements.add(name)
                announce = True
        if reading.rssi is not None and "rssi" not in sensor.measurements:
            sensor.measurements.add("rssi")
            announce = True
        if expire_moved(sensor.announced_expire, self._expire(sensor)):
            announce = True
        if announce:
            self._due_discovery[sensor.address] = None
        if not sensor.online:
            sensor.online = True
            self._due_availability[sensor.address] = None
            announce = True
        # The sender wakes only when something is due now, not for every held-back reading.
        if self._schedule_state(sensor) or announce:
            self._wake.set()

    def on_alert(self, event: AlertChanged) -> None:
        if not self.settings.alerts or event.state not in _ALERT_STATES:
            return
        payload = {
            "ts": event.ts,
            "rule": event.rule,
            "sensor": event.sensor,
            "state": event.state,
            "severity": event.severity,
            "value": event.value,
            "message": event.message,
        }
        self.queue_alert(orjson.dumps(payload))

    def queue_alert(self, payload: bytes) -> None:
        """Keep an alert message for the sender; beyond `alert_queue` the oldest goes."""
        if len(self._alerts) >= self.settings.alert_queue:
            self._alerts.popleft()
            self.counters.alerts_dropped += 1
        self._alerts.append(payload)
        self._wake.set()

    def on_health(self, event: HealthChanged) -> None:
        self._health[event.component] = {
            "state": event.state,
            "reason": event.reason,
            "since": event.ts,
        }
        self._health_due = True
        self._wake.set()

    def on_battery(self, report: BatteryReport) -> None:
        self._battery = orjson.dumps(
            {"ts": report.ts, "sensors": [asdict(s) for s in report.sensors]}
        )
        self._battery_due = True
        self._wake.set()

    def _on_message(self, message: aiomqtt.Message) -> None:
        ha = self.settings.home_assistant
        # A retained `online` is only Home Assistant's old birth message: the connection
        # that delivered it has just resynced anyway.
        if (
            ha.enabled
            and not message.retain
            and message.topic.matches(ha.status_topic)
            and isinstance(message.payload, bytes | bytearray)
            and message.payload.strip().lower() == ONLINE
        ):
            logger.info("Home Assistant is online: publishing discovery and states again")
            self.request_resync()

    def request_resync(self) -> None:
        """Publish every discovery config and every latest state again."""
        self._resync = True
        self._wake.set()

    # -- sensors -------------------------------------------------------------------------

    def _new_sensor(self, address: str) -> _Sensor | None:
        row = self._rows.get(address)
        if len(self._sensors) >= self.settings.max_sensors:
            self.counters.over_limit += 1
            if not self._warned_limit:
                self._warned_limit = True
                logger.warning(
                    "MQTT: more than {} sensors; readings of further ones are not published",
                    self.settings.max_sensors,
                )
            return None
        sensor = _Sensor(address, sensor_id(address), disabled=bool(row and row.disabled))
        self._sensors[address] = sensor
        return sensor

    async def _seed_latest(self) -> None:
        """Each sensor's newest stored reading is its latest state until it is heard again:
        a broker that forgets its retained messages (restarted without persistence) gets
        every sensor's state back at the next connection, also of sensors not heard since
        the hub started. Published at the first connection too (the states retained there
        may be older, or gone)."""
        try:
            stored = await last_readings(self._store.connection)
        except (sqlite3.Error, HubError, ValueError) as exc:
            logger.warning("MQTT: cannot read the last stored readings: {}", exc)
            return
        for reading in stored:
            sensor = self._sensors.get(reading.address) or self._new_sensor(reading.address)
            if sensor is None or sensor.disabled or sensor.latest is not None:
                continue
            sensor.latest = reading
            sensor.integration = reading.integration
            sensor.model = reading.model or sensor.model
            sensor.advertised_name = reading.name or sensor.advertised_name
            sensor.measurements.update(reading.measurements)
            if reading.rssi is not None:
                sensor.measurements.add("rssi")

    def _expire(self, sensor: _Sensor) -> int | None:
        ha = self.settings.home_assistant
        return expire_after(
            sensor.intervals.usual, self.settings.min_interval, ha.expire_intervals, ha.expire_min
        )

    def _meta(self, sensor: _Sensor) -> SensorMeta:
        row = self._rows.get(sensor.address)
        device = self._devices.get(sensor.address)
        name = (
            (row.name if row else None)
            or (device.name if device else None)
            or (row.advertised_name if row else None)
            or sensor.advertised_name
            or sensor.address
        )
        return SensorMeta(
            address=sensor.address,
            name=name,
            integration=sensor.integration or (row.integration if row else "unknown"),
            model=sensor.model or (row.model if row else None),
            location=(row.location if row else None) or (device.location if device else None),
        )

    def _schedule_state(self, sensor: _Sensor) -> bool:
        """Mark the sensor's state due now (True), or at the end of its interval."""
        if not self.connection.connected:
            return False  # the next connection publishes every latest state
        loop = asyncio.get_running_loop()
        due = sensor.last_sent + self.settings.min_interval
        if loop.time() >= due:
            self._due_states[sensor.address] = None
            return True
        if sensor.timer is None:
            sensor.timer = loop.call_at(due, self._state_due, sensor.address)
        return False

    def _state_due(self, address: str) -> None:
        sensor = self._sensors.get(address)
        if sensor is None:
            return
        sensor.timer = None
        if sensor.latest is not None and not sensor.sent:
            self._due_states[address] = None
            self._wake.set()

    async def poll(self) -> None:
        """Follow renames, moves and disabled sensors; mark silent sensors offline."""
        try:
            rows = await read_sensors(self._store.connection)
        except (sqlite3.Error, HubError, ValueError) as exc:
            self.counters.poll_errors += 1
            self.counters.last_poll_error = str(exc)
            logger.warning("MQTT: cannot read the sensors table: {}", exc)
            return
        self.counters.last_poll_error = ""
        for address, row in rows.items():
            old = self._rows.get(address)
            if old == row:
                continue
            self._rows[address] = row
            sensor = self._sensors.get(address)
            if row.disabled and (old is None or not old.disabled):
                await self._disable(address, sensor)
            elif sensor is not None and sensor.disabled and not row.disabled:
                logger.info("MQTT: {} enabled again; announced at its next reading", address)
                sensor.disabled = False
            elif sensor is not None and not sensor.disabled:
                # Only configs whose payload changed (a name, a place) are sent again.
                self._due_discovery[address] = None
        self._mark_silent_offline()
        self._wake.set()

    async def _disable(self, address: str, sensor: _Sensor | None) -> None:
        """Remove a disabled sensor's entities (empty retained configs) and its state."""
        if sensor is None:
            # Heard in an earlier run only: its entities may still be on the broker.
            names: list[str] = []
            with contextlib.suppress(sqlite3.Error, HubError, ValueError):
                names = await last_measurement_names(self._store.connection, address)
            sensor = self._new_sensor(address)
            if sensor is None:
                return
            sensor.measurements.update(names)
        else:
            logger.info("MQTT: {} disabled; removing its Home Assistant entities", address)
        sensor.disabled = True
        if sensor.timer is not None:
            sensor.timer.cancel()
            sensor.timer = None
        self._due_states.pop(address, None)
        self._due_discovery.pop(address, None)
        self._due_availability.pop(address, None)
        self._removals.extend(self._removal_messages(sensor))
        sensor.latest = None
        sensor.sent = True
        sensor.online = False
        sensor.announced_expire = None

    def _removal_messages(self, sensor: _Sensor) -> list[tuple[str, bytes]]:
        """Empty retained configs and state, and `offline`: what removes a sensor."""
        out = []
        if self.settings.home_assistant.enabled:
            out.extend(self._ledger.removals(sensor.sid, sensor.measurements))
        out.append((self.topics.state(sensor.sid), b""))
        out.append((self.topics.availability(sensor.sid), OFFLINE))
        return out

    def _mark_silent_offline(self) -> None:
        now = asyncio.get_running_loop().time()
        for sensor in self._sensors.values():
            expire = sensor.announced_expire
            if sensor.online and expire is not None and now - sensor.last_heard > expire:
                sensor.online = False
                self._due_availability[sensor.address] = None

    # -- the sender (runs while connected) -----------------------------------------------

    async def _session(self, client: aiomqtt.Client) -> None:
        """Publish what is due as it becomes due (`hub.mqtt.stream`): new work is taken while
        earlier messages are in flight. The first failed publish ends the session; the next
        one resyncs everything."""
        self._resync = True
        stream = PublishStream(client, self.settings.qos, self.counters, self._wake)
        try:
            while True:
                self._wake.clear()
                for message in self._take():
                    await stream.publish(*message)
                while self._alerts:
                    taken = list(self._alerts)
                    self._alerts.clear()
                    for i, payload in enumerate(taken):
                        try:
                            await stream.publish(
                                self.topics.alerts, payload, False, False, alert=True
                            )
                        except BaseException:
                            self._alerts.extendleft(reversed(taken[i:]))
                            raise
                stream.check()
                if self._wake.is_set():
                    continue
                if not stream.in_flight:
                    self._idle.set()
                await self._wake.wait()
                self._idle.clear()
        finally:
            unsent = await stream.close()
            # Alerts the broker never acknowledged go out on the next connection.
            for payload in reversed(unsent):
                if len(self._alerts) >= self.settings.alert_queue:
                    self.counters.alerts_dropped += 1
                    continue
                self._alerts.appendleft(payload)

    def _prepare_resync(self) -> None:
        self._resync = False
        self.counters.resyncs += 1
        self._ledger.forget_all()
        for address, sensor in self._sensors.items():
            if sensor.disabled:
                # Again: a removal lost with the last connection must not leave entities.
                self._removals.extend(self._removal_messages(sensor))
                continue
            if sensor.latest is None:
                continue
            self._due_discovery[address] = None
            self._due_availability[address] = None
            self._due_states[address] = None
        self._battery_due = self._battery is not None
        self._health_due = bool(self._health)

    def _take(self) -> list[Message]:
        """Everything due, in the order Home Assistant needs it: removals, configs,
        availability, then states."""
        if self._resync:
            self._prepare_resync()
        out: list[Message] = [(topic, payload, True, False) for topic, payload in self._removals]
        self.counters.removals += len(self._removals)
        self._removals = []
        if self._due_discovery:
            due, self._due_discovery = self._due_discovery, {}
            for address in due:
                if self.settings.home_assistant.enabled:
                    out.extend(self._configs(address))
                else:  # still the measure of silence for the availability topic
                    sensor = self._sensors[address]
                    sensor.announced_expire = self._expire(sensor) or sensor.announced_expire
        if self._due_availability:
            due, self._due_availability = self._due_availability, {}
            for address in due:
                sensor = self._sensors[address]
                payload = ONLINE if sensor.online else OFFLINE
                out.append((self.topics.availability(sensor.sid), payload, True, False))
        if self._due_states:
            due, self._due_states = self._due_states, {}
            now = asyncio.get_running_loop().time()
            retain = self.settings.retain
            for address in due:
                sensor = self._sensors[address]
                reading = sensor.latest
                if reading is None or sensor.disabled:
                    continue
                sensor.last_sent = now
                sensor.sent = True
                out.append((self.topics.state(sensor.sid), state_payload(reading), retain, True))
        if self._battery_due and self._battery is not None:
            self._battery_due = False
            out.append((self.topics.battery, self._battery, True, False))
        if self._health_due:
            self._health_due = False
            out.append((self.topics.health, self._health_payload(), True, False))
        return out

    def _configs(self, address: str) -> list[Message]:
        sensor = self._sensors[address]
        if sensor.disabled or sensor.latest is None:
            return []
        expire = self._expire(sensor)
        if expire is None:
            expire = sensor.announced_expire
        sensor.announced_expire = expire
        configs = self._ledger.changed(self._meta(sensor), sensor.sid, sensor.measurements, expire)
        self.counters.discovery += len(configs)
        return [(topic, payload, True, False) for topic, payload in configs]

    def _health_payload(self) -> bytes:
        worst = max(
            (str(c["state"]) for c in self._health.values()),
            key=lambda s: _SEVERITY.get(s, 0),
            default="ok",
        )
        return orjson.dumps({"state": worst, "components": self._health})


def state_payload(reading: Reading) -> bytes:
    """The state message: every measurement by its canonical name, the time, the rssi."""
    state: dict[str, object] = dict(reading.measurements)
    state["ts"] = reading.ts
    if reading.rssi is not None:
        state["rssi"] = reading.rssi
    if reading.states:
        state["states"] = dict(reading.states)
    return orjson.dumps(state)


def build(context: ComponentContext) -> MqttPublisher | None:
    """The publisher when `mqtt.enabled` is set, else None."""
    settings = context.config.mqtt
    if not settings.enabled:
        return None
    if settings.alerts and any(c.type == "mqtt" for c in context.config.notify.values()):
        # Rules route alerts to <prefix>/alerts through their `mqtt` channel (with repeats);
        # publishing every transition here as well would send each alert twice.
        settings = settings.model_copy(update={"alerts": False})
    return MqttPublisher(
        settings,
        bus=context.bus,
        store=context.store,
        scheduler=context.scheduler,
        devices=context.config.devices,
        client_id=settings.client_id or default_client_id(context.config.hub.name),
    )
