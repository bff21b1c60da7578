"""GATT polling with bleak's real BleakClient against fake devices served by the fake BlueZ.

The fake LYWSD03MMC answers a subscription to its temperature-humidity characteristic with
one notification, as the real one does. Another never answers its Connect at all; scanning
and the other device's poll must carry on regardless.
"""

from __future__ import annotations

import asyncio
import itertools
import struct
from collections.abc import Iterator

import pytest

from integrations.ble.tests.fake_bluez import FakeBlueZ, Radio
from integrations.ble.tests.harness import (
    ble_settings,
    captured_logs,
    radio_running,
    running_source,
    samples,
    wait_until,
)
from integrations.lywsd03mmc_gatt.decoder import CHARACTERISTIC_UUID

SERVICE_UUID = "ebe0ccb0-7a0a-4b0c-8a1a-6ff2997da3a6"
ANSWERS = "A4:C1:38:00:00:01"
SILENT = "A4:C1:38:00:00:02"


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeBlueZ]:
    with FakeBlueZ(tmp_path_factory.mktemp("bluez")) as bluez:
        yield bluez


def gatt_settings(*addresses: str, timeout: str = "2s") -> object:
    return ble_settings(
        gatt={
            "devices": [{"address": a, "interval": "10m"} for a in addresses],
            "timeout": timeout,
            "attempts": 2,
            "retry_backoff": "0.2s",
            "jitter": 0,
        }
    )


async def test_a_polled_lywsd03mmc_reading_reaches_the_bus(fake: FakeBlueZ) -> None:
    value = struct.pack("<hBH", 2150, 45, 2950)  # 21.50 °C, 45 %, 2950 mV
    device, char = fake.add_gatt_sensor(
        "hci0", ANSWERS, SERVICE_UUID, CHARACTERISTIC_UUID, value=value
    )
    async with running_source(gatt_settings(ANSWERS)) as run:  # type: ignore[arg-type]
        await wait_until(lambda: run.readings_of(ANSWERS), 5, "the GATT reading")
        status = run.source.gatt.status[ANSWERS]  # type: ignore[union-attr]
        health = run.source.health()

    (reading,) = run.readings_of(ANSWERS)
    assert reading.integration == "lywsd03mmc_gatt"
    assert reading.model == "LYWSD03MMC"
    assert dict(reading.measurements) == {
        "temperature": 21.5,
        "humidity": 45,
        "voltage": 2.95,
        "dew_point": reading.measurements["dew_point"],
    }
    assert (status.successes, status.failures, status.attempts) == (1, 0, 1)
    assert health.state == "ok"
    assert health.details["gatt"][ANSWERS]["successes"] == 1  # type: ignore[index]
    # Connect, subscribe, one notification, unsubscribe, disconnect.
    assert fake.device_calls(device) == ["Connect", "Disconnect"]
    assert fake.device_calls(char) == ["SetPending", "StartNotify", "StopNotify"]


async def test_a_device_that_never_answers_times_out_without_blocking_scanning_or_polls(
    fake: FakeBlueZ,
) -> None:
    value = struct.pack("<hBH", -512, 80, 3001)
    fake.add_gatt_sensor("hci0", SILENT, SERVICE_UUID, CHARACTERISTIC_UUID, answers=False)
    other = "A4:C1:38:00:00:03"
    fake.add_gatt_sensor("hci0", other, SERVICE_UUID, CHARACTERISTIC_UUID, value=value)
    beacon = samples("bthome")[0]
    fake.add_device("hci0", beacon["address"], emit=False)
    radio = Radio(fake, period=0.05)
    radio.add("hci0", beacon["address"], [beacon])
    settings = gatt_settings(SILENT, other, timeout="1s")
    loop = asyncio.get_running_loop()
    with captured_logs("INFO") as logs:
        async with radio_running(radio), running_source(settings) as run:  # type: ignore[arg-type]
            started = loop.time()
            await wait_until(lambda: run.readings_of(other), 4, "the other device's reading")
            other_after = loop.time() - started
            status = run.source.gatt.status  # type: ignore[union-attr]
            await wait_until(lambda: status[SILENT].failures == 1, 5, "the silent one gives up")
            gave_up_after = loop.time() - started
            beacon_times = [r.ts for r in run.readings_of(beacon["address"])]
            health = run.source.health()

    # Each device's connections are serialized on hci0, so the answering one waits at most
    # one timeout for the silent one; neither waits for the silent one's retries.
    assert other_after < 2.5
    assert 1.9 < gave_up_after < 4
    assert status[SILENT].timeouts == 2
    assert status[SILENT].attempts == 2
    assert status[other].successes == 1
    assert fake.swallowed() >= 2
    # Scanning went on during the connection attempts: no gap in the beacon's readings.
    gaps = [b - a for a, b in itertools.pairwise(beacon_times)]
    assert beacon_times
    assert beacon_times[-1] - beacon_times[0] > 1.5
    assert max(gaps) < 0.5, f"scanning paused: {max(gaps):.2f} s"
    assert health.state == "degraded"
    assert f"GATT {SILENT}: no answer within 1 s" in health.reason
    assert any(f"GATT poll of {SILENT} failed after 2 attempts" in line for line in logs)
