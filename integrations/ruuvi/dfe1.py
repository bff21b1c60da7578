"""Ruuvi data format E1 (Extended v1), 40 bytes, big-endian; Ruuvi Air in Bluetooth 5 adverts.

Layout: format 0xE1, temperature (int16, 0.005 °C), humidity (uint16, 0.0025 %), pressure
(uint16, Pa - 50 000), PM1.0, PM2.5, PM4.0, PM10 (uint16 each, 0.1 µg/m³), CO2 (uint16,
ppm), VOC index and NOx index (upper 8 of 9 bits each; the lowest bits are flags bits 6 and
7), luminosity (uint24, 0.01 lx), 3 reserved bytes, measurement sequence (uint24), flags,
5 reserved bytes, MAC (6 bytes). "Not available" is the all-ones (or int16 minimum) value.
"""

from __future__ import annotations

import struct

from hub.integrations import Decoded, DecodeFailure
from integrations.ruuvi.climate import add_climate

LENGTH = 40
# struct has no 24-bit type, so each 24-bit field is read in a 32-bit word together with
# its neighbour byte: bytes 18-21 are NOx high bits + luminosity, bytes 25-28 are the
# sequence + flags. One unpack, no slicing.
_LAYOUT = struct.Struct(">xhHHHHHHHBI3xI11x")
_UINT24_INVALID = 0xFFFFFF
_INDEX_INVALID = 0x1FF


def decode(payload: bytes) -> Decoded | DecodeFailure:
    if len(payload) != LENGTH:
        return DecodeFailure(f"format E1 needs {LENGTH} bytes, got {len(payload)}")
    (temp, hum, pres, pm1_0, pm2_5, pm4_0, pm10, co2, voc_high, nox_lux, seq_flags) = (
        _LAYOUT.unpack(payload)
    )
    flags = seq_flags & 0xFF
    m: dict[str, float | int] = {}
    add_climate(m, temp, hum, pres)
    if pm1_0 != 0xFFFF:
        m["pm1_0"] = pm1_0 / 10
    if pm2_5 != 0xFFFF:
        m["pm2_5"] = pm2_5 / 10
    if pm4_0 != 0xFFFF:
        m["pm4_0"] = pm4_0 / 10
    if pm10 != 0xFFFF:
        m["pm10"] = pm10 / 10
    if co2 != 0xFFFF:
        m["co2"] = co2
    voc = voc_high << 1 | (flags >> 6) & 1
    if voc != _INDEX_INVALID:
        m["voc_index"] = voc
    nox = nox_lux >> 23 & 0x1FE | flags >> 7
    if nox != _INDEX_INVALID:
        m["nox_index"] = nox
    lux = nox_lux & 0xFFFFFF
    if lux != _UINT24_INVALID:
        m["illuminance"] = lux / 100
    counter = seq_flags >> 8
    sequence: int | None = None
    if counter != _UINT24_INVALID:
        m["measurement_sequence"] = counter
        # A Ruuvi Air sends every sample as format 6 too, whose 8-bit counter is the low
        # byte of this one: the same key lets the core store the sample once, not twice.
        sequence = counter & 0xFF
    return Decoded(measurements=m, model="Ruuvi Air", format="E1", sequence=sequence)
