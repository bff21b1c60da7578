"""The live alert service across restarts, in a real hub built by the container."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers

from hub.clock import ManualClock
from hub.config.loader import load_config
from hub.container import Container
from hub.runtime import serve
from integrations.ruuvi.df5 import encode
from tests.integration.test_alert_notify import Server, until

ADDRESS = "CE:3A:88:14:6F:02"
T0 = 1_795_155_600.0
RULES = """
rules:
  - name: freezer_warm
    sensors: ["Freezer"]
    measurement: temperature
    above: -15
    hysteresis: 1
    notify: [hook]
  - name: freezer_silent
    sensors: ["Freezer"]
    stale: 10m
    notify: [hook]
"""


def capture(path: Path, temperatures: list[float], first_seq: int, t0: float) -> None:
    lines = []
    for i, temperature in enumerate(temperatures):
        payload = encode(
            temperature=temperature,
            humidity=70,
            pressure=1008,
            acceleration=(0, 0, 1),
            voltage=2.9,
            tx_power=4,
            movement_counter=0,
            sequence=first_seq + i,
            mac=bytes.fromhex(ADDRESS.replace(":", "")),
        )
        record = {
            "ts": t0 + 10 * i,
            "address": ADDRESS,
            "manufacturer_data": {"1177": payload.hex()},
        }
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n")


async def run_hub(tmp_path: Path, server: Server, clock: ManualClock, until_: Any) -> None:
    (tmp_path / "alerts.yaml").write_text(RULES)
    config_data = {
        "store": {"path": "hub.db", "min_interval": 0},
        "alerts": {"rules": "alerts.yaml", "tick_interval": "0.2s"},
        "notify": {"hook": {"type": "webhook", "url": server.url}},
        "devices": {ADDRESS: {"name": "Freezer"}},
        "sources": {"replay": {"file": "capture.jsonl", "speed": 0}},
    }
    (tmp_path / "hub.yaml").write_text(json.dumps(config_data))
    config = load_config(tmp_path / "hub.yaml")
    container = Container(config=config)
    container.clock.override(providers.Object(clock))
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, container=container, stop=stop))
    runner = container.sources()
    await until(lambda: runner.status["replay"].state == "finished")
    await until(until_)
    await asyncio.sleep(0.5)  # room for anything that should not happen
    stop.set()
    assert await task == 0


def statuses(server: Server) -> list[tuple[str, str]]:
    out = []
    for _, body in server.received:
        payload = json.loads(body)
        out.append((payload["alerts"][0]["labels"]["alertname"], payload["status"]))
    return out


@pytest.fixture
async def server() -> Any:
    s = Server()
    await s.start()
    yield s
    assert s._runner is not None
    await s._runner.cleanup()


async def test_firing_survives_a_restart_without_a_second_notification(
    tmp_path: Path, server: Server
) -> None:
    clock = ManualClock(T0 + 120)
    capture(tmp_path / "capture.jsonl", [-20, -20, -10, -10], 100, T0)
    await run_hub(tmp_path, server, clock, lambda: len(server.received) >= 1)
    assert statuses(server) == [("freezer_warm", "firing")]
    with sqlite3.connect(tmp_path / "hub.db") as conn:
        saved = conn.execute("SELECT rule, state FROM alert_states").fetchall()
        history = conn.execute("SELECT rule, state FROM alert_history ORDER BY id").fetchall()
    assert saved == [("freezer_warm", "firing")]
    assert ("freezer_warm", "firing") in history

    # Restart: still warm for a while (no new notification), then cold: resolved.
    clock.advance(60)
    capture(tmp_path / "capture.jsonl", [-10, -9, -20], 104, T0 + 40)
    await run_hub(tmp_path, server, clock, lambda: len(server.received) >= 2)
    assert statuses(server) == [("freezer_warm", "firing"), ("freezer_warm", "resolved")]


async def test_stale_counts_from_the_last_reading_stored_not_from_the_restart(
    tmp_path: Path, server: Server
) -> None:
    clock = ManualClock(T0 + 60)
    capture(tmp_path / "capture.jsonl", [-20, -20], 100, T0)
    await run_hub(tmp_path, server, clock, lambda: True)
    assert statuses(server) == []

    # The hub was off for 11 minutes since the last reading: the first tick fires.
    clock.advance(11 * 60)
    (tmp_path / "capture.jsonl").write_text("")
    await run_hub(tmp_path, server, clock, lambda: len(server.received) >= 1)
    assert statuses(server) == [("freezer_silent", "firing")]


async def test_the_battery_report_is_stored_and_sent(tmp_path: Path, server: Server) -> None:
    clock = ManualClock(T0 + 120)
    capture(tmp_path / "capture.jsonl", [-20, -20, -20], 100, T0)
    (tmp_path / "alerts.yaml").write_text(RULES)
    config_data = {
        "store": {"path": "hub.db", "min_interval": 0},
        "alerts": {"rules": "alerts.yaml", "battery_notify": ["log", "hook"]},
        "notify": {"hook": {"type": "webhook", "url": server.url}},
        "devices": {ADDRESS: {"name": "Freezer"}},
        "sources": {"replay": {"file": "capture.jsonl", "speed": 0}},
    }
    (tmp_path / "hub.yaml").write_text(json.dumps(config_data))
    config = load_config(tmp_path / "hub.yaml")
    container = Container(config=config)
    container.clock.override(providers.Object(clock))
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, container=container, stop=stop))
    runner = container.sources()
    await until(lambda: runner.status["replay"].state == "finished")
    hub = await container.hub()
    await hub.store.flush()
    (service,) = [c for c in hub.components if c.name == "alerts"]
    assert "alerts.battery_report" in hub.scheduler.jobs
    await service.battery_reporter.run()  # what the 09:00 job runs
    await until(lambda: len(server.received) >= 1)
    stop.set()
    assert await task == 0

    payload = json.loads(server.received[0][1])
    assert payload["alerts"][0]["labels"]["alertname"] == "battery_report"
    assert "Freezer" in payload["alerts"][0]["annotations"]["summary"]
    with sqlite3.connect(tmp_path / "hub.db") as conn:
        (report,) = conn.execute("SELECT report FROM battery_reports").fetchone()
    (entry,) = json.loads(report)["sensors"]
    assert entry["name"] == "Freezer"
    assert entry["voltage"] == 2.9


async def test_an_mqtt_channel_publishes_alerts_on_the_hubs_connection(tmp_path: Path) -> None:
    from hub.mqtt.testing import Collector, Mosquitto

    clock = ManualClock(T0 + 120)
    capture(tmp_path / "capture.jsonl", [-20, -10, -10, -20], 100, T0)
    (tmp_path / "alerts.yaml").write_text(RULES.replace("notify: [hook]", "notify: [broker]"))
    with Mosquitto() as broker:
        config_data = {
            "store": {"path": "hub.db", "min_interval": 0},
            "alerts": {"rules": "alerts.yaml", "tick_interval": "0.2s"},
            "mqtt": {"enabled": True, "host": "127.0.0.1", "port": broker.port},
            "notify": {"broker": {"type": "mqtt"}},
            "devices": {ADDRESS: {"name": "Freezer"}},
            "sources": {"replay": {"file": "capture.jsonl", "speed": 0}},
        }
        (tmp_path / "hub.yaml").write_text(json.dumps(config_data))
        config = load_config(tmp_path / "hub.yaml")
        container = Container(config=config)
        container.clock.override(providers.Object(clock))
        async with Collector(broker.port, ("hub/alerts",)) as sub:
            stop = asyncio.Event()
            task = asyncio.create_task(serve(config, container=container, stop=stop))
            await sub.wait_until(lambda: len(sub.messages) >= 2, 20, "firing and resolved")
            stop.set()
            assert await task == 0
    payloads = [json.loads(m.payload) for m in sub.messages]
    assert [(p["rule"], p["status"]) for p in payloads] == [
        ("freezer_warm", "firing"),
        ("freezer_warm", "resolved"),
    ]
    assert payloads[0]["sensor"] == "Freezer"
