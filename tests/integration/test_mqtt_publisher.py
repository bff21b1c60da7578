"""The MQTT publisher in-process against a real Mosquitto: rate limits, outages, topics."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hub.bus import EventBus
from hub.clock import SystemClock
from hub.config.models import SchedulerConfig, StoreConfig
from hub.events import AlertChanged, BatteryReport, BatteryStatus, HealthChanged, Reading
from hub.mqtt.channel import alert_channel
from hub.mqtt.config import MqttConfig
from hub.mqtt.connection import MqttUnavailable
from hub.mqtt.publisher import MqttPublisher
from hub.mqtt.testing import Collector, Mosquitto
from hub.scheduler import Scheduler
from hub.store import SqliteStore

_names = itertools.count()


@pytest.fixture(scope="module")
def broker() -> Iterator[Mosquitto]:
    with Mosquitto() as mq:
        yield mq


def reading(address: str, ts: float, temperature: float, **extra: Any) -> Reading:
    return Reading(
        ts=ts,
        address=address,
        integration="ruuvi",
        model="RuuviTag",
        measurements={"temperature": temperature, "humidity": 40.0},
        rssi=-60,
        **extra,
    )


def address(i: int) -> str:
    return ":".join(f"{b:02X}" for b in (0xC0_00_00_00_00_00 + i).to_bytes(6, "big"))


@dataclass
class Running:
    publisher: MqttPublisher
    bus: EventBus
    store: SqliteStore
    prefix: str
    discovery: str


@asynccontextmanager
async def running(tmp_path: Path, port: int, **mqtt: Any) -> AsyncIterator[Running]:
    """A publisher with a real bus, store and scheduler; its own topic prefixes."""
    n = next(_names)
    prefix, discovery = f"t{n}", f"ha{n}"
    home_assistant = {"discovery_prefix": discovery, "status_topic": f"{discovery}/status"}
    home_assistant.update(mqtt.pop("home_assistant", {}))
    settings = MqttConfig.model_validate(
        {
            "enabled": True,
            "host": "127.0.0.1",
            "port": port,
            "topic_prefix": prefix,
            "min_interval": 0,
            "home_assistant": home_assistant,
            **mqtt,
        }
    )
    bus = EventBus()
    store = SqliteStore(StoreConfig(path=tmp_path / f"hub{n}.db"), SystemClock())
    await store.open()
    scheduler = Scheduler(SchedulerConfig())
    publisher = MqttPublisher(
        settings, bus=bus, store=store, scheduler=scheduler, client_id=f"test-{n}"
    )
    bus.start()
    scheduler.start()
    await publisher.start()
    try:
        yield Running(publisher, bus, store, prefix, discovery)
    finally:
        await publisher.stop()
        await bus.stop()
        scheduler.shutdown()
        await store.close()


async def connected(publisher: MqttPublisher, within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        await publisher.connection.wait_connected()


async def disconnected(publisher: MqttPublisher, within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        while publisher.connection.connected:  # noqa: ASYNC110 - polling a flag
            await asyncio.sleep(0.01)


def states(sub: Collector, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (m.topic, json.loads(m.payload))
        for m in sub.messages
        if m.topic.startswith(f"{prefix}/sensor/") and m.topic.endswith("/state") and m.payload
    ]


async def test_states_are_rate_limited_per_sensor_and_the_latest_wins(
    tmp_path: Path, broker: Mosquitto
) -> None:
    async with running(tmp_path, broker.port, min_interval=0.5) as hub:
        await connected(hub.publisher)
        async with Collector(broker.port, (f"{hub.prefix}/sensor/#",)) as sub:
            a, b = address(1), address(2)
            hub.bus.publish(reading(a, 1000, 20.0))
            hub.bus.publish(reading(b, 1000, 10.0))
            await sub.wait_until(lambda: len(states(sub, hub.prefix)) >= 2, 3, "first states")
            for i in range(1, 10):  # within the interval: held back, the latest kept
                hub.bus.publish(reading(a, 1000 + i * 0.01, 20.0 + i))
                hub.bus.publish(reading(b, 1000 + i * 0.01, 10.0 + i))
            await sub.wait_until(lambda: len(states(sub, hub.prefix)) >= 4, 3, "two states each")
            await asyncio.sleep(0.8)  # nothing more may come: no newer reading arrived
            got = states(sub, hub.prefix)
            by_sensor: dict[str, list[float]] = {}
            for topic, state in got:
                by_sensor.setdefault(topic.split("/")[2], []).append(state["temperature"])
            # The first reading goes out at once; the interval's last one at its end.
            assert by_sensor == {"c00000000001": [20.0, 29.0], "c00000000002": [10.0, 19.0]}
            times = [m.at for m in sub.messages if m.topic.endswith("c00000000001/state")]
            assert times[1] - times[0] >= 0.45
            assert hub.publisher.counters.superseded == 16
            assert got[1][1] == {"temperature": 10.0, "humidity": 40.0, "ts": 1000.0, "rssi": -60}


async def test_a_broker_outage_never_blocks_the_bus_and_only_latest_states_are_sent(
    tmp_path: Path,
) -> None:
    with Mosquitto() as mq:
        async with running(tmp_path, mq.port) as hub:
            await connected(hub.publisher)
            mq.stop()
            await disconnected(hub.publisher)
            # 200 sensors, 40 readings each, while the broker is away.
            started = time.monotonic()
            for round_ in range(40):
                for i in range(200):
                    hub.bus.publish(reading(address(i), 2000 + round_, round_ + i / 1000))
            hub.bus.publish(AlertChanged(2040.0, "hot", "Kitchen", "firing", value=31.0))
            await asyncio.wait_for(hub.bus.idle(), 2)
            handled_in = time.monotonic() - started
            stats = {s.name: s for s in hub.bus.stats()}
            assert stats["mqtt.readings"].dropped == 0
            assert stats["mqtt.readings"].delivered == 8000
            assert hub.publisher.counters.alerts == 0
            assert handled_in < 2, "the handler only updates memory"
            await asyncio.sleep(1.5)
            mq.start()
            async with Collector(mq.port, (f"{hub.prefix}/sensor/+/state",)) as sub:
                await sub.wait_until(lambda: len(states(sub, hub.prefix)) >= 200, 40, "200 states")
                await asyncio.sleep(0.3)
                got = states(sub, hub.prefix)
            # One state per sensor, the last one it had: latest, not a queue.
            assert len(got) == 200
            expected = {
                f"{hub.prefix}/sensor/{address(i).replace(':', '').lower()}/state": 39 + i / 1000
                for i in range(200)
            }
            assert {topic: state["temperature"] for topic, state in got} == expected
            assert hub.publisher.counters.alerts == 1, "the alert waited for the broker"
            counters = hub.publisher.connection.counters
            assert counters.connects == 2
            # ~2 s of outage with backoff starting at 0.5-1 s: a few tries, not a storm.
            assert 1 <= counters.failed_attempts <= 4, counters


async def test_alerts_health_and_battery_have_their_own_topics(
    tmp_path: Path, broker: Mosquitto
) -> None:
    async with running(tmp_path, broker.port) as hub:
        await connected(hub.publisher)
        async with Collector(broker.port, (f"{hub.prefix}/#",)) as sub:
            hub.bus.publish(
                AlertChanged(10.0, "freezer_warm", "Freezer", "firing", "critical", -12.5, "warm")
            )
            hub.bus.publish(AlertChanged(11.0, "freezer_warm", "Freezer", "pending", value=-14.0))
            hub.bus.publish(HealthChanged(12.0, "influxdb", "degraded", "ok", "timeouts"))
            hub.bus.publish(
                BatteryReport(13.0, (BatteryStatus(address(1), "Kitchen", 55.0, 2.9, 12.0, 90.0),))
            )
            await sub.wait_until(
                lambda: (
                    {f"{hub.prefix}/alerts", f"{hub.prefix}/status/health", f"{hub.prefix}/battery"}
                    <= set(sub.latest)
                ),
                3,
            )
            alerts = [json.loads(m.payload) for m in sub.messages if m.topic.endswith("/alerts")]
            assert alerts == [
                {
                    "ts": 10.0,
                    "rule": "freezer_warm",
                    "sensor": "Freezer",
                    "state": "firing",
                    "severity": "critical",
                    "value": -12.5,
                    "message": "warm",
                }
            ], "pending is not a notification"
            health = json.loads(sub.latest[f"{hub.prefix}/status/health"])
            assert health == {
                "state": "degraded",
                "components": {
                    "influxdb": {"state": "degraded", "reason": "timeouts", "since": 12.0}
                },
            }
            battery = json.loads(sub.latest[f"{hub.prefix}/battery"])
            assert battery["sensors"][0]["battery"] == 55.0
            # The last-will topic keeps its two plain words.
            assert sub.latest[f"{hub.prefix}/status"] == b"online"

        # Retained where a late subscriber needs them; alerts are events, not retained.
        async with Collector(broker.port, (f"{hub.prefix}/#",)) as late:
            await late.wait_until(lambda: f"{hub.prefix}/battery" in late.latest, 3)
            await asyncio.sleep(0.2)
            assert f"{hub.prefix}/alerts" not in late.latest
            assert f"{hub.prefix}/status/health" in late.latest


@dataclass(frozen=True)
class Note:
    """Shaped like the alert notifier's Notification."""

    kind: str
    ts: float
    rule: str
    sensor: str
    severity: str
    value: float | None
    message: str

    @property
    def status(self) -> str:
        return "resolved" if self.kind == "resolved" else "firing"


