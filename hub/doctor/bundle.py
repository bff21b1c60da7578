"""The debug bundle: one tar.gz to attach to a bug report, holding no secret.

Versions, the doctor's findings, the effective config with secrets masked, the running
hub's health, status (recent decode errors included) and metrics when its HTTP API
answers, the database's figures, the Bluetooth adapters and the last log lines.

Secrets are kept out twice: the config is dumped masked (SecretStr fields, notification
URLs and headers, passwords in URLs), and then every file is scrubbed of every secret value
the config holds, so a secret that leaked into a log line does not leave the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import io
import json
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, SecretStr

from hub import __version__
from hub.config.models import HubConfig
from hub.doctor.checks import Finding

MASK = "***"
LOG_LINES = 500
_MIN_SCRUB_LENGTH = 4
_PACKAGES = (
    "aiohttp",
    "aiomqtt",
    "aiosqlite",
    "APScheduler",
    "bleak",
    "dbus-fast",
    "influxdb-client",
    "loguru",
    "prometheus-client",
    "pydantic",
)
_SECRET_KEY = re.compile(r"key|token|password|secret|auth", re.IGNORECASE)


# -- secrets -------------------------------------------------------------------------------


def secret_values(config: HubConfig | None, extra: Iterable[str] = ()) -> set[str]:
    """Every secret value the config holds (and `extra`), for scrubbing text."""
    found: set[str] = {e for e in extra if e}
    if config is None:
        return found

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, SecretStr):
            found.add(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name), name)
        elif isinstance(value, dict):
            for k, v in value.items():
                if key == "headers" and isinstance(v, str):
                    found.add(v)  # header values are often credentials
                walk(v, str(k))
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item, key)
        elif isinstance(value, str) and key == "url":
            parts = urllib.parse.urlsplit(value)
            if parts.password:
                found.add(parts.password)
            if parts.path.strip("/") or parts.query:
                # Webhook and ntfy URLs carry their secret in the path (a topic, a hook id).
                found.add(value)
                found.update(p for p in parts.path.split("/") if len(p) >= 8)
                if parts.query:
                    found.add(parts.query)

    walk(config)
    return {s for s in found if len(s) >= _MIN_SCRUB_LENGTH}


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced by MASK (longest first, so none survives in part)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def _mask_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    path = "/" + MASK if parts.path.strip("/") else parts.path
    return urllib.parse.urlunsplit((parts.scheme, netloc, path, MASK if parts.query else "", ""))


def masked_config(config: HubConfig) -> dict[str, Any]:
    """The effective config as `hub check-config` shows it, with URLs and headers masked too."""
    from hub.config.loader import effective_config

    data = effective_config(config)

    def mask(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            if key == "headers":
                return {k: MASK for k in value}
            return {k: mask(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [mask(v, key) for v in value]
        if isinstance(value, str) and value and _SECRET_KEY.search(key) and key != "auth_recheck":
            return MASK if not value.startswith("*") else value
        if isinstance(value, str) and key == "url":
            return _mask_url(value)
        return value

    masked = mask(data)
    assert isinstance(masked, dict)
    return masked


# -- what goes in --------------------------------------------------------------------------


def versions() -> dict[str, Any]:
    packages: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            packages[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "hub": __version__,
        "python": sys.version,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "sqlite": sqlite3.sqlite_version,
        "bluez": _command(["bluetoothd", "--version"]).strip() or None,
        "packages": packages,
    }


def _command(argv: list[str], timeout: float = 5.0) -> str:
    if shutil.which(argv[0]) is None:
        return ""
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{argv[0]} failed: {exc}\n"
    return result.stdout + (result.stderr if result.returncode else "")


def database_figures(config: HubConfig) -> dict[str, Any]:
    path = config.store.path
    figures: dict[str, Any] = {"path": str(path), "exists": path.is_file()}
    if not path.is_file():
        return figures
    figures["bytes"] = path.stat().st_size
    try:
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2.0)
        ) as conn:
            figures["schema"] = conn.execute("PRAGMA user_version").fetchone()[0]
            figures["sensors"] = conn.execute("SELECT count(*) FROM sensors").fetchone()[0]
            figures["readings"] = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
            figures["last_reading"] = conn.execute("SELECT max(ts) FROM readings").fetchone()[0]
            with contextlib.suppress(sqlite3.Error):
                figures["recent_alerts"] = [
                    dict(zip(("ts", "rule", "sensor", "state", "message"), row, strict=True))
                    for row in conn.execute(
                        "SELECT ts, rule, sensor, state, message FROM alert_history "
                        "ORDER BY id DESC LIMIT 20"
                    )
                ]
    except sqlite3.Error as exc:
        figures["error"] = str(exc)
    return figures


def live(config: HubConfig) -> dict[str, bytes]:
    """/healthz, /api/status and /metrics of the running hub, when its HTTP API answers."""
    http: Any = config.http
    if not http.enabled:
        return {
            "live.txt": b"the HTTP API is off (http.enabled: false): no live health or counters\n"
        }
    host = "127.0.0.1" if http.host in ("0.0.0.0", "::", "") else http.host
    base = f"http://{'[' + host + ']' if ':' in host else host}:{http.port}"
    headers = {"Authorization": f"Bearer {http.token.get_secret_value()}"} if http.token else {}
    files: dict[str, bytes] = {}
    notes: list[str] = []
    for name, path in (
        ("health.json", "/healthz"),
        ("status.json", "/api/status"),
        ("metrics.txt", "/metrics"),
        ("alerts.json", "/api/alerts"),
    ):
        request = urllib.request.Request(base + path, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                files[name] = answer.read()
        except urllib.error.HTTPError as exc:
            files[name] = exc.read()  # /healthz answers 503 with the report when failing
        except (OSError, urllib.error.URLError) as exc:
            notes.append(f"{base}{path}: {getattr(exc, 'reason', exc)}")
    if notes:
        files["live.txt"] = ("the running hub did not answer:\n" + "\n".join(notes) + "\n").encode()
    return files


async def adapters() -> dict[str, Any]:
    """BlueZ's adapters and their properties, from D-Bus."""
    try:
        from dbus_fast import Message

        from integrations.ble.bluez import BLUEZ, OBJECT_MANAGER, call, connect_system_bus
    except ImportError as exc:
        return {"error": f"BLE support missing: {exc}"}
    try:
        async with asyncio.timeout(5):
            bus = await connect_system_bus()
            try:
                (objects,) = await call(
                    bus,
                    Message(
                        destination=BLUEZ,
                        path="/",
                        interface=OBJECT_MANAGER,
                        member="GetManagedObjects",
                    ),
                )
            finally:
                bus.disconnect()
    except Exception as exc:  # noqa: BLE001 - whatever D-Bus says goes into the bundle
        return {"error": f"{type(exc).__name__}: {exc}"}
    found: dict[str, Any] = {}
    for path, interfaces in objects.items():
        props = interfaces.get("org.bluez.Adapter1")
        if props is None:
            continue
        found[path] = {k: _plain(v.value) for k, v in props.items()}
    return {"adapters": found}


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return value.hex()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(getattr(v, "value", v)) for k, v in value.items()}
    return value


