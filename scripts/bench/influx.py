#!/usr/bin/env python3
"""The InfluxDB export: encoder lines/s against influxdb-client's Point, readings/s from the
outbox into a running server, a 24 h backlog drained, and the hub's RSS with the export on
and off.

- encoder: `LineEncoder.encode` and influxdb-client's `Point(...).tag(...).field(...)
  .time(...).to_line_protocol()` on the same stored readings (decoded RuuviTag format 5
  advertisements of 200 tags: 12 measurements with the dew point, plus rssi; 5 tags), one
  line each. Also the exporter's own path, from the outbox rows (measurements as JSON).
- e2e: `InfluxExporter` in-process with the real store, bus and scheduler, default batch
  size (5,000), from a database holding the readings to Debian's VictoriaMetrics on
  loopback (InfluxDB v2 write API), which has seen one point of each sensor before (as a
  server in use has): wall time from `start()` until the watermark reaches the last
  reading (the server has accepted everything).
- backlog: the same, for 24 h of 200 sensors at one reading per 10 s (1,728,000 readings);
  --quick drains 2 h of it and scales the time to 24 h (the rate is flat: batch after
  batch of the same size).
- RSS: a real `hub run` replaying 20,000 advertisements of 200 tags (1,000 s of them at
  200 times the speed), export on (to VictoriaMetrics, everything delivered) and off;
  VmRSS at the end and VmHWM (the peak), medians of 3 runs each (1 with --quick).

This process is pinned to one core (the aiosqlite thread shares it). VictoriaMetrics may use
every core: in real life the database runs on a machine of its own, and here it is the
slower side (it parses each line into 13 series). Times are medians of several runs.

Usage: .venv/bin/python scripts/bench/influx.py [--quick] [--readings N] [--repeats R]
The last line printed is one JSON object (contract 6).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
# Python puts this directory first on the path, and its http.py (contract 6) would then
# stand in for the standard library's `http` (which urllib and aiohttp import).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
from loguru import logger  # noqa: E402

from hub.bus import EventBus  # noqa: E402
from hub.clock import SystemClock  # noqa: E402
from hub.config.models import SchedulerConfig, StoreConfig  # noqa: E402
from hub.decoding import canonical_measurements  # noqa: E402
from hub.exporters.influxdb.config import InfluxConfig  # noqa: E402
from hub.exporters.influxdb.exporter import InfluxExporter  # noqa: E402
from hub.exporters.influxdb.lineprotocol import LineEncoder  # noqa: E402
from hub.exporters.influxdb.testing import VictoriaMetrics, rss_mib  # noqa: E402
from hub.exporters.influxdb.transport import InfluxTransport  # noqa: E402
from hub.integrations import Decoded  # noqa: E402
from hub.scheduler import Scheduler  # noqa: E402
from hub.store.schema import MIGRATIONS  # noqa: E402
from hub.store.sqlite import SqliteStore, StoredReading  # noqa: E402
from integrations.ruuvi.df5 import decode  # noqa: E402
from integrations.ruuvi.synthetic import payload as ruuvi_payload  # noqa: E402
from integrations.ruuvi.synthetic import tag_address  # noqa: E402

SENSORS = 200
START = 1_795_155_600.0
DAY_READINGS = SENSORS * 8_640  # 24 h at one reading per 10 s
LOCATIONS = ("Living room", "Cellar, north", "Garden=shed", "Küche", "Attic \\ loft")


def measurements(i: int) -> dict[str, float | int]:
    """A decoded RuuviTag format 5 reading, in canonical measurements (with dew point)."""
    payload = ruuvi_payload(i, i % SENSORS, i)
    decoded = decode(payload)
    assert isinstance(decoded, Decoded)
    return dict(canonical_measurements(decoded))


def stored_readings(count: int) -> list[StoredReading]:
    variety = [measurements(i) for i in range(min(count, 2_000))]
    return [
        StoredReading(
            id=i + 1,
            ts=round(START + i * 10 / SENSORS, 3),
            address=tag_address(i % SENSORS),
            integration="ruuvi",
            model="RuuviTag",
            name=f"Sensor {i % SENSORS}",
            location=LOCATIONS[i % SENSORS % len(LOCATIONS)],
            measurements=variety[i % len(variety)],
            rssi=-60 - i % 30,
            sequence=i % 65535,
        )
        for i in range(count)
    ]


# -- encoder -------------------------------------------------------------------------------


def point_lines(readings: list[StoredReading]) -> list[str]:
    from influxdb_client.client.write.point import Point
    from influxdb_client.domain.write_precision import WritePrecision

    out = []
    for r in readings:
        point = (
            Point("ble")  # type: ignore[no-untyped-call]
            .tag("address", r.address)
            .tag("integration", r.integration)
            .tag("location", r.location)
            .tag("model", r.model)
            .tag("name", r.name)
        )
        for name, value in r.measurements.items():
            point.field(name, value)
        point.field("rssi", r.rssi)
        point.time(round(r.ts * 1000), WritePrecision.MS)
        out.append(point.to_line_protocol())
    return out


def timed(run: Callable[[], object]) -> float:
    gc.collect()
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def bench_encoder(count: int, repeats: int) -> tuple[float, float, float, float]:
    """Lines/s of ours, ours from outbox rows, Point; and the median of per-round ratios.

    The three run in turn in every round, so a busy machine slows all of them alike.
    """
    readings = stored_readings(count)
    rows = [
        (r.id, i % SENSORS, r.ts, orjson.dumps(r.measurements).decode(), r.rssi)
        for i, r in enumerate(readings)
    ]
    sensors = {
        s: (r.address, r.integration, r.model, r.name, r.location)
        for s, r in enumerate(readings[:SENSORS])
    }
    settings = InfluxConfig(bucket="b")
    ours, from_rows, theirs, ratios = [], [], [], []
    for _ in range(repeats):
        ours.append(timed(lambda: LineEncoder(settings).encode_all(readings)))
        from_rows.append(timed(lambda: LineEncoder(settings).encode_rows(rows, sensors)))
        theirs.append(timed(lambda: point_lines(readings)))
        ratios.append(theirs[-1] / ours[-1])
    return (
        count / statistics.median(ours),
        count / statistics.median(from_rows),
        count / statistics.median(theirs),
        statistics.median(ratios),
    )


# -- export from the outbox ----------------------------------------------------------------


def build_database(path: Path, count: int) -> None:
    """`count` readings of SENSORS tags, one per sensor per 10 s, as the store writes them."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    for version, script in enumerate(MIGRATIONS, 1):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO sensors (id, address, integration, model, name, location, first_seen, "
        "last_seen) VALUES (?, ?, 'ruuvi', 'RuuviTag', ?, ?, ?, ?)",
        [
            (s + 1, tag_address(s), f"Sensor {s}", LOCATIONS[s % len(LOCATIONS)], START, START)
            for s in range(SENSORS)
        ],
    )
    variety = [orjson.dumps(measurements(i)).decode() for i in range(2_000)]
    chunk = 100_000
    for first in range(0, count, chunk):
        conn.executemany(
            "INSERT INTO readings (sensor_id, ts, sequence, rssi, measurements) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (
                    i % SENSORS + 1,
                    round(START + i * 10 / SENSORS, 3),
                    i % 65535,
                    -60 - i % 30,
                    variety[i % len(variety)],
                )
                for i in range(first, min(count, first + chunk))
            ],
        )
    conn.execute("COMMIT")
    conn.close()


