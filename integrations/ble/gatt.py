"""Polling devices that say nothing useful in their advertisements, over a GATT connection.

A poller is what an integration exports as `GATT_POLLER`: an object with
`async read(client) -> {characteristic UUID: value}` that gets one connected `BleakClient`
and reads what it needs (subscribe and take one notification, or read). The values then
travel as an ordinary advertisement whose *service data is keyed by the characteristic
UUID*; the same integration declares a decoder matching that UUID. So a GATT reading goes
through the router like any other (decoding, calibration, disabled sensors, the store), is
written by `hub record` and decoded again by `hub decode`, and the hub's core needs no
second path for readings.

Connections are serialized per adapter (controllers handle one connection attempt at a
time badly), each attempt is bounded by `timeout`, failed attempts are retried with
backoff without holding the adapter, and the scanner keeps scanning throughout. Polls are
scheduled per device with jitter.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bleak import BleakClient
from bleak.backends.device import BLEDevice
from loguru import logger

from hub.clock import Clock
from hub.events import Advertisement
from hub.records import normalise_uuid
from integrations.ble.diagnostics import describe_error
from integrations.ble.settings import GattDeviceSettings, GattSettings

if TYPE_CHECKING:
    from integrations.ble.jobs import Jobs


class GattPoller(Protocol):
    """Reads one GATT-only device over a connection the source made."""

    async def read(self, client: BleakClient) -> Mapping[str, bytes]:
        """Characteristic UUID -> value; raises if the device does not deliver."""
        ...


def load_poller(name: str) -> GattPoller:
    """The GATT_POLLER of integration `name` (checked when the config was loaded)."""
    poller: GattPoller = importlib.import_module(f"integrations.{name}").GATT_POLLER
    return poller


@dataclass(slots=True)
class GattStatus:
    """How polling one device goes."""

    polls: int = 0
    successes: int = 0
    failures: int = 0
    attempts: int = 0
    timeouts: int = 0
    consecutive_failures: int = 0
    last_error: str = ""
    last_success: float | None = None  # wall time
    last_duration_s: float | None = None


# (adapter, address) -> the BLEDevice the scanner last saw, if any.
DeviceLookup = Callable[[str, str], BLEDevice | None]


class GattPolls:
    """Schedules and runs the polls of every configured GATT device."""

    def __init__(
        self,
        source: str,
        settings: GattSettings,
        default_adapter: str,
        clock: Clock,
        emit: Callable[[Advertisement], None],
        lookup: DeviceLookup,
    ) -> None:
        self._source = source
        self._settings = settings
        self._default_adapter = default_adapter
        self._clock = clock
        self._emit = emit
        self._lookup = lookup
        self._pollers = {d.poller: load_poller(d.poller) for d in settings.devices}
        self._locks: dict[str, asyncio.Lock] = {}
        self.status = {d.address: GattStatus() for d in settings.devices}

    @property
    def addresses(self) -> frozenset[str]:
        return frozenset(d.address for d in self._settings.devices)

    def schedule(self, jobs: Jobs) -> None:
        """A job per device, and a first poll soon after start (spread over the jitter)."""
        jitter = self._settings.jitter
        for device in self._settings.devices:
            poll = functools.partial(self.poll, device)
            jobs.every(f"gatt.{device.address}", poll, device.interval, jitter=jitter or None)
            jobs.later(random.uniform(0, jitter), poll, f"gatt.{device.address}.first")

    async def poll(self, device: GattDeviceSettings) -> bool:
        """Poll `device`, with retries; True when a reading was delivered."""
        settings = self._settings
        adapter = device.adapter or self._default_adapter
        status = self.status[device.address]
        status.polls += 1
        lock = self._locks.setdefault(adapter, asyncio.Lock())
        for attempt in range(1, settings.attempts + 1):
            async with lock:
                status.attempts += 1
                loop = asyncio.get_running_loop()
                started = loop.time()
                try:
                    values = await self._attempt(device, adapter)
                except TimeoutError:
                    status.timeouts += 1
                    error = f"no answer within {settings.timeout:g} s"
                except Exception as exc:  # noqa: BLE001 - any failure of one attempt: retry
                    error = describe_error(exc)
                else:
                    status.last_duration_s = loop.time() - started
                    self._deliver(device, adapter, values, status)
                    return True
            status.last_error = error
            logger.info(
                "GATT {} attempt {}/{} failed: {}",
                device.address,
                attempt,
                settings.attempts,
                error,
            )
            if attempt < settings.attempts:
                # Outside the lock: other devices on this adapter go first meanwhile.
                await asyncio.sleep(settings.retry_backoff * 2 ** (attempt - 1))
        status.failures += 1
        status.consecutive_failures += 1
        logger.warning(
            "GATT poll of {} failed after {} attempts ({}); next poll in {:g} s",
            device.address,
            settings.attempts,
            status.last_error,
            device.interval,
        )
        return False

    async def _attempt(self, device: GattDeviceSettings, adapter: str) -> Mapping[str, bytes]:
        timeout = self._settings.timeout
        target = self._lookup(adapter, device.address) or _device_on(adapter, device.address)
        async with asyncio.timeout(timeout):
            client = BleakClient(target, timeout=timeout, bluez={"adapter": adapter})
            async with client:
                return await self._pollers[device.poller].read(client)

    def _deliver(
        self,
        device: GattDeviceSettings,
        adapter: str,
        values: Mapping[str, bytes],
        status: GattStatus,
    ) -> None:
        seen = self._lookup(adapter, device.address)
        adv = Advertisement(
            ts=self._clock.time(),
            address=device.address,
            name=seen.name if seen is not None else None,
            service_data={normalise_uuid(uuid): bytes(value) for uuid, value in values.items()},
            source=self._source,
        )
        status.successes += 1
        status.consecutive_failures = 0
        status.last_error = ""
        status.last_success = adv.ts
        logger.debug("GATT {} read: {}", device.address, {k: v.hex() for k, v in values.items()})
        self._emit(adv)


def _device_on(adapter: str, address: str) -> BLEDevice:
    """A BLEDevice for a device the scanner has not heard yet: BlueZ's path for it.

    Given a bare address, bleak would run a scan of its own first, whose stop would end
    this source's discovery on the adapter too; the path avoids that.
    """
    path = f"/org/bluez/{adapter}/dev_{address.replace(':', '_')}"
    return BLEDevice(address, None, {"path": path, "props": None})
