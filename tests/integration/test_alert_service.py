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


async def test_a_hub_that_was_down_does_not_call_its_sensors_silent(
    tmp_path: Path, server: Server
) -> None:
    """Stale timers count from the restart when the hub was down longer than `stale`: it
    could not hear the sensor meanwhile (a soak run's kill -9 fired every stale rule)."""
    clock = ManualClock(T0 + 60)
    capture(tmp_path / "capture.jsonl", [-20, -20], 100, T0)
    await run_hub(tmp_path, server, clock, lambda: True)
    assert statuses(server) == []

    # Off for 11 minutes since the last reading: the ticks after the restart fire nothing...
    clock.advance(11 * 60)
    (tmp_path / "capture.jsonl").write_text("")
    (tmp_path / "alerts.yaml").write_text(RULES)
    config = load_config(tmp_path / "hub.yaml")
    container = Container(config=config)
    container.clock.override(providers.Object(clock))
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, container=container, stop=stop))
    try:
        hub = await container.hub()
        await until(lambda: getattr(hub.scheduler.jobs.get("alerts.tick"), "runs", 0) >= 3)
        assert statuses(server) == []
        # ...until the sensor has been silent for `stale` since the hub listens again.
        clock.advance(10 * 60)
        await until(lambda: len(server.received) >= 1)
        assert statuses(server) == [("freezer_silent", "firing")]
    finally:
        stop.set()
        assert await task == 0


async def test_no_stale_alert_storm_while_the_clock_guard_holds_or_after_it_lets_go(
    tmp_path: Path, server: Server
) -> None:
    """The clock steps 3 h forward: stale timers are not evaluated while the clock guard
    holds readings, and afterwards silence counts from when the clock was trusted again
    (before, every stale rule fired at the step: a soak run's alert storm)."""
    clock = ManualClock(T0 + 60)
    capture(tmp_path / "capture.jsonl", [-20, -20], 100, T0)
    (tmp_path / "alerts.yaml").write_text(RULES)
    config_data = {
        "store": {"path": "hub.db", "min_interval": 0},
        "alerts": {"rules": "alerts.yaml", "tick_interval": "0.2s"},
        "notify": {"hook": {"type": "webhook", "url": server.url}},
        "devices": {ADDRESS: {"name": "Freezer"}},
        # Stamped as heard, so the clock guard watches them.
        "sources": {"replay": {"file": "capture.jsonl", "speed": 0, "timestamps": "now"}},
    }
    (tmp_path / "hub.yaml").write_text(json.dumps(config_data))
    config = load_config(tmp_path / "hub.yaml")
    container = Container(config=config)
    container.clock.override(providers.Object(clock))
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, container=container, stop=stop))
    try:
        hub = await container.hub()
        await until(lambda: getattr(hub.scheduler.jobs.get("alerts.tick"), "runs", 0) >= 2)
        (service,) = [c for c in hub.components if c.name == "alerts"]
        guard = hub.clock_guard
        assert guard is not None

        clock.step(3 * 3600)
        await until(lambda: service.skipped_ticks >= 3)
        assert guard.suspect
        assert statuses(server) == []

        clock.advance(6)  # stable for longer than clock.settle: trusted again
        runs = hub.scheduler.jobs["alerts.tick"].runs
        await until(lambda: hub.scheduler.jobs["alerts.tick"].runs >= runs + 3)
        assert not guard.suspect
        assert statuses(server) == []

        clock.advance(10 * 60)  # silent for `stale` since the clock could be trusted
        await until(lambda: len(server.received) >= 1)
        assert statuses(server) == [("freezer_silent", "firing")]
    finally:
        stop.set()
        assert await task == 0


async def test_transitions_that_cannot_be_saved_are_saved_later_exactly_once(
    tmp_path: Path, server: Server
) -> None:
    """While the database refuses the alert history (a soak run made it read-only), the
    transitions are kept and saved with the next change; a failed save leaves nothing
    half-done for the store's next commit."""
    clock = ManualClock(T0 + 60)
    capture(tmp_path / "capture.jsonl", [-20, -20], 100, T0)
    await run_hub(tmp_path, server, clock, lambda: True)  # makes the database
    db = tmp_path / "hub.db"
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE alert_history RENAME TO hidden_history")

    capture(tmp_path / "capture.jsonl", [-10, -20], 102, T0 + 30)
    config = load_config(tmp_path / "hub.yaml")
    container = Container(config=config)
    container.clock.override(providers.Object(clock))
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, container=container, stop=stop))
    try:
        await until(lambda: len(server.received) >= 2)  # fired and resolved: not saved
        hub = await container.hub()
        (service,) = [c for c in hub.components if c.name == "alerts"]
        assert service.health().details["unsaved_transitions"] == 2
        with sqlite3.connect(db) as conn:
            conn.execute("ALTER TABLE hidden_history RENAME TO alert_history")
        clock.advance(11 * 60)  # the freezer falls silent: the next save takes all three
        await until(lambda: len(server.received) >= 3)
        await until(lambda: service.health().details["unsaved_transitions"] == 0)
    finally:
        stop.set()
        assert await task == 0
    with sqlite3.connect(db) as conn:
        history = conn.execute("SELECT rule, state FROM alert_history ORDER BY id").fetchall()
    assert history == [
        ("freezer_warm", "firing"),
        ("freezer_warm", "resolved"),
        ("freezer_silent", "firing"),
    ]


async def test_alerts_are_evaluated_and_sent_while_the_database_is_busy(
    tmp_path: Path, server: Server
) -> None:
    """Saving alert state never holds evaluation up: with the database's write lock taken
    (a long export read, a slow disk), a transition is still sent at once and saved later
    (before, every reading waited for the save, the alerts mailbox filled and held the
    sources back)."""
    clock = ManualClock(T0 + 60)
    capture(tmp_path / "capture.jsonl", [-20], 100, T0)
    await run_hub(tmp_path, server, clock, lambda: True)
    capture(tmp_path / "capture.jsonl", [-10, -20], 101, T0 + 30)
    config = load_config(tmp_path / "hub.yaml")
    container = Container(config=config)
    container.clock.override(providers.Object(clock))
    store = await container.store()
    await store.write_lock.acquire()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, container=container, stop=stop))
    try:
        await until(lambda: len(server.received) >= 2)
        assert statuses(server) == [("freezer_warm", "firing"), ("freezer_warm", "resolved")]
    finally:
        store.write_lock.release()
    try:
        hub = await container.hub()
        (service,) = [c for c in hub.components if c.name == "alerts"]
        await until(lambda: service.health().details["unsaved_transitions"] == 0)
    finally:
        stop.set()
        assert await task == 0
    with sqlite3.connect(tmp_path / "hub.db") as conn:
        history = conn.execute("SELECT rule, state FROM alert_history ORDER BY id").fetchall()
    assert history == [("freezer_warm", "firing"), ("freezer_warm", "resolved")]


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
