"""Remote receivers over MQTT: what gateways publish reaches the store exactly as the same
advertisements replayed locally do (the whole hub in-process, a real Mosquitto)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from hub.config.loader import load_config
from hub.container import Container
from hub.events import Advertisement
from hub.mqtt.testing import Mosquitto
from hub.records import parse_line
from hub.runtime import serve
from integrations.mqtt_gateway.adstructures import build_ad
from integrations.mqtt_gateway.source import GatewaySource

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo" / "ruuvitags.jsonl"
SAMPLES = sorted((ROOT / "integrations").glob("*/samples.jsonl"))
GW_RUUVI = "C8:25:2D:8E:9C:2C"
GW_OMG = "attic"

Message = tuple[str, bytes]


@pytest.fixture(scope="module")
def broker() -> Iterator[Mosquitto]:
    with Mosquitto() as mq:
        yield mq


def capture_lines() -> list[str]:
    """Ruuvi tags from the demo capture, and every integration's samples."""
    lines = DEMO.read_text().splitlines()[:300]
    for path in SAMPLES:
        lines += [line for line in path.read_text().splitlines() if line.strip()]
    return lines


def ruuvi_gateway(adv: Advertisement, gateway: str = GW_RUUVI) -> Message:
    data = build_ad(
        manufacturer_data=dict(adv.manufacturer_data),
        service_data=dict(adv.service_data),
        name=adv.name,
    )
    payload = {
        "gw_mac": gateway,
        "rssi": adv.rssi,
        "aoa": [],
        "gwts": str(int(adv.ts)),
        "ts": str(int(adv.ts)),
        "data": data.hex().upper(),
        "coords": "",
    }
    return f"ruuvi/{gateway}/{adv.address}", json.dumps(payload).encode()


def openmqttgateway(adv: Advertisement, gateway: str = GW_OMG) -> Message:
    payload: dict[str, Any] = {"id": adv.address, "mac_type": 0, "rssi": adv.rssi}
    if adv.name:
        payload["name"] = adv.name
    for company, data in adv.manufacturer_data.items():
        payload["manufacturerdata"] = (company.to_bytes(2, "little") + data).hex()
    for uuid, data in adv.service_data.items():
        short = uuid[4:8] if uuid.endswith("-0000-1000-8000-00805f9b34fb") else uuid
        payload["servicedata"] = data.hex()
        payload["servicedatauuid"] = f"0x{short}" if len(short) == 4 else short
    topic = f"home/{gateway}/BTtoMQTT/{adv.address.replace(':', '')}"
    return topic, json.dumps(payload).encode()


def write_config(tmp_path: Path, sources: dict[str, Any]) -> Path:
    config = {
        "hub": {"summary_interval": "1h"},
        "store": {"path": "hub.db", "flush_interval": "1s", "min_interval": 0},
        "alerts": {"enabled": False},
        "sources": sources,
    }
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "hub.yaml"
    path.write_text(json.dumps(config))
    return path


async def run_hub(
    directory: Path, sources: dict[str, Any], drive: Callable[[Container], Awaitable[None]]
) -> Path:
    """Run the whole hub until `drive` returns, then stop it; returns its database."""
    config = load_config(write_config(directory, sources), environ={})
    container = Container(config=config)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, container=container, stop=stop))
    try:
        async with asyncio.timeout(30):
            await drive(container)
    finally:
        stop.set()
        assert await task == 0
    return directory / "hub.db"


async def until(condition: Callable[[], bool]) -> None:
    while not condition():  # noqa: ASYNC110 - polling the hub's counters
        await asyncio.sleep(0.01)


