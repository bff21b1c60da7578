"""`kill -9` of a real `hub run` mid-replay: the database is intact, holds exactly the
committed measurements, loses at most the last flush interval, and a restart continues it."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hub.commands import db as db_command
from hub.records import parse_line
from hub.router import SEQUENCE_WINDOW
from hub.testing_run import capture_measurements, start_hub

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo" / "ruuvitags.jsonl"
SPEED = 20.0  # the 15-minute capture takes 45 s: the kill lands well inside it
FLUSH_INTERVAL = 1.0
# Scheduling slack on top of the flush interval (wall seconds) for a loaded test machine.
SLACK = 1.5
# Long enough that every sensor has more measurements stored than the router remembers
# (SEQUENCE_WINDOW) when it is killed: a restart cannot lean on that window alone.
COMMITS_BEFORE_KILL = 16

pytestmark = pytest.mark.slow

Key = tuple[str, int]


EXPECTED = capture_measurements(DEMO)
ORDER = list(EXPECTED)  # capture order of first appearance


def write_config(directory: Path, capture: Path, db: Path, speed: float) -> Path:
    config = {
        "hub": {"name": "crash", "summary_interval": "1s"},
        "logging": {"level": "DEBUG", "format": "json"},
        "store": {"path": str(db), "flush_interval": f"{FLUSH_INTERVAL}s", "min_interval": 0},
        "sources": {"demo": {"type": "replay", "file": str(capture), "speed": speed}},
    }
    path = directory / "hub.yaml"
    path.write_text(json.dumps(config))
    return path


def log_lines(log: Path) -> list[dict[str, Any]]:
    lines = []
    for text in log.read_text(errors="replace").splitlines():
        try:
            lines.append(json.loads(text))
        except json.JSONDecodeError:  # a line cut by the kill
            continue
    return lines


def wait_until(log: Path, proc: subprocess.Popen[bytes], done: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done(log_lines(log)):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    pytest.fail(f"hub did not get there within {timeout}s; log:\n{log.read_text()[-3000:]}")


def commits_logged(lines: list[dict[str, Any]]) -> int:
    """Summaries that report committed readings (one flush each at these intervals)."""
    return sum(
        1
        for line in lines
        if line["message"].startswith("Last ") and " 0 committed" not in line["message"]
    )


def stored(db: Path) -> list[tuple[int, str, int, float, str]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(
            "SELECT r.id, s.address, r.sequence, r.ts, r.measurements FROM readings r "
            "JOIN sensors s ON s.id = r.sensor_id ORDER BY r.id"
        ).fetchall()


def integrity(db: Path) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute("PRAGMA integrity_check").fetchall()


def copy_database(source: Path, dest: Path) -> None:
    """The database with its WAL and index, as the killed process left them."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy2(f"{source}{suffix}", f"{dest}{suffix}")


