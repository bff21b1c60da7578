"""Builds the configured sources and keeps each one running under supervision."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Literal

from loguru import logger

from hub.config.models import HubConfig
from hub.integrations import AdvertisementSink, IntegrationRegistry, Source, SourceContext

_MAX_BACKOFF_S = 60.0
# A source that ran this long before failing is considered to have been healthy: its
# backoff starts again from the beginning.
_HEALTHY_RUN_S = 60.0


@dataclass(slots=True)
class SourceStatus:
    """How one source is doing."""

    state: Literal["starting", "running", "finished", "restarting"] = "starting"
    restarts: int = 0
    last_error: str = ""


def build_sources(
    config: HubConfig, registry: IntegrationRegistry, context: SourceContext
) -> list[Source]:
    """One source per enabled entry of `sources:` in the config."""
    built = []
    for name, settings in config.enabled_sources().items():
        factory = registry.sources[settings.type].create_source
        assert factory is not None
        built.append(factory(name, settings, context))
    return built


class SourceRunner:
    """Runs every source in its own task; a failing source is restarted with backoff."""

    def __init__(self, sources: list[Source]) -> None:
        self.sources = sources
        self.status = {s.name: SourceStatus() for s in sources}
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, sink: AdvertisementSink) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._supervise(source, sink), name=f"source:{source.name}")
            for source in self.sources
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def wait_finished(self) -> None:
        """Wait until every source has finished by itself (a replay that plays once)."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _supervise(self, source: Source, sink: AdvertisementSink) -> None:
        status = self.status[source.name]
        backoff = 1.0
        while True:
            status.state = "running"
            started = time.monotonic()
            try:
                await source.run(sink)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - supervised boundary of a source
                if time.monotonic() - started >= _HEALTHY_RUN_S:
                    backoff = 1.0
                status.state = "restarting"
                status.restarts += 1
                status.last_error = f"{type(exc).__name__}: {exc}"
                logger.opt(exception=exc).error(
                    "Source {} failed ({}); restarting in {:.0f}s",
                    source.name,
                    status.last_error,
                    backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(_MAX_BACKOFF_S, backoff * 2)
            else:
                status.state = "finished"
                return
