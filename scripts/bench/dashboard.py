#!/usr/bin/env python3
"""The dashboard: time to first render with 200 sensors, the summary, the live stream's cost.

- first_render_ms: a real `hub run` serving 200 sensors with 24 h of readings each (one every
  10 s, 1.7 M readings, rolled up; --quick: one a minute), the page loaded in headless
  Chromium (Debian's chromium, Selenium): navigation start to the moment the grid and the
  first screen's sparklines are drawn (the page's `dashboard-rendered` performance mark).
  Median of several loads of one browser (a return visit: the page's files revalidated);
  first_render_cold_ms is the first load of a fresh profile.
- summary_ms: latency of `GET /api/dashboard`, the page's one request for the first screen
  (every sensor, latest values, 24 h sparklines, alerts, battery report, health), asking
  for gzip as a browser does; median of several. Also the hub's own time for it
  (Server-Timing) and its size.
- sse_cpu_ms_per_1k_readings: the hub's CPU time per 1,000 readings spent on the live
  stream with 10 browsers connected: CPU with 10 streams minus CPU without, over the same
  time, while 200 sensors report once a second each (a replay at recorded speed). Also what
  each browser receives per second.

The hub is pinned to CPU 0, the browser and this process to CPU 1.

`--screenshots DIR` instead writes the README's pictures: a demo hub with a week of history
of the six demo RuuviTags (a frost alert firing, a battery report with a declining battery)
and the live demo replay, photographed at 1280x900 (light), 390x844 (phone, dark) and a
sensor's page.

Usage: .venv/bin/python scripts/bench/dashboard.py [--quick] [--loads N] [--screenshots DIR]
The last line printed is one JSON object (contract 6).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import math
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# This directory holds scripts/bench/http.py, which must not shadow the standard library's
# `http` (aiohttp imports it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import aiosqlite  # noqa: E402
import orjson  # noqa: E402
import yaml  # noqa: E402

from hub.alerts.battery import build_report_sync, report_to_dict  # noqa: E402
from hub.store.rollups import update_rollups  # noqa: E402
from hub.store.schema import migrate  # noqa: E402
from integrations.ruuvi.df5 import encode  # noqa: E402

SENSORS = 200
DAY = 86400
SSE_CLIENTS = 10
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
_INSERT = (
    "INSERT INTO readings (sensor_id, ts, sequence, rssi, measurements) VALUES (?, ?, ?, ?, ?)"
)


def address(i: int, base: int = 0xC0_00_00_00_00_00) -> str:
    return ":".join(f"{b:02X}" for b in (base + i).to_bytes(6, "big"))


def ruuvi_values(i: int, ts: float, n: int) -> dict[str, float | int]:
    """What a RuuviTag reports (12 values), wandering with the time of day."""
    day = math.sin(2 * math.pi * (ts % DAY) / DAY + i)
    return {
        "temperature": round(20 + i % 7 + 2 * day, 2),
        "humidity": round(45 + i % 11 - 6 * day, 2),
        "pressure": round(1008 + (n % 83) * 0.05, 2),
        "acceleration_x": 0.004,
        "acceleration_y": -0.012,
        "acceleration_z": 1.0,
        "voltage": 2.95,
        "battery": 87,
        "tx_power": 4,
        "movement_counter": n % 200,
        "measurement_sequence": n % 65535,
        "dew_point": round(8 + i % 5 + day, 2),
    }


async def make_database(path: Path, now: float, step: int) -> int:
    """200 sensors with 24 h of readings every `step` seconds, in time order, rolled up."""
    async with aiosqlite.connect(path) as conn:
        await conn.execute("PRAGMA journal_mode = WAL")
        await migrate(conn)
        start = now - DAY
        await conn.executemany(
            "INSERT INTO sensors (id, address, integration, model, advertised_name, name, "
            "location, first_seen, last_seen) VALUES (?, ?, 'ruuvi', 'RuuviTag', ?, ?, ?, ?, ?)",
            [
                (
                    i + 1,
                    address(i),
                    f"Ruuvi {i:04X}",
                    f"Sensor {i:03d}",
                    f"Floor {i % 5}",
                    start,
                    now,
                )
                for i in range(SENSORS)
            ],
        )
        count = 0
        batch: list[tuple[object, ...]] = []
        for n in range(DAY // step):
            for i in range(SENSORS):
                ts = start + n * step + i * step / SENSORS
                values = orjson.dumps(ruuvi_values(i, ts, n)).decode()
                batch.append((i + 1, ts, n, -60 - (n + i) % 30, values))
            if len(batch) >= 50_000:
                await conn.executemany(_INSERT, batch)
                count += len(batch)
                batch = []
        await conn.executemany(_INSERT, batch)
        count += len(batch)
        await conn.commit()
        await update_rollups(conn)
    return count


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HubProcess:
    """`hub run` on CPU 0 with the HTTP API on a free port."""

    def __init__(self, directory: Path, config: dict[str, Any]) -> None:
        self.port = free_port()
        config.setdefault("http", {}).update({"enabled": True, "port": self.port})
        config.setdefault("logging", {"level": "WARNING"})
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
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                assert self.proc.poll() is None, self.log.read_text()
                time.sleep(0.05)
        raise TimeoutError(f"the hub did not listen: {self.log.read_text()[-2000:]}")

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def cpu_s(self) -> float:
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait_for_log(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log.read_text(errors="replace"):
                return
            assert self.proc is not None
            assert self.proc.poll() is None, self.log.read_text()
            time.sleep(0.1)
        raise TimeoutError(f"{text!r} not logged in {timeout}s")


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """Headless Chromium through Debian's chromedriver (nothing downloaded)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    # Browser and driver given; Selenium Manager, should it run, stays offline.
    os.environ.update({"SE_OFFLINE": "true", "SE_AVOID_STATS": "true"})
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    with tempfile.TemporaryDirectory(prefix="bench-chromium-") as profile:
        for flag in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
        ):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        try:
            set_viewport(driver, width, height)
            yield driver
        finally:
            driver.quit()


