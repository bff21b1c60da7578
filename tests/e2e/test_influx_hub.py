"""`hub run` with the InfluxDB export on, and `hub export influx`, as a user runs them.

A real hub process replays the demo capture into its database and exports to a real
server speaking the InfluxDB v2 write API (Debian's VictoriaMetrics). VictoriaMetrics keeps
every sample it is sent, so a reading written twice would show twice: "exactly once" is
checked, not assumed.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from hub.exporters.influxdb.testing import VictoriaMetrics

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo" / "ruuvitags.jsonl"
# Names and locations a user might give, with everything line protocol has to escape.
DEVICES = {
    "C8:25:2D:8E:AB:4C": {"name": 'Living room, "north"', "location": "Floor=1 \\ east"},
    "F7:6B:13:E0:51:A8": {"name": "Küche ☃ 温度", "location": "a,b=c d\\"},
    "CE:3A:88:14:6F:02": {"name": "back\\slash=x", "location": 'say "hi"'},
}

pytestmark = pytest.mark.slow

Points = dict[tuple[str, str], dict[int, float]]


@pytest.fixture
def vm() -> Iterator[VictoriaMetrics]:
    server = VictoriaMetrics()
    server.start()
    try:
        yield server
    finally:
        server.close()


def write_config(
    tmp_path: Path, capture: Path, url: str, *, speed: float = 0, enabled: bool = True
) -> Path:
    config = {
        "hub": {"name": "influx-e2e", "summary_interval": "1s"},
        "logging": {"level": "INFO", "format": "json"},
        "store": {"path": "hub.db", "flush_interval": "0.2s", "min_interval": 0},
        "sources": {"demo": {"type": "replay", "file": str(capture), "speed": speed}},
        "devices": DEVICES,
        "influxdb": {
            "enabled": enabled,
            "url": url,
            "org": "home",
            "bucket": "sensors",
            "token": "e2e-token",
            "flush_interval": "0.3s",
            "retry": {"initial": "0.1s", "max": "0.5s"},
        },
    }
    path = tmp_path / "hub.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def hub(*args: str, log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB__")}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hub", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
        )


def wait_for(
    what: str, check: Callable[[], bool], proc: subprocess.Popen[bytes], log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    pytest.fail(f"{what}: not within {timeout}s; log:\n{log.read_text()[-4000:]}")


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as conn:
        return conn.execute(sql).fetchall()


def newest_id(db: Path) -> int:
    return int(query(db, "SELECT coalesce(max(id), 0) FROM readings")[0][0])


def watermark(db: Path) -> int | None:
    """The exporter's position, None before it first delivered (or before the tables)."""
    if not db.exists():
        return None
    try:
        rows = query(db, "SELECT reading_id FROM watermarks WHERE exporter = 'influxdb'")
    except sqlite3.OperationalError:
        return None
    return int(rows[0][0]) if rows else None


def exported_all(db: Path) -> bool:
    """Every committed reading delivered, and no more coming (after the replay ended).

    The store commits every 0.2 s: the last readings of the replay may still be in its
    buffer at the first look. (Readings committed by the final flush at shutdown, after
    the exporter stopped, go out at the next start.)
    """
    mark = watermark(db)
    if mark is None or mark == 0 or mark != newest_id(db):
        return False
    time.sleep(0.6)
    return watermark(db) == newest_id(db)


def expected_from(db: Path) -> tuple[Points, dict[str, dict[str, str]], int]:
    """What the database says must be in InfluxDB: points, labels per sensor, readings."""
    rows = query(
        db,
        "SELECT r.ts, s.address, s.integration, s.model, coalesce(s.name, s.advertised_name), "
        "s.location, r.measurements, r.rssi FROM readings r JOIN sensors s ON s.id = r.sensor_id",
    )
    points: Points = {}
    labels: dict[str, dict[str, str]] = {}
    for ts, address, integration, model, name, location, measurements, rssi in rows:
        ms = round(ts * 1_000_000) // 1000
        values = json.loads(measurements)
        if rssi is not None:
            values["rssi"] = rssi
        for field, value in values.items():
            points.setdefault((field, address), {})[ms] = value
        tags = {"address": address, "integration": integration, "model": model}
        tags.update(name=name, location=location)
        labels[address] = {k: v for k, v in tags.items() if v}
    return points, labels, len(rows)


def exported_from(vm: VictoriaMetrics) -> tuple[Points, dict[str, dict[str, str]]]:
    points: Points = {}
    labels: dict[str, dict[str, str]] = {}
    for series in vm.export('{__name__=~"ble_.+"}'):
        metric = dict(series["metric"])
        field = metric.pop("__name__").removeprefix("ble_")
        address = metric["address"]
        stamps = series["timestamps"]
        assert len(set(stamps)) == len(stamps), f"{field} of {address}: a point arrived twice"
        points[(field, address)] = dict(zip(stamps, series["values"], strict=True))
        assert labels.setdefault(address, metric) == metric, "one tag set per sensor"
    return points, labels


