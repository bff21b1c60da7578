"""The dashboard's server side in a real hub (container, replay of the demo capture, store,
alerts, health) answering real HTTP: the summary behind the first screen, the live stream
(server-sent events: coalescing, tickets, slow clients, shutdown), sensor edits with their
token and same-origin rules, and the page's own files.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from hub.app import Hub
from hub.clock import ManualClock
from hub.config.loader import load_config
from hub.config.models import StoreConfig
from hub.container import Container
from hub.events import AlertChanged, Reading
from hub.http.server import HttpServer
from hub.runtime import serve
from hub.store import SqliteStore
from hub.store.rollups import update_rollups

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo" / "ruuvitags.jsonl"
FREEZER = "CE:3A:88:14:6F:02"
KITCHEN = "E4:2F:61:0B:3D:17"
LIVING = "C8:25:2D:8E:AB:4C"
DEVICES = {
    LIVING: {"name": "Living room", "location": "ground floor"},
    KITCHEN: {"name": "Kitchen"},  # no location: that one is the user's to set
    FREEZER: {"name": "Freezer", "location": "cellar"},
}
RULES = """
rules:
  - name: freezer_cold
    sensors: ["Freezer"]
    measurement: temperature
    below: 0
    severity: critical
    message: "{sensor} is at {value:.1f} °C"
"""
TOKEN = "dashboard-token-0123456789"
HISTORY = "AA:00:00:00:00:01"

module = pytest.mark.asyncio(loop_scope="module")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(directory: Path, **overrides: Any) -> Path:
    (directory / "alerts.yaml").write_text(RULES)
    config: dict[str, Any] = {
        "hub": {"name": "dash-test"},
        "store": {"path": "hub.db", "flush_interval": "0.2s", "min_interval": 0},
        "sources": {"demo": {"type": "replay", "file": str(DEMO), "speed": 0, "timestamps": "now"}},
        "devices": DEVICES,
        "alerts": {"rules": "alerts.yaml", "tick_interval": "0.2s"},
        "health": {"enabled": True},
        "http": {
            "enabled": True,
            "port": 0,
            "dashboard": {"live_interval": "0.2s", "client_backlog": 3},
        },
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

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.session.request(method, self.url + path, **kwargs) as answer:
            if answer.content_type == "application/json":
                return answer.status, await answer.json()
            return answer.status, await answer.text()

    async def get(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        return await self.call("GET", path, **kwargs)

    async def patch(self, sensor: str, body: object, **kwargs: Any) -> tuple[int, Any]:
        return await self.call("PATCH", f"/api/sensors/{sensor}", json=body, **kwargs)


@contextlib.asynccontextmanager
async def running_hub(config_path: Path, *, replay: bool = True) -> AsyncIterator[Running]:
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
        if replay:
            for _ in range(1000):
                if hub.sources.status["demo"].state == "finished":
                    break
                await asyncio.sleep(0.01)
            await hub.bus.idle()
            # A scheduled flush may be committing just now: wait for it, then flush the rest.
            async with hub.store.write_lock:
                pass
            await hub.store.flush()
            await hub.bus.idle()
            assert hub.store.buffered == 0
            assert hub.store.counters.committed
        async with aiohttp.ClientSession() as session:
            yield Running(
                hub, server, f"http://127.0.0.1:{server.port}", config.store.path, session
            )
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 30) == 0


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Running]:
    async with running_hub(write_config(tmp_path_factory.mktemp("dash"))) as running:
        yield running


def history_values(k: int) -> dict[str, float]:
    return {"temperature": 20.0 + (k % 10) * 0.5, "humidity": 50.0 + (k % 7)}


async def make_history(path: Path, now: float) -> list[tuple[float, dict[str, float]]]:
    """One sensor, a reading every 5 min for 24 h, silent from 10 h to 8 h ago; rolled up."""
    store = SqliteStore(StoreConfig(path=path, min_interval=0), ManualClock(now))
    await store.open()
    written = []
    for k in range(288):
        ts = now - 86400 + k * 300 + 7.0
        if now - 10 * 3600 <= ts < now - 8 * 3600:
            continue
        values = history_values(k)
        await store.add(Reading(ts, HISTORY, "ruuvi", values, model="RuuviTag", rssi=-70))
        written.append((ts, values))
    await store.flush()
    await update_rollups(store.connection, lock=store.write_lock)
    await store.close()
    return written


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def secured(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[Running, list[tuple[float, dict[str, float]]]]]:
    directory = tmp_path_factory.mktemp("dash-token")
    written = await make_history(directory / "hub.db", time.time())
    config = write_config(
        directory,
        sources={},
        http={"enabled": True, "port": 0, "token": TOKEN},
    )
    async with running_hub(config, replay=False) as running:
        yield running, written


# -- server-sent events, read for real -------------------------------------------------------


class EventReader:
    """Parses a text/event-stream response into (event, data) pairs."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.retry: int | None = None
        self.comments: list[str] = []

    async def next(self, within: float = 5.0) -> tuple[str, Any]:
        event, data = "message", []
        while True:
            line = await asyncio.wait_for(self.response.content.readline(), within)
            if not line:
                raise EOFError("the stream ended")
            text = line.decode().rstrip("\n")
            if not text:
                if data:
                    return event, json.loads("\n".join(data))
                event = "message"
                continue
            if text.startswith(":"):
                self.comments.append(text[1:].strip())
                continue
            field, _, value = text.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
            elif field == "retry":
                self.retry = int(value)

    async def until(
        self, wanted: Callable[[str, Any], bool], within: float = 5.0
    ) -> tuple[str, Any]:
        deadline = time.monotonic() + within
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the wanted event did not come")
            event, data = await self.next(left)
            if wanted(event, data):
                return event, data


