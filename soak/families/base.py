"""What every family module builds on: the encoded advertisement, the family declaration,
and the small helpers for quantising values the way a device does.

An encoder is the decoder's mirror: it turns values into the bytes a device would send,
rounded to the device's resolution and clamped to its range, and states on its own which
measurements our decoder must read back (worked out from the wire format, not by calling
the decoder), so that the round-trip tests compare two independent readings of one layout.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import orjson

from hub.derive import battery_from_voltage, dew_point

Values = Mapping[str, float]
"""Physical values a world hands an encoder, by canonical name (see `QUANTITIES`)."""

Measurements = dict[str, float | int]
Curve = tuple[tuple[float, float], ...]

# What a world may put in `Values`, with the range every family is tested over when it
# reads the quantity (a family narrows it to its device's range).
QUANTITIES: dict[str, tuple[float, float]] = {
    "temperature": (-40.0, 85.0),
    "humidity": (0.0, 100.0),
    "pressure": (870.0, 1085.0),
    "battery": (0.0, 100.0),
    "co2": (400.0, 5000.0),
    "pm2_5": (0.0, 500.0),
    "pm10": (0.0, 500.0),
    "voc_index": (1.0, 500.0),
    "nox_index": (1.0, 250.0),
    "illuminance": (0.0, 60000.0),
    "moisture": (0.0, 100.0),
    "movement_counter": (0.0, 254.0),
    "acceleration_x": (-2.0, 2.0),
    "acceleration_y": (-2.0, 2.0),
    "acceleration_z": (-2.0, 2.0),
}


@dataclass(frozen=True, slots=True)
class AdvertisementRecordFields:
    """One advertisement as a device sends it, and what the hub must make of it.

    `measurements` is exactly what our decoder returns for these bytes; `stored` is what
    the hub stores and publishes (the decoder's measurements plus the derived dew point,
    as `hub.decoding.canonical_measurements` adds it). `sequence` is the decoder's
    sequence (None for formats without a counter the hub uses). A malformed advertisement
    has no measurements and `malformed` set to why it cannot be decoded.
    """

    name: str | None
    manufacturer_data: Mapping[int, bytes]
    service_data: Mapping[str, bytes]
    measurements: Mapping[str, float | int]
    sequence: int | None = None
    stored: Mapping[str, float | int] = field(default_factory=dict)
    malformed: str = ""

    def record(self, address: str, rssi: int | None = None) -> dict[str, Any]:
        """The contract-1 record, without `ts` (the receiver stamps it)."""
        record: dict[str, Any] = {"address": address}
        if self.name is not None:
            record["name"] = self.name
        if rssi is not None:
            record["rssi"] = rssi
        if self.manufacturer_data:
            record["manufacturer_data"] = {
                str(company): payload.hex() for company, payload in self.manufacturer_data.items()
            }
        if self.service_data:
            record["service_data"] = {
                uuid: payload.hex() for uuid, payload in self.service_data.items()
            }
        return record

    def line(self, address: str, rssi: int | None = None) -> bytes:
        """The record as one JSON line, ending in a newline."""
        return orjson.dumps(self.record(address, rssi)) + b"\n"


def fields(
    measurements: Measurements,
    *,
    name: str | None = None,
    manufacturer_data: Mapping[int, bytes] | None = None,
    service_data: Mapping[str, bytes] | None = None,
    sequence: int | None = None,
) -> AdvertisementRecordFields:
    """An encoded advertisement, with what the hub stores worked out from `measurements`."""
    stored: Measurements = measurements
    temperature = measurements.get("temperature")
    humidity = measurements.get("humidity")
    if temperature is not None and humidity is not None:
        point = dew_point(temperature, humidity)
        if point is not None:
            stored = {**measurements, "dew_point": point}
    return AdvertisementRecordFields(
        name=name,
        manufacturer_data=manufacturer_data or {},
        service_data=service_data or {},
        measurements=measurements,
        sequence=sequence,
        stored=stored,
    )


def broken(
    reason: str,
    *,
    name: str | None = None,
    manufacturer_data: Mapping[int, bytes] | None = None,
    service_data: Mapping[str, bytes] | None = None,
) -> AdvertisementRecordFields:
    """A malformed advertisement: the hub must count it and store nothing from it."""
    return AdvertisementRecordFields(
        name=name,
        manufacturer_data=manufacturer_data or {},
        service_data=service_data or {},
        measurements={},
        malformed=reason,
    )


EncodeFn = Callable[[Values, int, str, "bytes | None"], AdvertisementRecordFields]
BrokenFn = Callable[[str, "bytes | None"], tuple[AdvertisementRecordFields, ...]]


@dataclass(frozen=True, slots=True)
class Family:
    """One device format the hub decodes from advertisements, as a world uses it."""

    name: str  # e.g. "ruuvi_df5"
    integration: str  # the integration whose decoder reads it
    model: str
    quantities: tuple[str, ...]  # what `encode` reads from the values
    encode_fn: EncodeFn
    broken_fn: BrokenFn
    # Realistic advertisement intervals (s) and advertisements per measurement.
    intervals: tuple[float, ...]
    repeats: tuple[int, ...] = (1,)
    # The period of the counter the hub uses to recognise repeats (None: no such counter).
    sequence_modulus: int | None = None
    key_length: int = 0  # bytes of the bindkey; 0 for a clear format
    # Narrower ranges than QUANTITIES where the device cannot go as far.
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    # Whether every measurement carries the temperature (a freezer can be watched with it).
    temperature_always: bool = True
    # The step in which the device sends each quantity it carries under the same name (a
    # battery % the hub derives from a voltage counts with the step of that conversion).
    resolution: Mapping[str, float] = field(default_factory=dict)

    @property
    def has_sequence(self) -> bool:
        return self.sequence_modulus is not None

    def range_of(self, quantity: str) -> tuple[float, float]:
        return self.ranges.get(quantity, QUANTITIES[quantity])

    def encode(
        self, values: Values, counter: int, address: str, key: bytes | None = None
    ) -> AdvertisementRecordFields:
        """The advertisement carrying `values` (quantised) as measurement number `counter`."""
        return self.encode_fn(values, counter, address, key)

    def broken(
        self, address: str, key: bytes | None = None
    ) -> tuple[AdvertisementRecordFields, ...]:
        """Malformed advertisements of this format (truncated, wrong length, bad key, ...)."""
        return self.broken_fn(address, key)


# -- quantising ---------------------------------------------------------------------------


def steps(value: float, step: float, low: int, high: int) -> int:
    """`value` in device steps of `step`, rounded, and clamped to the raw range [low, high]."""
    raw = round(value / step) if math.isfinite(value) else low
    return low if raw < low else high if raw > high else raw


def clamp(value: int, low: int, high: int) -> int:
    return low if value < low else high if value > high else value


def voltage_for(battery: float, curve: Curve) -> float:
    """The cell voltage at which `curve` (volts high to low) gives `battery` %."""
    if battery >= curve[0][1]:
        return curve[0][0]
    for (v_hi, p_hi), (v_lo, p_lo) in pairwise(curve):
        if battery >= p_lo:
            return v_lo + (v_hi - v_lo) * (battery - p_lo) / (p_hi - p_lo)
    return curve[-1][0]


def battery_of(voltage: float, curve: Curve) -> int:
    """What the hub reports as battery % for a device that sends only its voltage."""
    return battery_from_voltage(voltage, curve)


# A coin cell's voltage for the formats that send both percent and millivolts (they
# compute the percent themselves; any monotonic relation will do).
def millivolts_for(battery: float) -> int:
    return round(2200 + 9 * max(0.0, min(100.0, battery)))


def mac_bytes(address: str) -> bytes:
    """b'\\xaa\\xbb...' for 'AA:BB:...', in the address's order."""
    return bytes.fromhex(address.replace(":", ""))


def short_id(address: str) -> str:
    """The last four hex digits of an address, as device names show them ('4C8E')."""
    return address.replace(":", "")[-4:]
