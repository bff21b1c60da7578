"""`hub run` as a user runs it: a real process, the demo capture, a signal, the database."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.integrations import DecodeContext, Decoded
from hub.records import parse_line
from hub.testing_run import capture_measurements, start_hub
from integrations.ruuvi import INTEGRATION as RUUVI

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo" / "ruuvitags.jsonl"

pytestmark = pytest.mark.slow


def write_config(tmp_path: Path, capture: Path, **replay: object) -> Path:
    source = {"type": "replay", "file": str(capture), "speed": 0, **replay}
    config = {
        "hub": {"name": "e2e", "summary_interval": "1s"},
        "logging": {"level": "DEBUG", "format": "json"},
        # every distinct measurement is stored: no storage interval
        "store": {"path": str(tmp_path / "hub.db"), "flush_interval": "1s", "min_interval": 0},
        "sources": {"demo": source},
    }
    path = tmp_path / "hub.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def wait_for_log(log: Path, text: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    pytest.fail(f"{text!r} not logged within {timeout}s; log:\n{log.read_text()[-3000:]}")


def stored(db: Path) -> list[tuple[str, int, float, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT s.address, r.sequence, r.ts, r.measurements FROM readings r "
            "JOIN sensors s ON s.id = r.sensor_id ORDER BY r.id"
        ).fetchall()


def test_sigterm_after_demo_replay_keeps_every_measurement_exactly_once(tmp_path: Path) -> None:
    config = write_config(tmp_path, DEMO)
    log = tmp_path / "hub.log"
    proc = start_hub(config, log)
    try:
        wait_for_log(log, "Replay demo finished", proc, timeout=60)
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 5, "shutdown should take a few seconds at most"
    finally:
        if proc.poll() is None:
            proc.kill()

    expected = {k: m.values for k, m in capture_measurements(DEMO).items()}
    rows = stored(tmp_path / "hub.db")
    keys = [(address, sequence) for address, sequence, _, _ in rows]
    assert len(keys) == len(set(keys)), "a measurement was stored twice"
    assert set(keys) == set(expected), "stored measurements differ from the capture's"
    for address, sequence, _, measurements in rows:
        assert json.loads(measurements) == expected[(address, sequence)]

    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert all({"ts", "level", "logger", "message"} <= set(line) for line in lines)
    messages = [line["message"] for line in lines]
    assert any(m.startswith("Hub 'e2e' running: sources demo") for m in messages)
    assert any("SIGTERM received" in m for m in messages)
    assert messages[-1] == "Bye"


def test_stored_timestamps_are_the_recorded_ones(tmp_path: Path) -> None:
    capture = tmp_path / "short.jsonl"
    capture.write_text("\n".join(DEMO.read_text().splitlines()[:200]) + "\n")
    config = write_config(tmp_path, capture)
    log = tmp_path / "hub.log"
    proc = start_hub(config, log)
    try:
        wait_for_log(log, "Replay demo finished", proc, timeout=60)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    first_seen: dict[tuple[str, int], float] = {}
    assert RUUVI.decode is not None
    for line in capture.read_text().splitlines():
        adv = parse_line(line)
        decoded = RUUVI.decode(adv, DecodeContext())
        if isinstance(decoded, Decoded) and decoded.sequence is not None:
            first_seen.setdefault((adv.address, decoded.sequence), adv.ts)
    rows = stored(tmp_path / "hub.db")
    assert rows
    for address, sequence, ts, _ in rows:
        assert ts == first_seen[(address, sequence)]


def test_bad_config_exits_2_naming_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text("store:\n  batch_size: lots\n")
    result = subprocess.run(
        [sys.executable, "-m", "hub", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert f"{config}: store.batch_size:" in result.stderr


def test_unusable_database_path_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    config = tmp_path / "hub.yaml"
    config.write_text(f"store:\n  path: {blocker}/hub.db\n")
    result = subprocess.run(
        [sys.executable, "-m", "hub", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "cannot open the database" in result.stderr
    assert "Traceback" not in result.stderr
