"""Health of the exporters against real servers that go down: a whole hub (container, replay
source, store, InfluxDB exporter to VictoriaMetrics, MQTT publisher to Mosquitto, health,
HTTP) runs while the servers are stopped and started again.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from hub.config.loader import load_config
from hub.container import Container
from hub.events import HealthChanged
from hub.exporters.influxdb.testing import VictoriaMetrics
from hub.healthmon.component import HealthComponent
from hub.http.server import HttpServer
from hub.mqtt.testing import Mosquitto
from hub.runtime import serve
from tests.integration.test_alert_notify import Server

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo" / "ruuvitags.jsonl"

pytestmark = pytest.mark.slow


@pytest.fixture
async def hook() -> AsyncIterator[Server]:
    server = Server()
    await server.start()
    try:
        yield server
    finally:
        assert server._runner is not None
        await server._runner.cleanup()


async def until(condition: Callable[[], Any], within: float = 20.0, step: float = 0.1) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        value = condition()
        if value:
            return value
        await asyncio.sleep(step)
    pytest.fail(f"not within {within}s")


async def test_influxdb_and_mqtt_outages_show_in_health_healthz_and_notifications(
    tmp_path: Path, hook: Server
) -> None:
    config_path = tmp_path / "hub.yaml"
    with VictoriaMetrics() as vm, Mosquitto() as broker:
        config_path.write_text(
            json.dumps(
                {
                    "store": {"path": "hub.db", "flush_interval": "0.2s", "min_interval": 0},
                    "sources": {
                        "demo": {
                            "type": "replay",
                            "file": str(DEMO),
                            "speed": 20,
                            "loop": True,
                            "timestamps": "now",
                        }
                    },
                    "alerts": {"enabled": False},
                    "influxdb": {
                        "enabled": True,
                        "url": vm.url,
                        "org": "home",
                        "bucket": "hub",
                        "token": "a-token-for-the-test",
                        "flush_interval": "0.2s",
                        "failing_after": "1s",
                        "retry": {"initial": "0.1s", "max": "0.3s"},
                    },
                    "mqtt": {"enabled": True, "host": "127.0.0.1", "port": broker.port},
                    "notify": {"hook": {"type": "webhook", "url": hook.url, "retries": 0}},
                    "health": {
                        "enabled": True,
                        "interval": "1s",
                        "notify": ["hook"],
                        "notify_after": "1s",
                    },
                    "http": {"enabled": True, "port": 0},
                }
            )
        )
        config = load_config(config_path)
        container = Container(config=config)
        events: list[HealthChanged] = []
        container.bus().subscribe(HealthChanged, events.append, name="test")
        stop = asyncio.Event()
        task = asyncio.create_task(serve(config, container=container, stop=stop))
        try:
            provided = container.hub()
            hub = await provided if inspect.isawaitable(provided) else provided
            health = next(c for c in hub.components if isinstance(c, HealthComponent))
            http = next(c for c in hub.components if isinstance(c, HttpServer))
            await until(lambda: http.port)

            def state(name: str) -> str:
                return str(health.check().checks[name].state)

            await until(lambda: state("influxdb") == "ok" and state("mqtt") == "ok")
            async with aiohttp.ClientSession() as session:
                url = f"http://127.0.0.1:{http.port}/healthz"
                async with session.get(url) as answer:
                    assert answer.status == 200

                vm.stop()
                await until(lambda: state("influxdb") == "failing")
                async with session.get(url) as answer:
                    assert answer.status == 503
                    body = await answer.json()
                assert body["status"] == "failing"
                assert body["checks"]["influxdb"]["state"] == "failing"
                assert "writes failing" in body["checks"]["influxdb"]["reason"]

                await until(lambda: any(b"influxdb failing for" in r[1] for r in hook.received))

                broker.stop()
                await until(lambda: state("mqtt") != "ok")
                assert "unreachable" in health.check().checks["mqtt"].status.reason

                vm.start()
                broker.start()
                await until(lambda: state("influxdb") == "ok" and state("mqtt") == "ok", 30)
                async with session.get(url) as answer:
                    assert answer.status == 200
                await until(lambda: any(b"influxdb is ok again" in r[1] for r in hook.received))
        finally:
            stop.set()
            assert await asyncio.wait_for(task, 30) == 0

    influx = [(e.previous, e.state) for e in events if e.component == "influxdb"]
    assert influx[0] in (("ok", "degraded"), ("ok", "failing"))
    assert ("degraded", "failing") in influx or influx[0] == ("ok", "failing")
    assert influx[-1][1] == "ok"
    mqtt = [(e.previous, e.state) for e in events if e.component == "mqtt"]
    assert mqtt[0] == ("ok", "degraded")
    assert mqtt[-1][1] == "ok"
    firing = [json.loads(body) for _, body in hook.received]
    influx_notes = [b for b in firing if b["commonLabels"]["sensor"] == "influxdb"]
    assert [b["status"] for b in influx_notes] == ["firing", "resolved"]
