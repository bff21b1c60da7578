"""`hub scan`, `hub record` and `hub run` as a user runs them, against the fake BlueZ.

Real processes with DBUS_SYSTEM_BUS_ADDRESS pointing at the private bus; the fake radio
keeps sample sensors advertising meanwhile.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.bus import EventBus
from hub.clock import ManualClock
from hub.events import Reading
from hub.integrations import SourceContext
from hub.records import parse_line
from hub.router import Router
from integrations.ble.tests.fake_bluez import FakeBlueZ, Radio
from integrations.ble.tests.harness import REGISTRY, expected, radio_running, samples, wait_until
from integrations.replay.source import ReplaySettings, ReplaySource

UNKNOWN_DEVICE = {"address": "11:22:33:44:55:66", "rssi": -91, "manufacturer_data": {"76": "0215"}}
FIRST, SECOND = samples("thermopro")[0:2]
# BlueZ merges manufacturer data: after FIRST, the ThermoPro shows both entries.
MERGED = {
    **SECOND,
    "manufacturer_data": {**FIRST["manufacturer_data"], **SECOND["manufacturer_data"]},
}


def truth(record: dict[str, Any]) -> dict[str, Any]:
    """The frame a record really carries (a merged one carries the newer entry)."""
    return SECOND if record is MERGED else record


SENSORS: list[list[dict[str, Any]]] = [
    [samples("ruuvi")[0]],
    [samples("bthome")[0]],
    [samples("govee")[3]],
    [FIRST, MERGED],
    [UNKNOWN_DEVICE],
]


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeBlueZ]:
    with FakeBlueZ(tmp_path_factory.mktemp("bluez")) as bluez:
        for records in SENSORS:
            bluez.add_device("hci0", records[0]["address"], emit=False)
        yield bluez


@pytest.fixture
async def radio(fake: FakeBlueZ) -> AsyncIterator[Radio]:
    radio = Radio(fake, period=0.1)
    for records in SENSORS:
        radio.add("hci0", records[0]["address"], records)
    async with radio_running(radio):
        yield radio


async def hub(*argv: str, cwd: Path | None = None) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB__")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub",
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=cwd,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_scan_lists_what_is_around_strongest_first_with_the_decoded_values(
    fake: FakeBlueZ, radio: Radio
) -> None:
    status, out, err = await hub("scan", "--duration", "1s", "--format", "json")
    assert status == 0, err
    found = [json.loads(line) for line in out.splitlines()]
    rssis = [d["rssi"] for d in found]
    assert rssis == sorted(rssis, reverse=True), "strongest signal first"
    by_address = {d["address"]: d for d in found}
    for records in SENSORS[:4]:
        device = by_address[records[0]["address"]]
        # The latest values heard: the ThermoPro alternates between two frames.
        meanings = [expected(truth(record)) for record in records]
        assert (device["integration"], device["values"]) in meanings
        assert device["name"] == records[0]["name"]
    assert by_address[UNKNOWN_DEVICE["address"]]["integration"] == "unknown"
    assert "5 devices heard, 4 understood by the hub" in err

    status, out, err = await hub("scan", "--duration", "1s")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["ADDRESS", "NAME", "RSSI", "SEEN", "INTEGRATION", "VALUES"]
    ruuvi = next(line for line in lines if line.startswith(samples("ruuvi")[0]["address"]))
    assert "ruuvi" in ruuvi
    assert "temperature=24.3" in ruuvi
    assert lines[-1].startswith(UNKNOWN_DEVICE["address"])
    assert "unknown" in lines[-1]


async def test_record_writes_advertisement_records_that_replay_to_the_same_readings(
    fake: FakeBlueZ, radio: Radio, tmp_path: Path
) -> None:
    capture = tmp_path / "capture.jsonl"
    status, _, err = await hub("record", str(capture), "--duration", "1s")
    assert status == 0, err
    lines = capture.read_text().splitlines()
    assert f"Recorded {len(lines)} advertisements from 5 devices" in err
    adverts = [parse_line(line) for line in lines]  # every line is a valid record
    thermopro = [a for a in adverts if a.address == FIRST["address"]]
    assert all(len(a.manufacturer_data) == 1 for a in thermopro), (
        "only the manufacturer-data entry that changed is recorded, not BlueZ's merged view"
    )

    bus = EventBus()
    readings: list[Reading] = []
    bus.subscribe(Reading, readings.append)
    bus.start()
    router = Router(REGISTRY, bus)
    settings = ReplaySettings.model_validate({"file": str(capture), "speed": 0})
    await ReplaySource("replay", settings, SourceContext(clock=ManualClock())).run(router.submit)
    await bus.stop()

    replayed = {(r.address, json.dumps(dict(r.measurements), sort_keys=True)) for r in readings}
    wanted = {
        (record["address"], json.dumps(expected(truth(record))[1], sort_keys=True))
        for records in SENSORS[:4]
        for record in records
    }
    assert replayed == wanted


async def test_scan_says_what_is_missing_instead_of_a_traceback(fake: FakeBlueZ) -> None:
    status, _, err = await hub("scan", "--adapter", "hci7", "--duration", "1s")
    assert status == 1
    assert "hub scan: adapter hci7 not found (BlueZ has: hci0). To fix:" in err
    fake.kill_bluetoothd()
    try:
        status, _, err = await hub("record", "-", "--duration", "1s")
    finally:
        fake.start_bluetoothd()
        for records in SENSORS:
            fake.add_device("hci0", records[0]["address"], emit=False)
    assert status == 1
    assert "hub record: BlueZ (bluetoothd) is not running. To fix: install and start it" in err
    assert "Traceback" not in err


async def test_hub_run_with_the_ble_source_stores_readings_and_stops_cleanly(
    fake: FakeBlueZ, radio: Radio, tmp_path: Path
) -> None:
    config = {
        "logging": {"format": "json"},
        "store": {"path": "hub.db", "flush_interval": "0.2s", "min_interval": 0},
        "sources": {"ble": {"adapters": ["hci0"]}},
    }
    (tmp_path / "hub.yaml").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB__")}
    log = (tmp_path / "hub.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub", "run", "--config", "hub.yaml",
        stdout=log, stderr=asyncio.subprocess.STDOUT, env=env, cwd=tmp_path,
    )  # fmt: skip
    db = tmp_path / "hub.db"
    bthome = samples("bthome")[0]

    def rows() -> list[tuple[str, str]]:
        if not db.exists():
            return []
        try:
            with sqlite3.connect(db) as conn:
                return conn.execute(
                    "SELECT s.integration, r.measurements FROM readings r "
                    "JOIN sensors s ON s.id = r.sensor_id"
                ).fetchall()
        except sqlite3.OperationalError:  # the hub is still creating its tables
            return []

    try:
        await wait_until(lambda: any(i == "bthome" for i, _ in rows()), 15, "readings stored")
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        log.close()
    stored = {i: json.loads(m) for i, m in rows()}
    assert stored["bthome"] == expected(bthome)[1]
    assert stored["ruuvi"] == expected(samples("ruuvi")[0])[1]
    messages = [
        json.loads(line)["message"] for line in (tmp_path / "hub.log").read_text().splitlines()
    ]
    assert "BLE source ble: active scanning on hci0" in messages
    assert messages[-1] == "Bye"
