#!/usr/bin/env python3
"""What honest timestamps cost: the clock guard on the hot path, a release, the clocks.

- `router_us_per_advert`: `Router.submit` on the demo capture's advertisements (decode,
  sequence check, bus publish with no subscriber): the reference, measured in the same run.
- `guard_us_per_advert`: what `ClockGuard.submit` adds per advertisement with the machine's
  clock (trusted: the clock measured, the advertisement passed on), timed into a sink that
  does nothing, less that sink called directly; `guard_overhead_ratio` is its share of the
  reference.
- `release_adverts_per_s`: advertisements held during a clock step, then re-stamped and
  passed on (to a sink that does nothing) once the clock is trusted again.
- `system_synchronised_us`, `controlled_time_us`: one call of `SystemClock.synchronised()`
  (cached kernel answer) and of `ControlledClock.time()` (the soak's clock, file checked
  every 20 ms).

Pinned to one core; every figure is the median of several repeats, garbage collection off
while timing.

Usage: .venv/bin/python scripts/bench/clock.py [--quick] [--repeats R]
The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# This folder holds http.py (contract 6), which would hide the standard library's http.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from loguru import logger  # noqa: E402

from hub.bus import EventBus  # noqa: E402
from hub.clock import ControlledClock, ManualClock, SystemClock, write_clock_file  # noqa: E402
from hub.events import Advertisement  # noqa: E402
from hub.integrations import IntegrationRegistry  # noqa: E402
from hub.records import parse_line  # noqa: E402
from hub.router import Router  # noqa: E402
from hub.timekeeping.config import ClockConfig  # noqa: E402
from hub.timekeeping.guard import ClockGuard  # noqa: E402

DEMO = ROOT / "config" / "demo" / "ruuvitags.jsonl"


def pin() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def median_of(repeats: int, run: Callable[[], float]) -> float:
    return statistics.median(run() for _ in range(repeats))


def timed(body: Callable[[], object]) -> float:
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        body()
        return time.perf_counter() - started
    finally:
        gc.enable()


async def atimed(body: Callable[[], Awaitable[object]]) -> float:
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        await body()
        return time.perf_counter() - started
    finally:
        gc.enable()


def adverts(count: int) -> list[Advertisement]:
    lines = DEMO.read_text().splitlines()
    now = time.time()
    base = [parse_line(line) for line in lines]
    # Distinct sequence windows are not needed: repeats cost the router the same lookup.
    return [replace(base[i % len(base)], ts=now, source="radio") for i in range(count)]


async def hot_path(advs: list[Advertisement], repeats: int) -> tuple[float, float]:
    """(router µs per advertisement, guard µs per advertisement)."""
    router = Router(IntegrationRegistry.discover(), EventBus())

    async def nothing(adv: Advertisement) -> None:
        return None

    guard = ClockGuard(ClockConfig(), SystemClock())
    submit = guard.start(nothing)

    async def routed() -> None:
        for adv in advs:
            await router.submit(adv)

    async def direct() -> None:
        for adv in advs:
            await nothing(adv)

    async def guarded() -> None:
        for adv in advs:
            await submit(adv)

    for body in (routed, direct, guarded):  # warm up
        await body()
    times: dict[str, list[float]] = {"routed": [], "direct": [], "guarded": []}
    for _ in range(repeats):  # interleaved, so all see the same machine
        for name, body in (("routed", routed), ("direct", direct), ("guarded", guarded)):
            times[name].append(await atimed(body))
    await guard.stop()
    assert guard.held == 0
    assert guard.counters.passed == len(advs) * (repeats + 1)
    per = {name: statistics.median(values) / len(advs) * 1e6 for name, values in times.items()}
    return per["routed"], per["guarded"] - per["direct"]


async def release(advs: list[Advertisement], repeats: int) -> float:
    async def one() -> float:
        clock = ManualClock()
        guard = ClockGuard(ClockConfig(max_held=len(advs) + 1, settle=0), clock)
        passed = 0
        done = asyncio.Event()

        async def sink(adv: Advertisement) -> None:
            nonlocal passed
            passed += 1
            if passed == len(advs) + 1:
                done.set()

        submit = guard.start(sink)
        clock.advance(0.001)
        await submit(replace(advs[0], ts=clock.time()))  # trusted until the step
        clock.step(-3600)
        clock.set_synchronised(False)
        for adv in advs:
            clock.advance(0.001)
            await submit(replace(adv, ts=clock.time()))
        assert guard.held == len(advs)
        clock.step(3600)
        clock.set_synchronised(True)

        async def drain() -> None:
            await guard.tick()
            await done.wait()

        seconds = await atimed(drain)
        await guard.stop()
        assert guard.counters.released_restamped == len(advs)
        return len(advs) / seconds

    return statistics.median([await one() for _ in range(repeats)])


def clock_calls(calls: int, repeats: int) -> tuple[float, float]:
    system = SystemClock()
    system.synchronised()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clock.json"
        write_clock_file(path, time.time(), 1_790_000_000.0, 144.0)
        controlled = ControlledClock(path)

        def loop(call: Callable[[], object]) -> Callable[[], float]:
            def run() -> float:
                def body() -> None:
                    for _ in range(calls):
                        call()

                return timed(body) / calls * 1e6

            return run

        return (
            median_of(repeats, loop(system.synchronised)),
            median_of(repeats, loop(controlled.time)),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run (seconds)")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    repeats = args.repeats or (5 if args.quick else 9)
    count = 20_000 if args.quick else 100_000
    pin()
    logger.remove()  # the guard's warnings about the steps this bench makes are expected
    logger.add(sys.stderr, level="ERROR")
    advs = adverts(count)
    print(f"clock bench: {count:,} demo advertisements, {repeats} repeats, one core")

    router_us, guard_us = asyncio.run(hot_path(advs, repeats))
    print(f"router.submit          {router_us:8.3f} µs/advert (reference)")
    print(f"clock guard            {guard_us:8.3f} µs/advert ({guard_us / router_us:.1%} of it)")

    held = advs[: count // 2]
    per_s = asyncio.run(release(held, max(3, repeats // 2)))
    print(f"release after a step   {per_s:10,.0f} adverts/s re-stamped ({len(held):,} held)")

    sync_us, controlled_us = clock_calls(200_000 if not args.quick else 50_000, repeats)
    print(f"SystemClock.synchronised() {sync_us:6.3f} µs")
    print(f"ControlledClock.time()     {controlled_us:6.3f} µs")
    print(
        json.dumps(
            {
                "router_us_per_advert": round(router_us, 3),
                "guard_us_per_advert": round(guard_us, 3),
                "guard_overhead_ratio": round(guard_us / router_us, 4),
                "release_adverts_per_s": round(per_s),
                "system_synchronised_us": round(sync_us, 4),
                "controlled_time_us": round(controlled_us, 4),
                "adverts": count,
                "repeats": repeats,
            }
        )
    )


if __name__ == "__main__":
    main()
