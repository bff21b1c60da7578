"""One adapter's scanner: bleak's BleakScanner, its callback, and what it tells the watchdog.

The detection callback runs inside bleak's D-Bus reader for every advertisement, so it does
no blocking work: it notes the device (see `devices.py`), builds the `Advertisement` and
hands it on. Everything slow happens in the hub's tasks.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence

from bleak import BleakScanner
from bleak.args.bluez import OrPattern
from bleak.assigned_numbers import AdvertisementDataType
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError
from loguru import logger

from hub.clock import Clock
from hub.events import Advertisement
from integrations.ble.devices import DeviceTable
from integrations.ble.diagnostics import PASSIVE_UNAVAILABLE

# An advertisement heard: (advertisement, adapter, monotonic time).
Emit = Callable[[Advertisement, str, float], None]

# The callback builds one Advertisement per advertisement heard. A frozen dataclass's
# __init__ costs 1.4 µs here (a guarded setattr per field); setting the slots directly costs
# half. This relies on the field list, so it is checked against the contract's at import.
_FIELDS = (
    "ts",
    "address",
    "name",
    "rssi",
    "manufacturer_data",
    "service_data",
    "service_uuids",
    "tx_power",
    "source",
)
if tuple(f.name for f in dataclasses.fields(Advertisement)) != _FIELDS:
    raise ImportError("hub.events.Advertisement changed: update integrations/ble/scanner.py")
_new = object.__new__
(
    _set_ts,
    _set_address,
    _set_name,
    _set_rssi,
    _set_mfr,
    _set_svc,
    _set_uuids,
    _set_tx,
    _set_source,
) = (getattr(Advertisement, name).__set__ for name in _FIELDS)


def make_advertisement(
    ts: float,
    address: str,
    name: str | None,
    rssi: int | None,
    manufacturer_data: Mapping[int, bytes],
    service_data: Mapping[str, bytes],
    service_uuids: tuple[str, ...],
    tx_power: int | None,
    source: str,
) -> Advertisement:
    """`Advertisement(...)` with every field given, at half the cost."""
    adv: Advertisement = _new(Advertisement)
    _set_ts(adv, ts)
    _set_address(adv, address)
    _set_name(adv, name)
    _set_rssi(adv, rssi)
    _set_mfr(adv, manufacturer_data)
    _set_svc(adv, service_data)
    _set_uuids(adv, service_uuids)
    _set_tx(adv, tx_power)
    _set_source(adv, source)
    return adv


# bleak's RSSI when BlueZ gave none.
_NO_RSSI = -127
_ERROR_LOG_EVERY = 1000
# Passive scanning needs patterns; these Flags values are what nearly every sensor sends
# (LE General/Limited Discoverable, with or without BR/EDR), so the monitor passes them all.
_FLAG_VALUES = (0x02, 0x04, 0x05, 0x06, 0x1A, 0x1E, 0x18, 0x0A, 0x0E)


def passive_patterns(
    manufacturer_ids: Sequence[int] = (), service_uuids16: Sequence[int] = ()
) -> list[OrPattern]:
    """Or-patterns for BlueZ's advertisement monitor: common flags and the known sensors."""
    patterns = [OrPattern(0, AdvertisementDataType.FLAGS, bytes([value])) for value in _FLAG_VALUES]
    patterns += [
        OrPattern(0, AdvertisementDataType.MANUFACTURER_SPECIFIC_DATA, cid.to_bytes(2, "little"))
        for cid in sorted(set(manufacturer_ids))
    ]
    patterns += [
        OrPattern(0, AdvertisementDataType.SERVICE_DATA_UUID16, uuid.to_bytes(2, "little"))
        for uuid in sorted(set(service_uuids16))
    ]
    return patterns


