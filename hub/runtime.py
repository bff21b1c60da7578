"""`hub run`: build the container, start the hub, and stop it cleanly on a signal."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from loguru import logger

from hub.config.models import HubConfig
from hub.container import Container
from hub.errors import HubError
from hub.systemd import StatusSummary, SystemdNotifier

if TYPE_CHECKING:
    from hub.app import Hub


async def serve(
    config: HubConfig,
    *,
    container: Container | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Run until SIGINT/SIGTERM (or `stop` is set); returns the exit status."""
    container = container or Container(config=config)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    signals_seen: list[int] = []

    def on_signal(signum: int) -> None:
        signals_seen.append(signum)
        if len(signals_seen) == 1:
            logger.info("{} received: stopping (send it again to exit at once)", _name(signum))
            stop.set()
        else:
            logger.warning("{} received again: exiting now", _name(signum))
            os._exit(128 + signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    reloads: set[asyncio.Task[None]] = set()
    hub: Hub | None = None

    def on_hangup() -> None:
        if hub is None:
            return
        logger.info("SIGHUP received: reloading")
        task = loop.create_task(hub.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, on_hangup)
    try:
        try:
            await _maybe_await(container.init_resources())
            # Built from async resources the hub comes as an awaitable; overridden, as is.
            provided = container.hub()
            hub = await provided if inspect.isawaitable(provided) else provided
        except HubError as exc:
            logger.error("Cannot start: {}", exc)
            return 1
        systemd = SystemdNotifier.from_environ()
        try:
            await hub.start()
            systemd.started(StatusSummary(hub))
            await stop.wait()
        finally:
            systemd.stopping()
            await hub.stop()
            systemd.close()
    finally:
        await _maybe_await(container.shutdown_resources())
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(signum)
    logger.info("Bye")
    return 0


async def _maybe_await(result: Awaitable[None] | None) -> None:
    # dependency-injector returns an awaitable only when there are async resources.
    if result is not None:
        await result


def _name(signum: int) -> str:
    return signal.Signals(signum).name
