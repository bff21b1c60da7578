"""The advertisement sample types of Sensirion's gadgets, one table row each.

Source: Sensirion/ble-services, data_source/ble-ad-sample-types.yml. A sample is: 0
advertisement type (0x00), 1 sample type, 2-3 device id (uint16), then uint16 fields from
offset 4, all little-endian. Fields the contract has no name for (formaldehyde, air
velocity) are skipped with pad bytes; "reserved" trailing fields are optional.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import NamedTuple

from integrations.sensirion import conversions as c

FIELDS_AT = 4
Conversion = Callable[[int], float | int]

T = ("temperature", c.temperature)
RH = ("humidity", c.humidity)
CO2 = ("co2", c.integer)
VOC = ("voc_index", c.integer)
NOX = ("nox_index", c.integer)
PM25_FULL_SCALE = ("pm2_5", c.pm_full_scale)
PM25 = ("pm2_5", c.pm_tenths)
SKIP = None  # a documented field with no canonical or BTHome name


class SampleType(NamedTuple):
    model: str
    length: int  # ad type, sample type, device id and every documented field
    layout: struct.Struct  # the fields read, from FIELDS_AT, skipped ones as pad bytes
    fields: tuple[tuple[str, Conversion], ...]


def _sample(model: str, *fields: tuple[str, Conversion] | None) -> SampleType:
    layout = "<" + "".join("2x" if field is SKIP else "H" for field in fields)
    read = tuple(field for field in fields if field is not SKIP)
    return SampleType(model, FIELDS_AT + 2 * len(fields), struct.Struct(layout), read)


# sample type -> layout (advertisement type 0x00)
SAMPLE_TYPES: dict[int, SampleType] = {
    0x03: _sample("AQ Minion", T, RH, VOC),
    0x04: _sample("SHT3x gadget", T, RH),
    0x06: _sample("SHT4x gadget", T, ("humidity", c.humidity_sht4x)),
    0x08: _sample("MyCO2 gadget", T, RH, CO2),
    0x0A: _sample("CO2 gadget", T, RH, CO2),
    0x0C: _sample("SEN63C", T, RH, CO2, PM25_FULL_SCALE),
    0x0E: _sample("formaldehyde gadget", T, RH, SKIP),
    0x10: _sample("SEN54", T, RH, VOC, PM25_FULL_SCALE),
    0x14: _sample("T/RH/CO2/VOC/PM2.5/HCHO gadget", T, RH, CO2, VOC, PM25_FULL_SCALE, SKIP),
    0x16: _sample("T/RH/VOC/NOx gadget", T, RH, VOC, NOX),
    0x18: _sample("SEN55", T, RH, VOC, NOX, PM25),
    0x1A: _sample("SEN66", T, RH, CO2, VOC, NOX, PM25),
    0x1C: _sample("SEN63C", T, RH, CO2, PM25),
    0x1E: _sample("SEN55/SEN65", T, RH, VOC, PM25),
    0x20: _sample("T/RH/CO2/VOC/PM2.5/HCHO gadget", T, RH, CO2, VOC, PM25, SKIP),
    0x22: _sample(
        "SEN50/SEN60",
        ("pm1_0", c.pm_tenths),
        ("pm2_5", c.pm_tenths),
        ("pm4_0", c.pm_tenths),
        ("pm10", c.pm_tenths),
    ),
    0x24: _sample("CO2 sensor", CO2),
    0x26: _sample("air velocity sensor", SKIP, T),
}
