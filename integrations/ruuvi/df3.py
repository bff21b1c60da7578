"""Ruuvi data format 3 (RAWv1), 14 bytes, big-endian; older RuuviTag firmware.

Layout: format, humidity (uint8, 0.5 %), temperature as sign-and-magnitude (byte: sign bit
and whole degrees, byte: hundredths 0-99), pressure (uint16, Pa - 50 000), acceleration
x/y/z (int16, mg), battery (uint16, mV). The format has no "not available" value and no
measurement counter, so every field is reported and `sequence` is None.
"""

from __future__ import annotations

import struct

from hub.derive import battery_from_voltage
from hub.integrations import Decoded, DecodeFailure
from integrations.ruuvi.battery import BATTERY_CURVE

LENGTH = 14
_LAYOUT = struct.Struct(">xBBBHhhhH")
_MAX_FRACTION = 99


def decode(payload: bytes) -> Decoded | DecodeFailure:
    if len(payload) != LENGTH:
        return DecodeFailure(f"format 3 needs {LENGTH} bytes, got {len(payload)}")
    hum, temp_whole, temp_fraction, pres, acc_x, acc_y, acc_z, millivolts = _LAYOUT.unpack(payload)
    if temp_fraction > _MAX_FRACTION:
        # Hundredths above 99 cannot come from the firmware's encoder: the payload is not a
        # format 3 frame we can trust, so no value of it is reported.
        return DecodeFailure(f"format 3 temperature hundredths {temp_fraction} exceed 99")
    magnitude = round((temp_whole & 0x7F) + temp_fraction / 100, 2)
    # The sign bit on a zero magnitude would give -0.0; 0.0 reads (and serialises) better.
    temperature = -magnitude if temp_whole & 0x80 and magnitude else magnitude
    voltage = millivolts / 1000
    return Decoded(
        measurements={
            "temperature": temperature,
            "humidity": hum * 0.5,
            "pressure": round((pres + 50_000) / 100, 2),
            "acceleration_x": acc_x / 1000,
            "acceleration_y": acc_y / 1000,
            "acceleration_z": acc_z / 1000,
            "voltage": voltage,
            "battery": battery_from_voltage(voltage, BATTERY_CURVE),
        },
        model="RuuviTag",
        format="3",
        sequence=None,
    )
