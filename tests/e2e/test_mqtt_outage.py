"""A real `hub run` through broker outages: backoff without a storm, the latest state of every
sensor after the broker returns, nothing blocked meanwhile; and its last will on kill -9."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from hub.integrations import DecodeContext, Decoded
from hub.mqtt.testing import Collector, Mosquitto, latest_readings
from hub.mqtt.topics import sensor_id
from hub.records import parse_line
from integrations.ruuvi import INTEGRATION as RUUVI

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo" / "ruuvitags.jsonl"
# The second half of the capture plays this many seconds after the first.
GAP_S = 4.0

pytestmark = pytest.mark.slow


def retimed(lines: list[str], start: float) -> list[str]:
    """The same advertisements a millisecond apart from `start`."""
    out = []
    for i, line in enumerate(lines):
        record = json.loads(line)
        record["ts"] = round(start + i * 0.001, 3)
        out.append(json.dumps(record))
    return out


@contextmanager
def hub_process(
    directory: Path, capture: Path, port: int, **replay: Any
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    config = directory / "hub.yaml"
    config.write_text(
        json.dumps(
            {
                "hub": {"name": "outage", "summary_interval": "1s"},
                "logging": {"level": "DEBUG", "format": "json"},
                "store": {"path": "hub.db", "flush_interval": "1s", "min_interval": 0},
                "sources": {"demo": {"type": "replay", "file": str(capture), **replay}},
                "mqtt": {
                    "enabled": True,
                    "host": "127.0.0.1",
                    "port": port,
                    "topic_prefix": "outage",
                    "min_interval": 0,
                },
            }
        )
    )
    log = directory / "hub.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB__")}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub", "run", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=directory,
        )
    try:
        yield proc, log
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def log_messages(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def stored_count(db: Path, since: float) -> int:
    with sqlite3.connect(db) as conn:
        return int(
            conn.execute("SELECT count(*) FROM readings WHERE ts >= ?", (since,)).fetchone()[0]
        )


def states_are(sub: Collector, expected: dict[str, dict[str, Any]]) -> bool:
    return all(
        (payload := sub.latest.get(topic)) and json.loads(payload) == state
        for topic, state in expected.items()
    )


async def test_broker_outage_backs_off_then_publishes_the_latest_state_of_every_sensor(
    tmp_path: Path,
) -> None:
    lines = DEMO.read_text().splitlines()
    start = 1_795_155_600.0
    first = retimed(lines[:300], start)
    second = retimed(lines[300:700], start + GAP_S)
    capture = tmp_path / "capture.jsonl"
    capture.write_text("\n".join(first + second) + "\n")
    expect_first = latest_readings(first)
    expect_final = latest_readings(first + second)

    def states(latest: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {
            f"outage/sensor/{sensor_id(a)}/state": {**r.measurements, "ts": r.ts, "rssi": r.rssi}
            for a, r in latest.items()
        }

    with Mosquitto() as broker, hub_process(tmp_path, capture, broker.port, speed=1) as (proc, log):
        async with Collector(broker.port, ("outage/#",)) as sub:
            await sub.wait_until(lambda: states_are(sub, states(expect_first)), 20, "part 1")
        assert stored_count(tmp_path / "hub.db", start + GAP_S) == 0, "part 2 not played yet"

        broker.stop()
        # The second part plays and is stored while the broker is away.
        loop = asyncio.get_running_loop()
        down_at = loop.time()
        while stored_count(tmp_path / "hub.db", start + GAP_S) == 0:
            assert loop.time() - down_at < 20, "the store stopped while MQTT was down"
            await asyncio.sleep(0.1)
        await asyncio.sleep(max(0.0, 6.0 - (loop.time() - down_at)))
        assert proc.poll() is None
        broker.start()

        async with Collector(broker.port, ("outage/#", "homeassistant/#")) as sub:
            await sub.wait_until(lambda: states_are(sub, states(expect_final)), 40, "part 2")
            assert sub.latest["outage/status"] == b"online"
            assert any(t.endswith("/temperature/config") for t in sub.latest)
        # One message per sensor after the outage, not a backlog of every reading.
        after = [m for m in sub.messages if m.topic.endswith("/state")]
        assert len(after) == len(expect_final)

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0

    messages = log_messages(log)
    text = [m["message"] for m in messages]
    reconnected = [m for m in text if "reconnected to" in m]
    assert len(reconnected) == 1, reconnected
    found = re.search(r"after (\d+) attempts, ([\d.]+) s", reconnected[0])
    assert found is not None
    attempts, down_s = int(found.group(1)), float(found.group(2))
    # Exponential backoff from 0.5-1 s, capped at 30 s: about log2(outage) + 1 attempts.
    assert down_s >= 6
    assert 3 <= attempts <= 6, f"{attempts} attempts in {down_s} s"
    tried = [m for m in text if re.match(r"MQTT publisher: attempt \d+ to reach", m)]
    assert len(tried) == attempts - 2, "one warning, then one debug line per further attempt"
    summaries = [m for m in text if m.startswith("Last 1s:")]
    assert summaries
    assert all(m.endswith("bus drops 0") for m in summaries), "no event was dropped"
    assert not [m for m in messages if m["level"] in ("ERROR", "CRITICAL")]
    assert stored_count(tmp_path / "hub.db", start) == len(
        {(a, s) for a, s in _sequences(first + second)}
    ), "every measurement stored, outage or not"


def _sequences(lines: list[str]) -> Iterator[tuple[str, int]]:
    assert RUUVI.decode is not None
    for line in lines:
        adv = parse_line(line)
        decoded = RUUVI.decode(adv, DecodeContext())
        if isinstance(decoded, Decoded) and decoded.sequence is not None:
            yield adv.address, decoded.sequence


async def test_kill_9_makes_the_broker_publish_the_last_will(tmp_path: Path) -> None:
    capture = tmp_path / "capture.jsonl"
    capture.write_text("\n".join(DEMO.read_text().splitlines()[:50]) + "\n")
    with Mosquitto() as broker, hub_process(tmp_path, capture, broker.port, speed=0) as (proc, _):
        async with Collector(broker.port, ("outage/status",)) as sub:
            await sub.wait_until(lambda: sub.latest.get("outage/status") == b"online", 20)
            proc.kill()  # SIGKILL: no goodbye
            took = await sub.wait_until(
                lambda: sub.latest.get("outage/status") == b"offline", 10, "the last will"
            )
        assert took < 3
        async with Collector(broker.port, ("outage/status",)) as late:
            await late.wait_until(lambda: "outage/status" in late.latest, 3)
            assert late.latest["outage/status"] == b"offline", "retained for the next one"