async def drain(db: Path, url: str) -> float:
    """Seconds from the exporter's start until the server has accepted every reading."""
    store = SqliteStore(StoreConfig(path=db, synchronous="full"), SystemClock())
    await store.open()
    bus, scheduler = EventBus(), Scheduler(SchedulerConfig())
    bus.start()
    scheduler.start()
    settings = InfluxConfig.model_validate(
        {"enabled": True, "url": url, "org": "bench", "bucket": "bench", "token": "t"}
    )
    exporter = InfluxExporter(settings, store, scheduler, bus, SystemClock())
    last = await store.last_reading_id()
    started = time.perf_counter()
    await exporter.start()
    while exporter.watermark < last:
        await asyncio.sleep(0.002)
        if exporter.health().state != "ok":
            raise SystemExit(f"export failed: {exporter.health()}")
    elapsed = time.perf_counter() - started
    await exporter.stop()
    scheduler.shutdown()
    await bus.stop()
    await store.close()
    return elapsed


async def warm_up(url: str) -> None:
    """One point per sensor, an hour before the readings: the server knows the series, as a
    server that has been taking this hub's points for a while does."""
    settings = InfluxConfig.model_validate({"url": url, "bucket": "bench"})
    encoder = LineEncoder(settings)
    readings = stored_readings(SENSORS)
    for r in readings:
        object.__setattr__(r, "ts", r.ts - 3600)
    transport = InfluxTransport(settings)
    await transport.open()
    try:
        await transport.write([line for _, line in encoder.encode_all(readings)])
    finally:
        await transport.close()