def assert_database_matches(db: Path, vm: VictoriaMetrics) -> int:
    expected_points, expected_labels, readings = expected_from(db)
    points, labels = exported_from(vm)
    assert labels == expected_labels
    assert points.keys() == expected_points.keys()
    for key, values in expected_points.items():
        assert points[key] == values, key
    in_vm = {(address, ms) for (_, address), series in points.items() for ms in series}
    assert len(in_vm) == readings, "one point per committed reading"
    return readings


def test_replay_every_committed_reading_is_in_influxdb_exactly(
    tmp_path: Path, vm: VictoriaMetrics
) -> None:
    config = write_config(tmp_path, DEMO, vm.url)
    log = tmp_path / "hub.log"
    db = tmp_path / "hub.db"
    proc = hub("run", "--config", str(config), log=log, cwd=tmp_path)
    try:
        wait_for("replay", lambda: "Replay demo finished" in log.read_text(), proc, log, 60)
        wait_for("export", lambda: exported_all(db), proc, log, 30)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    readings = assert_database_matches(db, vm)
    assert readings > 1000  # the whole capture (1,080 distinct readings), not a slice
    messages = [json.loads(line)["message"] for line in log.read_text().splitlines()]
    assert any(m.startswith("InfluxDB export to http://127.0.0.1:") for m in messages)
    assert not any("InfluxDB write failed" in m for m in messages)


def test_outage_and_kill_9_lose_nothing_and_duplicate_nothing(tmp_path: Path) -> None:
    server = VictoriaMetrics()
    server.start()
    # The capture's 15 minutes in under 4 s: readings keep arriving through the outage.
    config = write_config(tmp_path, DEMO, server.url, speed=250)
    log = tmp_path / "hub.log"
    db = tmp_path / "hub.db"
    first = second = None
    try:
        first = hub("run", "--config", str(config), log=log, cwd=tmp_path)
        wait_for("first export", lambda: bool(watermark(db)), first, log, 30)
        server.stop()  # the outage starts
        newest = newest_id(db)
        wait_for(
            "readings during the outage",
            lambda: newest_id(db) > newest + 100,
            first,
            log,
            20,
        )
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        at_kill = newest_id(db)
        assert (watermark(db) or 0) < at_kill, "a backlog waited when the hub was killed"

        second = hub("run", "--config", str(config), log=log, cwd=tmp_path)
        wait_for(
            "readings after the restart, still during the outage",
            lambda: newest_id(db) > at_kill + 50,
            second,
            log,
            20,
        )
        server.start()  # the outage ends: same port, same data
        wait_for(
            "replay", lambda: log.read_text().count("Replay demo finished") == 1, second, log, 60
        )
        wait_for("backlog drained", lambda: exported_all(db), second, log, 30)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=15) == 0
        assert_database_matches(db, server)
        messages = [json.loads(line)["message"] for line in log.read_text().splitlines()]
        assert any("InfluxDB write failed" in m for m in messages)
        assert any(m.startswith("InfluxDB writes work again") for m in messages)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
        server.close()


def test_export_influx_backfills_an_empty_database_exactly_once(
    tmp_path: Path, vm: VictoriaMetrics
) -> None:
    capture = tmp_path / "capture.jsonl"
    capture.write_text("\n".join(DEMO.read_text().splitlines()[:800]) + "\n")
    # A database filled by a hub with the export off.
    config = write_config(tmp_path, capture, vm.url, enabled=False)
    log = tmp_path / "hub.log"
    proc = hub("run", "--config", str(config), log=log, cwd=tmp_path)
    try:
        wait_for("replay", lambda: "Replay demo finished" in log.read_text(), proc, log, 60)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    db = tmp_path / "hub.db"
    assert vm.samples() == 0
    stored = query(db, "SELECT count(*) FROM readings")[0][0]

    def export(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hub", "export", "influx", "--config", str(config), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=tmp_path,
        )

    dry = export("--since", "2026-11-20T00:00", "--until", "2026-11-21", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert len(dry.stdout.splitlines()) == stored
    assert f"{stored:,} readings in {stored:,} lines (dry run: nothing sent)" in dry.stderr
    assert vm.samples() == 0, "a dry run sends nothing"

    one = export("--since", "2026-11-20T00:00", "--sensor", "Küche ☃ 温度", "--dry-run")
    assert one.returncode == 0, one.stderr
    assert one.stdout
    assert all(",address=F7:6B:13:E0:51:A8," in line for line in one.stdout.splitlines())

    result = export("--since", "2026-11-20T00:00", "--until", "2026-11-21")
    assert result.returncode == 0, result.stderr
    assert f"Exported {stored:,} readings ({stored:,} points written)" in result.stderr
    assert assert_database_matches(db, vm) == stored
    # The live export's position is its own: a backfill does not move it.
    assert query(db, "SELECT count(*) FROM watermarks WHERE exporter = 'influxdb'") == [(0,)]

    outside = export("--since", "2026-11-21", "--until", "2026-11-22")
    assert outside.returncode == 0, outside.stderr
    assert "Exported 0 readings" in outside.stderr
    assert assert_database_matches(db, vm) == stored


def test_export_influx_names_what_is_missing(tmp_path: Path) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text("influxdb:\n  url: http://127.0.0.1:9\n")
    result = subprocess.run(
        [sys.executable, "-m", "hub", "export", "influx", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert f"{config}: influxdb.bucket (or influxdb.database" in result.stderr
