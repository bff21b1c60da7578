"""The socket source with real sockets and the hub's own router and bus behind it."""

from __future__ import annotations

import asyncio
import socket
import stat
from pathlib import Path

import orjson
import pytest

from hub.bus import EventBus
from hub.clock import ManualClock
from hub.events import Reading
from hub.integrations import IntegrationRegistry
from hub.router import Router
from integrations.socket.source import SocketSourceError
from integrations.socket.tests.helpers import (
    Collector,
    connect,
    make_source,
    running,
    ruuvi_line,
    wait_until,
)

A = "C8:25:2D:8E:AB:4C"
B = "F7:6B:13:E0:51:A8"


@pytest.fixture(scope="module")
def registry() -> IntegrationRegistry:
    return IntegrationRegistry.discover()


async def test_two_clients_feed_the_router_every_line_in_order(
    tmp_path: Path, registry: IntegrationRegistry
) -> None:
    bus = EventBus()
    router = Router(registry, bus)
    readings: list[Reading] = []
    bus.subscribe(Reading, readings.append, name="collect", policy="block")
    bus.start()
    source = make_source(tmp_path, name="receiver_a")
    try:
        async with running(source, router.submit):
            clients = [await connect(source), await connect(source)]
            await wait_until(lambda: source.counters.connected == 2)
            for sequence in range(500):
                for (_, writer), address in zip(clients, (A, B), strict=True):
                    writer.write(ruuvi_line(address, sequence))
            for _, writer in clients:
                await writer.drain()
                writer.close()
            await wait_until(lambda: len(readings) == 1000)
            await wait_until(lambda: source.counters.connected == 0)
    finally:
        await bus.stop()

    for address in (A, B):
        mine = [r for r in readings if r.address == address]
        assert [r.sequence for r in mine] == list(range(500))
    counters = source.counters
    assert (counters.clients, counters.lines, counters.delivered) == (2, 1000, 1000)
    assert counters.bad_lines == counters.too_long == 0


async def test_a_client_blocked_by_a_slow_hub_loses_nothing(
    tmp_path: Path, registry: IntegrationRegistry
) -> None:
    """The store's mailbox is full and held: the client's writes block, then all arrive."""
    bus = EventBus()
    router = Router(registry, bus)
    gate = asyncio.Event()
    stored: list[int | None] = []

    async def slow_store(reading: Reading) -> None:
        await gate.wait()
        stored.append(reading.sequence)

    bus.subscribe(Reading, slow_store, name="store", policy="block", queue_size=8)
    bus.start()
    source = make_source(tmp_path, queue_size=16)
    total = 20_000  # about 3 MB: more than every buffer between the client and the hub
    try:
        async with running(source, router.submit):
            _, writer = await connect(source)
            writer.write(b"".join(ruuvi_line(A, n) for n in range(total)))
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(writer.drain(), timeout=0.5)
            assert source.counters.waits >= 1
            assert source.counters.delivered < 100  # held back, not read and dropped
            gate.set()
            await asyncio.wait_for(writer.drain(), timeout=20)
            writer.close()
            await wait_until(lambda: len(stored) == total, within=30)
    finally:
        gate.set()
        await bus.stop()

    assert stored == list(range(total))
    assert bus.dropped == 0
    assert source.counters.delivered == total


async def test_bad_lines_are_counted_and_the_connection_goes_on(tmp_path: Path) -> None:
    sink = Collector()
    source = make_source(tmp_path, max_line=1024)
    lines = [
        ruuvi_line(A, 1),
        b"this is not JSON\n",
        b"[1, 2, 3]\n",
        b'{"address": "not-an-address"}\n',
        b'{"address": "' + A.encode() + b'", "manufacturer_data": {"1177": "zz"}}\n',
        b"\n",
        b'{"address": "' + A.encode() + b'", "name": "' + b"x" * 2000 + b'"}\n',
        ruuvi_line(A, 2),
    ]
    async with running(source, sink):
        _, writer = await connect(source)
        for line in lines:  # one write each: the too-long line arrives in pieces too
            writer.write(line)
            await writer.drain()
        await wait_until(lambda: len(sink.got) == 2)
        assert source.counters.connected == 1  # still connected after all that
        writer.write(ruuvi_line(A, 3))
        await writer.drain()
        await wait_until(lambda: len(sink.got) == 3)
        writer.close()

    counters = source.counters
    assert (counters.bad_lines, counters.too_long) == (4, 1)
    assert counters.delivered == 3
    details = source.health().details  # what /healthz and the health monitor show
    assert (details["bad_lines"], details["too_long"], details["lines"]) == (4, 1, 7)
    assert [a.manufacturer_data[0x0499][17] for a in sink.got] == [1, 2, 3]  # sequence, low byte


async def test_the_tcp_variant(tmp_path: Path, registry: IntegrationRegistry) -> None:
    bus = EventBus()
    router = Router(registry, bus)
    readings: list[Reading] = []
    bus.subscribe(Reading, readings.append, name="collect")
    bus.start()
    source = make_source(tmp_path, host="127.0.0.1", port=0)
    try:
        async with running(source, router.submit):
            assert source.listening[0].startswith("127.0.0.1:")
            assert not source.listening[0].endswith(":0")
            _, writer = await connect(source)
            writer.write(b"".join(ruuvi_line(B, n) for n in range(50)))
            await writer.drain()
            writer.close()
            await wait_until(lambda: len(readings) == 50)
    finally:
        await bus.stop()
    assert [r.sequence for r in readings] == list(range(50))
    assert {r.address for r in readings} == {B}