def log_lines(log_file: Path | None) -> str:
    """The last lines of the hub's log: from `log_file`, else the journal."""
    if log_file is not None:
        try:
            with log_file.open("rb") as file:
                tail = file.readlines()[-LOG_LINES:]
        except OSError as exc:
            return f"cannot read {log_file}: {exc}\n"
        return b"".join(tail).decode("utf-8", "replace")
    journal = _command(
        [
            "journalctl",
            "--unit=hub.service",
            f"--lines={LOG_LINES}",
            "--no-pager",
            "-o",
            "short-iso",
        ]
    )
    return journal or "no log: not under systemd here (give the log with --log FILE)\n"


# -- the archive ---------------------------------------------------------------------------


def _json(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=False, default=str) + "\n").encode()


def gather(
    config_path: Path,
    config: HubConfig | None,
    findings: list[Finding],
    log_file: Path | None,
) -> Iterator[tuple[str, bytes]]:
    """Every member of the bundle, (name, content), not yet scrubbed."""
    yield "versions.json", _json(versions())
    yield "doctor.json", _json([f.to_json() for f in findings])
    if config is None:
        yield "config.txt", f"{config_path}: not valid, see doctor.json\n".encode()
    else:
        yield (
            "config.yaml",
            yaml.safe_dump(masked_config(config), sort_keys=False, allow_unicode=True).encode(),
        )
        yield "database.json", _json(database_figures(config))
        yield from live(config).items()
    yield "adapters.json", _json(asyncio.run(adapters()))
    hci = _command(["hciconfig", "-a"]) or _command(["btmgmt", "info"])
    if hci:
        yield "hci.txt", hci.encode()
    yield "log.txt", log_lines(log_file).encode()


def write_bundle(
    target: Path,
    config_path: Path,
    config: HubConfig | None,
    findings: list[Finding],
    log_file: Path | None = None,
) -> list[str]:
    """Write the bundle to `target` (tar.gz); returns the names of its members."""
    secrets = secret_values(config)
    names: list[str] = []
    prefix = f"hub-debug-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    partial = target.with_name(target.name + ".partial")
    with tarfile.open(partial, "w:gz") as archive:
        for name, content in gather(config_path, config, findings, log_file):
            clean = scrub(content.decode("utf-8", "replace"), secrets).encode()
            info = tarfile.TarInfo(f"{prefix}/{name}")
            info.size = len(clean)
            info.mtime = int(time.time())
            info.mode = 0o600
            archive.addfile(info, io.BytesIO(clean))
            names.append(name)
    os.chmod(partial, 0o600)
    partial.replace(target)
    return names
