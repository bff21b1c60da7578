"""hub.service and a real `hub run` speaking the notify protocol, as systemd would see it.

systemd is not PID 1 in this container, so the service cannot be started by systemd here:
the unit is checked with `systemd-analyze verify`, and the hub process is given a
NOTIFY_SOCKET and WATCHDOG_USEC of our own, the way systemd starts a Type=notify service.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "hub.service"
DEMO = ROOT / "config" / "demo" / "ruuvitags.jsonl"
HUB = Path(sys.executable).with_name("hub")

pytestmark = pytest.mark.slow


def analyze(unit: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    return subprocess.run(
        ["systemd-analyze", "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_unit_is_type_notify_with_a_watchdog() -> None:
    settings = [line.strip() for line in UNIT.read_text().splitlines()]
    assert "Type=notify" in settings
    assert "NotifyAccess=main" in settings
    assert "WatchdogSec=30s" in settings
    assert "Restart=on-failure" in settings


def test_systemd_analyze_verify_finds_nothing_to_complain_about(tmp_path: Path) -> None:
    # verify also checks that ExecStart= exists: point it at this checkout's `hub`.
    unit = tmp_path / "hub.service"
    unit.write_text(UNIT.read_text().replace("/opt/hub/.venv/bin/hub", str(HUB)))
    result = analyze(unit)
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""

    # The tool does look: a misspelt type is reported.
    broken = tmp_path / "broken.service"
    broken.write_text(unit.read_text().replace("Type=notify", "Type=notfy"))
    assert "Failed to parse service type" in analyze(broken).stderr


class Systemd:
    """The receiving end of NOTIFY_SOCKET, read from a thread-free non-blocking socket."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.messages: list[tuple[float, list[str]]] = []

    def poll(self) -> None:
        while True:
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                return
            self.messages.append((time.monotonic(), data.decode().split("\n")))

    def wait_for(self, field: str, timeout: float = 30.0) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            for at, fields in self.messages:
                if field in fields:
                    return at
            time.sleep(0.02)
        pytest.fail(f"{field} not received; got {self.messages}")

    def times(self, field: str) -> list[float]:
        self.poll()
        return [at for at, fields in self.messages if field in fields]

    def statuses(self) -> list[str]:
        self.poll()
        return [f[7:] for _, fields in self.messages for f in fields if f.startswith("STATUS=")]


@pytest.fixture
def systemd(tmp_path: Path) -> Iterator[Systemd]:
    receiver = Systemd(tmp_path / "notify.sock")
    try:
        yield receiver
    finally:
        receiver.sock.close()


def test_hub_run_is_ready_pings_only_while_running_and_says_it_stops(
    tmp_path: Path, systemd: Systemd
) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text(
        json.dumps(
            {
                "store": {"path": "hub.db", "flush_interval": "1s"},
                "sources": {
                    "demo": {"type": "replay", "file": str(DEMO), "speed": 0, "loop": False}
                },
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB__", "WATCHDOG_"))}
    env |= {"NOTIFY_SOCKET": str(systemd.path), "WATCHDOG_USEC": "800000"}
    log = tmp_path / "hub.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub", "run", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
    try:
        systemd.wait_for("READY=1")
        assert "running: sources demo" in log.read_text(), "READY=1 comes once the hub runs"
        statuses = systemd.statuses()
        assert statuses[0].endswith("stored")
        assert "sensors seen" in statuses[0]
        assert "readings/min" in statuses[0]
        time.sleep(1.0)
        assert len(systemd.times("WATCHDOG=1")) >= 3  # every 0.2 s

        # A stopped process is a blocked loop: systemd must hear nothing.
        proc.send_signal(signal.SIGSTOP)
        stopped_at = time.monotonic()
        time.sleep(1.2)
        continued_at = time.monotonic()
        proc.send_signal(signal.SIGCONT)
        time.sleep(0.8)
        pings = systemd.times("WATCHDOG=1")
        assert not [t for t in pings if stopped_at + 0.1 < t < continued_at]
        assert [t for t in pings if t > continued_at], "pings resume"

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    stopping = systemd.wait_for("STOPPING=1", timeout=1)
    assert stopping > systemd.wait_for("READY=1", timeout=1)
    assert not [t for t in systemd.times("WATCHDOG=1") if t > stopping]
    assert "watchdog ping withheld" in log.read_text()
