"""Alerts in a running hub: a threshold crossed in a replay reaches a real webhook receiver
as firing and then resolved; SIGHUP reloads the rules, and an invalid file is refused."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from integrations.ruuvi.df5 import encode

pytestmark = pytest.mark.slow

ADDRESS = "CE:3A:88:14:6F:02"
T0 = 1_795_155_600.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    """A real HTTP server on the test's own loop that records every POSTed JSON body."""

    def __init__(self) -> None:
        self.port = free_port()
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def hook(request: web.Request) -> web.Response:
            self.bodies.append(await request.json())
            self.headers.append(dict(request.headers))
            return web.Response(status=200)

        app = web.Application()
        app.router.add_post("/hook", hook)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


def capture(path: Path, temperatures: list[float], start_seq: int = 1000) -> None:
    with path.open("w") as out:
        for i, temperature in enumerate(temperatures):
            payload = encode(
                temperature=temperature,
                humidity=70.0,
                pressure=1008.0,
                acceleration=(0.0, 0.0, 1.0),
                voltage=2.9,
                tx_power=4,
                movement_counter=0,
                sequence=start_seq + i,
                mac=bytes.fromhex(ADDRESS.replace(":", "")),
            )
            record = {
                "ts": T0 + i * 10,
                "address": ADDRESS,
                "rssi": -70,
                "manufacturer_data": {"1177": payload.hex()},
            }
            out.write(json.dumps(record) + "\n")


RULES = """
rules:
  - name: freezer_warm
    sensors: ["Freezer*"]
    measurement: temperature
    above: -15
    hysteresis: 1.0
    severity: critical
    message: "{sensor} is at {value:.1f} °C"
    notify: [log, hook]
"""


async def wait_for(condition: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"{what} within {within}s")


async def test_webhook_gets_firing_then_resolved_and_sighup_reloads(
    tmp_path: Path, receiver: Receiver
) -> None:
    # Cold, then warm for a minute, then cold again (and past the hysteresis).
    capture(tmp_path / "capture.jsonl", [-20.0] * 5 + [-10.0] * 6 + [-20.0] * 5)
    rules = tmp_path / "alerts.yaml"
    rules.write_text(RULES)
    config = {
        "store": {"path": "hub.db", "min_interval": 0},
        "logging": {"format": "json"},
        "alerts": {"rules": "alerts.yaml", "tick_interval": "1s"},
        "notify": {
            "hook": {
                "type": "webhook",
                "url": f"http://127.0.0.1:{receiver.port}/hook",
                "token": "s3cret",
                "headers": {"X-Site": "cellar"},
            }
        },
        "devices": {ADDRESS: {"name": "Freezer"}},
        "sources": {"replay": {"file": "capture.jsonl", "speed": 0}},
    }
    (tmp_path / "hub.yaml").write_text(json.dumps(config))
    log = tmp_path / "hub.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB__")}
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hub",
            "run",
            "--config",
            "hub.yaml",
            cwd=tmp_path,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
        )
    try:
        await wait_for(lambda: len(receiver.bodies) >= 2, 30, "firing and resolved webhooks")
        firing, resolved = receiver.bodies[:2]
        assert firing["status"] == "firing"
        assert resolved["status"] == "resolved"
        alert = firing["alerts"][0]
        assert alert["labels"] == {
            "alertname": "freezer_warm",
            "sensor": "Freezer",
            "severity": "critical",
            "address": ADDRESS,
            "measurement": "temperature",
        }
        assert alert["annotations"]["summary"] == "Freezer is at -10.0 °C"
        assert alert["startsAt"] == "2026-11-20T06:20:50.000Z"
        assert alert["endsAt"] == "0001-01-01T00:00:00Z"
        assert resolved["alerts"][0]["endsAt"] == "2026-11-20T06:21:50.000Z"
        assert receiver.headers[0]["Authorization"] == "Bearer s3cret"
        assert receiver.headers[0]["X-Site"] == "cellar"

        # An invalid rules file is refused and the old rules stay in force.
        rules.write_text(RULES.replace("above: -15", "above: warm"))
        proc.send_signal(signal.SIGHUP)
        await wait_for(lambda: "Alert rules not reloaded" in log.read_text(), 10, "refused reload")
        assert "Keeping the 1 rules in force" in log.read_text()

        # A valid change is taken.
        second = RULES.split("rules:", 1)[1].replace("freezer_warm", "freezer_very_warm")
        rules.write_text(RULES + second)
        proc.send_signal(signal.SIGHUP)
        await wait_for(lambda: "Alert rules reloaded: 2 rules" in log.read_text(), 10, "reload")
        assert proc.returncode is None, "the hub keeps running through reloads"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    assert len(receiver.bodies) == 2, "one firing, one resolved: no duplicates"
