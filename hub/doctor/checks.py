"""What a new user trips over, checked one by one, each failure with the fix to apply.

Every check returns a Finding and never raises: one broken thing must not hide the others.
The BlueZ part uses the BLE source's own diagnostics (integrations.ble.diagnostics), so
`hub doctor`, `hub scan` and the running source say the same thing.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import json
import os
import pwd
import shutil
import sqlite3
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from hub.clock import clock_synchronised
from hub.config.models import HubConfig
from hub.healthmon.sizes import format_size

Status = Literal["ok", "warn", "fail", "skip"]
SERVICE_USER = "hub"
# No clock that runs this hub can be older than this (the hub's first release year).
CLOCK_FLOOR = 1_704_067_200.0  # 2024-01-01
CLOCK_CEILING = 4_102_444_800.0  # 2100-01-01
_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's outcome; `fix` says what to do when it is not ok."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)


# -- the configuration ---------------------------------------------------------------------


def check_config(path: Path) -> tuple[Finding, HubConfig | None]:
    from hub.config.loader import load_config
    from hub.errors import ConfigError, IntegrationError

    try:
        config = load_config(path)
    except ConfigError as exc:
        problems = "; ".join(str(p) for p in exc.problems[:5])
        more = f" (and {len(exc.problems) - 5} more)" if len(exc.problems) > 5 else ""
        return (
            Finding(
                "config",
                "fail",
                f"{len(exc.problems)} problem(s): {problems}{more}",
                f"edit {path} (`hub check-config {path}` lists every problem)",
            ),
            None,
        )
    except IntegrationError as exc:
        return Finding("config", "fail", f"broken integration: {exc}", "reinstall the hub"), None
    return Finding("config", "ok", f"{path} is valid"), config


def check_integrations() -> Finding:
    from hub.integrations import IntegrationRegistry

    try:
        registry = IntegrationRegistry.discover()
    except Exception as exc:  # noqa: BLE001 - reported, whatever it is
        return Finding("integrations", "fail", str(exc), "reinstall the hub")
    if registry.problems:
        return Finding(
            "integrations",
            "fail",
            "; ".join(registry.problems),
            "reinstall the hub, or remove the broken integration folder",
        )
    return Finding(
        "integrations",
        "ok",
        f"{len(registry.decoders)} decoders, {len(registry.sources)} sources",
    )


# -- Bluetooth -----------------------------------------------------------------------------


def ble_adapters(config: HubConfig | None) -> tuple[str, ...] | None:
    """The adapters the config's ble sources use; None when no ble source is configured."""
    if config is None:
        return ("hci0",)
    adapters: list[str] = []
    found = False
    for settings in config.enabled_sources().values():
        if settings.type == "ble":
            found = True
            adapters.extend(getattr(settings, "adapters", ("hci0",)))
    if not found:
        return None
    return tuple(dict.fromkeys(adapters))


async def check_bluetooth(adapters: Sequence[str]) -> list[Finding]:
    """D-Bus, BlueZ, permission to use it, the adapters and their power."""
    try:
        from integrations.ble.diagnostics import diagnose
    except ImportError as exc:
        return [Finding("bluetooth", "fail", f"BLE support missing: {exc}", "reinstall the hub")]
    diagnosis = await diagnose(adapters, within=_TIMEOUT_S)
    if diagnosis.ok:
        return [
            Finding(
                "bluetooth",
                "ok",
                f"D-Bus and BlueZ answer; adapter {', '.join(adapters)} powered "
                f"(BlueZ has {', '.join(diagnosis.adapters)})",
            )
        ]
    return [Finding("bluetooth", "fail", p.what, p.fix) for p in diagnosis.problems]


