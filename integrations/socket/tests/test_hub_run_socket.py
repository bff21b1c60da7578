"""`hub run` with two socket receivers: what two clients send is stored once per measurement."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from integrations.socket.tests.helpers import ruuvi_line

pytestmark = pytest.mark.slow

A = "C8:25:2D:8E:AB:4C"
B = "F7:6B:13:E0:51:A8"
C = "D1:2E:33:44:55:66"


def wait_for_log(log: Path, text: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    pytest.fail(f"{text!r} not logged within {timeout}s; log:\n{log.read_text()[-3000:]}")


def test_two_receivers_each_measurement_stored_once_sockets_removed_at_exit(
    tmp_path: Path,
) -> None:
    sockets = {"receiver_a": tmp_path / "a.sock", "receiver_b": tmp_path / "b.sock"}
    config = {
        "hub": {"name": "sockets", "summary_interval": "1s"},
        "logging": {"level": "DEBUG"},
        "store": {"path": str(tmp_path / "hub.db"), "flush_interval": "1s", "min_interval": 0},
        "alerts": {"enabled": False},
        "sources": {name: {"type": "socket", "path": str(p)} for name, p in sockets.items()},
    }
    path = tmp_path / "hub.yaml"
    path.write_text(json.dumps(config))
    log = tmp_path / "hub.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB__")}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub", "run", "--config", str(path)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
    try:
        for name in sockets:
            wait_for_log(log, f"Source {name}: listening on", proc, timeout=30)
        started = time.time()
        clients = []
        for where in sockets.values():
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            client.connect(str(where))
            clients.append(client)
        a, b = clients
        # A is heard by the first receiver, B by the second, and C by both (the same record
        # sent to each). C sends fewer measurements than the router remembers per sensor
        # (16): the two receivers are not in step, and a copy arriving later than that
        # would be taken for a new measurement (see the soak's report).
        for sequence in range(200):
            a.sendall(ruuvi_line(A, sequence, ts=1.0))  # a line's own ts is ignored
            b.sendall(ruuvi_line(B, sequence))
            if sequence < 12:
                line = ruuvi_line(C, sequence)
                a.sendall(line)
                b.sendall(line)
        for client in clients:
            client.close()
        wait_for_log(log, "disconnected (0 now)", proc, timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _count(tmp_path / "hub.db") < 412:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    with sqlite3.connect(tmp_path / "hub.db") as conn:
        rows = conn.execute(
            "SELECT s.address, r.sequence, r.ts FROM readings r "
            "JOIN sensors s ON s.id = r.sensor_id ORDER BY r.id"
        ).fetchall()
    for address in (A, B):
        assert sorted(seq for addr, seq, _ in rows if addr == address) == list(range(200))
    assert sorted(seq for addr, seq, _ in rows if addr == C) == list(range(12))
    assert all(started - 1 <= ts <= time.time() for _, _, ts in rows)
    assert not any(p.exists() for p in sockets.values())


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT count(*) FROM readings").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
