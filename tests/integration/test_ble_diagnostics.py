"""When BLE cannot work, the user is told what is missing and how to fix it; and passive mode.

Each case is a real D-Bus situation: no system bus at all, a D-Bus policy that refuses
BlueZ, BlueZ without adapters, a powered-off adapter, a BlueZ without the advertisement
monitor API that passive scanning needs.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import dbus
import pytest

from integrations.ble.diagnostics import diagnose
from integrations.ble.tests.fake_bluez import ADAPTER_IFACE, BLUEZ, FakeBlueZ, Radio
from integrations.ble.tests.harness import (
    ble_settings,
    captured_logs,
    radio_running,
    running_source,
    samples,
    wait_until,
)

# Everything allowed, except asking BlueZ for its objects: what a user outside the
# `bluetooth` group meets (bleak's first call is GetManagedObjects).
DENY_BLUEZ = (
    '<policy context="default"><allow send_destination="*" eavesdrop="true"/>'
    '<allow eavesdrop="true"/><allow own="*"/>'
    '<deny send_destination="org.bluez" send_interface="org.freedesktop.DBus.ObjectManager"/>'
    "</policy>"
)


@pytest.fixture
def no_system_bus(tmp_path: Path) -> Iterator[str]:
    saved = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
    socket = tmp_path / "nothing-here"
    os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = f"unix:path={socket}"
    try:
        yield str(socket)
    finally:
        if saved is None:
            os.environ.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
        else:
            os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = saved


async def test_no_system_bus_is_explained_and_the_source_keeps_trying(no_system_bus: str) -> None:
    diagnosis = await diagnose(("hci0",))
    assert [str(p) for p in diagnosis.problems] == [
        f"the D-Bus system bus is not running (there is no socket at {no_system_bus}). "
        "To fix: install and start D-Bus (sudo apt install dbus; sudo systemctl start dbus); "
        "in a container, mount the host's /run/dbus"
    ]
    with captured_logs("ERROR") as errors:
        async with running_source(ble_settings()) as run:
            await wait_until(lambda: run.source.health().state == "failing", 3, "failing")
            health = run.source.health()
            assert not run.task.done(), "the source keeps running (and retrying)"
    assert "the D-Bus system bus is not running" in health.reason
    assert any("BLE hci0: cannot scan: the D-Bus system bus is not running" in e for e in errors)


async def test_a_dbus_policy_that_refuses_bluez_is_explained(tmp_path: Path) -> None:
    with FakeBlueZ(tmp_path, bus_config=DENY_BLUEZ):
        diagnosis = await diagnose(("hci0",))
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hub", "scan", "--duration", "1s",
            stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    (problem,) = diagnosis.problems
    assert problem.what.startswith("permission denied talking to BlueZ: the D-Bus policy")
    assert "sudo usermod -aG bluetooth" in problem.fix
    assert proc.returncode == 1
    assert "hub scan: permission denied talking to BlueZ" in err.decode()
    assert "Traceback" not in err.decode()


async def test_bluez_without_an_adapter_is_explained(tmp_path: Path) -> None:
    with FakeBlueZ(tmp_path, adapters=()):
        diagnosis = await diagnose(("hci0",))
        async with running_source(ble_settings()) as run:
            await wait_until(lambda: run.source.health().state == "failing", 3, "failing")
            health = run.source.health()
    assert [p.what for p in diagnosis.problems] == ["no Bluetooth adapter: BlueZ runs but has none"]
    assert "no Bluetooth adapter" in health.reason


async def test_a_powered_off_adapter_is_explained(tmp_path: Path) -> None:
    with FakeBlueZ(tmp_path) as fake:
        assert fake.conn is not None
        fake.conn.get_object(BLUEZ, "/org/bluez/hci0").Set(
            ADAPTER_IFACE, "Powered", dbus.Boolean(False), dbus_interface=dbus.PROPERTIES_IFACE
        )
        diagnosis = await diagnose(("hci0",))
    assert [p.what for p in diagnosis.problems] == ["adapter hci0 is powered off"]
    assert diagnosis.problems[0].fix.endswith("bluetoothctl power on")


async def test_passive_scanning_uses_the_advertisement_monitor(tmp_path: Path) -> None:
    record = samples("ruuvi")[0]
    with FakeBlueZ(tmp_path) as fake:
        fake.add_device("hci0", record["address"], emit=False)
        radio = Radio(fake)
        radio.add("hci0", record["address"], [record])
        async with radio_running(radio), running_source(ble_settings(mode="passive")) as run:
            await wait_until(lambda: run.readings, 3, "a reading")
            health = run.source.health()
        calls = fake.adapter_calls("hci0")
    assert "RegisterMonitor" in calls
    assert "StartDiscovery" not in calls
    assert run.source.scanners["hci0"].mode == "passive"
    assert health.state == "ok"


async def test_passive_without_the_monitor_api_falls_back_to_active_and_says_so(
    tmp_path: Path,
) -> None:
    record = samples("ruuvi")[0]
    with FakeBlueZ(tmp_path, monitor_api=False) as fake:
        fake.add_device("hci0", record["address"], emit=False)
        radio = Radio(fake)
        radio.add("hci0", record["address"], [record])
        with captured_logs("WARNING") as warnings:
            async with radio_running(radio), running_source(ble_settings(mode="passive")) as run:
                await wait_until(lambda: run.readings, 3, "a reading")
                health = run.source.health()
        calls = fake.adapter_calls("hci0")
    assert "StartDiscovery" in calls
    assert run.source.scanners["hci0"].mode == "active"
    assert health.state == "degraded"
    assert "passive scanning needs BlueZ's advertisement monitor API" in health.reason
    assert "scanning actively instead" in health.reason
    assert any(w.startswith("Passive scanning is not available on hci0") for w in warnings)