def check_permissions(uid: int | None = None, groups: Sequence[int] | None = None) -> Finding:
    """The bluetooth group (BlueZ's D-Bus policy) or root; and the service user's groups."""
    uid = os.getuid() if uid is None else uid
    try:
        bluetooth = grp.getgrnam("bluetooth")
    except KeyError:
        return Finding(
            "permissions",
            "fail",
            "there is no bluetooth group (is BlueZ installed?)",
            "sudo apt install bluez (it creates the group and its D-Bus policy)",
        )
    if uid == 0:
        try:
            pwd.getpwnam(SERVICE_USER)
        except KeyError:
            return Finding("permissions", "ok", "running as root")
        if SERVICE_USER in bluetooth.gr_mem:
            return Finding(
                "permissions", "ok", f"running as root; user {SERVICE_USER} is in bluetooth"
            )
        return Finding(
            "permissions",
            "fail",
            f"the service user {SERVICE_USER} is not in the bluetooth group",
            f"sudo usermod -aG bluetooth {SERVICE_USER} (hub.service also sets "
            "SupplementaryGroups=bluetooth)",
        )
    mine = set(os.getgroups() if groups is None else groups)
    if bluetooth.gr_gid in mine:
        return Finding("permissions", "ok", "this user is in the bluetooth group")
    if _has_net_admin():
        return Finding("permissions", "ok", "this process has CAP_NET_ADMIN")
    user = _user_name(uid)
    return Finding(
        "permissions",
        "fail",
        f"user {user} is neither in the bluetooth group nor root",
        f"sudo usermod -aG bluetooth {user}, then log in again",
    )


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _has_net_admin() -> bool:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) & (1 << 12))  # CAP_NET_ADMIN
    except (OSError, ValueError, IndexError):
        pass
    return False


# -- the database --------------------------------------------------------------------------


def check_database(config: HubConfig) -> Finding:
    """The database file (or its directory) can be written, and its schema is ours."""
    from hub.store.schema import SCHEMA_VERSION

    path = config.store.path
    fix_owner = (
        f"sudo chown -R {SERVICE_USER}: {path.parent} (the service writes as {SERVICE_USER})"
    )
    if not path.exists():
        directory = path.parent
        existing = next((p for p in (directory, *directory.parents) if p.exists()), None)
        if existing is None or not os.access(existing, os.W_OK | os.X_OK):
            return Finding(
                "database",
                "fail",
                f"{path} does not exist and {existing or directory} is not writable",
                fix_owner,
            )
        if directory.exists():
            try:
                with tempfile.NamedTemporaryFile(dir=directory):
                    pass
            except OSError as exc:
                return Finding("database", "fail", f"cannot write in {directory}: {exc}", fix_owner)
        return Finding("database", "ok", f"{path} will be created at the first start")
    try:
        conn = sqlite3.connect(path, timeout=1.0)
    except sqlite3.Error as exc:
        return Finding("database", "fail", f"cannot open {path}: {exc}", fix_owner)
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            return Finding(
                "database",
                "fail",
                f"{path} has schema {version}, newer than this hub's {SCHEMA_VERSION}",
                "upgrade the hub, or restore a backup made by this version",
            )
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return Finding("database", "ok", f"{path} is in use (a running hub writes to it)")
            return Finding("database", "fail", f"cannot write {path}: {exc}", fix_owner)
        free = shutil.disk_usage(path.parent).free
        if free < 100 * 1024**2:
            return Finding(
                "database",
                "warn",
                f"{path} is writable but only {format_size(free)} are free",
                f"free space on {path.parent}, or lower retention.raw",
            )
        return Finding(
            "database", "ok", f"{path} is writable (schema {version}, {format_size(free)} free)"
        )
    except sqlite3.Error as exc:
        return Finding("database", "fail", f"{path} cannot be used: {exc}", fix_owner)
    finally:
        conn.close()


def latest_reading(config: HubConfig) -> float | None:
    """The newest reading's time in the database, if there is one."""
    path = config.store.path
    if not path.is_file():
        return None
    try:
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1.0)
        ) as conn:
            row = conn.execute("SELECT max(last_seen) FROM sensors").fetchone()
    except sqlite3.Error:
        return None
    return float(row[0]) if row and row[0] is not None else None


