#!/usr/bin/env python3
"""Advertisements per second through replay -> routing -> decode -> bus -> SQLite commit.

Pinned to one core (the aiosqlite thread shares it). The reference, measured in the same
run on the same capture, is the same loop with the bus and the store replaced by a bare list
append. Every advertisement carries a new measurement (the worst case for the store: a real
capture repeats each measurement three or four times, and repeats are never stored).

Usage: .venv/bin/python scripts/bench/pipeline.py [--quick] [--adverts N] [--repeats R]
The last line printed is one JSON object (contract 6).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# This folder holds http.py (contract 6), which would hide the standard library's http.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from loguru import logger  # noqa: E402

from hub.bus import EventBus  # noqa: E402
from hub.clock import SystemClock  # noqa: E402
from hub.config.models import StoreConfig  # noqa: E402
from hub.events import Advertisement, Reading  # noqa: E402
from hub.integrations import IntegrationRegistry, SourceContext  # noqa: E402
from hub.router import Router  # noqa: E402
from hub.store import SqliteStore  # noqa: E402
from integrations.replay.source import ReplaySettings, ReplaySource  # noqa: E402
from integrations.ruuvi.synthetic import payload as ruuvi_payload  # noqa: E402
from integrations.ruuvi.synthetic import tag_address, tag_name  # noqa: E402

SENSORS = 200


def make_capture(path: Path, adverts: int) -> None:
    """`adverts` RuuviTag format 5 records from SENSORS tags, each a new measurement."""
    start = 1_795_155_600.0
    with path.open("w") as out:
        for i in range(adverts):
            sensor, sequence = i % SENSORS, i // SENSORS
            payload = ruuvi_payload(i, sensor, sequence)
            record = {
                "ts": round(start + i * 0.005, 3),
                "address": tag_address(sensor),
                "name": tag_name(sensor),
                "rssi": -60 - i % 30,
                "manufacturer_data": {"1177": payload.hex()},
            }
            out.write(json.dumps(record) + "\n")


def replay(capture: Path, context: SourceContext) -> ReplaySource:
    settings = ReplaySettings.model_validate({"file": str(capture), "speed": 0})
    return ReplaySource("bench", settings, context)


async def run_hub(capture: Path, db: Path, adverts: int) -> tuple[float, float]:
    """Wall and CPU seconds for the full pipeline, until the last batch is committed."""
    clock = SystemClock()
    bus = EventBus(default_queue_size=10_000)
    router = Router(IntegrationRegistry.discover(), bus)
    # Every advertisement is a new measurement and is stored (no storage interval).
    store = SqliteStore(StoreConfig(path=db, batch_size=1_000, min_interval=0), clock)
    await store.open()
    bus.subscribe(Reading, store.add, name="store", policy="block")
    bus.start()
    source = replay(capture, SourceContext(clock=clock))
    wall, cpu = time.perf_counter(), time.process_time()
    await source.run(router.submit)
    await bus.idle()
    await store.flush()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await bus.stop()
    committed = store.counters.committed
    await store.close()
    if committed != adverts:
        raise SystemExit(f"lost readings: {committed} committed of {adverts}")
    return wall, cpu


async def run_reference(capture: Path, adverts: int) -> tuple[float, float]:
    """The same replay, routing and decoding, into a list instead of bus and store."""
    bus = EventBus()
    router = Router(IntegrationRegistry.discover(), bus)
    out: list[object] = []
    append = out.append
    route = router.route

    async def sink(adv: Advertisement) -> None:
        append(route(adv))

    source = replay(capture, SourceContext(clock=SystemClock()))
    wall, cpu = time.perf_counter(), time.process_time()
    await source.run(sink)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if sum(isinstance(e, Reading) for e in out) != adverts:
        raise SystemExit("reference decoded a different number of readings")
    return wall, cpu


def measure(repeats: int, run: Callable[[], Awaitable[tuple[float, float]]]) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeats):
        gc.collect()
        wall, cpu = asyncio.run(run())  # type: ignore[arg-type]
        walls.append(wall)
        cpus.append(cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller run, same figures")
    parser.add_argument("--adverts", type=int)
    parser.add_argument("--repeats", type=int)
    args = parser.parse_args()
    adverts = args.adverts or (20_000 if args.quick else 100_000)
    repeats = args.repeats or (3 if args.quick else 5)

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    cpu = sorted(os.sched_getaffinity(0))[0]
    os.sched_setaffinity(0, {cpu})
    print(f"pipeline: {adverts} advertisements from {SENSORS} RuuviTags, median of {repeats}")
    print(f"pinned to CPU {cpu}; Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        capture = Path(tmp) / "capture.jsonl"
        make_capture(capture, adverts)
        counter = iter(range(repeats))

        async def hub_run() -> tuple[float, float]:
            return await run_hub(capture, Path(tmp) / f"hub{next(counter)}.db", adverts)

        async def ref_run() -> tuple[float, float]:
            return await run_reference(capture, adverts)

        # The hub first, so the peak RSS is the hub's and not the reference's list of events.
        hub_wall, hub_cpu = measure(repeats, hub_run)
        rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        ref_wall, ref_cpu = measure(repeats, ref_run)

    hub_rate = adverts / hub_wall
    ref_rate = adverts / ref_wall
    cpu_ms_per_1k = hub_cpu / adverts * 1000 * 1000
    print(f"reference (replay+route+decode -> list): {ref_rate:>10,.0f} adverts/s")
    print(f"hub (… -> bus -> SQLite commit):         {hub_rate:>10,.0f} adverts/s")
    print(f"ratio hub/reference:                     {hub_rate / ref_rate:>10.2f}")
    print(
        f"CPU per 1,000 adverts:                   {cpu_ms_per_1k:>10.1f} ms "
        f"({cpu_ms_per_1k:.1f} µs/advert; reference "
        f"{ref_cpu / adverts * 1e6:.1f} µs)"
    )
    print(f"peak RSS of the hub runs:                {rss_mib:>10.1f} MiB")
    print(
        json.dumps(
            {
                "adverts_per_s": round(hub_rate),
                "reference_adverts_per_s": round(ref_rate),
                "ratio": round(hub_rate / ref_rate, 3),
                "cpu_ms_per_1k_adverts": round(cpu_ms_per_1k, 2),
                "rss_mib": round(rss_mib, 1),
                "adverts": adverts,
                "repeats": repeats,
            }
        )
    )


if __name__ == "__main__":
    main()
