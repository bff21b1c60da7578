"""The ble source with bleak's real BlueZ backend against a fake BlueZ on a private D-Bus.

Sensors of several integrations advertise the payloads of their `samples.jsonl`; what the
hub stores and publishes is checked against what its decoders make of those records.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.config.loader import load_config
from hub.container import Container
from hub.runtime import serve
from integrations.ble.source import BleSource
from integrations.ble.tests.fake_bluez import FakeBlueZ, Radio, record_props
from integrations.ble.tests.harness import (
    ble_settings,
    expected,
    radio_running,
    running_source,
    samples,
    wait_until,
)


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeBlueZ]:
    with FakeBlueZ(tmp_path_factory.mktemp("bluez"), adapters=("hci0", "hci1")) as bluez:
        yield bluez


def hub_config(tmp_path: Path, **ble: Any) -> Path:
    config = {
        "store": {"path": "hub.db", "flush_interval": "0.2s", "min_interval": 0},
        "sources": {"ble": {"adapters": ["hci0"], **ble}},
    }
    path = tmp_path / "hub.yaml"
    path.write_text(json.dumps(config))
    return path


def stored(db: Path) -> list[tuple[str, str, dict[str, Any]]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT s.address, s.integration, r.measurements FROM readings r "
            "JOIN sensors s ON s.id = r.sensor_id ORDER BY r.id"
        ).fetchall()
    return [(address, integration, json.loads(m)) for address, integration, m in rows]


async def test_sensors_of_several_integrations_reach_the_store_with_their_values(
    fake: FakeBlueZ, tmp_path: Path
) -> None:
    records = [
        samples("ruuvi")[0],
        samples("bthome")[0],
        samples("xiaomi")[0],
        samples("govee")[0],
        samples("inkbird")[0],
        samples("thermopro")[0],
    ]
    config = load_config(hub_config(tmp_path))
    container = Container(config=config)
    stop = asyncio.Event()
    hub = asyncio.create_task(serve(config, container=container, stop=stop))
    try:
        source = container.sources().sources[0]
        assert isinstance(source, BleSource)
        await wait_until(lambda: source.running, what="the ble source runs")
        await asyncio.sleep(0.2)
        paths = {}
        for record in records:
            # A device appearing (InterfacesAdded) is its first advertisement.
            paths[record["address"]] = fake.add_device(
                "hci0", record["address"], **record_props(record)
            )
        # The ThermoPro sends its next frame under another "company id" (the id bytes are
        # data). BlueZ merges: the device now shows both entries, the old one first.
        first, second = samples("thermopro")[0:2]
        merged = {**first["manufacturer_data"], **second["manufacturer_data"]}
        fake.advertise(
            paths[second["address"]], **record_props({**second, "manufacturer_data": merged})
        )
        want = [(r["address"], *expected(r)) for r in [*records, second]]

        db = tmp_path / "hub.db"
        await wait_until(lambda: db.exists() and len(stored(db)) >= len(want), within=10)
        assert not hub.done(), "the hub keeps running"
    finally:
        stop.set()
        assert await asyncio.wait_for(hub, 15) == 0

    rows = stored(tmp_path / "hub.db")
    assert sorted(rows, key=str) == sorted(want, key=str)
    # Spot-check one value against the published vector, not only against our decoder.
    ruuvi = next(m for a, i, m in rows if i == "ruuvi")
    assert ruuvi["temperature"] == 24.3
    assert ruuvi["humidity"] == 53.49
    thermopro = [m for a, i, m in rows if i == "thermopro"]
    assert thermopro == [expected(first)[1], expected(second)[1]], (
        "only the entry that changed is passed on, so the merged frames decode one by one"
    )


async def test_the_same_payload_repeated_keeps_the_sensor_fresh(fake: FakeBlueZ) -> None:
    # A fresh address: the device objects of the fake BlueZ live as long as the module.
    record = {**samples("ruuvi")[2], "address": "C0:FF:EE:00:00:01"}
    address = record["address"]
    async with running_source(ble_settings()) as run:
        path = fake.add_device("hci0", address, **record_props(record))
        for _ in range(4):
            await asyncio.sleep(0.1)
            fake.advertise(path, **record_props(record))
        await wait_until(lambda: len([s for s in run.seen if s.address == address]) >= 4)
        await run.bus.idle()

    # BlueZ was asked not to drop repeated advertisements (bleak's active scan does so).
    filters = [text for _, text in fake.log() if text.startswith('SetDiscoveryFilter {"')]
    assert filters
    assert all('"DuplicateData": False' in text for text in filters), filters
    assert len(run.readings_of(address)) == 1, "one measurement, however often it is repeated"
    repeats = [s for s in run.seen if s.address == address]
    assert all(s.repeat for s in repeats)
    times = [run.readings_of(address)[0].ts] + [s.ts for s in repeats]
    assert times == sorted(times)
    assert times[-1] - times[0] >= 0.35, "each repeat is 'seen now'"
    freshness = run.source.sensor(address)
    assert freshness is not None
    assert freshness.heard == 5
    assert freshness.last_seen == times[-1]
    assert freshness.usual_interval is not None
    assert 0.05 < freshness.usual_interval < 0.3


async def test_two_adapters_hearing_one_advertisement_make_one_reading_with_the_stronger_signal(
    fake: FakeBlueZ,
) -> None:
    record = samples("govee")[1]  # Govee frames have no counter: only the source can merge
    nxt = samples("govee")[2]
    address = record["address"]
    settings = ble_settings(adapters=["hci0", "hci1"], dedupe_window="1s")
    async with running_source(settings) as run:
        near = fake.add_device("hci0", address, **record_props({**record, "rssi": -85}))
        far = fake.add_device("hci1", address, **record_props({**record, "rssi": -58}))
        await wait_until(lambda: run.readings_of(address), what="a reading")
        # The next measurement, heard by hci0 first and by hci1 only after it was passed
        # on (but inside the window): still one advertisement.
        fake.advertise(near, **record_props({**nxt, "rssi": -84}))
        await wait_until(lambda: len(run.readings_of(address)) >= 2, what="the second reading")
        fake.advertise(far, **record_props({**nxt, "rssi": -61}))
        await asyncio.sleep(0.3)
        # The same adapter hearing the same payload again is the sensor repeating itself.
        fake.advertise(near, **record_props({**nxt, "rssi": -83}))
        await wait_until(lambda: len(run.readings_of(address)) >= 3, what="the repeat")
        await asyncio.sleep(0.3)

    readings = run.readings_of(address)
    assert [r.rssi for r in readings] == [-58, -84, -83], "the stronger of the two copies"
    assert readings[0].measurements == expected(record)[1]
    assert readings[1].measurements == readings[2].measurements == expected(nxt)[1]
    assert run.source.merge is not None
    assert run.source.merge.merged == 2


async def test_windowed_scanning_starts_and_stops_discovery_on_schedule(fake: FakeBlueZ) -> None:
    record = samples("bthome")[1]
    radio = Radio(fake, period=0.05)
    radio.add("hci0", record["address"], [record])
    fake.add_device("hci0", record["address"], emit=False)
    settings = ble_settings(scanning="windowed", window={"duration": "0.4s", "interval": "1s"})
    loop_started = asyncio.get_running_loop().time()
    async with radio_running(radio), running_source(settings) as run:
        log_from = len(fake.log())
        await asyncio.sleep(2.5 - (asyncio.get_running_loop().time() - loop_started))
        heard_in_windows = len(run.adverts)

    events = [(t, text.split(" ", 1)[0]) for t, text in fake.log()[log_from:]]
    calls = [(t, name) for t, name in events if name in ("StartDiscovery", "StopDiscovery")]
    # Before the log position: the first window started already (at once, at start-up).
    starts = [t for t, name in calls if name == "StartDiscovery"]
    stops = [t for t, name in calls if name == "StopDiscovery"]
    assert len(stops) >= 2, calls
    assert len(starts) >= 2, calls
    names = [name for _, name in calls]
    assert all(a != b for a, b in itertools.pairwise(names)), "start and stop alternate"
    for start, stop in zip(starts, [s for s in stops if s > starts[0]], strict=False):
        assert 0.3 <= stop - start <= 0.6, f"a window lasts 0.4 s: {calls}"
    for earlier, later in itertools.pairwise(starts):
        assert 0.85 <= later - earlier <= 1.2, f"a window every second: {calls}"
    assert heard_in_windows > 5, "the sensor is heard during the windows"
    gaps = [
        b.ts - a.ts for a, b in zip(run.adverts, run.adverts[1:], strict=False) if b.ts - a.ts > 0.3
    ]
    assert gaps, "nothing is heard between windows"
