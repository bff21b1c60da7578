"""Why BLE scanning cannot work here, in words a user can act on.

The checks run in order, each only if the one before passed: the D-Bus system bus, the
permission to use it, BlueZ (bluetoothd) on it, the permission to talk to BlueZ, the
adapters and their power. `hub scan`, `hub record`, the ble source (when it cannot start)
and `hub doctor` all use them, so every one of them says the same thing.
"""

from __future__ import annotations

import asyncio
import getpass
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbus_fast import Message
from dbus_fast.errors import AuthError

from integrations.ble.bluez import (
    ADAPTER_IFACE,
    BLUEZ,
    DBUS,
    OBJECT_MANAGER,
    BluezCallError,
    call,
    connect_system_bus,
)

MONITOR_IFACE = "org.bluez.AdvertisementMonitorManager1"
_DEFAULT_SOCKET = "/var/run/dbus/system_bus_socket"
_RFKILL = Path("/sys/class/rfkill")
PASSIVE_UNAVAILABLE = (
    "passive scanning needs BlueZ's advertisement monitor API (BlueZ 5.56 or later started "
    "with --experimental, Linux 5.10 or later)"
)


@dataclass(frozen=True, slots=True)
class Problem:
    """What is missing, and how to fix it."""

    what: str
    fix: str

    def __str__(self) -> str:
        return f"{self.what}. To fix: {self.fix}"


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The result of the checks: problems (empty when BLE can work), adapters found, notes."""

    problems: tuple[Problem, ...] = ()
    adapters: tuple[str, ...] = ()
    # adapter -> True when it offers the advertisement monitor (passive scanning)
    monitor_api: dict[str, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _socket_path() -> str | None:
    address = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS") or f"unix:path={_DEFAULT_SOCKET}"
    first = address.split(";", 1)[0]
    if not first.startswith("unix:"):
        return None
    for option in first[len("unix:") :].split(","):
        key, _, value = option.partition("=")
        if key == "path":
            return value
    return None


def rfkill_blocked() -> bool:
    """True when a Bluetooth radio is soft- or hard-blocked by rfkill."""
    try:
        entries = list(_RFKILL.iterdir())
    except OSError:
        return False
    for entry in entries:
        try:
            if (entry / "type").read_text().strip() != "bluetooth":
                continue
            if "1" in ((entry / "soft").read_text().strip(), (entry / "hard").read_text().strip()):
                return True
        except OSError:
            continue
    return False


async def diagnose(adapters: Sequence[str] = ("hci0",), within: float = 5.0) -> Diagnosis:
    """Run the checks for `adapters`, taking at most `within` seconds; never raises."""
    try:
        async with asyncio.timeout(within):
            return await _diagnose(adapters)
    except TimeoutError:
        return Diagnosis(
            (
                Problem(
                    f"D-Bus or BlueZ did not answer within {within:g} s",
                    "check that bluetoothd is not hung: sudo systemctl restart bluetooth",
                ),
            )
        )


def _missing_socket() -> tuple[str | None, bool]:
    socket = _socket_path()
    return socket, socket is not None and not os.path.exists(socket)


async def _diagnose(adapters: Sequence[str]) -> Diagnosis:
    socket, missing = _missing_socket()
    if missing:
        return Diagnosis(
            (
                Problem(
                    f"the D-Bus system bus is not running (there is no socket at {socket})",
                    "install and start D-Bus (sudo apt install dbus; sudo systemctl start dbus); "
                    "in a container, mount the host's /run/dbus",
                ),
            )
        )
    try:
        bus = await connect_system_bus()
    except PermissionError:
        return Diagnosis(
            (
                Problem(
                    f"permission denied opening the D-Bus system bus socket {socket}",
                    f"run the hub as a user that may use the system bus (user {_user()} may not)",
                ),
            )
        )
    except AuthError as exc:
        return Diagnosis(
            (
                Problem(
                    f"the D-Bus system bus refused the hub's authentication ({exc})",
                    "in a container, set BLEAK_DBUS_AUTH_UID to the uid the host sees",
                ),
            )
        )
    except OSError as exc:
        return Diagnosis(
            (
                Problem(
                    f"cannot connect to the D-Bus system bus: {exc.strerror or exc}",
                    "check that D-Bus runs: sudo systemctl status dbus",
                ),
            )
        )
    try:
        return await _ask_bluez(bus, adapters)
    finally:
        bus.disconnect()


async def _ask_bluez(bus: Any, adapters: Sequence[str]) -> Diagnosis:
    (has_owner,) = await call(
        bus,
        Message(
            destination=DBUS,
            path="/org/freedesktop/DBus",
            interface=DBUS,
            member="NameHasOwner",
            signature="s",
            body=[BLUEZ],
        ),
    )
    if not has_owner:
        return Diagnosis(
            (
                Problem(
                    "BlueZ (bluetoothd) is not running",
                    "install and start it: sudo apt install bluez && "
                    "sudo systemctl enable --now bluetooth",
                ),
            )
        )
    try:
        (objects,) = await call(
            bus,
            Message(
                destination=BLUEZ, path="/", interface=OBJECT_MANAGER, member="GetManagedObjects"
            ),
        )
    except BluezCallError as exc:
        if exc.name == "org.freedesktop.DBus.Error.AccessDenied":
            user = _user()
            return Diagnosis(
                (
                    Problem(
                        f"permission denied talking to BlueZ: the D-Bus policy does not let "
                        f"user {user} use org.bluez",
                        f"add the user to the bluetooth group (sudo usermod -aG bluetooth {user}, "
                        "then log in again; under systemd: SupplementaryGroups=bluetooth), "
                        "or run the hub as root",
                    ),
                )
            )
        return Diagnosis(
            (
                Problem(
                    f"BlueZ did not answer ({exc})",
                    "restart it: sudo systemctl restart bluetooth",
                ),
            )
        )
    found: dict[str, dict[str, Any]] = {}
    for path, interfaces in objects.items():
        if ADAPTER_IFACE in interfaces and path.count("/") == 3:
            found[path.rsplit("/", 1)[1]] = interfaces
    names = tuple(sorted(found))
    monitor = {name: MONITOR_IFACE in ifaces for name, ifaces in found.items()}
    problems: list[Problem] = []
    if not found:
        problems.append(
            Problem(
                "no Bluetooth adapter: BlueZ runs but has none",
                "plug in a Bluetooth adapter; `rfkill list` and `dmesg | grep -i bluetooth` "
                "show a blocked radio or missing firmware",
            )
        )
        return Diagnosis(tuple(problems), names, monitor)
    for adapter in adapters:
        interfaces = found.get(adapter)
        if interfaces is None:
            problems.append(
                Problem(
                    f"adapter {adapter} not found (BlueZ has: {', '.join(names)})",
                    f"plug it in, or name one of {', '.join(names)} under the ble source's "
                    "`adapters` (hub scan --adapter NAME)",
                )
            )
            continue
        powered = interfaces[ADAPTER_IFACE].get("Powered")
        if powered is not None and not powered.value:
            blocked = rfkill_blocked()
            problems.append(
                Problem(
                    f"adapter {adapter} is powered off"
                    + (" (blocked by rfkill)" if blocked else ""),
                    "sudo rfkill unblock bluetooth; then bluetoothctl power on"
                    if blocked
                    else "bluetoothctl power on",
                )
            )
    return Diagnosis(tuple(problems), names, monitor)


def describe_error(exc: BaseException) -> str:
    """A one-line description of an exception from bleak or D-Bus (no traceback)."""
    dbus_error = getattr(exc, "dbus_error", None)
    if dbus_error:
        details = getattr(exc, "dbus_error_details", None)
        return f"BlueZ answered {dbus_error}" + (f" ({details})" if details else "")
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"
