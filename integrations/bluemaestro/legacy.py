"""The Tempo Disc advertisements with 0.1 resolution (versions 13, 22, 23 and 27), big-endian.

Offsets (payload without the company id): 0 version; 1 battery %; 2-3 logging interval s;
4-5 number of stored logs; 6-7 temperature (int16, 0.1 °C). Then by version:
- 13 (Tempo Disc T): 8 mode; 9 threshold breaches.
- 22, 23 (THD): 8-9 humidity (0.1 %); 10-11 dew point (int16, 0.1 °C); 12 mode; 13 breaches.
- 27 (THPD): 8-9 humidity (0.1 %); 10-11 pressure (0.1 hPa); 12 mode; 13 breaches.
Temperatures are Celsius whatever the mode byte says: a mode above 100 only asks the app to
display Fahrenheit (Blue Maestro's iOS app converts the advertised value for display).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import NamedTuple

from hub.integrations import Decoded, DecodeFailure

_HEAD = struct.Struct(">xBxxxxh")  # battery, temperature
_HUMIDITY = struct.Struct(">H")
_HUMIDITY_PRESSURE = struct.Struct(">HH")
_AFTER_HEAD = 8

Reader = Callable[[bytes, dict[str, float | int]], None]


def _nothing_more(_payload: bytes, _m: dict[str, float | int]) -> None:
    return None


def _humidity(payload: bytes, m: dict[str, float | int]) -> None:
    # Bytes 10-11 hold the device's own dew point, which the core derives itself.
    m["humidity"] = round(_HUMIDITY.unpack_from(payload, _AFTER_HEAD)[0] / 10, 1)


def _humidity_pressure(payload: bytes, m: dict[str, float | int]) -> None:
    humidity, pressure = _HUMIDITY_PRESSURE.unpack_from(payload, _AFTER_HEAD)
    m["humidity"] = round(humidity / 10, 1)
    m["pressure"] = round(pressure / 10, 1)


class Version(NamedTuple):
    model: str
    length: int  # bytes through the last field read (the dew point is not read)
    read: Reader


VERSIONS: dict[int, Version] = {
    13: Version("Tempo Disc T", 8, _nothing_more),
    22: Version("Tempo Disc THD", 10, _humidity),
    23: Version("Tempo Disc THD", 10, _humidity),
    27: Version("Tempo Disc THPD", 12, _humidity_pressure),
}


def decode(payload: bytes) -> Decoded | DecodeFailure:
    number = payload[0]
    version = VERSIONS[number]
    if len(payload) < version.length:
        return DecodeFailure(
            f"Blue Maestro version {number} needs {version.length} bytes, got {len(payload)}"
        )
    battery, temperature = _HEAD.unpack_from(payload)
    m: dict[str, float | int] = {"temperature": round(temperature / 10, 1)}
    version.read(payload, m)
    # A percentage above 100 cannot be a battery level; no marker is documented.
    if battery <= 100:
        m["battery"] = battery
    return Decoded(measurements=m, model=version.model, format=str(number))