def set_viewport(driver: Any, width: int, height: int, scale: float = 1.0) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": width < 600},
    )


def load_page(driver: Any, url: str, timeout: float = 30.0) -> dict[str, float]:
    """Navigate and wait for the first render; returns the page's own marks (ms)."""
    driver.get(url)
    deadline = time.monotonic() + timeout
    while driver.execute_script("return document.body.dataset.rendered") != "true":
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not render in {timeout}s")
        time.sleep(0.01)
    marks: dict[str, float] = driver.execute_script(
        "const out = {}; for (const m of performance.getEntriesByType('mark')) "
        "out[m.name] = m.startTime; return out;"
    )
    return marks


async def fetch_summary(url: str, count: int) -> tuple[list[float], list[float], int, int]:
    """Latencies (ms), the hub's own times (ms), raw and gzip sizes of /api/dashboard."""
    latencies, server = [], []
    raw = packed = 0
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        for _ in range(count):
            started = time.perf_counter()
            async with session.get(
                url + "/api/dashboard", headers={"Accept-Encoding": "gzip"}
            ) as answer:
                body = await answer.read()
                latencies.append((time.perf_counter() - started) * 1000)
                assert answer.status == 200, body[:200]
                timing = answer.headers.get("Server-Timing", "")
                server.append(float(timing.partition("dur=")[2] or "nan"))
                packed = len(body)
                raw = (
                    len(gzip.decompress(body))
                    if answer.headers.get("Content-Encoding") == "gzip"
                    else len(body)
                )
    return latencies, server, raw, packed


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
                    "ts": start + second + i / sensors,
                    "address": ":".join(f"{b:02X}" for b in mac),
                    "rssi": -60 - (second + i) % 30,
                    "manufacturer_data": {"1177": payload.hex()},
                }
                out.write(json.dumps(record, separators=(",", ":")) + "\n")
    return sensors * seconds


async def readings_so_far(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url + "/api/status") as answer:
        return int((await answer.json())["counters"]["readings"])


