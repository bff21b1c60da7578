"""The b-parasite protocol, versions 1 and 2: service data 0x181A, big-endian.

Layout (rbaron/b-parasite, code/b-parasite/README.md): 0 protocol version (high nibble)
and `has_lux` (bit 0); 1 wrap-around counter (low nibble); 2-3 battery mV; 4-5 temperature
(v1: millidegrees, uint16; v2: centidegrees, int16); 6-7 air humidity and 8-9 soil moisture,
both 0..0xFFFF for 0..100 %; 10-15 the sensor's MAC; 16-17 illuminance in lx, present only
when `has_lux` is set.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from hub.derive import battery_from_voltage
from hub.integrations import Decoded, DecodeFailure
from integrations.bparasite.battery import BATTERY_CURVE

MIN_LENGTH = 16
LUX_LENGTH = 18
_HAS_LUX = 0x01
_FULL_SCALE = 0xFFFF
_LUX = struct.Struct(">H")


class Version(NamedTuple):
    """What differs between protocol versions: the temperature field."""

    name: str
    layout: struct.Struct  # counter byte, battery mV, temperature, humidity, moisture
    temperature_divisor: int
    temperature_decimals: int


VERSIONS: dict[int, Version] = {
    # v1 sends millidegrees as an unsigned 16-bit value (the firmware casts a float to
    # uint16), so it covers 0..65.535 °C and cannot carry a temperature below zero.
    1: Version("v1", struct.Struct(">xBHHHH"), 1000, 3),
    # v2 sends centidegrees as a signed 16-bit value (firmware: int16_t temp_centicelsius).
    2: Version("v2", struct.Struct(">xBHhHH"), 100, 2),
}


def decode(payload: bytes) -> Decoded | DecodeFailure:
    if len(payload) < MIN_LENGTH:
        return DecodeFailure(f"b-parasite payload needs {MIN_LENGTH} bytes, got {len(payload)}")
    number = payload[0] >> 4
    version = VERSIONS.get(number)
    if version is None:
        return DecodeFailure(f"unknown b-parasite protocol version {number}")
    has_lux = payload[0] & _HAS_LUX
    if has_lux and len(payload) < LUX_LENGTH:
        return DecodeFailure(
            f"b-parasite payload flags illuminance but has {len(payload)} bytes, "
            f"{LUX_LENGTH} needed"
        )
    counter, millivolts, temperature, humidity, moisture = version.layout.unpack_from(payload)
    voltage = millivolts / 1000
    m: dict[str, float | int] = {
        "temperature": round(
            temperature / version.temperature_divisor, version.temperature_decimals
        ),
        "humidity": round(humidity * 100 / _FULL_SCALE, 2),
        "moisture": round(moisture * 100 / _FULL_SCALE, 2),
        "voltage": voltage,
        "battery": battery_from_voltage(voltage, BATTERY_CURVE),
    }
    if has_lux:
        m["illuminance"] = _LUX.unpack_from(payload, 16)[0]
    return Decoded(measurements=m, model="b-parasite", format=version.name, sequence=counter & 0x0F)
