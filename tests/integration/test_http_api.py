"""The HTTP API of a real hub (container, replay of the demo capture, store, alerts, health,
an InfluxDB exporter whose server is down) answering real HTTP requests: the endpoints, bad
input, the token rules, and /metrics parsed with prometheus-client's own parser.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import inspect
import io
import json
import socket
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from hub.app import Hub
from hub.config.loader import load_config
from hub.container import Container
from hub.errors import ConfigError
from hub.http.server import HttpServer
from hub.runtime import serve

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo" / "ruuvitags.jsonl"
FREEZER = "CE:3A:88:14:6F:02"
KITCHEN = "E4:2F:61:0B:3D:17"
DEVICES = {
    "C8:25:2D:8E:AB:4C": {"name": "Living room", "location": "ground floor"},
    KITCHEN: {"name": "Kitchen", "location": "ground floor"},
    "D1:04:9A:77:C2:5E": {"name": "Bathroom", "location": "first floor"},
    "F7:6B:13:E0:51:A8": {"name": "Fridge", "location": "kitchen"},
    FREEZER: {"name": "Freezer", "location": "cellar"},
    "EA:91:5C:26:B8:D3": {"name": "Outdoor", "location": "garden"},
}
RULES = """
rules:
  - name: freezer_exists
    sensors: ["Freezer"]
    measurement: temperature
    above: -100
    severity: info
    message: "{sensor} is at {value:.1f} °C"
