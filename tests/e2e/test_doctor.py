"""`hub doctor` as a user runs it, against real parts: a fake BlueZ on a private system bus,
VictoriaMetrics and Mosquitto (running, then stopped), an InfluxDB-2-like bucket API that
checks the token, a read-only file system, a clock behind the data; and the debug bundle of
a running hub, grepped for every secret the config holds.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tarfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from hub.config.models import HubConfig
from hub.doctor.checks import Finding, check_clock, check_influxdb, check_permissions
from hub.exporters.influxdb.testing import VictoriaMetrics
from hub.mqtt.testing import Mosquitto

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo" / "ruuvitags.jsonl"

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def doctor(config: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "hub", "doctor", "--config", str(config), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env or {k: v for k, v in os.environ.items() if not k.startswith("HUB__")},
        cwd=config.parent,
    )
    return result.returncode, result.stdout + result.stderr


def findings(config: Path, env: dict[str, str] | None = None) -> tuple[int, dict[str, Finding]]:
    status, output = doctor(config, "--json", env=env)
    data = json.loads(output[: output.rindex("]") + 1])
    return status, {f["name"]: Finding(**f) for f in data}


def write(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(json.dumps(config))
    return path


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[VictoriaMetrics, Mosquitto]]:
    with VictoriaMetrics() as vm, Mosquitto() as broker:
        yield vm, broker


def test_all_checks_pass_and_the_exit_status_says_so(
    tmp_path: Path, servers: tuple[VictoriaMetrics, Mosquitto]
) -> None:
    vm, broker = servers
    config = write(
        tmp_path / "hub.yaml",
        {
            "store": {"path": "data/hub.db"},
            "influxdb": {"enabled": True, "url": vm.url, "bucket": "hub", "token": "t0ken-1234"},
            "mqtt": {"enabled": True, "host": "127.0.0.1", "port": broker.port},
        },
    )
    status, output = doctor(config)
    assert status == 0, output
    lines = output.splitlines()
    assert any(line.split()[:2] == ["ok", "config"] for line in lines), output
    assert any(line.split()[:2] == ["ok", "database"] for line in lines)
    assert any(line.split()[:2] == ["ok", "mqtt"] for line in lines)
    assert any(line.split()[:2] == ["ok", "clock"] for line in lines)
    # VictoriaMetrics takes writes but has no bucket API: reachable, token unverifiable.
    influx = next(line for line in lines if line.split()[1:2] == ["influxdb"])
    assert influx.split()[0] == "WARN"
    assert "the token could not be checked" in influx
    assert lines[-1] == "all checks passed"


def test_stopped_servers_and_a_bad_config_fail_with_a_fix_each(tmp_path: Path) -> None:
    with VictoriaMetrics() as vm, Mosquitto() as broker:
        url, port = vm.url, broker.port
    config = write(
        tmp_path / "hub.yaml",
        {
            "influxdb": {"enabled": True, "url": url, "bucket": "hub"},
            "mqtt": {"enabled": True, "host": "127.0.0.1", "port": port},
        },
    )
    status, found = findings(config)
    assert status == 1
    assert found["influxdb"].status == "fail"
    assert found["influxdb"].detail.startswith(f"cannot reach {url}")
    assert "check influxdb.url" in found["influxdb"].fix
    assert found["mqtt"].status == "fail"
    assert found["mqtt"].detail.startswith(f"cannot connect to the broker at 127.0.0.1:{port}")
    assert "mosquitto_sub" in found["mqtt"].fix

    bad = write(tmp_path / "bad.yaml", {"store": {"batch_size": "lots"}, "htp": {}})
    status, found = findings(bad)
    assert status == 1
    assert found["config"].status == "fail"
    assert "store.batch_size" in found["config"].detail
    assert "htp: unknown key" in found["config"].detail
    assert found["config"].fix == f"edit {bad} (`hub check-config {bad}` lists every problem)"
    assert found["database"].status == "skip"


def test_bluez_and_adapter_power_on_a_fake_bluez(tmp_path: Path) -> None:
    dbus = pytest.importorskip("dbus")
    from integrations.ble.tests.fake_bluez import FakeBlueZ

    config = write(
        tmp_path / "hub.yaml",
        {"sources": {"radio": {"type": "ble", "adapters": ["hci0"]}}},
    )
    with FakeBlueZ(tmp_path) as bluez:
        env = dict(os.environ)
        _, found = findings(config, env)
        assert found["bluetooth"].status == "ok", found["bluetooth"]
        assert "adapter hci0 powered" in found["bluetooth"].detail

        adapter = bluez.conn.get_object("org.bluez", "/org/bluez/hci0")  # type: ignore[union-attr]
        dbus.Interface(adapter, "org.freedesktop.DBus.Mock").UpdateProperties(
            "org.bluez.Adapter1", {"Powered": dbus.Boolean(False)}
        )
        status, found = findings(config, env)
        assert status == 1
        assert found["bluetooth"].status == "fail"
        assert found["bluetooth"].detail == "adapter hci0 is powered off"
        assert found["bluetooth"].fix == "bluetoothctl power on"

        bluez.kill_bluetoothd()
        _, found = findings(config, env)
        assert found["bluetooth"].detail == "BlueZ (bluetoothd) is not running"
        assert "sudo apt install bluez" in found["bluetooth"].fix


def test_permissions_need_the_bluetooth_group_or_root() -> None:
    import grp

    try:
        gid = grp.getgrnam("bluetooth").gr_gid
    except KeyError:
        finding = check_permissions(uid=1000, groups=[])
        assert finding.status == "fail"
        assert finding.detail == "there is no bluetooth group (is BlueZ installed?)"
        return
    assert check_permissions(uid=1000, groups=[gid]).status == "ok"
    finding = check_permissions(uid=65534, groups=[])
    assert finding.status == "fail"
    assert "sudo usermod -aG bluetooth" in finding.fix


def test_an_unwritable_database_directory_fails_with_the_fix(tmp_path: Path) -> None:
    from tests.e2e.test_disk_failure import _run, _unmount

    mountpoint = tmp_path / "ro"
    mountpoint.mkdir()
    mounted = _run("mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mountpoint))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {mounted.stderr.strip()}")
    try:
        config = write(tmp_path / "hub.yaml", {"store": {"path": str(mountpoint / "hub.db")}})
        status, found = findings(config)
    finally:
        _unmount(mountpoint)
    assert status == 1
    assert found["database"].status == "fail"
    assert (
        found["database"].detail
        == f"{mountpoint}/hub.db does not exist and {mountpoint} is not writable"
    )
    assert found["database"].fix.startswith(f"sudo chown -R hub: {mountpoint}")


def test_a_clock_behind_the_stored_data_fails(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE sensors (address TEXT, last_seen REAL)")
        conn.execute("INSERT INTO sensors VALUES ('AA', ?)", (time.time() + 7200,))
    config = HubConfig.model_validate({"store": {"path": str(db)}})
    finding = check_clock(config)
    assert finding.status == "fail"
    assert "readings" in finding.detail
    assert "in the future" in finding.detail
    assert "timedatectl set-ntp true" in finding.fix
    assert check_clock(None, now=1_000_000_000.0).status == "fail"  # 2001


class BucketApi:
    """Answers like InfluxDB 2: /ping, and /api/v2/buckets only for the right token."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.port = free_port()
        self._runner: web.AppRunner | None = None

    async def ping(self, _request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def buckets(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Token {self.token}":
            return web.json_response({"code": "unauthorized"}, status=401)
        name = request.query.get("name")
        found = [{"name": name}] if name == "hub" else []
        return web.json_response({"buckets": found})

    async def __aenter__(self) -> BucketApi:
        app = web.Application()
        app.router.add_get("/ping", self.ping)
        app.router.add_get("/api/v2/buckets", self.buckets)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


@pytest.fixture
async def bucket_api() -> AsyncIterator[BucketApi]:
    async with BucketApi("the-right-token-123") as api:
        yield api


async def test_influxdb_token_and_bucket_are_checked_where_the_server_can_tell(
    bucket_api: BucketApi,
) -> None:
    def config(token: str, bucket: str = "hub") -> HubConfig:
        url = f"http://127.0.0.1:{bucket_api.port}"
        influx = {"enabled": True, "url": url, "bucket": bucket, "org": "home", "token": token}
        return HubConfig.model_validate({"influxdb": influx})

    good = await asyncio.to_thread(check_influxdb, config("the-right-token-123"))
    assert (good.status, good.detail) == (
        "ok",
        f"http://127.0.0.1:{bucket_api.port} answers; the token can see 'hub'",
    )
    wrong = await asyncio.to_thread(check_influxdb, config("a-wrong-token-456"))
    assert wrong.status == "fail"
    assert wrong.detail.endswith("refused the token (HTTP 401)")
    assert "influxdb.token_file" in wrong.fix
    missing = await asyncio.to_thread(check_influxdb, config("the-right-token-123", "other"))
    assert missing.status == "fail"
    assert missing.detail == "bucket 'other' not found, or the token cannot see it"


# -- the debug bundle ----------------------------------------------------------------------

SECRETS = {
    "influx": "influx-token-7f3a9c2e1b",
    "mqtt": "mqtt-password-4d8e2a",
    "webhook": "webhook-bearer-9a8b7c6d",
    "header": "x-api-key-5e4d3c2b1a",
    "ntfy": "my-secret-topic-2c1d",
    "http": "http-api-token-0f1e2d3c4b5a",
    "bindkey": "231d39c1d7cc1ab1aee224cd096db932",
}


def test_the_bundle_of_a_running_hub_has_everything_but_secrets(
    tmp_path: Path, servers: tuple[VictoriaMetrics, Mosquitto]
) -> None:
    vm, broker = servers
    port = free_port()
    capture = tmp_path / "capture.jsonl"
    lines = DEMO.read_text().splitlines()[:300]
    broken = {
        "ts": 1795155600.0,
        "address": "C8:25:2D:8E:AB:4C",
        "manufacturer_data": {"1177": "0512"},
    }
    capture.write_text("\n".join([*lines, json.dumps(broken)]) + "\n")
    (tmp_path / "mqtt-password").write_text(SECRETS["mqtt"] + "\n")
    config = write(
        tmp_path / "hub.yaml",
        {
            "store": {"path": "hub.db", "flush_interval": "0.5s"},
            "sources": {"demo": {"type": "replay", "file": str(capture), "speed": 0}},
            "devices": {"A4:C1:38:00:00:01": {"name": "Bath", "bindkey": SECRETS["bindkey"]}},
            "influxdb": {
                "enabled": True,
                "url": vm.url,
                "bucket": "hub",
                "token": SECRETS["influx"],
            },
            "mqtt": {
                "enabled": True,
                "host": "127.0.0.1",
                "port": broker.port,
                "username": "hub",
                "password_file": "mqtt-password",
            },
            "notify": {
                "hook": {
                    "type": "webhook",
                    "url": "http://127.0.0.1:9/hooks",
                    "token": SECRETS["webhook"],
                    "headers": {"X-Api-Key": SECRETS["header"]},
                },
                "phone": {"type": "ntfy", "url": f"https://ntfy.example/{SECRETS['ntfy']}"},
            },
            "health": {"enabled": True, "notify": ["hook"]},
            "http": {"enabled": True, "port": port, "host": "0.0.0.0", "token": SECRETS["http"]},
        },
    )
    log = tmp_path / "hub.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB__")}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub", "run", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            env=env,
        )
    try:
        deadline = time.monotonic() + 30
        while "Replay demo finished" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.05)
        time.sleep(1.0)
        # A secret that leaked into the log must not leave the machine either.
        with log.open("a") as out:
            out.write(f"DEBUG oops Authorization: Bearer {SECRETS['http']}\n")
        bundle = tmp_path / "debug.tar.gz"
        _, output = doctor(config, "--bundle", str(bundle), "--log", str(log))
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    assert f"wrote {bundle}" in output, output
    assert oct(bundle.stat().st_mode & 0o777) == "0o600"

    with tarfile.open(bundle) as archive:
        members = {Path(m.name).name: archive.extractfile(m).read() for m in archive.getmembers()}  # type: ignore[union-attr]
    assert {
        "versions.json",
        "doctor.json",
        "config.yaml",
        "database.json",
        "health.json",
        "status.json",
        "metrics.txt",
        "alerts.json",
        "adapters.json",
        "log.txt",
    } <= set(members), sorted(members)
    everything = b"\n".join(members.values())
    for name, secret in SECRETS.items():
        assert secret.encode() not in everything, f"the {name} secret is in the bundle"
        assert secret.upper().encode() not in everything

    versions = json.loads(members["versions.json"])
    assert versions["hub"] == "0.1.0"
    health = json.loads(members["health.json"])
    assert {"store", "bus", "influxdb", "mqtt"} <= set(health["checks"])
    status_json = json.loads(members["status.json"])
    assert status_json["recent_decode_errors"][0]["address"] == "C8:25:2D:8E:AB:4C"
    assert b"hub_store_committed_total" in members["metrics.txt"]
    assert json.loads(members["database.json"])["readings"] > 0
    assert b"Authorization: Bearer ***" in members["log.txt"]
    assert b"Hub 'hub' running" in members["log.txt"]
    config_text = members["config.yaml"].decode()
    assert "url: https://ntfy.example/***" in config_text
    assert "X-Api-Key: '***'" in config_text or "X-Api-Key: ***" in config_text
