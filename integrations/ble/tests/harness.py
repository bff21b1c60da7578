"""Running the ble source in a test: a real router and bus, the hub's scheduler, log capture."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loguru import logger

from hub.bus import EventBus
from hub.clock import SystemClock
from hub.config.models import SchedulerConfig
from hub.decoding import canonical_measurements, decode_advertisement
from hub.events import Advertisement, Reading, SensorSeen
from hub.integrations import DecodeContext, Decoded, IntegrationRegistry, SourceContext
from hub.records import parse_record
from hub.router import Router
from hub.scheduler import Scheduler
from integrations.ble.settings import BleSettings
from integrations.ble.source import BleSource

ROOT = Path(__file__).resolve().parents[3]
REGISTRY = IntegrationRegistry.discover()


def samples(integration: str) -> list[dict[str, Any]]:
    """The records of `integrations/<integration>/samples.jsonl`."""
    path = ROOT / "integrations" / integration / "samples.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def expected(record: dict[str, Any]) -> tuple[str, dict[str, float | int]]:
    """(integration, measurements) the hub's decoders make of a record, as the router does."""
    adv = parse_record(record)
    integration, result = decode_advertisement(REGISTRY, DecodeContext(), adv)
    assert integration is not None, record
    assert isinstance(result, Decoded), record
    return integration.name, dict(canonical_measurements(result))


def ble_settings(**overrides: Any) -> BleSettings:
    """Settings with a quick watchdog (tests), overridable key by key."""
    data: dict[str, Any] = {
        "adapters": ["hci0"],
        "watchdog": {
            "check_interval": "0.1s",
            "min_silence": "0.6s",
            "max_silence": "3s",
            "silence_factor": 5,
            "power_off": "0.3s",
            "first_backoff": "1s",
            "max_backoff": "2s",
        },
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return BleSettings.model_validate(data)


async def wait_until(condition: Callable[[], object], within: float = 5.0, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"not within {within} s: {what or condition}")
        await asyncio.sleep(0.02)


@dataclass
class Running:
    """A source running into a real router and bus, and what came out of it."""

    source: BleSource
    router: Router
    bus: EventBus
    task: asyncio.Task[None]
    readings: list[Reading] = field(default_factory=list)
    seen: list[SensorSeen] = field(default_factory=list)
    adverts: list[Advertisement] = field(default_factory=list)

    def readings_of(self, address: str) -> list[Reading]:
        return [r for r in self.readings if r.address == address]


@asynccontextmanager
async def running_source(
    settings: BleSettings, *, scheduler: bool = True
) -> AsyncIterator[Running]:
    """The source on a real bus and router, with the hub's APScheduler (or none)."""
    bus = EventBus()
    router = Router(REGISTRY, bus)
    jobs = Scheduler(SchedulerConfig()) if scheduler else None
    source = BleSource("ble", settings, SourceContext(clock=SystemClock(), scheduler=jobs))
    if jobs is not None:
        jobs.start()
    bus.start()
    task = asyncio.create_task(source.run(router.submit))
    run = Running(source, router, bus, task)
    bus.subscribe(Reading, run.readings.append, name="test:readings")
    bus.subscribe(SensorSeen, run.seen.append, name="test:seen")
    bus.subscribe(Advertisement, run.adverts.append, name="test:adverts")
    try:
        await wait_until(lambda: source.running or task.done(), what="the source runs")
        # Let bleak's reader take the signals of the setup before the test's own.
        await asyncio.sleep(0.2)
        yield run
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if jobs is not None:
            jobs.shutdown()
        await bus.stop()


@contextmanager
def captured_logs(level: str = "INFO") -> Iterator[list[str]]:
    """Every log message at `level` or above while the block runs."""
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(m.record["message"]), level=level)
    try:
        yield lines
    finally:
        logger.remove(sink)


@asynccontextmanager
async def radio_running(radio: Any) -> AsyncIterator[Any]:
    task = asyncio.create_task(radio.run())
    try:
        yield radio
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
