"""MiBeacon objects: id (uint16 LE), length (uint8), data; the measurements they carry.

One table entry per object id: its exact data length and a function that adds its
measurements to a reading. Objects not in the table (buttons, locks, vendor data) are
skipped; an object whose length disagrees with its definition makes the frame a failure,
so a frame decrypted with a wrong v2/v3 key cannot turn into numbers.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable

from hub.integrations import DecodeFailure
from integrations.xiaomi.products import LIGHT_FLAG_PRODUCTS

Measurements = dict[str, float | int]
ObjectDecoder = Callable[[bytes, int, Measurements], None]
ObjectTable = dict[int, tuple[int, ObjectDecoder]]

_HEADER = struct.Struct("<HB")
_INT16 = struct.Struct("<h")
_UINT16 = struct.Struct("<H")
_FLOAT = struct.Struct("<f")
_TEMPERATURE_HUMIDITY = struct.Struct("<hH")

TRUNCATED = DecodeFailure("MiBeacon object list is truncated")

# Numbered names for a quantity that occurs twice in one frame (CONTRACTS.md section 2).
_FIRST = {
    name: f"{name}_1"
    for name in ("temperature", "humidity", "battery", "illuminance", "moisture", "conductivity")
}


def _put(m: Measurements, name: str, value: float | int) -> None:
    first = _FIRST[name]
    if name not in m and first not in m:
        m[name] = value
        return
    # Rare: the same quantity again. Every instance is numbered and the plain name goes.
    if name in m:
        m[first] = m.pop(name)
    number = 2
    while f"{name}_{number}" in m:
        number += 1
    m[f"{name}_{number}"] = value


# Spec (Xiaomi "米家BLE Object定义"): temperature 0x1004 int16 in 0.1 °C; humidity 0x1006
# 0-1000 in 0.1 %; illuminance 0x1007 uint24 lux (0-120000); soil moisture 0x1008 uint8 %;
# soil EC 0x1009 uint16 µS/cm; battery 0x100A uint8 0-100 %.
# An integer divided once by 10 is already the nearest float to its decimal value.


def _temperature_tenths(data: bytes, at: int, m: Measurements) -> None:
    _put(m, "temperature", _INT16.unpack_from(data, at)[0] / 10)


def _humidity_tenths(data: bytes, at: int, m: Measurements) -> None:
    _put(m, "humidity", _UINT16.unpack_from(data, at)[0] / 10)


def _temperature_humidity_tenths(data: bytes, at: int, m: Measurements) -> None:
    temperature, humidity = _TEMPERATURE_HUMIDITY.unpack_from(data, at)
    _put(m, "temperature", temperature / 10)
    _put(m, "humidity", humidity / 10)


def _illuminance_lux(data: bytes, at: int, m: Measurements) -> None:
    _put(m, "illuminance", data[at] | data[at + 1] << 8 | data[at + 2] << 16)


def _moisture_percent(data: bytes, at: int, m: Measurements) -> None:
    _put(m, "moisture", data[at])


def _conductivity(data: bytes, at: int, m: Measurements) -> None:
    _put(m, "conductivity", _UINT16.unpack_from(data, at)[0])


def _battery_percent(data: bytes, at: int, m: Measurements) -> None:
    value = data[at]
    if value <= 100:  # outside the documented range: not a battery level
        _put(m, "battery", value)


def _humidity_percent(data: bytes, at: int, m: Measurements) -> None:
    _put(m, "humidity", data[at])


def _temperature_float(data: bytes, at: int, m: Measurements) -> None:
    value = _FLOAT.unpack_from(data, at)[0]
    if math.isfinite(value):
        # float32 of a 0.1/0.01-resolution value: 26.1 arrives as 26.100000381...
        _put(m, "temperature", round(value, 2))


def _humidity_float(data: bytes, at: int, m: Measurements) -> None:
    value = _FLOAT.unpack_from(data, at)[0]
    if math.isfinite(value):
        _put(m, "humidity", round(value, 2))


OBJECTS: ObjectTable = {
    0x1004: (2, _temperature_tenths),
    0x1006: (2, _humidity_tenths),
    0x1007: (3, _illuminance_lux),
    0x1008: (1, _moisture_percent),
    0x1009: (2, _conductivity),
    0x100A: (1, _battery_percent),
    0x100D: (4, _temperature_humidity_tenths),
    # The newer MIoT-spec objects of recent thermometers (LYWSD02MMC, XMWSDJ04MMC,
    # MJWSD05MMC, ...): float32 LE temperature / humidity, uint8 humidity / battery %.
    0x4801: (4, _temperature_float),
    0x4802: (1, _humidity_percent),
    0x4803: (1, _battery_percent),
    0x4808: (4, _humidity_float),
    0x4C01: (4, _temperature_float),
    0x4C02: (1, _humidity_percent),
    0x4C03: (1, _battery_percent),
    0x4C08: (4, _humidity_float),
}

# Products whose 0x1007 is a light flag: the object is skipped, not misread as lux.
_WITHOUT_ILLUMINANCE: ObjectTable = {k: v for k, v in OBJECTS.items() if k != 0x1007}
TABLES: dict[int, ObjectTable] = dict.fromkeys(LIGHT_FLAG_PRODUCTS, _WITHOUT_ILLUMINANCE)


def parse(data: bytes, table: ObjectTable) -> Measurements | DecodeFailure:
    """The measurements of an object list that must fill `data` exactly."""
    m: Measurements = {}
    at = 0
    end = len(data)
    while at < end:
        if end - at < 3:
            return TRUNCATED
        object_id, length = _HEADER.unpack_from(data, at)
        at += 3
        stop = at + length
        if stop > end:
            return DecodeFailure(f"MiBeacon object 0x{object_id:04X} is truncated")
        entry = table.get(object_id)
        if entry is not None:
            expected, decoder = entry
            if length != expected:
                return DecodeFailure(
                    f"MiBeacon object 0x{object_id:04X} has {length} bytes, expected {expected}"
                )
            decoder(data, at, m)
        at = stop
    return m