def bench_drain(tmp: Path, count: int, repeats: int, cpus: set[int]) -> float:
    """Median seconds to drain `count` readings, each run into a fresh, warmed-up server."""
    template = tmp / f"outbox-{count}.db"
    build_database(template, count)
    times = []
    for run in range(repeats):
        db = tmp / f"run-{count}-{run}.db"
        db.write_bytes(template.read_bytes())
        with VictoriaMetrics() as server:
            assert server.proc is not None
            os.sched_setaffinity(server.proc.pid, cpus)  # not pinned with us
            asyncio.run(warm_up(server.url))
            gc.collect()
            times.append(asyncio.run(drain(db, server.url)))
            if run == 0:
                samples = server.samples('{__name__="ble_temperature"}') - SENSORS
                if samples != count:
                    raise SystemExit(f"the server holds {samples} of {count} readings")
        db.unlink()
    template.unlink()
    return statistics.median(times)


# -- the hub's memory ----------------------------------------------------------------------


def make_capture(path: Path, adverts: int) -> None:
    with path.open("w") as out:
        for i in range(adverts):
            sensor = i % SENSORS
            payload = ruuvi_payload(i, sensor, i // SENSORS)
            record = {
                "ts": round(START + i * 10 / SENSORS, 3),
                "address": tag_address(sensor),
                "rssi": -60 - i % 30,
                "manufacturer_data": {"1177": payload.hex()},
            }
            out.write(json.dumps(record) + "\n")


def hub_rss(tmp: Path, capture: Path, url: str | None) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MiB of `hub run` after the replay (and, with `url`, the export)."""
    name = "on" if url else "off"
    db = tmp / f"rss-{name}.db"
    config = {
        "logging": {"level": "INFO", "format": "json"},
        "store": {"path": str(db), "flush_interval": "0.5s", "min_interval": 0},
        # Paced (5 s), so the bus mailboxes do not fill up: what is measured is the steady
        # state of a hub keeping up, not how far the store lagged behind a flood.
        "sources": {"bench": {"type": "replay", "file": str(capture), "speed": 200}},
        "influxdb": {
            "enabled": url is not None,
            "url": url or "http://127.0.0.1:9",
            "org": "bench",
            "bucket": "bench",
            "token": "t",
            "flush_interval": "0.5s",
        },
    }
    path = tmp / f"hub-{name}.yaml"
    path.write_text(json.dumps(config))
    log = tmp / f"hub-{name}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB__")}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub", "run", "--config", str(path)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
    try:
        deadline = time.monotonic() + 120
        while "Replay bench finished" not in log.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"hub run failed:\n{log.read_text()[-2000:]}")
            time.sleep(0.1)
        time.sleep(1.5)  # the last flushes and exports
        if url is not None:
            with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as conn:
                newest, mark = conn.execute(
                    "SELECT (SELECT max(id) FROM readings), "
                    "(SELECT reading_id FROM watermarks WHERE exporter = 'influxdb')"
                ).fetchone()
            if mark != newest:
                raise SystemExit(f"export behind: {mark} of {newest}")
        rss = rss_mib(proc.pid)
        with open(f"/proc/{proc.pid}/status") as status:
            hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
        return rss, hwm / 1024
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller run, same figures")
    parser.add_argument("--readings", type=int, help="readings per encoder and e2e run")
    parser.add_argument("--repeats", type=int, help="runs per figure")
    args = parser.parse_args()
    count = args.readings or (100_000 if args.quick else 200_000)
    repeats = args.repeats or (3 if args.quick else 5)
    backlog = DAY_READINGS // 12 if args.quick else DAY_READINGS  # 2 h or 24 h
    backlog_repeats = 1 if args.quick else 3

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    cpus = set(os.sched_getaffinity(0))
    cpu = min(cpus)
    print(f"influx: {SENSORS} RuuviTags (12 measurements and rssi each), median of {repeats}")
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        # The hub runs first, unpinned (a hub process of its own), for its memory.
        capture = tmp / "capture.jsonl"
        make_capture(capture, 20_000)
        rss_runs = 1 if args.quick else 3
        on, off = [], []
        for _ in range(rss_runs):
            with VictoriaMetrics() as server:
                on.append(hub_rss(tmp, capture, server.url))
            off.append(hub_rss(tmp, capture, None))
        rss_on, hwm_on = (statistics.median(x) for x in zip(*on, strict=True))
        rss_off, hwm_off = (statistics.median(x) for x in zip(*off, strict=True))

        os.sched_setaffinity(0, {cpu})
        print(
            f"pinned to CPU {cpu} (VictoriaMetrics on CPUs {sorted(cpus)}); "
            f"Python {sys.version.split()[0]}"
        )
        ours, from_rows, point, speedup = bench_encoder(min(count, 50_000), repeats)
        print(f"influxdb-client Point:                 {point:>10,.0f} lines/s")
        print(f"LineEncoder.encode (same readings):    {ours:>10,.0f} lines/s")
        print(f"LineEncoder.encode_rows (outbox rows): {from_rows:>10,.0f} lines/s")
        print(f"speedup over Point (median per round): {speedup:>10.1f}x")

        e2e_s = bench_drain(tmp, count, repeats, cpus)
        e2e = count / e2e_s
        print(
            f"outbox -> VictoriaMetrics, batch 5000: {e2e:>10,.0f} readings/s "
            f"({count:,} in {e2e_s:.2f} s)"
        )
        drain_s = bench_drain(tmp, backlog, backlog_repeats, cpus)
        backlog_s = drain_s * DAY_READINGS / backlog
        note = f" (2 h drained in {drain_s:.1f} s, scaled to 24 h)" if args.quick else ""
        print(
            f"24 h backlog of {SENSORS} sensors ({DAY_READINGS:,} readings) drained in "
            f"{backlog_s:.1f} s{note}"
        )
    print(f"hub RSS after the replay, export on:   {rss_on:>10.1f} MiB (peak {hwm_on:.1f})")
    print(f"hub RSS after the replay, export off:  {rss_off:>10.1f} MiB (peak {hwm_off:.1f})")
    result: dict[str, Any] = {
        "encoder_lines_per_s": round(ours),
        "point_lines_per_s": round(point),
        "encoder_speedup": round(speedup, 2),
        "e2e_readings_per_s": round(e2e),
        "backlog_drain_s": round(backlog_s, 1),
        "rss_mib_exporter_on": round(rss_on, 1),
        "rss_mib_exporter_off": round(rss_off, 1),
        "encoder_rows_lines_per_s": round(from_rows),
        "peak_rss_mib_exporter_on": round(hwm_on, 1),
        "peak_rss_mib_exporter_off": round(hwm_off, 1),
        "backlog_readings": DAY_READINGS,
        "backlog_extrapolated_from": backlog if args.quick else None,
        "readings": count,
        "repeats": repeats,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
