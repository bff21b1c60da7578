"""The backfill behind `hub export influx`, against a server that refuses (our aiohttp one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hub.clock import SystemClock
from hub.config.models import StoreConfig
from hub.events import Reading
from hub.exporters.influxdb.backfill import BackfillResult, backfill, open_database
from hub.exporters.influxdb.backoff import Backoff
from hub.exporters.influxdb.config import InfluxConfig
from hub.exporters.influxdb.delivery import AuthRejected
from hub.exporters.influxdb.lineprotocol import LineEncoder
from hub.exporters.influxdb.outbox import Selection
from hub.exporters.influxdb.testing import FakeInflux, Reply, reject_lines, unauthorized
from hub.exporters.influxdb.transport import InfluxTransport
from hub.store.sqlite import SqliteStore

T0 = 1_795_155_600.0


async def database(path: Path, count: int) -> Path:
    store = SqliteStore(StoreConfig(path=path, min_interval=0), SystemClock())
    await store.open()
    for i in range(count):
        await store.add(
            Reading(
                ts=T0 + i,
                address=("AA:00:00:00:00:01", "AA:00:00:00:00:02")[i % 2],
                integration="ruuvi",
                measurements={"temperature": round(20 + i * 0.01, 2)},
            )
        )
    await store.close()
    return path


async def run(
    path: Path, url: str, selection: Selection, **overrides: Any
) -> tuple[BackfillResult, list[float]]:
    settings = InfluxConfig.model_validate(
        {"url": url, "bucket": "b", "retry": {"initial": 0.01, "max": 0.02}, **overrides}
    )
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    conn = await open_database(path)
    transport = InfluxTransport(settings)
    await transport.open()
    try:
        result = await backfill(
            conn,
            selection,
            LineEncoder(settings),
            transport.write,
            batch_size=settings.batch_size,
            backoff=Backoff(settings.retry),
            sleep=sleep,
        )
    finally:
        await transport.close()
        await conn.close()
    return result, pauses


async def test_a_range_of_one_sensor_in_batches(tmp_path: Path) -> None:
    path = await database(tmp_path / "hub.db", 300)
    async with FakeInflux() as server:
        selection = Selection(T0 + 100, T0 + 200, sensor_ids=(1,))
        result, _ = await run(path, server.url, selection, batch_size=20)
    assert result.readings == result.written == 50
    assert result.stopped is None
    assert result.first_ts == T0 + 100
    assert result.last_ts == T0 + 198
    assert len(server.requests) == 3  # 20 + 20 + 10
    assert all("address=AA:00:00:00:00:01" in line for line in server.accepted)
    stamps = sorted(int(line.rsplit(" ", 1)[1]) for line in server.accepted)
    assert stamps == [round((T0 + t) * 1000) for t in range(100, 200, 2)]


async def test_refused_lines_are_reported_and_the_rest_written(tmp_path: Path) -> None:
    path = await database(tmp_path / "hub.db", 100)
    async with FakeInflux(reject_lines(lambda line: " temperature=20.5 " in line)) as server:
        result, _ = await run(path, server.url, Selection(T0, T0 + 1000))
    assert result.written == 99
    assert [r.reading_id for r in result.rejected] == [51]
    assert result.rejected[0].message.startswith("unable to parse")


async def test_a_server_that_stays_down_stops_it_saying_how_far_it_got(tmp_path: Path) -> None:
    path = await database(tmp_path / "hub.db", 100)

    def down_after_first(server: FakeInflux, _lines: list[str]) -> Reply:
        if server.requests:
            return 503, {}, {"code": "unavailable", "message": "shutting down"}
        return 204, {}, None

    async with FakeInflux(down_after_first) as server:
        result, pauses = await run(path, server.url, Selection(T0, T0 + 1000), batch_size=40)
    assert result.readings == 40
    assert result.last_ts == T0 + 39
    assert result.stopped == "HTTP 503: shutting down (8 attempts)"
    assert len(pauses) == 7, "it waited between the attempts"
    assert result.retries == 7


async def test_rejected_credentials_end_it(tmp_path: Path) -> None:
    path = await database(tmp_path / "hub.db", 10)
    async with FakeInflux(unauthorized) as server:
        with pytest.raises(AuthRejected, match="token rejected"):
            await run(path, server.url, Selection(T0, T0 + 1000))
    assert len(server.requests) == 1