def stored(db: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(readings in order without their time, sensors) as the store has them."""
    with sqlite3.connect(db) as conn:
        readings = conn.execute(
            "SELECT s.address, r.sequence, r.measurements, r.rssi, r.extra FROM readings r "
            "JOIN sensors s ON s.id = r.sensor_id ORDER BY r.id"
        ).fetchall()
        sensors = conn.execute(
            "SELECT address, integration, model, advertised_name FROM sensors ORDER BY address"
        ).fetchall()
    return readings, sensors


def write_capture(directory: Path, lines: list[str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    capture = directory / "capture.jsonl"
    capture.write_text("\n".join(lines) + "\n")
    return capture


async def replayed_locally(directory: Path, lines: list[str]) -> Path:
    capture = write_capture(directory, lines)
    source = {"type": "replay", "file": str(capture), "speed": 0, "timestamps": "now"}

    async def drive(container: Container) -> None:
        runner = container.sources()
        await until(lambda: runner.status["local"].state == "finished")

    return await run_hub(directory, {"local": source}, drive)


async def through_gateways(
    directory: Path, port: int, messages: list[Message], topics: list[dict[str, str]]
) -> tuple[Path, GatewaySource]:
    source = {
        "type": "mqtt_gateway",
        "host": "127.0.0.1",
        "port": port,
        "qos": 1,
        "topics": topics,
    }
    sources: list[GatewaySource] = []

    async def drive(container: Container) -> None:
        gateway = container.sources().sources[0]
        assert isinstance(gateway, GatewaySource)
        sources.append(gateway)
        await gateway.connection.wait_connected()
        router = container.router()
        async with aiomqtt.Client("127.0.0.1", port) as client:
            for topic, payload in messages:
                await client.publish(topic, payload, qos=1)
        await until(lambda: gateway.messages == len(messages))
        await until(lambda: router.counters.advertisements >= gateway.advertisements)
        unread = gateway.bad + sum(gateway.skipped.values())
        assert gateway.advertisements == len(messages) - unread

    db = await run_hub(directory, {"gateways": source}, drive)
    return db, sources[0]


TOPICS = {
    "ruuvi": [{"topic": "ruuvi/#", "format": "ruuvi"}],
    "openmqttgateway": [{"topic": "home/+/BTtoMQTT/#", "format": "openmqttgateway"}],
}


@pytest.mark.parametrize(
    ("fmt", "convert"), [("ruuvi", ruuvi_gateway), ("openmqttgateway", openmqttgateway)]
)
async def test_gateway_messages_store_the_same_readings_as_a_local_replay(
    tmp_path: Path,
    broker: Mosquitto,
    fmt: str,
    convert: Callable[[Advertisement], Message],
) -> None:
    lines = capture_lines()
    local = await replayed_locally(tmp_path / "local", lines)
    messages = [convert(parse_line(line)) for line in lines]
    remote, source = await through_gateways(tmp_path / "remote", broker.port, messages, TOPICS[fmt])

    local_readings, local_sensors = stored(local)
    remote_readings, remote_sensors = stored(remote)
    assert len(local_readings) > 150, "the capture decodes into many readings"
    assert remote_readings == local_readings
    assert remote_sensors == local_sensors
    assert source.bad == 0
    assert source.dropped == 0
    assert set(source.gateways) == {GW_RUUVI if fmt == "ruuvi" else GW_OMG}


async def test_several_receivers_merge_like_several_local_adapters(
    tmp_path: Path, broker: Mosquitto
) -> None:
    lines = DEMO.read_text().splitlines()[:400]
    local = await replayed_locally(tmp_path / "local", lines)
    # Every advertisement heard by two Ruuvi Gateways and an OpenMQTTGateway, in turn.
    messages: list[Message] = []
    for line in lines:
        adv = parse_line(line)
        messages += [
            ruuvi_gateway(adv, "AA:00:00:00:00:01"),
            openmqttgateway(adv, "garage"),
            ruuvi_gateway(adv, "AA:00:00:00:00:02"),
        ]
    topics = TOPICS["ruuvi"] + TOPICS["openmqttgateway"]
    remote, source = await through_gateways(tmp_path / "remote", broker.port, messages, topics)
    assert stored(remote) == stored(local), "each measurement stored once"
    assert source.gateways == {"AA:00:00:00:00:01": 400, "garage": 400, "AA:00:00:00:00:02": 400}


async def test_unreadable_messages_are_counted_and_the_source_carries_on(
    tmp_path: Path, broker: Mosquitto
) -> None:
    good = parse_line(DEMO.read_text().splitlines()[0])
    messages: list[Message] = [
        ("ruuvi/gw/C8:25:2D:8E:AB:4C", b"\xff\xfe not json"),
        ("ruuvi/gw/C8:25:2D:8E:AB:4C", b'{"data": "0201061BFF99"}'),  # cut short
        ("ruuvi/gw/gw_status", b'{"state": "online"}'),  # not an advertisement
        ("home/gw/BTtoMQTT/C8252D8EAB4C", b'{"id": "C8:25:2D:8E:AB:4C", "tempc": 21.5}'),
        ruuvi_gateway(good),
    ]
    topics = TOPICS["ruuvi"] + TOPICS["openmqttgateway"]
    remote, source = await through_gateways(tmp_path, broker.port, messages, topics)
    readings, _ = stored(remote)
    assert len(readings) == 1
    assert readings[0][0] == good.address
    assert source.bad == 2
    assert dict(source.skipped) == {"not a tag topic": 1, "no raw advertisement data": 1}