@contextlib.asynccontextmanager
async def events(api: Running, query: str = "", **headers: str) -> AsyncIterator[EventReader]:
    async with api.session.get(
        f"{api.url}/api/events{query}",
        headers={"Accept": "text/event-stream", **headers},
        timeout=aiohttp.ClientTimeout(total=None),
    ) as answer:
        assert answer.status == 200, await answer.text()
        assert answer.headers["Content-Type"].startswith("text/event-stream")
        yield EventReader(answer)


async def wait_for_clients(api: Running, count: int) -> None:
    dashboard = api.server.dashboard
    assert dashboard is not None
    for _ in range(500):  # a browser that left is noticed within a second
        if dashboard.stream.clients == count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{dashboard.stream.clients} clients, not {count}")


def latest_stored(db: Path) -> dict[str, dict[str, float]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT s.address, r.measurements FROM sensors s JOIN readings r ON r.id = ("
            "SELECT id FROM readings WHERE sensor_id = s.id ORDER BY ts DESC LIMIT 1)"
        ).fetchall()
    return {address: json.loads(m) for address, m in rows}


# -- /api/dashboard --------------------------------------------------------------------------


@module
async def test_summary_lists_every_sensor_with_its_latest_values_state_and_alerts(
    api: Running,
) -> None:
    async with api.session.get(api.url + "/api/dashboard") as answer:
        assert answer.status == 200
        assert answer.headers["Content-Encoding"] in ("gzip", "deflate")  # as aiohttp asked
        assert answer.headers["Server-Timing"].startswith("summary;dur=")
        body = await answer.json()
    stored = latest_stored(api.db)
    sensors = {s["address"]: s for s in body["sensors"]}
    assert set(sensors) == set(stored)
    assert len(sensors) == 6
    for address, measurements in stored.items():
        latest = sensors[address]["latest"]["measurements"]
        assert latest == {k: float(v) for k, v in measurements.items()}, address
    freezer, kitchen = sensors[FREEZER], sensors[KITCHEN]
    assert (freezer["name"], freezer["location"], freezer["configured"]) == (
        "Freezer",
        "cellar",
        ["location", "name"],
    )
    assert kitchen["configured"] == ["name"]
    assert freezer["state"] == "alerting"
    assert {s["state"] for a, s in sensors.items() if a != FREEZER} == {"ok"}
    assert kitchen["format"] == "5"
    [alert] = body["alerts"]["active"]
    assert alert["rule"] == "freezer_cold"
    assert alert["address"] == FREEZER
    assert (alert["state"], alert["severity"]) == ("firing", "critical")
    assert body["alerts"]["recent"][0]["rule"] == "freezer_cold"
    assert body["health"]["status"] in ("ok", "degraded", "failing")
    assert body["settings"]["token_required"] is False
    # The demo is a few minutes old: its sparklines are the recent part, one reading per
    # five minutes, each exactly a stored reading.
    spark = kitchen["spark"]
    assert spark["t"]
    assert len(spark["t"]) == len(spark["temperature"]) == len(spark["humidity"])
    with sqlite3.connect(api.db) as conn:
        first = conn.execute(
            "SELECT r.ts, r.measurements FROM readings r JOIN sensors s ON s.id = r.sensor_id "
            "WHERE s.address = ? ORDER BY r.ts LIMIT 1",
            (KITCHEN,),
        ).fetchone()
    assert spark["t"][0] == pytest.approx(first[0], abs=0.1)
    assert spark["temperature"][0] == round(json.loads(first[1])["temperature"], 2)


@module
async def test_sparkline_is_hourly_means_then_recent_readings_with_the_gap_left_open(
    secured: tuple[Running, list[tuple[float, dict[str, float]]]],
) -> None:
    api, written = secured
    status, body = await api.get("/api/dashboard", headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, body
    [sensor] = body["sensors"]
    spark = sensor["spark"]
    now, recent_from = body["now"], body["settings"]["spark_recent_from"]
    start = (now - 86400) // 3600 * 3600
    hours: dict[float, list[dict[str, float]]] = {}
    for ts, values in written:
        if start <= ts < recent_from:
            hours.setdefault(ts // 3600 * 3600, []).append(values)
    expected_t = [hour + 1800 for hour in sorted(hours)]
    expected_t += [round(ts, 1) for ts, _ in written if ts >= recent_from]
    assert spark["t"] == pytest.approx(expected_t)
    means = [
        round(sum(v["temperature"] for v in hours[h]) / len(hours[h]), 2) for h in sorted(hours)
    ]
    assert spark["temperature"][: len(means)] == pytest.approx(means)
    # Nothing was heard from 10 h to 8 h ago: at least one hour has no point, so the page
    # breaks the line there (hourly points more than 1.5 h apart).
    t = spark["t"]
    [(before, after)] = [(a, b) for a, b in itertools.pairwise(t) if a < now - 9 * 3600 < b]
    assert after - before >= 2 * 3600


# -- /api/events -----------------------------------------------------------------------------


@module
async def test_stream_coalesces_a_burst_into_the_latest_value_per_sensor(api: Running) -> None:
    address = "AA:BB:CC:00:00:01"
    async with events(api) as stream:
        await wait_for_clients(api, 1)
        assert (await stream.next())[0] == "health"  # the first event: the health as it is
        assert stream.retry == 3000  # EventSource reconnects after 3 s
        now = time.time()
        for i in range(50):  # one burst, inside one interval
            api.hub.bus.publish(
                Reading(now + i * 0.001, address, "test", {"temperature": float(i)}, rssi=-60)
            )
        _event, data = await stream.until(lambda e, d: e == "readings" and address in d["sensors"])
        entry = data["sensors"][address]
        assert entry["measurements"] == {"temperature": 49.0}
        assert entry["rssi"] == -60
        # Nothing more of that burst follows: it was one message.
        with pytest.raises(TimeoutError):
            await stream.until(lambda e, d: e == "readings" and address in d["sensors"], within=0.6)


@module
async def test_stream_carries_alerts_with_the_sensors_address_and_health(api: Running) -> None:
    async with events(api) as stream:
        _, health = await stream.until(lambda e, d: e == "health")
        assert health["status"] in ("ok", "degraded", "failing")
        await wait_for_clients(api, 1)
        api.hub.bus.publish(
            AlertChanged(time.time(), "door_open", "Freezer", "firing", "warning", 1.0, "open")
        )
        _, alert = await stream.until(lambda e, d: e == "alert" and d["rule"] == "door_open")
    assert alert["address"] == FREEZER
    assert (alert["sensor"], alert["state"], alert["message"]) == ("Freezer", "firing", "open")


@module
async def test_a_flood_of_alerts_becomes_a_reload_not_an_endless_message(api: Running) -> None:
    async with events(api) as stream:
        await wait_for_clients(api, 1)
        now = time.time()
        for i in range(450):  # a rule flapping over hundreds of sensors
            api.hub.bus.publish(AlertChanged(now, f"flap_{i}", "Kitchen", "pending"))
        _, reload = await stream.until(lambda e, d: e == "reload")
    assert reload == {"why": "too many changes at once"}


@module
async def test_stream_refuses_clients_that_do_not_ask_for_events(api: Running) -> None:
    status, body = await api.get("/api/events")
    assert status == 406
    assert "Accept: text/event-stream" in body["error"]
    status, body = await api.get("/api/events?since=1h", headers={"Accept": "text/event-stream"})
    assert status == 400
    assert "unknown parameter 'since'" in body["error"]


@module
async def test_a_client_that_stops_reading_is_dropped_and_the_others_carry_on(
    api: Running,
) -> None:
    dashboard = api.server.dashboard
    assert dashboard is not None
    before = dashboard.stream.counters.dropped_slow
    # A client with a tiny receive window that never reads what it asked for.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", api.server.port or 0))
    sock.send(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
    try:
        async with events(api) as stream:
            await wait_for_clients(api, 2)
            wide = {f"m{i:03d}": float(i) for i in range(200)}

            async def one_round(number: int) -> None:
                now = time.time()
                addresses = [
                    f"AB:00:00:{number // 256:02X}:{number % 256:02X}:{n:02X}" for n in range(40)
                ]
                for address in addresses:  # about 100 kB per message
                    api.hub.bus.publish(Reading(now, address, "test", wide))
                # The good reader takes everything up to this round's message.
                await stream.until(
                    lambda e, d: e == "readings" and addresses[-1] in d["sensors"], within=5
                )

            rounds = 0
            while dashboard.stream.counters.dropped_slow == before and rounds < 200:
                await one_round(rounds)
                rounds += 1
            assert dashboard.stream.counters.dropped_slow == before + 1
            # The reader that keeps up still gets every interval's message.
            await one_round(rounds)
            _status, health = await api.get("/healthz")
            details = health["checks"]["http"]["details"]
            assert details["live_dropped_slow"] == before + 1
            assert details["live_clients"] == 1
    finally:
        sock.close()
    stats = {s.name: s for s in api.hub.bus.stats()}
    assert stats["http:stream"].dropped == 0, "the bus never waited for the slow browser"


@pytest.mark.asyncio
async def test_stopping_the_hub_ends_every_stream_promptly(tmp_path: Path) -> None:
    async with (
        running_hub(write_config(tmp_path)) as api,
        events(api) as first,
        events(api) as second,
    ):
        await wait_for_clients(api, 2)
        started = time.monotonic()
        stopping = asyncio.create_task(api.hub.stop())
        for stream in (first, second):
            with pytest.raises(EOFError):
                await stream.until(lambda e, d: False, within=5)
        await stopping
        assert time.monotonic() - started < 3


# -- tokens and tickets ------------------------------------------------------------------------


@module
async def test_with_a_token_the_page_is_public_but_data_and_stream_are_not(
    secured: tuple[Running, list[tuple[float, dict[str, float]]]],
) -> None:
    api, _ = secured
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    status, page = await api.get("/")
    assert status == 200
    assert '<template id="card-tpl">' in page
    assert (await api.get("/api/dashboard"))[0] == 401
    assert (await api.call("POST", "/api/events/ticket"))[0] == 401
    status, _ = await api.get("/api/events", headers={"Accept": "text/event-stream"})
    assert status == 401
    status, ticket = await api.call("POST", "/api/events/ticket", headers=bearer)
    assert status == 200
    assert ticket["expires_in"] > 0
    async with events(api, f"?ticket={ticket['ticket']}") as stream:
        _, health = await stream.until(lambda e, d: e == "health")
        assert health["status"] in ("ok", "degraded", "failing")
    # A ticket works once: a copied URL is worthless afterwards.
    status, _ = await api.get(
        f"/api/events?ticket={ticket['ticket']}", headers={"Accept": "text/event-stream"}
    )
    assert status == 401
    status, _ = await api.get("/api/events?ticket=made-up", headers={"Accept": "text/event-stream"})
    assert status == 401
    # The ticket is for the stream only.
    status, ticket = await api.call("POST", "/api/events/ticket", headers=bearer)
    assert (await api.get(f"/api/dashboard?ticket={ticket['ticket']}"))[0] == 401


@module
async def test_with_a_token_an_edit_needs_it(
    secured: tuple[Running, list[tuple[float, dict[str, float]]]],
) -> None:
    api, _ = secured
    status, body = await api.patch(HISTORY, {"name": "Attic"})
    assert status == 401
    # With the token the origin does not matter: no browser sends the header by itself.
    status, body = await api.patch(
        HISTORY,
        {"name": "Attic"},
        headers={"Authorization": f"Bearer {TOKEN}", "Origin": "http://elsewhere.example"},
    )
    assert status == 200, body
    assert body["sensor"]["name"] == "Attic"


# -- PATCH /api/sensors/{id} on a loopback hub without a token ------------------------------------


def stored_sensor(db: Path, address: str) -> tuple[Any, ...]:
    with sqlite3.connect(db) as conn:
        row: tuple[Any, ...] = conn.execute(
            "SELECT name, location, notes FROM sensors WHERE address = ?", (address,)
        ).fetchone()
    return row


@module
async def test_rename_writes_the_database_and_tells_every_browser(api: Running) -> None:
    bathroom = "D1:04:9A:77:C2:5E"
    async with events(api) as stream:
        await wait_for_clients(api, 1)
        status, body = await api.patch(
            "Ruuvi C25E", {"name": "  Bathroom  ", "location": "first floor", "notes": "a\nb"}
        )
        assert status == 200, body
        assert body["changed"] == ["name", "location", "notes"]
        assert body["warnings"] == []
        assert stored_sensor(api.db, bathroom) == ("Bathroom", "first floor", "a\nb")
        _, sensor = await stream.until(lambda e, d: e == "sensor")
        assert (sensor["address"], sensor["name"]) == (bathroom, "Bathroom")
    status, detail = await api.get("/api/sensors/Bathroom")
    assert status == 200
    assert detail["address"] == bathroom
    # An empty location clears it; the name stays.
    status, body = await api.patch(bathroom, {"location": ""})
    assert status == 200
    assert stored_sensor(api.db, bathroom) == ("Bathroom", None, "a\nb")


@module
async def test_edits_the_config_owns_are_written_with_a_warning(api: Running) -> None:
    status, body = await api.patch("Kitchen", {"location": "upstairs"})
    assert status == 200
    assert body["warnings"] == []
    status, body = await api.patch("Freezer", {"location": "garage"})
    assert status == 200
    assert body["warnings"] == [
        f"the config sets location of {FREEZER} to 'cellar'; "
        "the config wins at the hub's next start"
    ]
    assert body["sensor"]["location"] == "cellar", "the running hub shows what the config says"


@module
@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"name": "Kitchen"}, 409, "already used by E4:2F:61:0B:3D:17"),
        ({"name": ""}, 400, "a name cannot be empty"),
        ({"name": None}, 400, "name cannot be cleared"),
        ({"name": "a\x07b"}, 400, "control characters"),
        ({"name": "x" * 65}, 400, "name is too long"),
        ({"colour": "red"}, 400, "unknown field 'colour'"),
        ({}, 400, "nothing to change"),
        ([1, 2], 400, "must be a JSON object"),
        ({"location": 5}, 400, "location must be a string or null"),
    ],
)
async def test_a_bad_edit_is_refused_naming_the_problem_and_changes_nothing(
    api: Running, body: object, status: int, message: str
) -> None:
    before = stored_sensor(api.db, LIVING)
    got, answer = await api.patch(LIVING, body)
    assert (got, message in answer["error"]) == (status, True), answer
    assert stored_sensor(api.db, LIVING) == before