async def measure_stream(hub: HubProcess, window: float, pairs: int) -> dict[str, float]:
    """Hub CPU per 1,000 readings without and with SSE_CLIENTS streams, in alternating
    windows (without, with, without, ...): background jobs and the machine's other work
    fall on both sides alike, and the median difference is the stream's cost."""
    received = [0] * SSE_CLIENTS

    async def client(n: int, session: aiohttp.ClientSession) -> None:
        async with session.get(
            hub.url + "/api/events",
            headers={"Accept": "text/event-stream"},
            timeout=aiohttp.ClientTimeout(total=None),
        ) as answer:
            assert answer.status == 200
            while chunk := await answer.content.readany():
                received[n] += len(chunk)

    async with aiohttp.ClientSession() as session:

        async def cost() -> float:
            """Hub CPU ms per 1,000 readings over one window."""
            cpu, readings = hub.cpu_s(), await readings_so_far(session, hub.url)
            await asyncio.sleep(window)
            done = await readings_so_far(session, hub.url) - readings
            return (hub.cpu_s() - cpu) * 1000 / done * 1000

        await asyncio.sleep(3.0)  # the replay is under way, caches warm
        without, with_, rates = [], [], []
        for _ in range(pairs):
            without.append(await cost())
            clients = [asyncio.create_task(client(n, session)) for n in range(SSE_CLIENTS)]
            await asyncio.sleep(1.0)
            before, started = sum(received), time.monotonic()
            with_.append(await cost())
            rates.append((sum(received) - before) / (time.monotonic() - started))
            for task in clients:
                task.cancel()
            await asyncio.gather(*clients, return_exceptions=True)
            await asyncio.sleep(1.5)  # the hub notices the browsers left
    differences = [w - o for w, o in zip(with_, without, strict=True)]
    return {
        "cpu_ms_per_1k_without": statistics.median(without),
        "cpu_ms_per_1k_with": statistics.median(with_),
        "cpu_ms_per_1k_stream": statistics.median(differences),
        "kib_per_s_per_client": statistics.median(rates) / SSE_CLIENTS / 1024,
    }


# -- the README's screenshots ----------------------------------------------------------------

# The demo's tags (config/demo.yaml) as the demo capture starts them: temperature,
# humidity, the size of their daily swing, voltage.
DEMO_TAGS = {
    "C8:25:2D:8E:AB:4C": (21.4, 41.0, 1.2, 3.01),
    "E4:2F:61:0B:3D:17": (22.8, 47.0, 1.8, 2.98),
    "D1:04:9A:77:C2:5E": (20.9, 55.0, 1.0, 2.95),
    "F7:6B:13:E0:51:A8": (4.2, 62.0, 0.4, 2.91),
    "CE:3A:88:14:6F:02": (-18.6, 70.0, 0.6, 2.78),  # its coin cell is running down
    "EA:91:5C:26:B8:D3": (-1.8, 88.0, 4.5, 2.86),  # outdoors: frost for the last hours
}
FREEZER_DROP_V = 0.08  # over the week, ending at the voltage the demo capture has
OUTDOOR = "EA:91:5C:26:B8:D3"
FREEZER = "CE:3A:88:14:6F:02"


def demo_history(path: Path, now: float, days: int = 7, step: int = 600) -> int:
    """A week of the demo tags as a capture with recorded times, ending a minute ago where
    the demo capture begins (so the live replay carries on without a jump)."""
    lines = []
    end = now - 60
    count = days * DAY // step
    for k in range(count):
        ts = end - (count - 1 - k) * step
        left = (end - ts) / (days * DAY)  # 1 at the start of the week, 0 at its end
        daily = math.sin(2 * math.pi * (ts - end) / DAY)  # zero now
        for n, (mac, (temp, hum, swing, volts)) in enumerate(DEMO_TAGS.items()):
            temperature = temp + swing * daily
            if mac == OUTDOOR:
                # Mild days, then a cold snap: below zero for the last three hours.
                cold = end - ts < 3 * 3600
                temperature = -1.8 + 0.1 * math.sin(k) if cold else 5 + swing * daily
            if mac == FREEZER and k % 144 in range(60, 66):  # its daily defrost
                temperature += 4.0
            voltage = volts + (FREEZER_DROP_V * left if mac == FREEZER else 0.0)
            payload = encode(
                temperature=round(temperature, 2),
                humidity=min(99.0, max(5.0, hum - 3 * daily)),
                pressure=1008.5 + 4 * math.sin(2 * math.pi * (ts - end) / (3 * DAY)),
                acceleration=(0.0, 0.0, 1.0),
                voltage=voltage,
                tx_power=4,
                movement_counter=0,
                sequence=(20_000 + k) % 65535,
                mac=bytes.fromhex(mac.replace(":", "")),
            )
            record = {
                "ts": round(ts + n * 0.7, 3),
                "address": mac,
                "name": "Ruuvi " + mac.replace(":", "")[-4:],
                "rssi": -60 - n * 5,
                "manufacturer_data": {"1177": payload.hex()},
            }
            lines.append(json.dumps(record, separators=(",", ":")))
    path.write_text("\n".join(lines) + "\n")
    return len(lines)


