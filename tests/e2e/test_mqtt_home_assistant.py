"""Home Assistant discovery as a user sees it: a real `hub run` on a replay capture, a real
Mosquitto, a subscriber in Home Assistant's place, and `hub sensors` on the running hub."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hub.events import Reading
from hub.mqtt.entities import entity_kind
from hub.mqtt.testing import Collector, Mosquitto, latest_readings
from hub.mqtt.topics import sensor_id

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo" / "ruuvitags.jsonl"

pytestmark = pytest.mark.slow

# What Home Assistant accepts for the device classes the hub uses (its sensor platform's
# DEVICE_CLASS_UNITS, for these classes).
HA_UNITS: dict[str, set[str | None]] = {
    "temperature": {"°C", "°F", "K"},
    "humidity": {"%"},
    "atmospheric_pressure": {"cbar", "bar", "hPa", "mmHg", "inHg", "kPa", "mbar", "Pa", "psi"},
    "battery": {"%"},
    "voltage": {"V", "mV", "µV", "kV", "MV"},
    "signal_strength": {"dB", "dBm"},
}
HA_KEYS = {
    "name",
    "unique_id",
    "state_topic",
    "value_template",
    "state_class",
    "device_class",
    "unit_of_measurement",
    "availability",
    "availability_mode",
    "qos",
    "device",
    "origin",
    "entity_category",
    "enabled_by_default",
    "expire_after",
}
TEMPLATE = re.compile(r"\{\{ value_json\.([a-z0-9_]+) \| default\('None'\) \}\}")


@dataclass
class Hub:
    proc: subprocess.Popen[bytes]
    config: Path
    log: Path
    broker: Mosquitto
    latest: dict[str, Reading]


def expected_state(reading: Reading) -> dict[str, Any]:
    return {**reading.measurements, "ts": reading.ts, "rssi": reading.rssi}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    directory = tmp_path_factory.mktemp("mqtt-ha")
    lines = DEMO.read_text().splitlines()[:800]
    capture = directory / "capture.jsonl"
    capture.write_text("\n".join(lines) + "\n")
    with Mosquitto() as broker:
        config = directory / "hub.yaml"
        config.write_text(
            json.dumps(
                {
                    "hub": {"name": "e2e"},
                    "logging": {"level": "DEBUG", "format": "json"},
                    "store": {"path": "hub.db", "flush_interval": "1s", "min_interval": 0},
                    "sources": {"demo": {"type": "replay", "file": str(capture), "speed": 0}},
                    "mqtt": {
                        "enabled": True,
                        "host": "127.0.0.1",
                        "port": broker.port,
                        "min_interval": "1s",
                        "poll_interval": "1s",
                    },
                }
            )
        )
        log = directory / "hub.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB__")}
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "hub", "run", "--config", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=directory,
            )
        try:
            yield Hub(proc, config, log, broker, latest_readings(lines))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def configs(sub: Collector) -> dict[str, dict[str, Any]]:
    return {
        topic: json.loads(payload)
        for topic, payload in sub.latest.items()
        if topic.startswith("homeassistant/") and topic.endswith("/config") and payload
    }


def expected_topics(hub: Hub) -> set[str]:
    return {
        f"homeassistant/sensor/{sensor_id(address)}/{name}/config"
        for address, reading in hub.latest.items()
        for name in [*reading.measurements, "rssi"]
    }


def states_match(sub: Collector, hub: Hub) -> bool:
    for address, reading in hub.latest.items():
        payload = sub.latest.get(f"hub/sensor/{sensor_id(address)}/state")
        if not payload or json.loads(payload) != expected_state(reading):
            return False
    return True


def everything_there(sub: Collector, hub: Hub) -> bool:
    return expected_topics(hub) <= set(configs(sub)) and states_match(sub, hub)


def check_home_assistant_config(topic: str, config: dict[str, Any], hub: Hub) -> None:
    """The fields Home Assistant's MQTT sensor needs, consistent with each other."""
    _, _, sid, measurement, _ = topic.split("/")
    address = next(a for a in hub.latest if sensor_id(a) == sid)
    assert set(config) <= HA_KEYS, set(config) - HA_KEYS
    assert config["unique_id"] == f"ble_{sid}_{measurement}"
    assert config["state_topic"] == f"hub/sensor/{sid}/state"
    match = TEMPLATE.fullmatch(config["value_template"])
    assert match is not None
    assert match.group(1) == measurement
    assert config["state_class"] == "measurement"
    device_class = config.get("device_class")
    if device_class is not None:
        assert config.get("unit_of_measurement") in HA_UNITS[device_class], config
    assert entity_kind(measurement).unit == config.get("unit_of_measurement")
    assert config["availability_mode"] == "all"
    assert config["availability"] == [
        {"topic": "hub/status"},
        {"topic": f"hub/sensor/{sid}/availability"},
    ]
    device = config["device"]
    assert device["identifiers"] == [f"ble_{sid}"]
    assert device["connections"] == [["bluetooth", address]]
    assert device["model"] == "RuuviTag"
    assert device["manufacturer"]
    assert isinstance(config["expire_after"], int)
    assert config["expire_after"] >= 60


