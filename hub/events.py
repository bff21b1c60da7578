"""Everything that travels on the event bus: frozen, slotted value objects.

An event never changes after it is published, so every subscriber sees the same thing and
no subscriber can disturb another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Measurements = Mapping[str, float | int]
HealthState = Literal["ok", "degraded", "failing"]


@dataclass(frozen=True, slots=True)
class Advertisement:
    """One BLE advertisement as a source heard it (contract 1).

    `manufacturer_data` maps the company id to the payload without the two id bytes;
    `service_data` maps the full 128-bit lower-case UUID to the payload.
    """

    ts: float
    address: str
    name: str | None = None
    rssi: int | None = None
    manufacturer_data: Mapping[int, bytes] = field(default_factory=dict)
    service_data: Mapping[str, bytes] = field(default_factory=dict)
    service_uuids: tuple[str, ...] = ()
    tx_power: int | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class Reading:
    """What a decoder made of one advertisement, in canonical measurements (contract 2).

    `measurements` holds only valid values; `sequence` is the device's measurement
    counter when it has one (used to store a repeated measurement once).
    """

    ts: float
    address: str
    integration: str
    measurements: Measurements
    model: str | None = None
    format: str | None = None
    rssi: int | None = None
    sequence: int | None = None
    states: Mapping[str, bool] = field(default_factory=dict)
    events: tuple[str, ...] = ()
    name: str | None = None


@dataclass(frozen=True, slots=True)
class SensorSeen:
    """A known sensor was heard, even if what it said was not new (a repeat)."""

    ts: float
    address: str
    integration: str
    rssi: int | None = None
    repeat: bool = False


@dataclass(frozen=True, slots=True)
class AlertChanged:
    """An alert rule changed state for one sensor."""

    ts: float
    rule: str
    sensor: str
    state: Literal["pending", "firing", "resolved", "inactive"]
    severity: str = "warning"
    value: float | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class HealthChanged:
    """A component's health moved between ok, degraded and failing."""

    ts: float
    component: str
    state: HealthState
    previous: HealthState
    reason: str = ""


@dataclass(frozen=True, slots=True)
class BatteryStatus:
    """One sensor's line in a battery report."""

    address: str
    name: str | None
    battery: float | None
    voltage: float | None
    last_seen: float
    days_left: float | None
    # Battery % per day from the least-squares fit (None when there was nothing to fit).
    trend_per_day: float | None = None
    model: str | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class BatteryReport:
    """Every sensor's battery, published by the scheduled battery job."""

    ts: float
    sensors: tuple[BatteryStatus, ...]


@dataclass(frozen=True, slots=True)
class ReadingsStored:
    """A batch of readings was committed to SQLite (exporters wake up on this)."""

    ts: float
    count: int
    last_id: int
