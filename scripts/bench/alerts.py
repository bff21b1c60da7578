#!/usr/bin/env python3
"""Readings per second through the alert engine: 100 rules over 200 sensors, one core.

The readings are RuuviTag-like (twelve measurements each) from 200 sensors in five groups,
their values drifting across the rules' thresholds so alerts go pending, fire, resolve and
repeat; the rules mix thresholds (above, below, both; `for`, hysteresis, repeat) on several
measurements with globs on names and addresses, and stale rules. The engine is fed as the
live hub feeds it: every reading, and a tick every 10 s of the readings' time. Also measured:
the same readings with every rule matching every sensor (the worst case), and the engine's
memory for the 100 × 200 set (tracemalloc, after all readings).

Usage: .venv/bin/python scripts/bench/alerts.py [--quick] [--readings N] [--repeats R]
The last line printed is one JSON object (contract 6).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# This folder holds http.py (contract 6), which would hide the standard library's http.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from hub.alerts.engine import AlertEngine, Transition  # noqa: E402
from hub.alerts.rules import Rule, parse_rules  # noqa: E402

SENSORS = 200
RULES = 100
GROUPS = ("Freezer", "Fridge", "Greenhouse", "Outdoor", "Room")
TICK = 10.0  # seconds of reading time between ticks, as the live hub's scheduler
START = 1_795_155_600.0

Reading = tuple[float, str, str, dict[str, float | int]]


def sensor_ids() -> list[tuple[str, str]]:
    return [
        (f"{GROUPS[i % len(GROUPS)]} {i:03d}", f"C0:00:00:00:{i >> 8:02X}:{i & 0xFF:02X}")
        for i in range(SENSORS)
    ]


def make_rules(everywhere: bool = False) -> list[Rule]:
    """RULES rules: 90 threshold rules on six measurements, 10 stale rules."""
    rng = random.Random(100)
    globs = [
        ["*"],
        ["Freezer*"],
        ["Fridge*", "Freezer*"],
        ["Greenhouse*", "Outdoor*"],
        ["Room*"],
        ["C0:00:00:00:00:1*"],
        ["c0:00:00:00:00:[0-3]?"],
        ["Room 0[0-4]?"],
    ]
    raw: list[dict[str, object]] = []
    for i in range(RULES - 10):
        kind = i % 6
        rule: dict[str, object] = {"name": f"rule_{i:03d}", "sensors": rng.choice(globs)}
        if kind == 0:
            rule |= {"measurement": "temperature", "above": rng.uniform(18, 24)}
        elif kind == 1:
            rule |= {"measurement": "temperature", "below": rng.uniform(12, 18)}
        elif kind == 2:
            rule |= {"measurement": "humidity", "above": rng.uniform(55, 70), "below": 30}
        elif kind == 3:
            rule |= {"measurement": "pressure", "above": 1025, "below": rng.uniform(990, 1005)}
        elif kind == 4:
            rule |= {"measurement": "battery", "below": rng.uniform(20, 60)}
        else:
            rule |= {"measurement": "voltage", "below": rng.uniform(2.6, 2.9)}
        rule["for"] = rng.choice([0, 30, 60, 300])
        rule["hysteresis"] = rng.choice([0, 0.5, 1.0])
        if i % 7 == 0:
            rule["repeat"] = "2m"
        rule["message"] = "{sensor}: {measurement} {value:.1f} ({rule})"
        raw.append(rule)
    for i in range(10):
        raw.append({"name": f"silent_{i}", "sensors": rng.choice(globs), "stale": 15 + i})
    if everywhere:
        for rule in raw:
            rule["sensors"] = ["*"]
    rules, problems = parse_rules({"rules": raw}, "bench", ("log",))
    if problems:
        raise SystemExit("\n".join(str(p) for p in problems))
    return rules


def make_readings(count: int) -> list[Reading]:
    """`count` readings, round-robin over the sensors, one reading per sensor per second;
    a few sensors go quiet for a while so stale rules fire and resolve."""
    rng = random.Random(6)
    ids = sensor_ids()
    phases = [rng.uniform(0, 2 * math.pi) for _ in ids]
    out: list[Reading] = []
    step = 1.0 / SENSORS
    for i in range(count):
        s = i % SENSORS
        ts = START + i * step
        t = ts - START
        if s % 17 == 0 and 30 < (t + s) % 240 < 80:
            continue  # quiet
        name, address = ids[s]
        wave = math.sin(t / 90 + phases[s])
        temperature = 18 + 5 * wave + rng.uniform(-0.4, 0.4)
        humidity = 50 + 15 * wave + rng.uniform(-1, 1)
        out.append(
            (
                ts,
                name,
                address,
                {
                    "temperature": round(temperature, 2),
                    "humidity": round(humidity, 2),
                    "pressure": round(1010 + 12 * wave, 1),
                    "acceleration_x": 0.01,
                    "acceleration_y": -0.02,
                    "acceleration_z": 1.0,
                    "voltage": round(2.8 + 0.15 * wave, 3),
                    "battery": round(50 + 30 * wave),
                    "tx_power": 4,
                    "movement_counter": i % 200,
                    "measurement_sequence": i // SENSORS,
                    "dew_point": round(temperature - 8, 2),
                },
            )
        )
    return out


def feed(engine: AlertEngine, readings: list[Reading]) -> tuple[int, int]:
    """All readings and a tick every TICK seconds; (transitions, notifications)."""
    transitions = notifications = 0
    on_reading, tick = engine.on_reading, engine.tick
    next_tick = readings[0][0] + TICK
    for ts, name, address, measurements in readings:
        changes = on_reading(ts, name, address, measurements)
        while ts >= next_tick:
            changes += tick(next_tick)
            next_tick += TICK
        for change in changes:
            if isinstance(change, Transition):
                transitions += 1
                notifications += change.notifies
            else:
                notifications += 1
    return transitions, notifications


def timed(rules: list[Rule], readings: list[Reading], repeats: int) -> tuple[float, int, int]:
    seconds = []
    counts = (0, 0)
    for _ in range(repeats):
        engine = AlertEngine(rules)
        gc.collect()
        start = time.perf_counter()
        counts = feed(engine, readings)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), *counts


def pairs(rules: list[Rule], readings: list[Reading]) -> tuple[int, float]:
    """Rule × sensor states, and threshold states evaluated per reading on average."""
    engine = AlertEngine(rules)
    for ts, name, address, measurements in readings[: SENSORS * 2]:
        engine.on_reading(ts, name, address, measurements)
    states = len(engine.snapshot())
    watched = sum(1 for r in rules if not r.is_stale for s in sensor_ids() if _matches(r, s))
    return states, watched / SENSORS


def _matches(rule: Rule, sensor: tuple[str, str]) -> bool:
    import fnmatch

    name, address = sensor
    return any(
        fnmatch.fnmatchcase(name, g) or fnmatch.fnmatchcase(address, g.upper())
        for g in rule.sensors
    )


def engine_memory(rules: list[Rule], readings: list[Reading]) -> float:
    """MiB the engine holds after every reading (tracemalloc: Python allocations)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    engine = AlertEngine(rules)
    feed(engine, readings)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del engine
    return (after - before) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller run, same figures")
    parser.add_argument("--readings", type=int)
    parser.add_argument("--repeats", type=int)
    args = parser.parse_args()
    count = args.readings or (100_000 if args.quick else 400_000)
    repeats = args.repeats or (3 if args.quick else 5)

    cpu = sorted(os.sched_getaffinity(0))[0]
    os.sched_setaffinity(0, {cpu})
    rules = make_rules()
    everywhere = make_rules(everywhere=True)
    readings = make_readings(count)
    n = len(readings)
    states, watched = pairs(rules, readings)
    print(f"alerts: {RULES} rules over {SENSORS} sensors, {n:,} readings, median of {repeats}")
    print(f"pinned to CPU {cpu}; Python {sys.version.split()[0]}")
    print(f"rule × sensor states: {states:,}; threshold states per reading: {watched:.1f}")

    wall, transitions, notified = timed(rules, readings, repeats)
    rate = n / wall
    print(f"engine:               {rate:>12,.0f} readings/s ({wall / n * 1e6:.2f} µs/reading)")
    print(f"  transitions {transitions:,}, notifications (firing, resolved, repeat) {notified:,}")
    worst_wall, worst_transitions, _ = timed(everywhere, readings, repeats)
    worst_rate = n / worst_wall
    print(
        f"every rule everywhere: {worst_rate:>11,.0f} readings/s "
        f"({RULES * SENSORS:,} states, {worst_transitions:,} transitions)"
    )
    mib = engine_memory(rules, readings)
    print(f"engine memory:        {mib:>12.2f} MiB (tracemalloc, after all readings)")
    worst_mib = engine_memory(everywhere, readings)
    print(f"  every rule everywhere: {worst_mib:.2f} MiB")
    target = "met" if rate > 50_000 else "NOT met"
    print(f"target > 50,000 readings/s on one core: {target}")
    print(
        json.dumps(
            {
                "readings_per_s": round(rate),
                "rules": RULES,
                "sensors": SENSORS,
                "engine_mib": round(mib, 2),
                "states": states,
                "threshold_states_per_reading": round(watched, 1),
                "transitions": transitions,
                "notifications": notified,
                "readings_per_s_every_rule_everywhere": round(worst_rate),
                "engine_mib_every_rule_everywhere": round(worst_mib, 2),
                "readings": n,
                "repeats": repeats,
            }
        )
    )


if __name__ == "__main__":
    main()