async def test_alert_channel_publishes_through_the_publishers_connection(tmp_path: Path) -> None:
    with Mosquitto() as mq:
        async with running(tmp_path, mq.port) as hub:
            channel = alert_channel(hub.bus, "pager")
            assert channel is not None
            assert channel.name == "pager"
            assert alert_channel(EventBus()) is None, "no mqtt publisher on that hub"
            await connected(hub.publisher)
            async with Collector(mq.port, (f"{hub.prefix}/alerts",)) as sub:
                await channel.send(Note("repeat", 5.0, "r", "Kitchen", "warning", 30.5, "hot"))
                await sub.wait_until(lambda: bool(sub.messages), 3)
            assert json.loads(sub.messages[0].payload) == {
                "kind": "repeat",
                "ts": 5.0,
                "rule": "r",
                "sensor": "Kitchen",
                "severity": "warning",
                "value": 30.5,
                "message": "hot",
                "status": "firing",
            }
            mq.stop()
            await disconnected(hub.publisher)
            # The notifier's worker sees the failure at once, and retries on its own terms.
            started = time.monotonic()
            with pytest.raises(MqttUnavailable):
                await channel.send(Note("firing", 6.0, "r", "Kitchen", "warning", 31.0, "x"))
            assert time.monotonic() - started < 0.5


