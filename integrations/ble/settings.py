"""Settings of a `type: ble` source: adapters, scanning mode and schedule, watchdog, GATT polls."""

from __future__ import annotations

import importlib
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from hub.config.models import SourceSettings
from hub.config.types import Duration, Section
from hub.errors import RecordError
from hub.records import normalise_address

_ADAPTER = re.compile(r"hci\d{1,3}")
DEFAULT_POLLER = "lywsd03mmc_gatt"


class WindowSettings(Section):
    """Windowed scanning: scan for `duration` every `interval`."""

    duration: Duration = Field(default=10.0, gt=0)
    interval: Duration = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _fits(self) -> WindowSettings:
        if self.duration >= self.interval:
            raise ValueError("duration must be shorter than interval")
        return self


class WatchdogSettings(Section):
    """When a silent adapter counts as stalled, and how the recovery ladder is paced.

    An adapter is stalled when it has been scanning without hearing anything for longer
    than `silence_factor` times the usual interval of the quickest sensor it hears, but
    never sooner than `min_silence` and always after `max_silence`.
    """

    enabled: bool = True
    check_interval: Duration = Field(default=10.0, gt=0)
    min_silence: Duration = Field(default=60.0, gt=0)
    max_silence: Duration = Field(default=900.0, gt=0)
    silence_factor: float = Field(default=10.0, ge=2)
    # How long the adapter stays off in a power cycle.
    power_off: Duration = Field(default=2.0, ge=0)
    # Once every step failed, the ladder is climbed again after this backoff, doubling up
    # to `max_backoff`.
    first_backoff: Duration = Field(default=30.0, gt=0)
    max_backoff: Duration = Field(default=600.0, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> WatchdogSettings:
        if self.min_silence > self.max_silence:
            raise ValueError("min_silence must not exceed max_silence")
        if self.first_backoff > self.max_backoff:
            raise ValueError("first_backoff must not exceed max_backoff")
        return self


class GattDeviceSettings(Section):
    """One device read over a GATT connection."""

    address: str
    # An integration that exports GATT_POLLER (integrations/<poller>/__init__.py).
    poller: str = DEFAULT_POLLER
    interval: Duration = Field(default=600.0, gt=0)
    # Which adapter connects (default: the source's first adapter).
    adapter: str | None = None

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        try:
            return normalise_address(value)
        except RecordError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("poller")
    @classmethod
    def _poller(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", value):
            raise ValueError(f"{value!r} is not an integration name")
        try:
            module = importlib.import_module(f"integrations.{value}")
        except ImportError:
            module = None
        if getattr(module, "GATT_POLLER", None) is None:
            raise ValueError(
                f"no GATT poller {value!r}: it must be an integration that exports "
                f"GATT_POLLER (shipped: {DEFAULT_POLLER})"
            )
        return value


class GattSettings(Section):
    """Polling of devices that only talk over a connection."""

    devices: list[GattDeviceSettings] = Field(default_factory=list)
    # The whole of one attempt: connect, read, disconnect.
    timeout: Duration = Field(default=30.0, gt=0)
    attempts: int = Field(default=3, ge=1, le=10)
    # Wait before the second attempt; doubles for each further one.
    retry_backoff: Duration = Field(default=5.0, ge=0)
    # Polls are spread at random over this much time, so many devices never connect at once.
    jitter: Duration = Field(default=60.0, ge=0)


class BleSettings(SourceSettings):
    """Settings of a BLE source (bleak on BlueZ)."""

    type: Literal["ble"] = "ble"
    # One scanner per adapter; the same advertisement heard by several is one advertisement.
    adapters: tuple[str, ...] = Field(default=("hci0",), min_length=1)
    # passive needs BlueZ's advertisement monitor API; without it the source scans actively.
    mode: Literal["active", "passive"] = "active"
    scanning: Literal["continuous", "windowed"] = "continuous"
    window: WindowSettings = Field(default_factory=WindowSettings)
    # With several adapters: identical advertisements from different adapters this close
    # together are one advertisement (the strongest signal is kept).
    dedupe_window: Duration = Field(default=1.0, ge=0)
    # Advertisements waiting between the radio and the hub; beyond it the oldest are dropped.
    queue_size: int = Field(default=10_000, ge=10)
    # What the source remembers of a device (last frames, usual interval) is forgotten
    # after it has been silent this long, so random addresses cannot fill the memory.
    forget_after: Duration = Field(default=3600.0, gt=0)
    # Follow bluetoothd restarts and adapters being unplugged and plugged in over D-Bus,
    # so scanning restarts at once rather than when the watchdog notices the silence.
    watch_bluez: bool = True
    watchdog: WatchdogSettings = Field(default_factory=WatchdogSettings)
    gatt: GattSettings = Field(default_factory=GattSettings)

    @field_validator("adapters")
    @classmethod
    def _adapters(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not _ADAPTER.fullmatch(name):
                raise ValueError(f"adapter {name!r} is not a BlueZ adapter name such as hci0")
        if len(set(value)) != len(value):
            raise ValueError("an adapter is listed twice")
        return value

    @model_validator(mode="after")
    def _gatt_adapters(self) -> BleSettings:
        for device in self.gatt.devices:
            if device.adapter is not None and device.adapter not in self.adapters:
                raise ValueError(
                    f"gatt device {device.address}: adapter {device.adapter!r} is not one "
                    f"of adapters {list(self.adapters)}"
                )
        return self
