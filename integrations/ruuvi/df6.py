"""Ruuvi data format 6, 20 bytes, big-endian; Ruuvi Air in Bluetooth 4 (legacy) adverts.

Layout: format, temperature (int16, 0.005 °C), humidity (uint16, 0.0025 %), pressure
(uint16, Pa - 50 000), PM2.5 (uint16, 0.1 µg/m³), CO2 (uint16, ppm), VOC index and NOx
index (upper 8 of 9 bits each; the lowest bits are flags bits 6 and 7), luminosity (uint8,
logarithmic code), reserved byte, measurement sequence (uint8), flags, lowest 3 MAC bytes.
"Not available" is the all-ones (or int16 minimum) value; the 8-bit sequence has none.
"""

from __future__ import annotations

import math
import struct

from hub.integrations import Decoded, DecodeFailure
from integrations.ruuvi.climate import add_climate

LENGTH = 20
_LAYOUT = struct.Struct(">xhHHHHBBBxBB3x")
_INDEX_INVALID = 0x1FF
_LUX_INVALID = 0xFF

# Luminosity is sent as a code 0-254 on a logarithmic scale up to 65 535 lx:
# lux = exp(code * ln(65 536) / 254) - 1, which Ruuvi says to round to 0.01. There are only
# 255 codes, so the values are computed once here instead of calling exp per advert.
_LUX_STEP = math.log(65_536) / 254
_LUX_BY_CODE = tuple(round(math.exp(code * _LUX_STEP) - 1, 2) for code in range(255))


def decode(payload: bytes) -> Decoded | DecodeFailure:
    if len(payload) != LENGTH:
        return DecodeFailure(f"format 6 needs {LENGTH} bytes, got {len(payload)}")
    temp, hum, pres, pm2_5, co2, voc_high, nox_high, lux_code, sequence, flags = _LAYOUT.unpack(
        payload
    )
    m: dict[str, float | int] = {}
    add_climate(m, temp, hum, pres)
    if pm2_5 != 0xFFFF:
        m["pm2_5"] = pm2_5 / 10
    if co2 != 0xFFFF:
        m["co2"] = co2
    voc = voc_high << 1 | (flags >> 6) & 1
    if voc != _INDEX_INVALID:
        m["voc_index"] = voc
    nox = nox_high << 1 | flags >> 7
    if nox != _INDEX_INVALID:
        m["nox_index"] = nox
    if lux_code != _LUX_INVALID:
        m["illuminance"] = _LUX_BY_CODE[lux_code]
    # Every value 0-255 is a valid count (it mirrors the low byte of the E1 counter).
    m["measurement_sequence"] = sequence
    return Decoded(measurements=m, model="Ruuvi Air", format="6", sequence=sequence)