class AdapterScanner:
    """Scans on one adapter; knows when it last heard anything."""

    def __init__(
        self,
        adapter: str,
        source: str,
        mode: str,
        clock: Clock,
        devices: DeviceTable,
        emit: Emit,
        patterns: list[OrPattern],
        keep_devices: frozenset[str] = frozenset(),
    ) -> None:
        self.adapter = adapter
        self._source = source
        self.requested_mode = mode
        # What is really used: passive falls back to active when BlueZ lacks the monitor.
        self.mode = mode
        self.fallback_reason = ""
        self._clock = clock
        self._devices = devices
        self._emit = emit
        self._patterns = patterns
        self._scanner: BleakScanner | None = None
        # BLEDevice objects of GATT-polled devices, to connect without scanning again.
        self._keep = keep_devices
        self.ble_devices: dict[str, BLEDevice] = {}
        self.scanning = False
        self.heard = 0
        self.callback_errors = 0
        self.last_heard: float | None = None
        # Scanning time without a single advertisement: what a stall is measured by. It
        # carries over from one scan window to the next.
        self._silent_before = 0.0
        self._session_start: float | None = None
        # Set by the watchdog while recovering; the first advertisement after that is timed.
        self.recovering = False
        self.recovered_at: float | None = None
        self.starts = 0

    # -- the hot path --------------------------------------------------------------------

    def on_detection(self, device: BLEDevice, data: AdvertisementData) -> None:
        """bleak's detection callback: note, convert, hand on. Never raises, never blocks."""
        try:
            mono = time.monotonic()
            wall = self._clock.time()
            address = device.address.upper()
            adapter = self.adapter
            manufacturer, service = self._devices.heard(
                address, adapter, mono, wall, data.manufacturer_data, data.service_data
            )
            rssi = data.rssi
            adv = make_advertisement(
                wall,
                address,
                data.local_name,
                None if rssi == _NO_RSSI else rssi,
                manufacturer,
                service,
                tuple(data.service_uuids),
                data.tx_power,
                self._source,
            )
            self.heard += 1
            self.last_heard = mono
            self._silent_before = 0.0
            if self.recovering:
                self.recovering = False
                self.recovered_at = mono
            if address in self._keep:
                self.ble_devices[address] = device
            self._emit(adv, adapter, mono)
        except Exception:  # noqa: BLE001 - an exception here would break bleak's reader
            self.callback_errors += 1
            if self.callback_errors % _ERROR_LOG_EVERY == 1:
                logger.opt(exception=True).error(
                    "BLE callback failed on {} ({} failures so far)",
                    getattr(device, "address", "?"),
                    self.callback_errors,
                )

    # -- control -------------------------------------------------------------------------

    def silence(self, now: float) -> float:
        """Seconds of scanning without hearing anything."""
        if self._session_start is None:
            return self._silent_before
        since = self._session_start
        if self.last_heard is not None and self.last_heard > since:
            since = self.last_heard
        return self._silent_before + max(0.0, now - since)

    def reset_silence(self) -> None:
        """A recovery step was taken: give the scanner a fresh chance."""
        self._silent_before = 0.0
        if self._session_start is not None:
            self._session_start = time.monotonic()

    def _make(self) -> BleakScanner:
        if self.mode == "passive":
            return BleakScanner(
                self.on_detection,
                scanning_mode="passive",
                bluez={"adapter": self.adapter, "or_patterns": list(self._patterns)},
            )
        return BleakScanner(self.on_detection, bluez={"adapter": self.adapter})

    async def start(self, recreate: bool = False) -> None:
        """Start scanning (a new BleakScanner if `recreate`); raises when BlueZ refuses."""
        if self.scanning:
            await self.stop()
        if recreate or self._scanner is None:
            self._scanner = self._make()
        try:
            await self._scanner.start()
        except BleakError as exc:
            if self.mode != "passive" or "passive" not in str(exc):
                raise
            self._fall_back_to_active(str(exc))
            self._scanner = self._make()
            await self._scanner.start()
        self.scanning = True
        self.starts += 1
        self._session_start = time.monotonic()

    def _fall_back_to_active(self, error: str) -> None:
        self.mode = "active"
        self.fallback_reason = f"{PASSIVE_UNAVAILABLE}; scanning actively instead"
        logger.warning(
            "Passive scanning is not available on {}: {} (bleak: {})",
            self.adapter,
            self.fallback_reason,
            error,
        )

    async def stop(self) -> None:
        """Stop scanning; a BlueZ that is gone or refuses is not an error here."""
        now = time.monotonic()
        if self.scanning:
            self._silent_before = self.silence(now)
        self.scanning = False
        self._session_start = None
        scanner = self._scanner
        if scanner is None:
            return
        try:
            await scanner.stop()
        except Exception as exc:  # noqa: BLE001 - stopping a dead scanner fails in many ways
            logger.debug("Stopping the scanner on {} failed: {!r}", self.adapter, exc)

    def discard(self) -> None:
        """Forget the BleakScanner (the next start makes a new one)."""
        self._scanner = None