@module
async def test_an_edit_that_is_not_json_or_names_no_sensor_is_refused(api: Running) -> None:
    status, body = await api.call(
        "PATCH", f"/api/sensors/{LIVING}", data=b"name=x", headers={"Content-Type": "text/plain"}
    )
    assert status == 415
    status, body = await api.call(
        "PATCH", f"/api/sensors/{LIVING}", data=b"{", headers={"Content-Type": "application/json"}
    )
    assert status == 400
    assert "not valid JSON" in body["error"]
    status, body = await api.patch("Nowhere", {"name": "x"})
    assert status == 404


@module
@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Host": "evil.example:8780"},  # a DNS-rebinding page: same origin, foreign name
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
async def test_without_a_token_only_this_hubs_own_page_may_edit(
    api: Running, headers: dict[str, str]
) -> None:
    before = stored_sensor(api.db, LIVING)
    status, body = await api.patch(LIVING, {"notes": "pwned"}, headers=headers)
    assert status == 403, body
    assert stored_sensor(api.db, LIVING) == before
    # The same edit from this hub's own page goes through.
    origin = {"Origin": api.url, "Sec-Fetch-Site": "same-origin"}
    status, body = await api.patch(LIVING, {"notes": "fine"}, headers=origin)
    assert status == 200, body