"""
TOKEN = "0123456789abcdef-test-token"

module = pytest.mark.asyncio(loop_scope="module")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(directory: Path, **overrides: Any) -> Path:
    (directory / "alerts.yaml").write_text(RULES)
    config: dict[str, Any] = {
        "hub": {"name": "api-test"},
        "store": {"path": "hub.db", "flush_interval": "0.2s", "min_interval": 0},
        "sources": {"demo": {"type": "replay", "file": str(DEMO), "speed": 0, "timestamps": "now"}},
        "devices": DEVICES,
        "alerts": {"rules": "alerts.yaml"},
        # Nothing listens there: the exporter's backlog grows.
        "influxdb": {
            "enabled": True,
            "url": f"http://127.0.0.1:{free_port()}",
            "bucket": "hub",
            "flush_interval": "0.2s",
            "retry": {"initial": "5s", "max": "10s"},
        },
        "health": {"enabled": True},
        "http": {"enabled": True, "port": 0},
    }
    config.update(overrides)
    path = directory / "hub.yaml"
    path.write_text(json.dumps(config))
    return path


@dataclass
class Running:
    hub: Hub
    server: HttpServer
    url: str
    db: Path
    session: aiohttp.ClientSession

    async def get(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.session.get(self.url + path, **kwargs) as answer:
            if answer.content_type == "application/json":
                return answer.status, await answer.json()
            return answer.status, await answer.text()


@contextlib.asynccontextmanager
async def running_hub(config_path: Path) -> AsyncIterator[Running]:
    config = load_config(config_path)
    container = Container(config=config)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, container=container, stop=stop))
    try:
        provided = container.hub()
        hub = await provided if inspect.isawaitable(provided) else provided
        server = next(c for c in hub.components if isinstance(c, HttpServer))
        for _ in range(500):
            if server.port or server.listen_error:
                break
            await asyncio.sleep(0.01)
        async with aiohttp.ClientSession() as session:
            yield Running(
                hub, server, f"http://127.0.0.1:{server.port}", config.store.path, session
            )
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 30) == 0


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Running]:
    directory = tmp_path_factory.mktemp("api")
    async with running_hub(write_config(directory)) as running:
        runner = running.hub.sources
        for _ in range(1000):
            if runner.status["demo"].state == "finished":
                break
            await asyncio.sleep(0.01)
        await running.hub.bus.idle()
        await running.hub.store.flush()
        await running.hub.bus.idle()
        exporter = next(c for c in running.hub.components if c.name == "influxdb")
        for _ in range(500):
            if exporter.health().details.get("backlog"):
                break
            await asyncio.sleep(0.01)
        yield running


# -- /healthz and /metrics -----------------------------------------------------------------


@module
async def test_healthz_lists_every_check_and_is_503_only_when_failing(api: Running) -> None:
    status, body = await api.get("/healthz")
    assert set(body["checks"]) >= {"store", "bus", "scheduler", "sources", "router", "alerts"}
    assert set(body["checks"]) >= {"influxdb", "http"}
    exporter = body["checks"]["influxdb"]
    assert exporter["details"]["backlog"] > 0
    for check in body["checks"].values():
        assert check["state"] in ("ok", "degraded", "failing")
        assert check["since"] <= body["ts"]
    assert status == (503 if body["status"] == "failing" else 200)
    assert body["status"] == max(
        (c["state"] for c in body["checks"].values()), key=["ok", "degraded", "failing"].index
    )


def families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def sample(family: Any, **labels: str) -> float:
    found = [
        s.value for s in family.samples if all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) == 1, (labels, family.samples[:5])
    return float(found[0])


@module
async def test_metrics_parse_and_carry_each_sensors_latest_values_and_the_hub_counters(
    api: Running,
) -> None:
    # The flush job's first run is 0.2 s after start: on a busy machine, wait for it.
    for _ in range(200):
        if api.hub.scheduler.jobs["store.flush"].runs:
            break
        await asyncio.sleep(0.05)
    async with api.session.get(api.url + "/metrics") as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await answer.text()
    found = families(text)

    with sqlite3.connect(api.db) as conn:
        row = conn.execute(
            "SELECT r.measurements, r.rssi FROM readings r JOIN sensors s ON s.id = r.sensor_id "
            "WHERE s.address = ? ORDER BY r.ts DESC, r.id DESC LIMIT 1",
            (KITCHEN,),
        ).fetchone()
    latest = json.loads(row[0])
    # RSSI is the last advertisement's, a repeat of a measurement included.
    heard = [json.loads(line) for line in DEMO.read_text().splitlines()]
    rssi = [r["rssi"] for r in heard if r["address"] == KITCHEN][-1]
    kitchen = {"sensor": "Kitchen", "address": KITCHEN, "location": "ground floor"}
    temperature = found["hub_sensor_temperature_celsius"]
    assert temperature.type == "gauge"
    assert sample(temperature, **kitchen) == latest["temperature"]
    assert sample(found["hub_sensor_humidity_percent"], **kitchen) == latest["humidity"]
    assert sample(found["hub_sensor_pressure_hectopascals"], **kitchen) == latest["pressure"]
    assert sample(found["hub_sensor_voltage_volts"], **kitchen) == latest["voltage"]
    assert sample(found["hub_sensor_rssi_dbm"], **kitchen) == rssi
    assert sample(found["hub_sensor_last_seen_timestamp_seconds"], **kitchen) > 1.7e9
    assert len(temperature.samples) == 6
    assert {s.labels["sensor"] for s in temperature.samples} == {
        d["name"] for d in DEVICES.values()
    }

    router = api.hub.router.counters
    assert found["hub_advertisements"].type == "counter"
    assert sample(found["hub_advertisements"]) == router.advertisements
    assert sample(
        found["hub_integration_advertisements"], integration="ruuvi", outcome="reading"
    ) == (router.by_integration["ruuvi"].decoded)
    assert sample(found["hub_decode_errors"], integration="ruuvi") == 0
    assert sample(found["hub_store_committed"]) == api.hub.store.counters.committed
    assert sample(found["hub_store_buffered"]) == 0
    assert sample(found["hub_bus_dropped"], subscriber="store", event="Reading") == 0
    assert sample(found["hub_bus_queue_capacity"], subscriber="store", event="Reading") == 10_000
    assert sample(found["hub_export_backlog"], component="influxdb") > 0
    assert sample(found["hub_alerts_firing"]) == 1
    assert (
        sample(found["hub_alert_active"], rule="freezer_exists", sensor="Freezer", state="firing")
        == 1
    )
    assert sample(found["hub_health"], check="store") == 0
    assert sample(found["hub_info"], name="api-test") == 1
    assert sample(found["hub_scheduler_job_runs"], job="store.flush") > 0


# -- /api/status, /api/sensors -------------------------------------------------------------


@module
async def test_status_reports_counters_sources_and_components(api: Running) -> None:
    status, body = await api.get("/api/status")
    assert status == 200
    assert body["hub"]["name"] == "api-test"
    assert body["counters"]["advertisements"] == api.hub.router.counters.advertisements
    assert body["counters"]["committed"] == api.hub.store.counters.committed
    assert body["sources"]["demo"]["state"] == "finished"
    assert body["sensors"]["known"] == 6
    assert {"alerts", "influxdb", "health", "http"} <= set(body["components"])


@module
async def test_sensors_are_listed_with_names_locations_and_latest_values(api: Running) -> None:
    status, body = await api.get("/api/sensors")
    assert status == 200
    by_name = {s["name"]: s for s in body["sensors"]}
    assert set(by_name) == {d["name"] for d in DEVICES.values()}
    kitchen = by_name["Kitchen"]
    assert kitchen["address"] == KITCHEN
    assert kitchen["location"] == "ground floor"
    assert kitchen["integration"] == "ruuvi"
    assert kitchen["latest"]["measurements"]["temperature"] == pytest.approx(
        kitchen["latest"]["measurements"]["temperature"]
    )
    assert kitchen["latest"]["ts"] <= kitchen["last_seen"]

    for wanted in ("Kitchen", "kitchen", KITCHEN.lower(), KITCHEN.replace(":", "-")):
        status, one = await api.get(f"/api/sensors/{wanted}")
        assert status == 200, wanted
        assert one["address"] == KITCHEN
    assert "temperature" in one["measurements"]


@module
async def test_unknown_sensors_are_404_with_suggestions(api: Running) -> None:
    status, body = await api.get("/api/sensors/Kitchn")
    assert status == 404
    assert body["error"].startswith("unknown sensor 'Kitchn'")
    assert body["candidates"] == ["Kitchen"]
    status, body = await api.get("/api/sensors/nothing%20like%20it/history")
    assert status == 404
    assert body["status"] == 404


# -- history -------------------------------------------------------------------------------


@module
async def test_history_raw_hourly_csv_and_limits(api: Running) -> None:
    status, raw = await api.get(
        "/api/sensors/Freezer/history",
        params={"measurement": "temperature", "since": "1h", "resolution": "raw"},
    )
    assert status == 200
    with sqlite3.connect(api.db) as conn:
        stored = conn.execute(
            "SELECT r.ts, r.measurements ->> '$.temperature' FROM readings r "
            "JOIN sensors s ON s.id = r.sensor_id WHERE s.address = ? ORDER BY r.ts",
            (FREEZER,),
        ).fetchall()
    assert [(r["ts"], r["value"]) for r in raw["rows"]] == [tuple(s) for s in stored]
    assert raw["resolution"] == "raw"
    assert raw["sensor"]["address"] == FREEZER
    assert raw["truncated"] is False

    status, hourly = await api.get(
        "/api/sensors/Freezer/history", params={"since": "2h", "resolution": "hour"}
    )
    assert status == 200
    temps = [r for r in hourly["rows"] if r["measurement"] == "temperature"]
    assert sum(r["count"] for r in temps) == len(stored)
    assert min(r["min"] for r in temps) == min(v for _, v in stored)

    status, cut = await api.get(
        "/api/sensors/Freezer/history", params={"measurement": "temperature", "limit": "3"}
    )
    assert status == 200
    assert len(cut["rows"]) == 3
    assert cut["truncated"] is True

    status, text = await api.get(
        "/api/sensors/Freezer/history",
        params={"measurement": "temperature", "since": "1h", "format": "csv"},
    )
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [float(r["value"]) for r in rows] == [v for _, v in stored]

    status, old = await api.get(
        "/api/sensors/Freezer/history",
        params={"since": "2020-01-01", "until": "2020-01-02T00:00+01:00"},
    )
    assert status == 200
    assert old["rows"] == []
    assert old["until"] == 1577919600.0  # 2020-01-01T23:00Z


@module
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"since": "yesterday-ish"}, "since: 'yesterday-ish' is neither a duration"),
        ({"since": "1h", "until": "2h"}, "since must be before until"),
        ({"resolution": "minute"}, "resolution must be one of auto, raw, hour, day"),
        ({"limit": "0"}, "limit must be between 1 and"),
        ({"limit": "lots"}, "limit must be a whole number"),
        ({"format": "xml"}, "format must be one of json, csv"),
        ({"sinse": "1h"}, "unknown parameter 'sinse'"),
        ({"since": ""}, "since must not be empty"),
        ({"since": "99999999d"}, "since must lie between 1970 and 9999"),
        ({"until": "10000-01-01"}, "until:"),
    ],
)
async def test_bad_history_parameters_are_400_naming_the_parameter(
    api: Running, query: dict[str, str], message: str
) -> None:
    status, body = await api.get("/api/sensors/Kitchen/history", params=query)
    assert status == 400, body
    assert body["error"].startswith(message), body


@module
async def test_repeated_parameters_unknown_measurements_and_paths(api: Running) -> None:
    status, body = await api.get("/api/sensors/Kitchen/history?since=1h&since=2h")
    assert (status, body["error"]) == (400, "give since once, not 2 times")
    status, body = await api.get("/api/sensors/Kitchen/history", params={"measurement": "co2"})
    assert status == 404
    assert body["error"].startswith("Kitchen has no measurement 'co2' (it has: ")
    assert "temperature" in body["measurements"]
    status, body = await api.get("/api/nothing-here")
    assert (status, body["status"]) == (404, 404)
    async with api.session.post(api.url + "/api/sensors") as answer:
        assert answer.status == 405
        assert (await answer.json())["error"].startswith("method POST is not allowed")
    status, body = await api.get("/api/alerts", params={"limit": "5000"})
    assert status == 400


# -- alerts --------------------------------------------------------------------------------


@module
async def test_alerts_show_active_states_and_recent_history(api: Running) -> None:
    status, body = await api.get("/api/alerts")
    assert status == 200
    assert body["active"] == [
        {
            "rule": "freezer_exists",
            "sensor": "Freezer",
            "address": FREEZER,
            "state": "firing",
            "since": body["active"][0]["since"],
            "started": body["active"][0]["started"],
            "value": body["active"][0]["value"],
        }
    ]
    assert body["active"][0]["value"] < -10
    assert body["history"][0]["rule"] == "freezer_exists"
    assert body["history"][0]["state"] == "firing"
    assert body["history"][0]["message"].startswith("Freezer is at")


# -- robustness ----------------------------------------------------------------------------


@module
async def test_the_api_reads_while_the_stores_connection_holds_a_write_transaction(
    api: Running,
) -> None:
    store = api.hub.store
    async with store.write_lock:
        await store.connection.execute("BEGIN IMMEDIATE")
        try:
            status, body = await asyncio.wait_for(
                api.get("/api/sensors/Kitchen/history", params={"since": "1h"}), 5
            )
        finally:
            await store.connection.rollback()
    assert status == 200
    assert body["rows"]


@module
async def test_garbage_on_the_wire_never_takes_the_server_down(api: Running) -> None:
    port = api.server.port
    assert port is not None
    junk = [
        b"\x00\xff\xfe garbage\r\n\r\n",
        b"GET /api/sensors/%ff%fe/history HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /api/sensors/%00/history?since=%00 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 100_000 + b"\r\n\r\n",
        b"GET /api/sensors HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\nabc",
        b"GET /api/sensors HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ]
    answers = []
    for payload in junk:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(payload)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        try:
            line = await asyncio.wait_for(reader.readline(), 5)
        except (TimeoutError, ConnectionError):
            line = b""
        answers.append(line)
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    assert all(not a.startswith(b"HTTP/1.1 5") for a in answers), answers
    assert answers[1].startswith(b"HTTP/1.1 4"), answers[1]
    assert answers[2].startswith(b"HTTP/1.1 4"), answers[2]
    status, _ = await api.get("/healthz")
    assert status in (200, 503)
    assert api.server.requests.server_errors == 0


# -- the token rules -----------------------------------------------------------------------


def test_listening_beyond_loopback_without_a_token_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(json.dumps({"http": {"enabled": True, "host": "0.0.0.0"}}))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert f"{path}: http:" in message
    assert "listening on 0.0.0.0 (not a loopback address) needs a token" in message
    path.write_text(json.dumps({"http": {"enabled": True, "host": "::", "token": "short"}}))
    with pytest.raises(ConfigError, match=r"http\.token: token must be at least 16 characters"):
        load_config(path)
    path.write_text(json.dumps({"http": {"enabled": True, "host": "::1"}}))
    assert load_config(path).http.token is None  # loopback: optional


async def test_the_token_protects_api_but_not_health_metrics_or_the_document(
    tmp_path: Path,
) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n")
    config = write_config(
        tmp_path,
        sources={},
        influxdb={},
        http={"enabled": True, "port": 0, "host": "0.0.0.0", "token_file": "token"},
    )
    async with running_hub(config) as running:
        for path in ("/api/status", "/api/sensors", "/api/alerts", "/api/sensors/x/history"):
            status, body = await running.get(path)
            assert status == 401, path
            assert body["error"].startswith("a valid bearer token is required")
            status, _ = await running.get(path, headers={"Authorization": "Bearer wrong-token"})
            assert status == 401
            status, _ = await running.get(path, headers={"Authorization": TOKEN})
            assert status == 401
        good = {"Authorization": f"Bearer {TOKEN}"}
        assert (await running.get("/api/status", headers=good))[0] == 200
        assert (await running.get("/api/sensors/x", headers=good))[0] == 404
        assert (await running.get("/healthz"))[0] in (200, 503)
        assert (await running.get("/metrics"))[0] == 200
        status, document = await running.get("/api/openapi.json")
        assert status == 200
        assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
        assert running.server.requests.unauthorized == 12


async def test_a_taken_port_leaves_the_hub_running_with_http_failing(tmp_path: Path) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    config = write_config(tmp_path, sources={}, influxdb={}, http={"enabled": True, "port": port})
    try:
        async with running_hub(config) as running:
            server = running.server
            status = server.health()
            assert status.state == "failing"
            assert f"cannot listen on 127.0.0.1:{port}" in status.reason
            blocker.close()
            await server._retry()
            assert server.health().state == "ok"
            async with running.session.get(f"http://127.0.0.1:{port}/healthz") as answer:
                assert answer.status in (200, 503)
    finally:
        blocker.close()