async def test_every_sensor_and_measurement_is_discovered_with_its_latest_state(hub: Hub) -> None:
    async with Collector(hub.broker.port, ("homeassistant/#", "hub/#")) as sub:
        await sub.wait_until(lambda: everything_there(sub, hub), 30, "discovery and states")
        found = configs(sub)
        assert len(hub.latest) >= 6
        assert set(found) == expected_topics(hub), "one entity per sensor and measurement"
        for topic, config in found.items():
            check_home_assistant_config(topic, config, hub)
        names = {c["device"]["name"] for c in found.values()}
        assert names == {r.name for r in hub.latest.values()}, "advertised names until renamed"
        assert sub.latest["hub/status"] == b"online"
        for address in hub.latest:
            assert sub.latest[f"hub/sensor/{sensor_id(address)}/availability"] == b"online"
        temperature = found[
            f"homeassistant/sensor/{sensor_id(next(iter(hub.latest)))}/temperature/config"
        ]
        assert (temperature["device_class"], temperature["unit_of_measurement"]) == (
            "temperature",
            "°C",
        )


async def test_home_assistant_online_brings_back_every_config_and_state(hub: Hub) -> None:
    port = hub.broker.port
    async with Collector(port, ("homeassistant/#", "hub/#")) as sub:
        await sub.wait_until(lambda: everything_there(sub, hub), 30, "discovery and states")
        # Forget everything the broker retained, as a broker without persistence would.
        for topic in list(sub.latest):
            if topic != "hub/status":
                await sub.publish(topic, b"", retain=True)
    async with Collector(port, ("homeassistant/#", "hub/sensor/#")) as empty:
        await asyncio.sleep(0.5)
        assert not [m for m in empty.messages if m.payload], "retained messages cleared"

        await empty.publish("homeassistant/status", b"online")
        took = await empty.wait_until(lambda: everything_there(empty, hub), 5, "resync")
    assert took < 3, f"Home Assistant waited {took:.2f} s"


def hub_sensors(hub: Hub, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "hub", "sensors", "--config", str(hub.config), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        cwd=hub.config.parent,
    )
    return result.stdout


async def test_rename_move_and_disable_update_or_remove_the_entities(hub: Hub) -> None:
    renamed, disabled, *_ = sorted(hub.latest)
    rid, did = sensor_id(renamed), sensor_id(disabled)
    port = hub.broker.port
    async with Collector(port, ("homeassistant/#", "hub/sensor/#")) as sub:
        await sub.wait_until(lambda: everything_there(sub, hub), 30, "discovery and states")
        ours = [t for t in configs(sub) if f"/{rid}/" in t]
        await asyncio.to_thread(hub_sensors, hub, "rename", renamed, "Kitchen")
        await asyncio.to_thread(hub_sensors, hub, "set", "Kitchen", "--location", "ground floor")

        def moved() -> bool:
            found = configs(sub)
            return all(
                found[t]["device"].get("name") == "Kitchen"
                and found[t]["device"].get("suggested_area") == "ground floor"
                for t in ours
            )

        await sub.wait_until(moved, 10, "renamed entities")
        found = configs(sub)
        assert all(found[t]["unique_id"] == f"ble_{rid}_{t.split('/')[3]}" for t in ours)

        theirs = [t for t in configs(sub) if f"/{did}/" in t]
        await asyncio.to_thread(hub_sensors, hub, "disable", disabled)
        await sub.wait_until(
            lambda: (
                all(sub.latest.get(t) == b"" for t in theirs)
                and sub.latest.get(f"hub/sensor/{did}/availability") == b"offline"
            ),
            10,
            "removed entities",
        )
        assert sub.latest[f"hub/sensor/{did}/state"] == b"", "its retained state cleared"

    # A newcomer (Home Assistant starting) finds the others, but nothing of the disabled one.
    async with Collector(port, ("homeassistant/#",)) as fresh:
        await fresh.wait_until(lambda: len(configs(fresh)) >= len(expected_topics(hub)) - 20, 5)
        await asyncio.sleep(0.3)
        left = configs(fresh)
        assert not [t for t in left if f"/{did}/" in t]
        assert [t for t in left if f"/{rid}/" in t]
    assert hub.proc.poll() is None, "the hub is still running"