# -- the page's files --------------------------------------------------------------------------


@module
async def test_the_page_and_its_files_are_served_with_caching_and_a_strict_policy(
    api: Running,
) -> None:
    async with api.session.get(api.url + "/") as answer:
        assert answer.status == 200
        assert answer.content_type == "text/html"
        assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
        etag = answer.headers["ETag"]
        page = await answer.text()
    assert '<script type="module" src="/static/app.js">' in page
    assert '<link rel="stylesheet" href="/static/dashboard.css">' in page
    for name in (
        "app.js",
        "api.js",
        "chart.js",
        "format.js",
        "sensor.js",
        "prefetch.js",
        "dashboard.css",
    ):
        async with api.session.get(f"{api.url}/static/{name}") as answer:
            assert answer.status == 200, name
            assert answer.content_type in ("text/javascript", "text/css")
    async with api.session.get(api.url + "/", headers={"If-None-Match": etag}) as answer:
        assert answer.status == 304
    status, _ = await api.get("/static/secrets.txt")
    assert status == 404
    status, _ = await api.get("/static/../server.py")
    assert status == 404
    status, document = await api.get("/api/openapi.json")
    assert {"/api/dashboard", "/api/events", "/api/events/ticket"} <= set(document["paths"])
    assert set(document["paths"]["/api/sensors/{id}"]) == {"get", "patch"}


@pytest.mark.asyncio
async def test_without_the_dashboard_there_is_no_page_and_no_stream(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, sources={}, http={"enabled": True, "port": 0, "dashboard": {"enabled": False}}
    )
    async with running_hub(config, replay=False) as api:
        assert (await api.get("/"))[0] == 404
        assert (await api.get("/api/dashboard"))[0] == 404
        _status, document = await api.get("/api/openapi.json")
        assert "/api/events" not in document["paths"]
        assert set(document["paths"]["/api/sensors/{id}"]) == {"get"}
