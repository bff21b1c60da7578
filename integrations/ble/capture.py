"""Listening without a hub, for `hub scan` and `hub record`: the ble source, one adapter.

The same source as the hub's (the same conversion of bleak's callbacks, the same filter of
BlueZ's merged manufacturer data), without the watchdog, jobs or GATT polls. Problems are
found before scanning starts and come back as `CaptureError` with the diagnostics' words.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from hub.clock import SystemClock
from hub.errors import HubError
from hub.events import Advertisement
from hub.integrations import SourceContext
from integrations.ble.diagnostics import diagnose
from integrations.ble.settings import BleSettings
from integrations.ble.source import BleSource

_START_TIMEOUT_S = 10.0


class CaptureError(HubError):
    """BLE scanning cannot work here; the message says why and how to fix it."""


async def capture(
    adapter: str,
    on_advert: Callable[[Advertisement], None],
    duration: float | None,
    stop: asyncio.Event | None = None,
) -> None:
    """Scan on `adapter`, calling `on_advert` for each advertisement, until `duration` is
    over or `stop` is set; raises CaptureError when scanning cannot start."""
    diagnosis = await diagnose((adapter,))
    if not diagnosis.ok:
        raise CaptureError(str(diagnosis.problems[0]))
    settings = BleSettings.model_validate(
        {"adapters": [adapter], "watch_bluez": False, "watchdog": {"enabled": False}}
    )
    source = BleSource("capture", settings, SourceContext(clock=SystemClock()))

    async def sink(adv: Advertisement) -> None:
        on_advert(adv)

    task = asyncio.create_task(source.run(sink))
    try:
        await _started(source, task, adapter)
        waits: list[asyncio.Future[Any]] = [task]
        if stop is not None:
            waits.append(asyncio.ensure_future(stop.wait()))
        await asyncio.wait(waits, timeout=duration, return_when=asyncio.FIRST_COMPLETED)
        for waiting in waits[1:]:
            waiting.cancel()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _started(source: BleSource, task: asyncio.Task[None], adapter: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _START_TIMEOUT_S
    while not source.running:
        if task.done() or loop.time() > deadline:
            break
        await asyncio.sleep(0.01)
    scanner = source.scanners.get(adapter)
    if scanner is not None and scanner.scanning:
        return
    ladder = source.watchdog.ladders.get(adapter) if source.watchdog else None
    problem = ladder.problem if ladder is not None and ladder.problem else "scanning did not start"
    raise CaptureError(f"cannot scan on {adapter}: {problem}")