def screenshots(out: Path) -> None:
    demo = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-shots-") as tmp:
        directory = Path(tmp)
        (directory / "alerts.yaml").write_text((ROOT / "config" / "alerts.yaml").read_text())
        records = demo_history(directory / "history.jsonl", time.time())
        base = {
            "hub": {"name": "home"},
            "logging": {"level": "WARNING", "levels": {"integrations.replay": "INFO"}},
            "store": {"path": "hub.db", "flush_interval": "1s"},
            "devices": demo["devices"],
            "alerts": {"rules": "alerts.yaml"},
            "health": {"enabled": True},
        }
        # First the week of history, through the alert engine (the frost alert fires and
        # is kept across the restart); then the battery report the daily job would make.
        history = {"history": {"type": "replay", "file": "history.jsonl", "speed": 0}}
        # Rolled up at once (the sparklines' older hours come from the hourly rollups).
        rollups = {"retention": {"rollup_interval": "1s"}}
        with HubProcess(directory, {**base, **rollups, "sources": history}) as hub:
            hub.wait_for_log("Replay history finished", 120)
            time.sleep(3.5)
        with sqlite3.connect(directory / "hub.db") as conn:
            report = build_report_sync(conn, time.time())
            conn.execute(
                "INSERT INTO battery_reports (ts, report) VALUES (?, ?)",
                (report.ts, orjson.dumps(report_to_dict(report)).decode()),
            )
        print(f"screenshots: {records} recorded advertisements of a week, battery report stored")
        live = {
            "demo": {
                "type": "replay",
                "file": str(ROOT / "config" / "demo" / "ruuvitags.jsonl"),
                "speed": 10,
                "loop": True,
                "timestamps": "now",
            }
        }
        with HubProcess(directory, {**base, "sources": live}) as hub, chromium() as driver:
            load_page(driver, hub.url + "/")
            time.sleep(3)  # a few live updates
            save(driver, out / "dashboard-desktop.png")
            set_viewport(driver, 390, 844, 2)
            driver.execute_cdp_cmd(
                "Emulation.setEmulatedMedia",
                {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
            )
            load_page(driver, hub.url + "/")
            time.sleep(1.5)
            save(driver, out / "dashboard-phone.png")
            driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
            set_viewport(driver, 1280, 900)
            load_page(driver, hub.url + "/#/sensor/E4%3A2F%3A61%3A0B%3A3D%3A17")
            driver.execute_script(
                "document.querySelector('.ranges button[data-range=\"7d\"]').click()"
            )
            time.sleep(1.5)
            save(driver, out / "dashboard-sensor.png")


def save(driver: Any, path: Path) -> None:
    driver.save_screenshot(str(path))
    print(f"  {path} ({path.stat().st_size / 1024:.0f} KiB)")


# -- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run, under a minute")
    parser.add_argument("--loads", type=int, help="page loads for the render time")
    parser.add_argument("--screenshots", type=Path, metavar="DIR", help="write the pictures")
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})  # this process, the browser and the clients: CPU 1
    if args.screenshots is not None:
        screenshots(args.screenshots)
        return
    loads = args.loads or (5 if args.quick else 11)
    step = 60 if args.quick else 10
    window, pairs = (3.0, 2) if args.quick else (10.0, 4)
    print(f"dashboard: hub on CPU 0, browser and clients on CPU 1; {SENSORS} sensors")

    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        directory = Path(tmp)
        started = time.monotonic()
        rows = asyncio.run(make_database(directory / "hub.db", time.time(), step))
        print(
            f"database: {SENSORS} sensors x 24 h, a reading every {step} s: {rows:,} readings "
            f"({time.monotonic() - started:.1f}s to make)"
        )
        config = {"store": {"path": "hub.db"}, "alerts": {"enabled": False}}
        with HubProcess(directory, config) as hub:
            asyncio.run(fetch_summary(hub.url, 2))  # warm-up
            latencies, server, raw, packed = asyncio.run(fetch_summary(hub.url, loads * 2))
            summary_ms = statistics.median(latencies)
            print(
                f"/api/dashboard: {summary_ms:.1f} ms (hub's own time "
                f"{statistics.median(server):.1f} ms); {raw / 1024:.0f} KiB, "
                f"{packed / 1024:.0f} KiB gzipped"
            )
            with chromium() as driver:
                marks = [load_page(driver, hub.url + "/") for _ in range(loads + 1)]
            cold = marks[0]["dashboard-rendered"]
            warm = [m["dashboard-rendered"] for m in marks[1:]]
            data = statistics.median(m["dashboard-data"] for m in marks[1:])
            built = statistics.median(m["dashboard-built"] for m in marks[1:])
            first_render = statistics.median(warm)
            print(
                f"first render, 200 sensors: {first_render:.0f} ms median of {len(warm)} loads "
                f"(min {min(warm):.0f}, max {max(warm):.0f}); first load of a fresh browser "
                f"{cold:.0f} ms"
            )
            print(
                f"  of which: data in at {data:.0f} ms, grid built at {built:.0f} ms, "
                f"first screen drawn at {first_render:.0f} ms"
            )

    with tempfile.TemporaryDirectory(prefix="bench-dashboard-sse-") as tmp:
        directory = Path(tmp)
        seconds = 120
        make_capture(directory / "capture.jsonl", SENSORS, seconds)
        config = {
            "store": {"path": "hub.db"},
            "alerts": {"enabled": False},
            "retention": {"rollup_interval": "1d"},  # no maintenance job in the windows
            "sources": {
                "replay": {"type": "replay", "file": "capture.jsonl", "speed": 1, "loop": True}
            },
        }
        with HubProcess(directory, config) as hub:
            stream = asyncio.run(measure_stream(hub, window, pairs))
        sse_cost = stream["cpu_ms_per_1k_stream"]
        print(
            f"live stream, {SENSORS} sensors reporting once a second: hub CPU "
            f"{stream['cpu_ms_per_1k_without']:.1f} ms per 1,000 readings without browsers, "
            f"{stream['cpu_ms_per_1k_with']:.1f} ms with {SSE_CLIENTS} (medians of {pairs} "
            f"alternating windows of {window:g}s): the stream costs {sse_cost:.1f} ms per "
            f"1,000 readings; each browser gets {stream['kib_per_s_per_client']:.0f} KiB/s"
        )

    print(
        json.dumps(
            {
                "first_render_ms": round(first_render, 1),
                "summary_ms": round(summary_ms, 1),
                "first_render_cold_ms": round(cold, 1),
                "first_render_min_ms": round(min(warm), 1),
                "summary_server_ms": round(statistics.median(server), 1),
                "summary_kib": round(raw / 1024, 1),
                "summary_gzip_kib": round(packed / 1024, 1),
                "sse_cpu_ms_per_1k_readings": round(sse_cost, 2),
                "sse_clients": SSE_CLIENTS,
                "sse_kib_per_s_per_client": round(stream["kib_per_s_per_client"], 1),
                "hub_cpu_ms_per_1k_readings_no_clients": round(stream["cpu_ms_per_1k_without"], 1),
                "sensors": SENSORS,
                "readings": rows,
                "loads": loads,
                "quick": args.quick,
            }
        )
    )


if __name__ == "__main__":
    main()
