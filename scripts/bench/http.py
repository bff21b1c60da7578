#!/usr/bin/env python3
"""The HTTP API under load, and the hub's memory after an hour of sensors.

- metrics_rps: requests/s for /metrics of a real `hub run` that knows 200 sensors (their
  latest readings taken from the database at start: 12 values each, rssi, last seen), with
  health and alerts on. Each answer is about 3,000 samples.
- history_rps: requests/s for one sensor's last 24 h of temperature (raw: 8,640 readings at
  one per 10 s), `GET /api/sensors/{id}/history?measurement=temperature&since=24h`.
  Also history_all_rps: the same 24 h with every measurement (about 100,000 rows), from one
  client (each answer takes about a second).
- rss_mib: VmRSS of a real `hub run` (HTTP, health and alerts on) after replaying an hour
  of 100 RuuviTags advertising once a second (360,000 advertisements; --quick: 10 minutes),
  as fast as it takes them, then serving /metrics and /api/status for a moment. Also
  rss_mib_http_off: the same hub with the HTTP API off.

The hub is pinned to CPU 0 and the load generator (this process, aiohttp, 8 connections)
to CPU 1, so the figures are what one core of the hub serves. Rates are medians of several
timed rounds.

Usage: .venv/bin/python scripts/bench/http.py [--quick] [--repeats R] [--seconds S]
The last line printed is one JSON object (contract 6).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# This file is named http.py (contract 6): its directory must not shadow the standard
# library's `http`, which aiohttp imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from loguru import logger  # noqa: E402

from hub.clock import ManualClock  # noqa: E402
from hub.config.models import StoreConfig  # noqa: E402
from hub.events import Reading  # noqa: E402
from hub.store import SqliteStore  # noqa: E402
from integrations.ruuvi.df5 import encode  # noqa: E402

SENSORS = 200
DAY = 86400
HISTORY_STEP = 10  # seconds between the history sensor's readings
OTHERS_STEP = 600  # the other sensors: enough rows to be a real database
HISTORY_SENSOR = "Sensor 000"
CONNECTIONS = 8


def address(i: int) -> str:
    return ":".join(f"{b:02X}" for b in (0xC0_00_00_00_00_00 + i).to_bytes(6, "big"))


def measurements(i: int, n: int) -> dict[str, float | int]:
    return {
        "temperature": round(20 + (n % 97) * 0.01 + i * 0.001, 3),
        "humidity": round(40 + (n % 89) * 0.05, 3),
        "pressure": round(1000 + (n % 83) * 0.1, 2),
        "dew_point": 8.5,
        "acceleration_x": 0.01,
        "acceleration_y": -0.02,
        "acceleration_z": 1.0,
        "voltage": 2.95,
        "battery": 87,
        "tx_power": 4,
        "movement_counter": n % 200,
        "measurement_sequence": n % 65535,
    }


async def make_database(path: Path, now: float) -> int:
    """200 sensors; the first with 24 h at one reading per 10 s."""
    store = SqliteStore(
        StoreConfig(path=path, batch_size=10_000, min_interval=0, synchronous="normal"),
        ManualClock(now),
    )
    await store.open()
    count = 0
    start = now - DAY
    for i in range(SENSORS):
        step = HISTORY_STEP if i == 0 else OTHERS_STEP
        for n in range(int(DAY / step)):
            await store.add(
                Reading(
                    ts=start + n * step + i * 0.01,
                    address=address(i),
                    integration="ruuvi",
                    measurements=measurements(i, n),
                    model="RuuviTag",
                    rssi=-60 - (n + i) % 30,
                    sequence=n,
                    name=f"Ruuvi {i:04X}",
                )
            )
            count += 1
        await store.flush()
    await store.close()
    return count


def make_capture(path: Path, sensors: int, seconds: int) -> int:
    """`sensors` RuuviTags, one advertisement a second each, every one a new measurement."""
    start = 1_795_155_600.0
    with path.open("w") as out:
        for second in range(seconds):
            for i in range(sensors):
                mac = (0xD0_00_00_00_00_00 + i).to_bytes(6, "big")
                payload = encode(
                    temperature=20 + (second % 97) * 0.01,
                    humidity=40 + (second % 89) * 0.05,
                    pressure=1000 + (second % 83) * 0.1,
                    acceleration=(0.01, -0.02, 1.0),
                    voltage=2.95,
                    tx_power=4,
                    movement_counter=second % 200,
                    sequence=second % 65535,
                    mac=mac,
                )
                record = {
                    "ts": start + second + i * 0.005,
                    "address": ":".join(f"{b:02X}" for b in mac),
                    "rssi": -60 - (second + i) % 30,
                    "manufacturer_data": {"1177": payload.hex()},
                }
                out.write(json.dumps(record, separators=(",", ":")) + "\n")
    return sensors * seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HubProcess:
    """`hub run` on CPU 0 with the HTTP API on a free port."""

    def __init__(self, directory: Path, config: dict[str, Any], http: bool = True) -> None:
        self.port = free_port()
        config["http"] = {"enabled": http, "port": self.port}
        self.config = directory / "hub.yaml"
        self.config.write_text(json.dumps(config))
        self.log = directory / "hub.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> HubProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB__", "NOTIFY_"))}
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hub", "run", "--config", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.config.parent,
                preexec_fn=lambda: os.sched_setaffinity(0, {0}),
            )
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def wait_for_log(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log.read_text(errors="replace"):
                return
            assert self.proc is not None
            assert self.proc.poll() is None, self.log.read_text()
            time.sleep(0.05)
        raise TimeoutError(f"{text!r} not logged in {timeout}s")

    def rss_mib(self) -> float:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")


async def load(url: str, seconds: float, connections: int = CONNECTIONS) -> tuple[float, int]:
    """Requests per second over `seconds` with `connections` concurrent clients."""
    done = 0
    size = 0
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            nonlocal done, size
            while time.monotonic() < deadline:
                async with session.get(url) as answer:
                    body = await answer.read()
                    if answer.status != 200:
                        raise RuntimeError(f"{url}: HTTP {answer.status}: {body[:200]!r}")
                    size = len(body)
                    done += 1

        started = time.monotonic()
        await asyncio.gather(*(client() for _ in range(connections)))
        elapsed = time.monotonic() - started
    return done / elapsed, size


def rate(
    url: str, seconds: float, repeats: int, connections: int = CONNECTIONS
) -> tuple[float, int]:
    asyncio.run(load(url, min(1.0, seconds), connections))  # warm-up
    rounds = [asyncio.run(load(url, seconds, connections)) for _ in range(repeats)]
    return statistics.median(r for r, _ in rounds), rounds[-1][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run, under a minute")
    parser.add_argument("--repeats", type=int, help="timed rounds per figure")
    parser.add_argument("--seconds", type=float, help="length of each timed round")
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 5)
    seconds = args.seconds or (2.0 if args.quick else 5.0)
    replay_seconds = 600 if args.quick else 3600
    logger.remove()
    os.sched_setaffinity(0, {1})
    print(f"http: hub on CPU 0, {CONNECTIONS} connections from CPU 1; medians of {repeats}")

    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        directory = Path(tmp)
        now = time.time()
        started = time.monotonic()
        rows = asyncio.run(make_database(directory / "hub.db", now))
        print(f"database: {SENSORS} sensors, {rows:,} readings ({time.monotonic() - started:.1f}s)")
        config = {
            "logging": {"level": "WARNING"},
            "store": {"path": "hub.db"},
            "devices": {address(0): {"name": HISTORY_SENSOR, "location": "bench"}},
            "health": {"enabled": True},
        }
        with HubProcess(directory, config) as hub:
            wait_ready(hub.url)
            metrics_rps, metrics_size = rate(f"{hub.url}/metrics", seconds, repeats)
            print(f"/metrics, {SENSORS} sensors ({metrics_size:,} B): {metrics_rps:8.1f} req/s")
            history = f"{hub.url}/api/sensors/{HISTORY_SENSOR.replace(' ', '%20')}/history"
            history_rps, history_size = rate(
                f"{history}?measurement=temperature&since=24h", seconds, repeats
            )
            print(f"24 h history, temperature ({history_size:,} B): {history_rps:8.1f} req/s")
            # About a second each: one client, or the rounds would wait on a queue.
            all_rps, all_size = rate(f"{history}?since=24h", 0.1, repeats, connections=1)
            print(f"24 h history, every measurement ({all_size:,} B): {all_rps:8.2f} req/s")

    rss: dict[bool, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-http-rss-") as tmp:
        directory = Path(tmp)
        capture = directory / "capture.jsonl"
        adverts = make_capture(capture, 100, replay_seconds)
        (directory / "alerts.yaml").write_text((ROOT / "config" / "alerts.yaml").read_text())
        for http in (True, False):
            (directory / "hub.db").unlink(missing_ok=True)
            config = {
                "logging": {"level": "WARNING", "levels": {"integrations.replay": "INFO"}},
                "store": {"path": "hub.db"},
                "sources": {"replay": {"type": "replay", "file": str(capture), "speed": 0}},
                "alerts": {"rules": "alerts.yaml"},
                "health": {"enabled": True},
            }
            started = time.monotonic()
            with HubProcess(directory, config, http=http) as hub:
                hub.wait_for_log("Replay replay finished", timeout=900)
                replayed = time.monotonic() - started
                if http:
                    wait_ready(hub.url)
                    for path in ("/metrics", "/api/status", "/healthz"):
                        asyncio.run(load(f"{hub.url}{path}", 0.2))
                time.sleep(1.0)
                rss[http] = hub.rss_mib()
            print(
                f"replay of {adverts:,} advertisements ({replay_seconds // 60} min of 100 tags) "
                f"in {replayed:.1f}s; hub RSS after it, HTTP {'on' if http else 'off'}: "
                f"{rss[http]:.1f} MiB"
            )
    rss_mib = rss[True]

    print(
        json.dumps(
            {
                "metrics_rps": round(metrics_rps, 1),
                "history_rps": round(history_rps, 1),
                "rss_mib": round(rss_mib, 1),
                "history_all_rps": round(all_rps, 2),
                "rss_mib_http_off": round(rss[False], 1),
                "metrics_bytes": metrics_size,
                "history_bytes": history_size,
                "replay_adverts": adverts,
                "sensors": SENSORS,
                "connections": CONNECTIONS,
                "quick": args.quick,
            }
        )
    )


def wait_ready(url: str, timeout: float = 60.0) -> None:
    async def probe() -> bool:
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"{url}/api/openapi.json") as answer,
            ):
                return answer.status == 200
        except aiohttp.ClientError:
            return False

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if asyncio.run(probe()):
            return
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer in {timeout}s")


if __name__ == "__main__":
    main()
