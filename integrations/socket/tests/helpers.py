"""Lines to send and a running source to send them to."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import orjson

from hub.clock import Clock, SystemClock
from hub.events import Advertisement
from hub.integrations import SourceContext
from integrations.ruuvi.df5 import encode
from integrations.socket.settings import SocketSettings
from integrations.socket.source import SocketSource

Sink = Callable[[Advertisement], Awaitable[None]]


def ruuvi_line(address: str, sequence: int, ts: float | None = None) -> bytes:
    """A contract-1 line of a RuuviTag (format 5) carrying measurement `sequence`."""
    payload = encode(
        temperature=20 + sequence % 100 / 10,
        humidity=40.0,
        pressure=1000.0,
        acceleration=(0.0, 0.0, 1.0),
        voltage=3.0,
        tx_power=4,
        movement_counter=sequence % 200,
        sequence=sequence % 65535,
        mac=bytes.fromhex(address.replace(":", "")),
    )
    record: dict[str, object] = {
        "address": address,
        "rssi": -60,
        "manufacturer_data": {"1177": payload.hex()},
    }
    if ts is not None:
        record["ts"] = ts
    return orjson.dumps(record) + b"\n"


def make_source(
    tmp_path: Path, clock: Clock | None = None, name: str = "receiver", **settings: object
) -> SocketSource:
    if "host" not in settings and "path" not in settings:
        settings["path"] = "hub.sock"
    validated = SocketSettings.model_validate(settings, context={"base_dir": tmp_path})
    return SocketSource(name, validated, SourceContext(clock=clock or SystemClock()))


@contextlib.asynccontextmanager
async def running(source: SocketSource, sink: Sink) -> AsyncIterator[asyncio.Task[None]]:
    """The source's run(sink) as a task, listening when the block starts, cancelled after."""
    task = asyncio.create_task(source.run(sink))
    try:
        async with asyncio.timeout(5):
            while not source.listening:
                if task.done():
                    task.result()  # raises why it could not listen
                await asyncio.sleep(0.005)
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def connect(source: SocketSource) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    where = source.listening[0]
    if source.settings.path is not None:
        return await asyncio.open_unix_connection(where)
    host, _, port = where.rpartition(":")
    return await asyncio.open_connection(host.strip("[]"), int(port))


async def wait_until(condition: Callable[[], bool], within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 - polling the source's counters
            await asyncio.sleep(0.005)


class Collector:
    """A sink that keeps what it is given."""

    def __init__(self) -> None:
        self.got: list[Advertisement] = []

    async def __call__(self, adv: Advertisement) -> None:
        self.got.append(adv)