async def test_timestamps_now_stamps_each_line_on_arrival_and_ignores_its_ts(
    tmp_path: Path,
) -> None:
    clock = ManualClock(start=1_800_000_000.0)
    sink = Collector()
    source = make_source(tmp_path, clock)
    assert source.live_timestamps
    async with running(source, sink):
        _, writer = await connect(source)
        writer.write(ruuvi_line(A, 1, ts=10.0))
        await wait_until(lambda: len(sink.got) == 1)
        clock.advance(7.5)
        writer.write(ruuvi_line(A, 2))
        await wait_until(lambda: len(sink.got) == 2)
        writer.close()
    assert [a.ts for a in sink.got] == [1_800_000_000.0, 1_800_000_007.5]
    assert {a.source for a in sink.got} == {"receiver"}


async def test_timestamps_recorded_keeps_the_lines_time(tmp_path: Path) -> None:
    sink = Collector()
    source = make_source(tmp_path, ManualClock(start=500.0), timestamps="recorded")
    assert not source.live_timestamps
    async with running(source, sink):
        _, writer = await connect(source)
        writer.write(ruuvi_line(A, 1, ts=10.25) + ruuvi_line(A, 2))
        await wait_until(lambda: len(sink.got) == 2)
        writer.close()
    assert [a.ts for a in sink.got] == [10.25, 500.0]


async def test_the_socket_file_is_0660_while_running_and_gone_after(tmp_path: Path) -> None:
    source = make_source(tmp_path)
    path = tmp_path / "hub.sock"
    async with running(source, Collector()):
        mode = path.stat().st_mode
        assert stat.S_ISSOCK(mode)
        assert stat.S_IMODE(mode) == 0o660
        assert source.health().state == "ok"
    assert not path.exists()


async def test_a_stale_socket_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "hub.sock"
    crashed = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    crashed.bind(str(path))  # a process that died without removing its socket
    crashed.close()
    sink = Collector()
    source = make_source(tmp_path)
    async with running(source, sink):
        _, writer = await connect(source)
        writer.write(ruuvi_line(A, 1))
        await wait_until(lambda: len(sink.got) == 1)
        writer.close()


async def test_a_socket_in_use_or_a_regular_file_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "hub.sock"
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(str(path))
    other.listen()
    try:
        source = make_source(tmp_path)
        with pytest.raises(SocketSourceError, match="in use"):
            await asyncio.wait_for(source.run(Collector()), 5)
        assert source.health().state == "failing"
        assert "in use" in source.health().reason
        assert path.exists()
    finally:
        other.close()
        path.unlink()
    path.write_text("my notes\n")
    with pytest.raises(SocketSourceError, match="not a socket"):
        await asyncio.wait_for(make_source(tmp_path).run(Collector()), 5)
    assert path.read_text() == "my notes\n"


async def test_lines_read_before_a_stop_are_still_delivered(tmp_path: Path) -> None:
    """At stop the source stops reading and hands on what it had already read."""
    gate = asyncio.Event()
    got: list[float] = []

    async def sink(adv: Reading | object) -> None:
        await gate.wait()
        got.append(1.0)

    source = make_source(tmp_path, queue_size=100)
    task = asyncio.create_task(source.run(sink))  # type: ignore[arg-type]
    await wait_until(lambda: bool(source.listening))
    _, writer = await connect(source)
    writer.write(b"".join(ruuvi_line(A, n) for n in range(50)))
    await writer.drain()
    await wait_until(lambda: source.queue_depth == 49)  # one is in the sink, held
    task.cancel()
    await asyncio.sleep(0.05)
    gate.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    writer.close()
    assert len(got) == 49  # the one cancelled inside the sink is the only one not counted
    assert source.counters.undelivered_at_stop == 0


def test_settings_errors_name_the_file_and_key(tmp_path: Path) -> None:
    from hub.config.loader import load_config
    from hub.errors import ConfigError

    config = tmp_path / "hub.yaml"
    config.write_text(
        orjson.dumps(
            {
                "sources": {
                    "both": {"type": "socket", "path": "a.sock", "host": "127.0.0.1", "port": 1},
                    "neither": {"type": "socket"},
                    "half": {"type": "socket", "host": "127.0.0.1"},
                    "long": {"type": "socket", "path": "/" + "x" * 200},
                    "typo": {"type": "socket", "path": "a.sock", "timestamp": "now"},
                }
            }
        ).decode()
    )
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ={})
    problems = [str(p) for p in caught.value.problems]
    assert all(p.startswith(f"{config}: sources.") for p in problems), problems
    text = "\n".join(problems)
    assert "sources.both" in text
    assert "not both" in text
    assert "sources.neither" in text
    assert "give path" in text
    assert "sources.half" in text
    assert "both host and port" in text
    assert "sources.long" in text
    assert "at most 107" in text
    assert "sources.typo.timestamp" in text
