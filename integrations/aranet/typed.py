"""Aranet2 and Aranet Radon Plus advertisements, little-endian.

These start with a device-type byte: 0 type (1 Aranet2, 2 Aranet Radiation, 3 Aranet Radon
Plus); 1 flags; 2-4 firmware version (patch, minor, major); 5-7 not decoded; 8-22 the
device's readings (below); 23 measurement counter.

Aranet2: 10-11 temperature (1/20 °C); 14-15 humidity (1/10 %); 17 battery %; 18 status;
19-20 interval s; 21-22 seconds since the measurement.
Radon Plus: 8-9 radon Bq/m³; 10-11 temperature (1/20 °C); 12-13 pressure (1/10 hPa);
14-15 humidity (1/10 %); 17 battery %; 18 status colour; 19-20 interval; 21-22 age.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from hub.integrations import Decoded, DecodeFailure
from integrations.aranet import header, values

LENGTH = 23  # through "seconds since the measurement"
HEADER = 5  # device type, flags and firmware version
_READINGS_AT = 8
_COUNTER_AT = 23
_ARANET2 = struct.Struct("<2xH2xHxB")  # temperature, humidity, battery
_RADON = struct.Struct("<2xHHHxB")  # temperature, pressure, humidity, battery


def _aranet2(payload: bytes) -> dict[str, float | int]:
    temperature, humidity, battery = _ARANET2.unpack_from(payload, _READINGS_AT)
    m: dict[str, float | int] = {}
    values.temperature(temperature, m)
    values.humidity_tenths(humidity, m)
    values.percent("battery", battery, m)
    return m


def _radon(payload: bytes) -> dict[str, float | int]:
    # Bytes 8-9 (radon concentration, Bq/m³) are not reported: CONTRACTS.md has no name
    # for radon and BTHome defines none (see README).
    temperature, pressure, humidity, battery = _RADON.unpack_from(payload, _READINGS_AT)
    m: dict[str, float | int] = {}
    values.temperature(temperature, m)
    values.pressure(pressure, m)
    values.humidity_tenths(humidity, m)
    values.percent("battery", battery, m)
    return m


# device-type byte -> (model, format, reader)
DEVICES: dict[int, tuple[str, str, Callable[[bytes], dict[str, float | int]]]] = {
    1: ("Aranet2", "aranet2", _aranet2),
    3: ("Aranet Radon Plus", "aranet_radon", _radon),
}
UNSUPPORTED: dict[int, str] = {
    2: "Aranet Radiation is not supported: its dose readings have no canonical measurement name",
}


def decode(payload: bytes) -> Decoded | DecodeFailure:
    if not payload:
        return DecodeFailure("empty Aranet payload")
    kind = payload[0]
    device = DEVICES.get(kind)
    if device is None:
        return DecodeFailure(UNSUPPORTED.get(kind, f"unknown Aranet device type {kind}"))
    model, data_format, read = device
    if len(payload) < HEADER:
        return DecodeFailure(f"{model} payload of {len(payload)} bytes is shorter than its header")
    if not header.integrations_enabled(payload[1]):
        return DecodeFailure(
            f"{model} sends no readings: Smart Home integrations are disabled in the Aranet app"
        )
    if len(payload) < LENGTH:
        return DecodeFailure(
            f"{model} readings need {LENGTH} bytes, got {len(payload)} "
            f"(firmware {header.version(payload, 2)})"
        )
    counter = payload[_COUNTER_AT] if len(payload) > _COUNTER_AT else None
    return Decoded(measurements=read(payload), model=model, format=data_format, sequence=counter)
