"""The few things the source asks BlueZ directly over D-Bus (bleak does the rest).

- power-cycling an adapter (`org.bluez.Adapter1.Powered`), the last step of the recovery
  ladder;
- following bluetoothd and its adapters (`NameOwnerChanged`, `InterfacesAdded/Removed`),
  so a restarted bluetoothd or a re-plugged dongle restarts scanning at once.

Each uses its own connection to the system bus, independent of bleak's, so a broken bleak
connection cannot hide these events.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.auth import AuthExternal
from loguru import logger

BLUEZ = "org.bluez"
ADAPTER_IFACE = "org.bluez.Adapter1"
OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
PROPERTIES = "org.freedesktop.DBus.Properties"
DBUS = "org.freedesktop.DBus"
_ADAPTER_PREFIX = "/org/bluez/"
_MAX_BACKOFF_S = 60.0


class BluezCallError(Exception):
    """A D-Bus call to BlueZ that came back as an error."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(f"{name}: {text}" if text else name)
        self.name = name


def _authenticator() -> AuthExternal | None:
    # The same override bleak honours (containers where the uid differs from the bus's view).
    uid = os.environ.get("BLEAK_DBUS_AUTH_UID", "")
    return AuthExternal(uid=int(uid)) if uid.isdigit() else None


async def connect_system_bus() -> MessageBus:
    """A new connection to the system bus; the caller disconnects it."""
    bus = MessageBus(bus_type=BusType.SYSTEM, auth=_authenticator())
    try:
        await bus.connect()
    except BaseException:
        bus.disconnect()
        raise
    return bus


async def call(bus: MessageBus, message: Message) -> list[Any]:
    """Send a method call; returns the reply's body or raises BluezCallError."""
    reply = await bus.call(message)
    if reply.message_type == MessageType.ERROR:
        text = reply.body[0] if reply.body and isinstance(reply.body[0], str) else ""
        raise BluezCallError(reply.error_name or "unknown error", text)
    return list(reply.body)


def adapter_path(adapter: str) -> str:
    return f"{_ADAPTER_PREFIX}{adapter}"


async def set_powered(bus: MessageBus, adapter: str, on: bool) -> None:
    await call(
        bus,
        Message(
            destination=BLUEZ,
            path=adapter_path(adapter),
            interface=PROPERTIES,
            member="Set",
            signature="ssv",
            body=[ADAPTER_IFACE, "Powered", Variant("b", on)],
        ),
    )


async def power_cycle(adapter: str, off_for: float) -> None:
    """Switch `adapter` off and on again over D-Bus; raises on any failure."""
    bus = await connect_system_bus()
    try:
        await set_powered(bus, adapter, False)
        await asyncio.sleep(off_for)
        await set_powered(bus, adapter, True)
    finally:
        bus.disconnect()


EventKind = Literal["bluez_stopped", "bluez_started", "adapter_added", "adapter_removed"]


@dataclass(frozen=True, slots=True)
class BluezEvent:
    """Something that happened to bluetoothd or one of its adapters."""

    kind: EventKind
    adapter: str = ""


class BluezWatcher:
    """Follows bluetoothd and its adapters on the system bus until cancelled.

    A lost connection to the bus (dbus-daemon restarted) is re-made with backoff; the events
    it missed meanwhile are covered by the watchdog.
    """

    def __init__(self, on_event: Callable[[BluezEvent], None]) -> None:
        self._on_event = on_event
        self.connected = False
        self.reconnects = 0
        self.last_error = ""

    async def run(self) -> None:
        backoff = 1.0
        while True:
            bus: MessageBus | None = None
            try:
                bus = await connect_system_bus()
                bus.add_message_handler(self._handle)
                for rule in (
                    f"type='signal',sender='{DBUS}',interface='{DBUS}',"
                    f"member='NameOwnerChanged',arg0='{BLUEZ}'",
                    f"type='signal',interface='{OBJECT_MANAGER}',member='InterfacesAdded',"
                    f"arg0path='{_ADAPTER_PREFIX}'",
                    f"type='signal',interface='{OBJECT_MANAGER}',member='InterfacesRemoved',"
                    f"arg0path='{_ADAPTER_PREFIX}'",
                ):
                    await call(
                        bus,
                        Message(
                            destination=DBUS,
                            path="/org/freedesktop/DBus",
                            interface=DBUS,
                            member="AddMatch",
                            signature="s",
                            body=[rule],
                        ),
                    )
                self.connected = True
                backoff = 1.0
                await bus.wait_for_disconnect()  # type: ignore[no-untyped-call]
                self.last_error = "the D-Bus connection was closed"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any bus failure: reconnect later
                self.last_error = f"{type(exc).__name__}: {exc}"
            finally:
                self.connected = False
                if bus is not None:
                    bus.disconnect()
            self.reconnects += 1
            logger.debug(
                "BlueZ watcher: {}; reconnecting in {:.0f}s", self.last_error or "closed", backoff
            )
            await asyncio.sleep(backoff)
            backoff = min(_MAX_BACKOFF_S, backoff * 2)

    def _handle(self, message: Message) -> bool:
        if message.message_type != MessageType.SIGNAL:
            return False
        try:
            self._dispatch(message)
        except Exception:  # noqa: BLE001 - a malformed signal must not kill the watcher
            logger.opt(exception=True).warning("BlueZ watcher could not read {}", message.member)
        return False

    def _dispatch(self, message: Message) -> None:
        member = message.member
        body = message.body
        if member == "NameOwnerChanged" and body and body[0] == BLUEZ:
            _, old, new = body
            if old and not new:
                self._on_event(BluezEvent("bluez_stopped"))
            elif new:
                self._on_event(BluezEvent("bluez_started"))
        elif member == "InterfacesAdded" and message.path == "/":
            path, interfaces = body
            if ADAPTER_IFACE in interfaces and _is_adapter(path):
                self._on_event(BluezEvent("adapter_added", path[len(_ADAPTER_PREFIX) :]))
        elif member == "InterfacesRemoved" and message.path == "/":
            path, interfaces = body
            if ADAPTER_IFACE in interfaces and _is_adapter(path):
                self._on_event(BluezEvent("adapter_removed", path[len(_ADAPTER_PREFIX) :]))


def _is_adapter(path: str) -> bool:
    return path.startswith(_ADAPTER_PREFIX) and "/" not in path[len(_ADAPTER_PREFIX) :]
