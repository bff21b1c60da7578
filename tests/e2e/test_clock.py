"""Honest timestamps end to end: a real `hub run` on a simulated clock (HUB_CLOCK_FILE) that
steps back an hour unsynchronised and is put right; and a kill -9 and a restart with the
clock behind the stored data, before NTP.

Every advertisement of the captures is a distinct measurement, played at a known pace
(`timestamps: now`), so each stored reading can be traced to the moment it was fed: its
timestamp must be the simulated time of that moment, whatever the clock did meanwhile.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hub.clock import CLOCK_FILE_ENV, write_clock_file
from hub.integrations import DecodeContext, Decoded
from hub.records import parse_line
from integrations.ruuvi import INTEGRATION as RUUVI

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo" / "ruuvitags.jsonl"
SENSORS = ("F7:6B:13:E0:51:A8", "C8:25:2D:8E:AB:4C", "CE:3A:88:14:6F:02")
SPEED = 60.0  # simulated seconds per real second
ORIGIN_SIM = 1_790_000_000.0
GAP = 0.05  # real seconds between two advertisements of a capture
# How far a reading's implied feeding time may stray from its pace (real seconds): the
# replay's timer and the hub's queues; an uncorrected clock step would be 60 s (an hour).
SLACK = 0.5

pytestmark = pytest.mark.slow


def distinct_measurements() -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """Per sensor, one record per distinct measurement (sequence) of the demo capture."""
    assert RUUVI.decode is not None
    found: dict[str, dict[int, dict[str, Any]]] = {address: {} for address in SENSORS}
    for line in DEMO.read_text().splitlines():
        adv = parse_line(line)
        if adv.address not in found:
            continue
        decoded = RUUVI.decode(adv, DecodeContext())
        if isinstance(decoded, Decoded) and decoded.sequence is not None:
            found[adv.address].setdefault(decoded.sequence, json.loads(line))
    return {address: list(by_sequence.items()) for address, by_sequence in found.items()}


MEASUREMENTS = distinct_measurements()


@dataclass(frozen=True)
class Capture:
    path: Path
    keys: list[tuple[str, int]]  # (address, sequence) of each line, in order


def write_capture(path: Path, indices: range | list[int]) -> Capture:
    """The sensors take turns; line i is recorded at i * GAP, so played at that pace."""
    keys, lines = [], []
    for index in indices:
        for address in SENSORS:
            sequence, record = MEASUREMENTS[address][index]
            lines.append(json.dumps({**record, "ts": 1_700_000_000.0 + len(lines) * GAP}))
            keys.append((address, sequence))
    path.write_text("\n".join(lines) + "\n")
    return Capture(path, keys)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningHub:
    proc: subprocess.Popen[bytes]
    log: Path
    port: int
    launched: float  # real time.time() just before the process started

    def messages(self) -> list[str]:
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                found.append(str(json.loads(line)["message"]))
            except (ValueError, KeyError):
                continue
        return found

    def wait_for(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in m for m in self.messages()):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        pytest.fail(
            f"{text!r} not logged (exit status {self.proc.poll()}); "
            f"log:\n{self.log.read_text(errors='replace')[-4000:]}"
        )

    def status(self) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.port}/api/status"
        with urllib.request.urlopen(url, timeout=5) as answer:
            return dict(json.loads(answer.read()))

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=15) == 0, self.log.read_text()[-4000:]


@pytest.fixture
def hubs(tmp_path: Path) -> Iterator[Any]:
    """Starts `hub run` processes on the simulated clock; kills whatever is left at the end."""
    started: list[subprocess.Popen[bytes]] = []
    clock_file = tmp_path / "clock.json"

    def start(capture: Capture, name: str) -> RunningHub:
        port = free_port()
        config = {
            "hub": {"name": "clock-e2e", "summary_interval": "1s"},
            "logging": {"level": "INFO", "format": "json"},
            "store": {"path": "hub.db", "flush_interval": "200ms", "min_interval": 0},
            "alerts": {"enabled": False},
            "health": {"enabled": True, "interval": "1s"},
            "http": {"enabled": True, "port": port},
            "sources": {"demo": {"type": "replay", "file": str(capture.path), "timestamps": "now"}},
        }
        path = tmp_path / "hub.yaml"
        path.write_text(json.dumps(config))
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB__")}
        env[CLOCK_FILE_ENV] = str(clock_file)
        log = tmp_path / f"{name}.log"
        launched = time.time()
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "hub", "run", "--config", str(path)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=tmp_path,
            )
        started.append(proc)
        return RunningHub(proc, log, port, launched)

    try:
        yield start
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def stored(db: Path) -> list[tuple[str, int, float]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT s.address, r.sequence, r.ts FROM readings r "
            "JOIN sensors s ON s.id = r.sensor_id ORDER BY r.id"
        ).fetchall()


def feeding_times(
    rows: list[tuple[str, int, float]], capture: Capture, origin_real: float
) -> dict[tuple[str, int], float]:
    """For each stored reading: the real time its line began to be played, as its timestamp
    says (the clock file's formula backwards, minus the line's place in the pace)."""
    line_of = {key: number for number, key in enumerate(capture.keys)}
    return {
        (address, sequence): origin_real
        + (ts - ORIGIN_SIM) / SPEED
        - line_of[(address, sequence)] * GAP
        for address, sequence, ts in rows
    }


def test_a_clock_stepped_back_unsynchronised_is_held_and_readings_keep_their_true_times(
    tmp_path: Path, hubs: Any
) -> None:
    clock_file = tmp_path / "clock.json"
    capture = write_capture(tmp_path / "capture.jsonl", range(40))  # 120 lines, 6 s
    origin_real = time.time()
    write_clock_file(clock_file, origin_real, ORIGIN_SIM, SPEED)
    hub = hubs(capture, "hub")
    hub.wait_for("Hub 'clock-e2e' running")
    time.sleep(1.2)
    # The hub's clock goes an hour back and says it is not synchronised...
    write_clock_file(clock_file, origin_real, ORIGIN_SIM, SPEED, step=-3600, synchronised=False)
    stepped = time.time()
    time.sleep(1.5)
    during = hub.status()
    # ...and NTP puts it right.
    write_clock_file(clock_file, origin_real, ORIGIN_SIM, SPEED, step=0.0, synchronised=True)
    fixed = time.time()
    hub.wait_for("Replay demo finished")
    time.sleep(0.6)  # the last batch is committed
    after = hub.status()
    hub.stop()

    assert during["clock"]["state"] == "holding"
    assert during["clock"]["held"] > 0
    assert during["health"]["problems"]["clock"].startswith(
        "system clock stepped back by 1h 0m 0s at "
    )
    assert after["clock"]["state"] == "trusted"
    assert after["clock"]["held"] == 0
    assert after["clock"]["steps"] == 2
    restamped = after["clock"]["released_restamped"]
    assert restamped >= 20  # 1.5 s of 20 advertisements a second

    rows = stored(tmp_path / "hub.db")
    keys = [(address, sequence) for address, sequence, _ in rows]
    assert len(keys) == len(set(keys)), "a measurement was stored twice"
    assert set(keys) == set(capture.keys), "a measurement was lost"
    fed = feeding_times(rows, capture, origin_real)
    start = min(fed.values())
    assert hub.launched <= start <= stepped
    assert max(fed.values()) - start < SLACK, "a reading is stamped away from when it was fed"
    # The readings fed while the clock was wrong are there, with their true times.
    line_of = {key: number for number, key in enumerate(capture.keys)}
    in_the_gap = [k for k in keys if stepped + 0.1 < start + line_of[k] * GAP < fixed - 0.1]
    assert len(in_the_gap) >= 20

    messages = hub.messages()
    assert any(m.startswith("System clock stepped back by 1h 0m 0s; holding") for m in messages)
    assert any(m.startswith("System clock stepped forward by 1h 0m 0s") for m in messages)
    assert f"Clock synchronised: {restamped} held advertisements stamped and stored" in messages


def test_after_kill_9_a_restart_behind_the_stored_data_writes_nothing_old_again(
    tmp_path: Path, hubs: Any
) -> None:
    clock_file = tmp_path / "clock.json"
    db = tmp_path / "hub.db"
    origin_real = time.time()
    write_clock_file(clock_file, origin_real, ORIGIN_SIM, SPEED)
    first = write_capture(tmp_path / "first.jsonl", range(20))  # 60 lines, 3 s
    hub = hubs(first, "first")
    hub.wait_for("Replay demo finished")
    deadline = time.monotonic() + 10
    while len(stored(db)) < len(first.keys) and time.monotonic() < deadline:
        time.sleep(0.05)
    hub.proc.send_signal(signal.SIGKILL)
    hub.proc.wait(timeout=10)
    before = stored(db)
    assert len(before) == len(first.keys)

    # Restarted (same simulated timeline) with the clock two hours behind the stored data
    # and not synchronised yet. The sensors repeat their last measurements, then go on.
    write_clock_file(clock_file, origin_real, ORIGIN_SIM, SPEED, step=-7200, synchronised=False)
    second = write_capture(tmp_path / "second.jsonl", [18, 19, *range(20, 40)])
    hub = hubs(second, "second")
    hub.wait_for("Hub 'clock-e2e' running")
    time.sleep(1.5)
    write_clock_file(clock_file, origin_real, ORIGIN_SIM, SPEED, step=0.0, synchronised=True)
    hub.wait_for("Replay demo finished")
    time.sleep(0.6)
    after = hub.status()
    hub.stop()

    rows = stored(db)
    assert rows[: len(before)] == before, "stored readings changed"
    new = rows[len(before) :]
    new_keys = [(address, sequence) for address, sequence, _ in new]
    assert new_keys
    assert len(new_keys) == len(set(new_keys))
    assert set(new_keys) == set(second.keys[6:]), "an old measurement was stored again"
    assert min(ts for _, _, ts in new) > max(ts for _, _, ts in before)
    fed = feeding_times(new, second, origin_real)
    start = min(fed.values())
    assert hub.launched <= start
    assert max(fed.values()) - start < SLACK, "a reading is stamped away from when it was fed"
    assert after["clock"]["released_restamped"] > 0
    messages = hub.messages()
    assert any(m.startswith("System clock not synchronised: holding") for m in messages)
    assert any(m.startswith("Clock synchronised: ") for m in messages)