def run_to_the_end(directory: Path, capture: Path, db: Path) -> Path:
    """`hub run` on `db` until the capture has been played, then SIGTERM."""
    config = write_config(directory, capture, db, speed=0)
    log = directory / "restart.log"
    proc = start_hub(config, log)
    try:
        wait_until(
            log,
            proc,
            lambda lines: any(line["message"].startswith("Replay demo finished") for line in lines),
            timeout=60,
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return log


class StoredTwice(AssertionError):
    """A measurement is in the database more than once."""


def check_rows_exact(rows: list[tuple[int, str, int, float, str]]) -> list[Key]:
    """Each row one distinct measurement of the capture, with its values and time exactly."""
    keys = [(address, sequence) for _, address, sequence, _, _ in rows]
    twice = sorted(key for key, count in Counter(keys).items() if count > 1)
    if twice:
        raise StoredTwice(f"{len(twice)} measurements stored more than once, e.g. {twice[:3]}")
    for _, address, sequence, ts, measurements in rows:
        expected = EXPECTED.get((address, sequence))
        assert expected is not None, f"invented measurement {(address, sequence)}"
        assert json.loads(measurements) == expected.values
        assert ts == expected.ts
    return keys


@dataclass(frozen=True, slots=True)
class Crash:
    """What the killed hub left behind (kept untouched: tests work on copies)."""

    db: Path
    killed_at: float  # wall clock, just before SIGKILL
    replay_started: float  # wall clock of the hub's "running" line
    log: Path


@pytest.fixture(scope="module")
def crash(tmp_path_factory: pytest.TempPathFactory) -> Crash:
    directory = tmp_path_factory.mktemp("crash")
    db = directory / "run" / "hub.db"
    config = write_config(directory, DEMO, db, speed=SPEED)
    log = directory / "hub.log"
    proc = start_hub(config, log)
    try:
        wait_until(
            log, proc, lambda lines: commits_logged(lines) >= COMMITS_BEFORE_KILL, timeout=60
        )
        time.sleep(FLUSH_INTERVAL / 2)  # between two flushes: a batch is being filled
        killed_at = time.time()
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    running = [
        line["ts"] for line in log_lines(log) if line["message"].startswith("Hub 'crash' running")
    ]
    assert len(running) == 1
    pristine = directory / "pristine" / "hub.db"
    copy_database(db, pristine)
    scratch = directory / "scratch" / "hub.db"  # opening it would checkpoint the WAL away
    copy_database(pristine, scratch)
    per_sensor = Counter(address for _, address, _, _, _ in stored(scratch))
    assert len(per_sensor) == 6
    assert min(per_sensor.values()) > SEQUENCE_WINDOW, per_sensor
    return Crash(pristine, killed_at, running[0], log)


def test_kill_9_leaves_an_intact_database_with_exactly_the_committed_prefix(
    crash: Crash, tmp_path: Path
) -> None:
    assert Path(f"{crash.db}-wal").exists(), "the hub was killed with its WAL open"
    db = tmp_path / "hub.db"
    copy_database(crash.db, db)
    assert integrity(db) == [("ok",)]

    rows = stored(db)
    keys = check_rows_exact(rows)
    # Killed mid-run: some committed, not all.
    assert 0 < len(keys) < len(ORDER)
    # What is there is exactly the beginning of the capture, in its order: nothing skipped
    # in the middle, nothing out of order; what is missing is only the tail.
    assert keys == ORDER[: len(keys)]

    # The tail is bounded by the flush interval: the replay had reached at most this far
    # in the capture when it was killed (it can only lag behind its schedule) ...
    first_ts = EXPECTED[ORDER[0]].ts
    reached = first_ts + (crash.killed_at - crash.replay_started) * SPEED
    last_committed = EXPECTED[keys[-1]].ts
    lost = [k for k in ORDER[len(keys) :] if EXPECTED[k].ts <= reached]
    # ... and everything up to one flush interval (of replay time) before that was committed.
    assert reached - last_committed <= (FLUSH_INTERVAL + SLACK) * SPEED, (
        f"{reached - last_committed:.1f} s of capture time after the last commit were lost "
        f"({len(lost)} measurements)"
    )

    # Sensors are consistent with their readings (one transaction per batch).
    with closing(sqlite3.connect(db)) as conn:
        sensors = conn.execute(
            "SELECT s.last_seen, s.last_sequence, "
            "(SELECT max(ts) FROM readings WHERE sensor_id = s.id), "
            "(SELECT sequence FROM readings WHERE sensor_id = s.id ORDER BY id DESC LIMIT 1) "
            "FROM sensors s"
        ).fetchall()
    assert sensors
    for last_seen, last_sequence, max_ts, latest_sequence in sensors:
        assert (last_seen, last_sequence) == (max_ts, latest_sequence)


def test_a_backup_of_the_crashed_database_holds_the_same_rows(
    crash: Crash, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "hub.db"
    copy_database(crash.db, db)
    parser = argparse.ArgumentParser(prog="hub")
    db_command.register(parser.add_subparsers())
    args = parser.parse_args(["db", "backup", str(tmp_path / "copy.db"), "--database", str(db)])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert re.search(r"^integrity: +ok$", out, re.M)
    assert stored(tmp_path / "copy.db") == stored(db)


def test_restart_continues_without_storing_a_measurement_twice(
    crash: Crash, tmp_path: Path
) -> None:
    """The restarted hub hears the sensors again from a little before the crash, as a radio
    would (sensors repeat their latest measurement): the stored ones are recognised, the
    lost tail and everything after it are stored once."""
    db = tmp_path / "hub.db"
    copy_database(crash.db, db)
    before = stored(db)
    last_committed = EXPECTED[(before[-1][1], before[-1][2])].ts
    lines = DEMO.read_text().splitlines(keepends=True)
    # From 30 s of capture time before the last commit: several measurements per sensor
    # overlap with what is stored (the router remembers the last 16 per sensor).
    capture = tmp_path / "rest.jsonl"
    capture.write_text("".join(ln for ln in lines if parse_line(ln).ts >= last_committed - 30))

    run_to_the_end(tmp_path, capture, db)

    assert integrity(db) == [("ok",)]
    rows = stored(db)
    assert rows[: len(before)] == before  # what was committed is untouched
    keys = check_rows_exact(rows)
    assert keys == ORDER  # every measurement of the capture, once, in order


def test_restart_replaying_the_whole_capture_stores_no_measurement_twice(
    crash: Crash, tmp_path: Path
) -> None:
    db = tmp_path / "hub.db"
    copy_database(crash.db, db)
    before = stored(db)

    run_to_the_end(tmp_path, DEMO, db)

    assert integrity(db) == [("ok",)]
    rows = stored(db)
    assert rows[: len(before)] == before
    keys = check_rows_exact(rows)
    assert keys == ORDER
