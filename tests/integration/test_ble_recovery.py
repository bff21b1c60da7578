"""The ble source recovers by itself: stalled adapters, bluetoothd restarts, unplugged dongles.

A fake radio keeps three sensors advertising every 50 ms while the adapter is powered and
discovering. A "stall" makes the fake adapter deliver nothing until the right cure is seen
in the fake bluetoothd's log (a new StartDiscovery, or the adapter powered off), so each
test shows exactly which rung of the ladder recovers it, and the source and the hub keep
running throughout.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from hub.config.loader import load_config
from hub.container import Container
from hub.runtime import serve
from integrations.ble.source import BleSource
from integrations.ble.tests.fake_bluez import FakeBlueZ, Radio
from integrations.ble.tests.harness import (
    Running,
    ble_settings,
    captured_logs,
    radio_running,
    running_source,
    samples,
    wait_until,
)

SENSORS = [samples("ruuvi")[0], samples("bthome")[0], samples("xiaomi")[1]]


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeBlueZ]:
    with FakeBlueZ(tmp_path_factory.mktemp("bluez")) as bluez:
        for record in SENSORS:
            bluez.add_device("hci0", record["address"], emit=False)
        yield bluez


@pytest.fixture
async def radio(fake: FakeBlueZ) -> AsyncIterator[Radio]:
    radio = Radio(fake, period=0.05)
    for record in SENSORS:
        radio.add("hci0", record["address"], [record])
    async with radio_running(radio):
        yield radio


def ladder(run: Running) -> object:
    assert run.source.watchdog is not None
    return run.source.watchdog.ladders["hci0"]


async def heard_again(run: Running, within: float = 5.0) -> None:
    scanner = run.source.scanners["hci0"]
    before = scanner.heard
    await wait_until(lambda: scanner.heard > before + 3, within, "advertisements again")


async def test_a_stall_only_a_power_cycle_cures_climbs_the_whole_ladder(
    fake: FakeBlueZ, radio: Radio
) -> None:
    with captured_logs("INFO") as logs:
        async with running_source(ble_settings()) as run:
            await heard_again(run)
            watchdog = run.source.watchdog
            assert watchdog is not None
            state = watchdog.ladders["hci0"]
            radio.stall("hci0", cure="power")
            await wait_until(lambda: state.incident is not None, 3, "the stall is detected")
            health = run.source.health()
            assert health.state == "degraded"
            assert "recovering" in health.reason
            await wait_until(lambda: state.recoveries == 1, 8, "recovery")
            await heard_again(run)
            healthy = run.source.health()
            assert not run.task.done(), "the source ran throughout"

    assert state.steps_taken == {"restart_discovery": 1, "recreate_scanner": 1, "power_cycle": 1}
    recovery = state.last_recovery
    assert recovery is not None
    assert recovery.steps == ("restart_discovery", "recreate_scanner", "power_cycle")
    # The silence began at the stall; the first advertisement came after the power cycle.
    assert 0.6 < recovery.after_detection_s < recovery.silence_s < 6
    assert healthy.state == "ok"
    details = healthy.details["adapters"]["hci0"]  # type: ignore[index]
    assert details["steps"] == state.steps_taken
    assert details["last_recovery"]["silence_s"] == round(recovery.silence_s, 3)
    for step in ("1/3: restart_discovery", "2/3: recreate_scanner", "3/3: power_cycle"):
        assert any(step in line for line in logs), step
    assert any(
        "recovered (after restart_discovery, recreate_scanner, power_cycle)" in line
        for line in logs
    )
    powered = [text for _, text in fake.log() if "Adapter1.Powered" in text]
    assert powered[-2:] == [
        "Set /org/bluez/hci0 org.bluez.Adapter1.Powered False",
        "Set /org/bluez/hci0 org.bluez.Adapter1.Powered True",
    ]


async def test_a_stall_that_a_restart_of_discovery_cures_stops_at_the_first_step(
    fake: FakeBlueZ, radio: Radio
) -> None:
    async with running_source(ble_settings()) as run:
        await heard_again(run)
        state = run.source.watchdog.ladders["hci0"]  # type: ignore[union-attr]
        radio.stall("hci0", cure="restart")
        await wait_until(lambda: state.recoveries == 1, 5, "recovery")
    assert state.steps_taken == {"restart_discovery": 1, "recreate_scanner": 0, "power_cycle": 0}


async def test_a_stall_nothing_cures_reports_failing_and_retries_with_backoff(
    fake: FakeBlueZ, radio: Radio
) -> None:
    with captured_logs("INFO") as logs:
        async with running_source(ble_settings()) as run:
            await heard_again(run)
            state = run.source.watchdog.ladders["hci0"]  # type: ignore[union-attr]
            radio.stall("hci0", cure="never")
            await wait_until(lambda: state.state == "failing", 6, "failing")
            failing = run.source.health()
            # Backoff: 1 s before the ladder is climbed again, not a tight loop.
            await asyncio.sleep(0.5)
            assert state.steps_taken["restart_discovery"] == 1
            await wait_until(lambda: state.steps_taken["restart_discovery"] == 2, 3, "a retry")
            radio.heal("hci0")
            await wait_until(lambda: state.recoveries == 1, 5, "recovery")
            assert not run.task.done()

    assert failing.state == "failing"
    assert "hci0" in failing.reason
    assert state.failures == 1
    assert any("failing, next attempt in 1 s" in line for line in logs)


async def test_dbus_errors_from_bluez_are_recovered(fake: FakeBlueZ, radio: Radio) -> None:
    async with running_source(ble_settings()) as run:
        await heard_again(run)
        state = run.source.watchdog.ladders["hci0"]  # type: ignore[union-attr]
        # The next two StartDiscovery calls fail with org.bluez.Error.InProgress.
        fake.fail_starts("hci0", 2)
        radio.stall("hci0", cure="restart")
        await wait_until(lambda: state.recoveries == 1, 8, "recovery")
        await heard_again(run)
    assert state.errors == 2
    assert state.steps_taken == {"restart_discovery": 1, "recreate_scanner": 1, "power_cycle": 1}


async def test_an_adapter_removed_and_plugged_in_again_resumes_at_once(
    fake: FakeBlueZ, radio: Radio
) -> None:
    with captured_logs("INFO") as logs:
        async with running_source(ble_settings()) as run:
            await heard_again(run)
            state = run.source.watchdog.ladders["hci0"]  # type: ignore[union-attr]
            fake.remove_adapter("hci0")
            await wait_until(lambda: state.state == "gone", 3, "the adapter is gone")
            gone = run.source.health()
            await asyncio.sleep(0.5)
            fake.add_adapter("hci0")
            await wait_until(lambda: state.recoveries == 1, 5, "recovery")
            await heard_again(run)

    assert gone.state == "failing"
    assert "adapter hci0 was removed" in gone.reason
    assert state.event_restarts == 1
    recovery = state.last_recovery
    assert recovery is not None
    assert recovery.after_detection_s < 2
    assert any("adapter hci0 is back; restarting the scanner" in line for line in logs)


async def test_the_hub_keeps_running_and_storing_while_bluetoothd_is_killed_and_restarted(
    fake: FakeBlueZ, radio: Radio, tmp_path: Path
) -> None:
    settings = {
        "adapters": ["hci0"],
        "watchdog": ble_settings().watchdog.model_dump(mode="json"),
    }
    config_path = tmp_path / "hub.yaml"
    config_path.write_text(
        json.dumps(
            {
                "store": {"path": "hub.db", "flush_interval": "0.2s", "min_interval": 0},
                "sources": {"ble": settings},
            }
        )
    )
    config = load_config(config_path)
    container = Container(config=config)
    stop = asyncio.Event()
    hub = asyncio.create_task(serve(config, container=container, stop=stop))
    db = tmp_path / "hub.db"

    def count() -> int:
        if not db.exists():
            return 0
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM readings").fetchone()[0])

    try:
        source = container.sources().sources[0]
        assert isinstance(source, BleSource)
        await wait_until(lambda: source.running, what="the source runs")
        await wait_until(lambda: count() > 0, 5, "readings stored")
        assert source.watchdog is not None
        state = source.watchdog.ladders["hci0"]
        fake.kill_bluetoothd()
        await wait_until(lambda: state.state == "gone", 3, "bluetoothd seen gone")
        assert source.health().state == "failing"
        await asyncio.sleep(0.5)
        before = count()
        fake.start_bluetoothd()
        await wait_until(lambda: state.recoveries == 1, 6, "recovery")
        # The BTHome sensor's frames have no packet id: each one is stored (min_interval 0).
        await wait_until(lambda: count() > before, 5, "readings stored after the restart")
        assert not hub.done(), "the hub ran throughout"
        assert source.health().state == "ok"
    finally:
        stop.set()
        assert await asyncio.wait_for(hub, 15) == 0
    recovery = state.last_recovery
    assert recovery is not None
    assert recovery.silence_s > 0.5
