"""Aranet4 (CO2 monitor) advertisement, little-endian.

The Aranet4 has no device-type byte. Offsets: 0 flags; 1-3 firmware version (patch, minor,
major); 4-7 not decoded; 8-9 CO2 ppm; 10-11 temperature (1/20 °C); 12-13 pressure
(1/10 hPa); 14 humidity %; 15 battery %; 16 status colour; 17-18 measurement interval s;
19-20 seconds since the measurement; 21 measurement counter (not sent by every firmware).
"""

from __future__ import annotations

import struct

from hub.integrations import Decoded, DecodeFailure
from integrations.aranet import header, values

LENGTH = 21  # through "seconds since the measurement"
HEADER = 4  # flags and firmware version
_READINGS = struct.Struct("<HHHBB")  # co2, temperature, pressure, humidity, battery
_READINGS_AT = 8
_COUNTER_AT = 21


def decode(payload: bytes) -> Decoded | DecodeFailure:
    if len(payload) < HEADER:
        return DecodeFailure(f"Aranet4 payload of {len(payload)} bytes is shorter than its header")
    if not header.integrations_enabled(payload[0]):
        return DecodeFailure(
            "Aranet4 sends no readings: Smart Home integrations are disabled in the Aranet app"
        )
    if len(payload) < LENGTH:
        return DecodeFailure(
            f"Aranet4 readings need {LENGTH} bytes, got {len(payload)} "
            f"(firmware {header.version(payload, 1)})"
        )
    co2, temperature, pressure, humidity, battery = _READINGS.unpack_from(payload, _READINGS_AT)
    m: dict[str, float | int] = {}
    values.co2(co2, m)
    values.temperature(temperature, m)
    values.pressure(pressure, m)
    values.percent("humidity", humidity, m)
    values.percent("battery", battery, m)
    counter = payload[_COUNTER_AT] if len(payload) > _COUNTER_AT else None
    return Decoded(measurements=m, model="Aranet4", format="aranet4", sequence=counter)
