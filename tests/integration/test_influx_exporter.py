"""The InfluxDB exporter in-process: a real store file, bus and scheduler, real HTTP servers.

VictoriaMetrics (Debian's, speaking the InfluxDB v2 write API) shows what arrives exactly;
a small aiohttp server of our own answers like InfluxDB does when it refuses (400, 401,
429, 503), which VictoriaMetrics never does.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, closing
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from hub.bus import EventBus
from hub.clock import ManualClock, SystemClock
from hub.config.models import DeviceConfig, RetentionConfig, SchedulerConfig, StoreConfig
from hub.events import Reading
from hub.exporters import outbox_floor
from hub.exporters.influxdb.config import InfluxConfig
from hub.exporters.influxdb.exporter import NAME, InfluxExporter
from hub.exporters.influxdb.testing import (
    FakeInflux,
    VictoriaMetrics,
    accept,
    busy_first,
    reject_lines,
    unauthorized,
)
from hub.scheduler import Scheduler
from hub.store.rollups import Maintenance
from hub.store.sqlite import SqliteStore

T0 = 1_795_155_600.0
A = "C8:25:2D:8E:AB:4C"
B = "F7:6B:13:E0:51:A8"


@pytest.fixture(scope="module")
def vm() -> Iterator[VictoriaMetrics]:
    server = VictoriaMetrics()
    server.start()
    try:
        yield server
    finally:
        server.close()


def reading(address: str, i: int, **measurements: float | int) -> Reading:
    return Reading(
        ts=T0 + i * 10 + 0.125,
        address=address,
        integration="ruuvi",
        model="RuuviTag",
        measurements=measurements or {"temperature": round(20 + i * 0.01, 2)},
        rssi=-60 - i % 30,
        sequence=i,
    )


def many(count: int, start: int = 0) -> list[Reading]:
    """Two sensors, floats and integers, every value distinct."""
    return [
        reading(
            (A, B)[i % 2],
            i,
            temperature=round(-10 + i * 0.01, 2),
            humidity=round(30 + (i % 700) * 0.1, 1),
            battery=80 + i % 20,  # an int in a float field
            movement_counter=i % 256,  # an integer field
        )
        for i in range(start, start + count)
    ]


def settings(url: str, **overrides: Any) -> InfluxConfig:
    values: dict[str, Any] = {
        "enabled": True,
        "url": url,
        "org": "home",
        "bucket": "sensors",
        "token": "secret-token",
        "flush_interval": 0.1,
        "retry": {"initial": 0.05, "max": 0.2, "jitter": 0},
        "failing_after": 0.5,
        "timeout": 2,
    }
    values.update(overrides)
    return InfluxConfig.model_validate(values)


class Running:
    """A store, bus, scheduler and exporter that run for one test."""

    def __init__(self, store: SqliteStore, exporter: InfluxExporter) -> None:
        self.store = store
        self.exporter = exporter

    async def add(self, readings: list[Reading]) -> int:
        for r in readings:
            await self.store.add(r)
        await self.store.flush()
        return await self.store.last_reading_id()

    async def delivered(self, within: float = 10.0) -> None:
        """Wait until the watermark reaches the newest committed reading."""
        last = await self.store.last_reading_id()
        await eventually(lambda: self.exporter.watermark >= last, within)


@asynccontextmanager
async def running(
    path: Path,
    config: InfluxConfig,
    readings: list[Reading] | None = None,
    devices: Mapping[str, DeviceConfig] | None = None,
) -> AsyncIterator[Running]:
    store = SqliteStore(StoreConfig(path=path, min_interval=0), SystemClock(), devices)
    await store.open()
    bus = EventBus()
    scheduler = Scheduler(SchedulerConfig())
    exporter = InfluxExporter(config, store, scheduler, bus, SystemClock())
    run = Running(store, exporter)
    try:
        await run.add(readings or [])
        bus.start()
        scheduler.start()
        await exporter.start()
        yield run
    finally:
        await exporter.stop()
        scheduler.shutdown()
        await bus.stop()
        await store.close()


async def eventually(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {within}s")
        await asyncio.sleep(0.01)


async def eventually_async(condition: Callable[[], Awaitable[bool]], within: float) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {within}s")
        await asyncio.sleep(0.05)


def db_rows(path: Path, query: str, *args: object) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(query, args).fetchall()


def series(vm: VictoriaMetrics, measurement: str) -> dict[tuple[str, str], dict[int, float]]:
    """(field, address) -> {ms timestamp: value}; fails on a duplicate sample."""
    out: dict[tuple[str, str], dict[int, float]] = {}
    for s in vm.export(f'{{__name__=~"{measurement}_.+"}}'):
        field = s["metric"]["__name__"][len(measurement) + 1 :]
        points = dict(zip(s["timestamps"], s["values"], strict=True))
        assert len(points) == len(s["timestamps"]), f"{field}: a point was written twice"
        out[(field, s["metric"]["address"])] = points
    return out


def expected(readings: list[Reading]) -> dict[tuple[str, str], dict[int, float]]:
    out: dict[tuple[str, str], dict[int, float]] = {}
    for r in readings:
        ms = round(r.ts * 1000)
        values = {**r.measurements, "rssi": r.rssi}
        for name, value in values.items():
            assert value is not None
            out.setdefault((name, r.address), {})[ms] = value
    return out


# -- what arrives ------------------------------------------------------------------------


async def test_every_committed_reading_arrives_once_with_exact_values_tags_and_times(
    tmp_path: Path, vm: VictoriaMetrics
) -> None:
    config = settings(vm.url, measurement="exact", batch_size=250)
    before, after = many(1200), many(300, start=1200)
    async with running(tmp_path / "hub.db", config, before) as run:
        await run.delivered()
        assert run.exporter.counters.batches >= 1200 / 250  # batches, not one request
        # Readings committed while it runs go out at the next flush interval.
        await run.add(after)
        await run.delivered(within=5)
        health = run.exporter.health()
    assert health.state == "ok", health
    assert health.details["backlog"] == 0
    assert health.details["readings"] == 1500
    assert series(vm, "exact") == expected(before + after)
    labels = {
        tuple(sorted(s["metric"].items())) for s in vm.export('{__name__="exact_temperature"}')
    }
    assert labels == {
        (
            ("__name__", "exact_temperature"),
            ("address", address),
            ("integration", "ruuvi"),
            ("model", "RuuviTag"),
        )
        for address in (A, B)
    }
    watermark = db_rows(
        tmp_path / "hub.db", "SELECT reading_id FROM watermarks WHERE exporter = ?", NAME
    )
    assert watermark == [(1500,)], "the watermark is in the database"


async def test_names_and_locations_from_the_config_round_trip_exactly(
    tmp_path: Path, vm: VictoriaMetrics
) -> None:
    nasty = {
        A: ('Living room, "north" = 1\\2', "Küche ☃ 温度 \\"),
        B: ("a\\,b\\ c\\=d", "x=y,z w"),
    }
    devices = {
        address: DeviceConfig(name=name, location=location)
        for address, (name, location) in nasty.items()
    }
    config = settings(vm.url, measurement="names room,1")
    readings = many(40)
    async with running(tmp_path / "hub.db", config, readings, devices) as run:
        await run.delivered()
    found = vm.export('{__name__="names room,1_temperature"}')
    assert {
        s["metric"]["address"]: (s["metric"]["name"], s["metric"]["location"]) for s in found
    } == nasty
    assert sum(len(s["values"]) for s in found) == 40


async def test_readings_with_nothing_writable_are_passed_over(
    tmp_path: Path, vm: VictoriaMetrics
) -> None:
    only_events = Reading(ts=T0 + 1, address=A, integration="bthome", measurements={})
    config = settings(vm.url, measurement="nothing", rssi=False)
    async with running(tmp_path / "hub.db", config, [only_events, *many(3, start=1)]) as run:
        await run.delivered()
        assert run.exporter.counters.skipped == 1
        assert run.exporter.counters.points == 3
    assert vm.samples('{__name__="nothing_temperature"}') == 3


# -- outages -------------------------------------------------------------------------------


async def test_outage_keeps_the_backlog_in_sqlite_reports_it_and_drains_it(
    tmp_path: Path,
) -> None:
    own = VictoriaMetrics()
    own.start()
    try:
        config = settings(own.url, measurement="outage", batch_size=100)
        async with running(tmp_path / "hub.db", config, many(200)) as run:
            await run.delivered()
            own.stop()
            await run.add(many(500, start=200))
            await eventually(lambda: run.exporter.health().state == "degraded")
            health = run.exporter.health()
            assert "cannot reach" in health.reason
            assert health.details["backlog"] == 500
            assert run.exporter.lag_s() > 0
            await eventually(lambda: run.exporter.health().state == "failing", within=5)
            assert run.exporter.watermark == 200, "nothing counts as delivered while down"
            await run.add(many(300, start=700))
            own.start()
            # Back: it catches up at once (the backoff is capped at 0.2 s here).
            await run.delivered(within=5)
            assert run.exporter.health().state == "ok"
            assert run.exporter.counters.failures >= 2
        assert series(own, "outage") == expected(many(1000))
    finally:
        own.close()


async def test_401_stops_retrying_says_why_and_rechecks(tmp_path: Path) -> None:
    recheck = 0.8
    async with FakeInflux(unauthorized) as server:
        config = settings(server.url, auth_recheck=recheck)
        async with running(tmp_path / "hub.db", config, many(50)) as run:
            await eventually(lambda: run.exporter.health().state == "failing")
            health = run.exporter.health()
            assert health.reason.startswith("token rejected")
            assert "401" in health.reason
            assert "unauthorized access" in health.reason
            assert health.details["backlog"] == 50
            await asyncio.sleep(2.0)
            # A transient error would have been retried every 0.05-0.2 s: ten times more.
            spent = time.monotonic() - server.requests[0].at
            assert 2 <= len(server.requests) <= 2 + spent / recheck
            assert all(b.at - a.at >= recheck * 0.95 for a, b in pairwise(server.requests))
            assert server.requests[0].headers["Authorization"] == "Token secret-token"

            # Right after a re-check: SIGHUP makes it try at once, not a recheck later.
            seen = len(server.requests)
            await eventually(lambda: len(server.requests) > seen, within=2)
            server.policy = accept
            await run.exporter.reload()
            await run.delivered(within=recheck * 0.75)
            assert run.exporter.health().state == "ok"
    assert len(server.accepted) == 50


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_is_honoured(tmp_path: Path, status: int) -> None:
    server = FakeInflux(busy_first(1, "1", status))
    async with server, running(tmp_path / "hub.db", settings(server.url), many(20)) as run:
        await eventually(lambda: run.exporter.health().state == "degraded")
        assert f"HTTP {status}" in run.exporter.health().reason
        await run.delivered(within=5)
    times = [r.at for r in server.requests]
    # Without Retry-After the backoff would have tried again after 0.05 s.
    assert len(times) == 2, "one attempt after the pause the server asked for, no more"
    assert times[1] - times[0] >= 0.95
    assert len(server.accepted) == 20


# -- bad lines -----------------------------------------------------------------------------


async def test_one_bad_line_in_1000_is_quarantined_and_the_999_are_written(
    tmp_path: Path,
) -> None:
    readings = many(1000)
    bad = readings[617]
    marker = f"temperature={bad.measurements['temperature']},"
    async with FakeInflux(reject_lines(lambda line: marker in line)) as server:
        config = settings(server.url, batch_size=1000)
        async with running(tmp_path / "hub.db", config, readings) as run:
            await run.delivered()
            counters = run.exporter.counters
            assert counters.quarantined == 1
            assert counters.points == 999
            health = run.exporter.health()
            assert health.state == "ok"
            assert health.details["quarantined_total"] == 1
            # It never stalls on it: what comes next goes out as usual.
            await run.add(many(10, start=1000))
            await run.delivered(within=5)
    assert len(server.accepted) == 1009
    assert len(set(server.accepted)) == 1009, "each good line accepted once"
    assert not any(marker in line for line in server.accepted)
    assert len(server.requests) <= 2 * 10 + 3, "a bisection, not a line at a time"
    rows = db_rows(
        tmp_path / "hub.db",
        "SELECT exporter, reading_id, line, status, error FROM export_quarantine",
    )
    assert len(rows) == 1
    exporter, reading_id, line, status, error = rows[0]
    assert (exporter, reading_id, status) == (NAME, 618, 400)
    assert marker in line
    assert error == f"unable to parse '{line}': invalid field format"


# -- the purge -----------------------------------------------------------------------------


async def test_the_purge_keeps_readings_the_exporter_has_not_delivered(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    async with FakeInflux(unauthorized) as server:
        config = settings(server.url)
        async with running(path, config, many(100)) as run:
            await eventually(lambda: run.exporter.health().state == "failing")
            assert await outbox_floor(run.store) == 0
            # Long after the raw retention: only the exporter holds the readings back.
            clock = ManualClock(T0 + 400 * 86400)
            maintenance = Maintenance(run.store, RetentionConfig(raw=30 * 86400), clock)
            assert await maintenance.retention_job() == 0
            assert db_rows(path, "SELECT count(*) FROM readings") == [(100,)]

            server.policy = accept
            await run.exporter.reload()
            await run.delivered()
            assert await outbox_floor(run.store) == 100
            # Delivered: now they go (all but the newest, which the purge always keeps).
            assert await maintenance.retention_job() == 99
        assert await outbox_floor(run.store) is None, "a stopped exporter holds nothing"


# -- configuration and transport -----------------------------------------------------------


async def test_influxdb_18_credentials_database_and_gzip(tmp_path: Path) -> None:
    async with FakeInflux() as server:
        config = settings(
            server.url,
            org="",
            bucket="",
            token=None,
            database="hub",
            retention_policy="autogen",
            username="grafana",
            password="p@ss word",
            gzip=True,
        )
        async with running(tmp_path / "hub.db", config, many(30)) as run:
            await run.delivered()
    request = server.requests[0]
    assert request.query == {"org": "-", "bucket": "hub/autogen", "precision": "ms"}
    assert request.headers["Authorization"] == "Token grafana:p@ss word"
    assert request.headers["Content-Encoding"] == "gzip"
    assert len(server.accepted) == 30


async def test_the_token_may_come_from_a_file(tmp_path: Path) -> None:
    from hub.config.loader import load_config

    (tmp_path / "influx.token").write_text("from-a-file\n")
    config_file = tmp_path / "hub.yaml"
    async with FakeInflux() as server:
        config_file.write_text(
            "influxdb:\n  enabled: true\n"
            f"  url: {server.url}\n  org: home\n  bucket: b\n  token_file: influx.token\n"
        )
        config = load_config(config_file).influxdb
        async with running(tmp_path / "hub.db", config, many(3)) as run:
            await run.delivered()
    assert server.requests[0].headers["Authorization"] == "Token from-a-file"


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ("enabled: true", "influxdb: an enabled InfluxDB export needs bucket"),
        ("bucket: b\n  tokn: x", "influxdb.tokn: unknown key (did you mean 'token'?)"),
        ("bucket: b\n  token: t\n  username: u\n  password: p", "influxdb: give either token"),
        ("bucket: b\n  ca_file: missing.pem", "influxdb.ca_file: no such file"),
        ("bucket: b\n  url: localhost:8086", "influxdb.url: url must start with http"),
        ("bucket: b\n  precision: m", "influxdb.precision: Input should be 's', 'ms'"),
    ],
)
def test_config_errors_name_the_file_and_the_key(
    tmp_path: Path, section: str, problem: str
) -> None:
    from hub.config.loader import load_config
    from hub.errors import ConfigError

    config_file = tmp_path / "hub.yaml"
    config_file.write_text(f"influxdb:\n  {section}\n")
    with pytest.raises(ConfigError) as error:
        load_config(config_file)
    assert f"{config_file}: {problem}" in str(error.value)


def test_influxdb_client_is_imported_only_when_the_export_is_on() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, types\n"
        "import hub.cli, hub.container, hub.components, hub.exporters.influxdb as influx\n"
        "from hub.config.models import HubConfig\n"
        "assert influx.build(types.SimpleNamespace(config=HubConfig())) is None\n"
        "hub.cli._parser()\n"
        "print('influxdb_client' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


async def test_tls_is_verified_unless_told_otherwise_and_takes_a_ca_file(tmp_path: Path) -> None:
    from hub.exporters.influxdb.testing import self_signed_certificate, server_tls

    certificate, key = self_signed_certificate(tmp_path)
    async with FakeInflux(tls=server_tls(certificate, key)) as server:
        async with running(tmp_path / "a.db", settings(server.url), many(5)) as run:
            await eventually(lambda: run.exporter.health().state == "degraded")
            assert "CERTIFICATE_VERIFY_FAILED" in run.exporter.health().reason
            assert run.exporter.watermark == 0
        assert server.requests == [], "nothing is sent to a server that is not trusted"

        trusted = settings(server.url, ca_file=str(certificate))
        async with running(tmp_path / "b.db", trusted, many(5)) as run:
            await run.delivered()
        unchecked = settings(server.url, verify_tls=False)
        async with running(tmp_path / "c.db", unchecked, many(5)) as run:
            await run.delivered()
    assert len(server.accepted) == 10


async def test_first_run_new_skips_what_was_stored_before_and_only_that(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    async with FakeInflux(unauthorized) as server:
        config = settings(server.url, first_run="new")
        async with running(path, config, many(30)) as run:
            assert run.exporter.watermark == 30
            await run.add(many(5, start=30))  # stored while the server refuses
            await eventually(lambda: run.exporter.health().state == "failing")
        server.policy = accept
        # A later start resumes from its position: the 5 are not skipped.
        async with running(path, config) as run:
            await run.delivered()
    assert len(server.accepted) == 5