async def test_expire_after_is_learned_from_the_sensors_interval(
    tmp_path: Path, broker: Mosquitto
) -> None:
    settings = {"home_assistant": {"expire_intervals": 5, "expire_min": 1}}
    async with running(tmp_path, broker.port, **settings) as hub:
        await connected(hub.publisher)
        topic = f"{hub.discovery}/sensor/c00000000007/temperature/config"
        async with Collector(broker.port, (topic,)) as sub:

            def expiries() -> list[int | None]:
                return [json.loads(m.payload).get("expire_after") for m in sub.messages]

            a = address(7)
            hub.bus.publish(reading(a, 1000, 20.0))
            await sub.wait_until(lambda: expiries() == [None], 3, "a config before any interval")
            for i in range(1, 4):  # every 2 s
                hub.bus.publish(reading(a, 1000 + 2 * i, 20.0))
            await sub.wait_until(lambda: expiries()[-1:] == [10], 3, "expire_after 10")
            for i in range(1, 13):  # now every 4 s: the median moves after a few
                hub.bus.publish(reading(a, 1006 + 4 * i, 20.0))
            await sub.wait_until(lambda: expiries()[-1:] == [20], 3, "expire_after 20")
            assert expiries() == [None, 10, 20], "announced only when it moved"


async def test_a_silent_sensor_goes_offline_and_comes_back(
    tmp_path: Path, broker: Mosquitto
) -> None:
    settings = {
        "poll_interval": 0.2,
        "home_assistant": {"expire_intervals": 1, "expire_min": 1},
    }
    async with running(tmp_path, broker.port, **settings) as hub:
        await connected(hub.publisher)
        topic = f"{hub.prefix}/sensor/c00000000009/availability"
        async with Collector(broker.port, (topic,)) as sub:
            a = address(9)
            for i in range(4):
                hub.bus.publish(reading(a, 1000 + i * 0.2, 20.0))
            await sub.wait_until(lambda: sub.latest.get(topic) == b"online", 3, "online")
            took = await sub.wait_until(lambda: sub.latest.get(topic) == b"offline", 5, "offline")
            assert 0.5 < took < 3, "after expire_after (1 s) without a reading"
            hub.bus.publish(reading(a, 1010, 20.0))
            await sub.wait_until(lambda: sub.latest.get(topic) == b"online", 3, "online again")


async def test_states_of_sensors_not_heard_since_a_restart_survive_a_broker_restart(
    tmp_path: Path,
) -> None:
    """A hub restarted; a sensor it stored before has been silent since. The broker then
    restarts without persistence: the sensor's last stored state is published again (found
    by the soak run: such sensors had no retained state left at all)."""
    path = tmp_path / "hub.db"
    store = SqliteStore(StoreConfig(path=path, min_interval=0), SystemClock())
    await store.open()
    await store.add(reading(address(7), 3000.0, 21.5))
    await store.close()
    settings = MqttConfig.model_validate(
        {"enabled": True, "host": "127.0.0.1", "topic_prefix": "seed", "min_interval": 0}
    )
    with Mosquitto() as mq:
        bus = EventBus()
        store = SqliteStore(StoreConfig(path=path, min_interval=0), SystemClock())
        await store.open()
        scheduler = Scheduler(SchedulerConfig())
        publisher = MqttPublisher(
            settings.model_copy(update={"port": mq.port}),
            bus=bus,
            store=store,
            scheduler=scheduler,
            client_id="test-seed",
        )
        bus.start()
        scheduler.start()
        await publisher.start()
        try:
            await connected(publisher)
            mq.stop()  # persistence false: every retained message is gone
            await disconnected(publisher)
            mq.start()
            await connected(publisher, within=10)
            topic = f"seed/sensor/{address(7).replace(':', '').lower()}/state"
            config = (
                f"homeassistant/sensor/{address(7).replace(':', '').lower()}/temperature/config"
            )
            async with Collector(mq.port, (topic, config)) as sub:
                await sub.wait_until(lambda: topic in sub.latest and config in sub.latest, 5)
            assert json.loads(sub.latest[topic]) == {
                "temperature": 21.5,
                "humidity": 40.0,
                "ts": 3000.0,
                "rssi": -60,
            }
        finally:
            await publisher.stop()
            await bus.stop()
            scheduler.shutdown()
            await store.close()
