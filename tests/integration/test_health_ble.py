"""The BLE source's own health, through the health monitor and /healthz, while the (fake)
bluetoothd is killed and started again: bleak on python-dbusmock's BlueZ, a whole hub.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from hub.config.loader import load_config
from hub.container import Container
from hub.events import HealthChanged
from hub.healthmon.component import HealthComponent
from hub.http.server import HttpServer
from hub.runtime import serve

pytest.importorskip("dbusmock")

from integrations.ble.tests.fake_bluez import FakeBlueZ, Radio
from integrations.ble.tests.harness import (
    ble_settings,
    radio_running,
    samples,
    wait_until,
)

pytestmark = pytest.mark.slow
SENSOR = samples("ruuvi")[0]


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeBlueZ]:
    (tmp_path / "bluez").mkdir()
    with FakeBlueZ(tmp_path / "bluez") as bluez:
        bluez.add_device("hci0", SENSOR["address"], emit=False)
        yield bluez


async def test_a_dead_bluetoothd_is_failing_in_healthz_and_recovers(
    fake: FakeBlueZ, tmp_path: Path
) -> None:
    settings = {"adapters": ["hci0"], "watchdog": ble_settings().watchdog.model_dump(mode="json")}
    config_path = tmp_path / "hub.yaml"
    config_path.write_text(
        json.dumps(
            {
                "store": {"path": "hub.db", "flush_interval": "0.2s"},
                "sources": {"radio": {"type": "ble", **settings}},
                "health": {"enabled": True},
                "http": {"enabled": True, "port": 0},
            }
        )
    )
    config = load_config(config_path)
    container = Container(config=config)
    events: list[HealthChanged] = []
    container.bus().subscribe(HealthChanged, events.append, name="test")
    radio = Radio(fake, period=0.05)
    radio.add("hci0", SENSOR["address"], [SENSOR])
    stop = asyncio.Event()
    async with radio_running(radio):
        task = asyncio.create_task(serve(config, container=container, stop=stop))
        try:
            provided = container.hub()
            hub = await provided if inspect.isawaitable(provided) else provided
            health = next(c for c in hub.components if isinstance(c, HealthComponent))
            http = next(c for c in hub.components if isinstance(c, HttpServer))
            await wait_until(lambda: http.port, what="listening")

            def state() -> str:
                return str(health.check().checks["source:radio"].state)

            await wait_until(lambda: hub.router.counters.readings > 0, 10, "readings heard")
            await wait_until(lambda: state() == "ok", 10, "the ble source is ok")
            url = f"http://127.0.0.1:{http.port}/healthz"
            fake.kill_bluetoothd()
            await wait_until(lambda: state() == "failing", 10, "the ble source is failing")
            async with aiohttp.ClientSession() as session, session.get(url) as answer:
                assert answer.status == 503
                body = await answer.json()
            assert body["checks"]["source:radio"]["state"] == "failing"
            assert "hci0" in body["checks"]["source:radio"]["reason"]

            fake.start_bluetoothd()
            await wait_until(lambda: state() == "ok", 15, "the ble source recovered")
            async with aiohttp.ClientSession() as session, session.get(url) as answer:
                assert answer.status == 200
            await hub.bus.idle()
        finally:
            stop.set()
            assert await asyncio.wait_for(task, 20) == 0
    radio_events = [(e.previous, e.state) for e in events if e.component == "source:radio"]
    assert radio_events[-1] == ("failing", "ok") or radio_events[-1][1] == "ok"
    assert any(state == "failing" for _, state in radio_events)