# -- the clock -----------------------------------------------------------------------------


def check_clock(config: HubConfig | None, now: float | None = None) -> Finding:
    """The time is plausible, synchronised if systemd can tell, and not behind the data."""
    now = time.time() if now is None else now
    fix = "sudo timedatectl set-ntp true (or install chrony / systemd-timesyncd)"
    if not CLOCK_FLOOR <= now <= CLOCK_CEILING:
        shown = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(max(now, 0)))
        return Finding("clock", "fail", f"the clock says {shown} UTC, which cannot be right", fix)
    newest = latest_reading(config) if config is not None else None
    if newest is not None and newest > now + 60:
        return Finding(
            "clock",
            "fail",
            f"the database has readings {newest - now:.0f} s in the future: the clock went "
            "back (new readings older than stored ones are refused)",
            fix,
        )
    synced = _ntp_synchronized()
    if synced is False:
        return Finding("clock", "warn", "the clock is not synchronised (NTP)", fix)
    return Finding(
        "clock",
        "ok",
        "plausible" + (", synchronised (NTP)" if synced else " (NTP state unknown here)"),
    )


def _ntp_synchronized() -> bool | None:
    # The kernel's own flag (adjtimex, as the hub's clock guard reads it) first; timedatectl
    # where that cannot tell (no NTP client here, or no adjtimex).
    synced = clock_synchronised()
    if synced is not None:
        return synced
    if shutil.which("timedatectl") is None:
        return None
    try:
        result = subprocess.run(
            ["timedatectl", "show", "--property=NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = result.stdout.strip()
    return {"yes": True, "no": False}.get(value) if result.returncode == 0 else None


# -- InfluxDB ------------------------------------------------------------------------------


def _ssl_context(verify: bool, ca_file: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _get(
    url: str, headers: dict[str, str], context: ssl.SSLContext | None, timeout: float
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:
            return int(answer.status), answer.read(65536)
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read(65536)


def check_influxdb(config: HubConfig) -> Finding:
    """The server answers, and the token is accepted for the bucket (where it can tell)."""
    settings: Any = getattr(config, "influxdb", None)
    if settings is None or not getattr(settings, "enabled", False):
        return Finding("influxdb", "skip", "not configured (influxdb.enabled is false)")
    url = str(settings.url).rstrip("/")
    context = (
        _ssl_context(settings.verify_tls, settings.ca_file) if url.startswith("https") else None
    )
    timeout = min(float(settings.timeout), _TIMEOUT_S)
    try:
        status, _ = _get(f"{url}/ping", {}, context, timeout)
    except (OSError, urllib.error.URLError) as exc:
        reason = getattr(exc, "reason", exc)
        return Finding(
            "influxdb",
            "fail",
            f"cannot reach {url}: {reason}",
            f"check influxdb.url and that InfluxDB runs (curl -i {url}/ping)",
        )
    if status >= 400:
        return Finding(
            "influxdb",
            "fail",
            f"{url}/ping answered HTTP {status}: not an InfluxDB server?",
            "check influxdb.url (scheme, host, port, no path)",
        )
    token = settings.auth_token()
    headers = {"Authorization": f"Token {token}"} if token else {}
    query = urllib.parse.urlencode(
        {"name": settings.bucket, "org": settings.org}
        if settings.org
        else {"name": settings.bucket}
    )
    try:
        status, body = _get(f"{url}/api/v2/buckets?{query}", headers, context, timeout)
    except (OSError, urllib.error.URLError) as exc:
        return Finding("influxdb", "warn", f"{url} answers /ping but not /api/v2/buckets: {exc}")
    if status in (401, 403):
        return Finding(
            "influxdb",
            "fail",
            f"{url} refused the token (HTTP {status})",
            "create an API token with write access to the bucket and set influxdb.token_file",
        )
    if status == 200:
        try:
            names = [b.get("name") for b in json.loads(body).get("buckets", [])]
        except (ValueError, AttributeError):
            names = []
        if settings.bucket and settings.bucket not in names:
            return Finding(
                "influxdb",
                "fail",
                f"bucket {settings.bucket!r} not found, or the token cannot see it",
                f"create it (influx bucket create -n {settings.bucket}) or fix influxdb.bucket",
            )
        return Finding("influxdb", "ok", f"{url} answers; the token can see {settings.bucket!r}")
    return Finding(
        "influxdb",
        "warn",
        f"{url} answers, but has no InfluxDB 2 bucket API (HTTP {status}): the token could "
        "not be checked (InfluxDB 1.8 or a compatible server?)",
        "watch the influxdb check of /healthz after the first writes",
    )


# -- MQTT ----------------------------------------------------------------------------------


async def check_mqtt(config: HubConfig) -> Finding:
    """A real MQTT connection (credentials and TLS included), closed at once."""
    settings: Any = getattr(config, "mqtt", None)
    if settings is None or not getattr(settings, "enabled", False):
        return Finding("mqtt", "skip", "not configured (mqtt.enabled is false)")
    import aiomqtt

    where = f"{settings.host}:{settings.port}"
    tls = settings.tls
    params = None
    if tls.enabled:
        params = aiomqtt.TLSParameters(
            ca_certs=str(tls.ca_file) if tls.ca_file else None,
            certfile=str(tls.cert_file) if tls.cert_file else None,
            keyfile=str(tls.key_file) if tls.key_file else None,
            cert_reqs=ssl.CERT_REQUIRED,
        )
    client = aiomqtt.Client(
        settings.host,
        settings.port,
        username=settings.username,
        password=settings.password.get_secret_value() if settings.password else None,
        identifier=f"hub-doctor-{os.getpid()}",
        timeout=_TIMEOUT_S,
        tls_params=params,
        tls_insecure=tls.insecure if tls.enabled else None,
    )
    try:
        async with asyncio.timeout(_TIMEOUT_S + 1):
            async with client:
                pass
    except aiomqtt.MqttCodeError as exc:
        return Finding(
            "mqtt",
            "fail",
            f"broker {where} refused the connection: {exc}",
            "check mqtt.username and mqtt.password_file, and the broker's ACL",
        )
    except (aiomqtt.MqttError, OSError, TimeoutError) as exc:
        return Finding(
            "mqtt",
            "fail",
            f"cannot connect to the broker at {where}: {exc or type(exc).__name__}",
            f"check mqtt.host and mqtt.port, and that the broker runs (mosquitto_sub -h "
            f"{settings.host} -p {settings.port} -t '#' -C 1)",
        )
    return Finding("mqtt", "ok", f"connected to {where}" + (" over TLS" if tls.enabled else ""))


# -- all of them ---------------------------------------------------------------------------


async def run_checks(config_path: Path) -> tuple[list[Finding], HubConfig | None]:
    """Every check, in the order a new user meets the problems."""
    findings: list[Finding] = []
    config_finding, config = check_config(config_path)
    findings.append(config_finding)
    findings.append(check_integrations())
    adapters = ble_adapters(config)
    if adapters is None:
        findings.append(Finding("bluetooth", "skip", "no ble source in the config"))
        findings.append(Finding("permissions", "skip", "no ble source in the config"))
    else:
        findings.extend(await check_bluetooth(adapters))
        findings.append(check_permissions())
    if config is None:
        for name in ("database", "influxdb", "mqtt"):
            findings.append(Finding(name, "skip", "needs a valid config"))
    else:
        findings.append(check_database(config))
        findings.append(await asyncio.to_thread(check_influxdb, config))
        findings.append(await check_mqtt(config))
    findings.append(check_clock(config))
    return findings, config
