"""The b-parasite soil sensor, protocol v2 (service data 0x181A, big-endian, name "prst"):
a 4-bit counter, battery millivolts, temperature in centidegrees, air humidity and soil
moisture in 1/65535 of 100 %, the MAC, and illuminance (lx) when bit 0 of byte 0 is set.
"""

from __future__ import annotations

import struct

from integrations.bparasite.battery import BATTERY_CURVE
from soak.families.base import (
    AdvertisementRecordFields,
    Family,
    Measurements,
    Values,
    battery_of,
    broken,
    fields,
    mac_bytes,
    steps,
    voltage_for,
)

UUID = "0000181a-0000-1000-8000-00805f9b34fb"
COUNTER_MODULUS = 16
_V2_WITH_LUX = 0x21
_LAYOUT = struct.Struct(">BBHhHH6sH")
_FULL_SCALE = 0xFFFF


def encode_v2(
    values: Values, counter: int, address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    millivolts = steps(voltage_for(values["battery"], BATTERY_CURVE), 0.001, 0, 65535)
    temperature = steps(values["temperature"], 0.01, -32768, 32767)
    humidity = steps(values["humidity"] / 100 * _FULL_SCALE, 1, 0, _FULL_SCALE)
    moisture = steps(values["moisture"] / 100 * _FULL_SCALE, 1, 0, _FULL_SCALE)
    illuminance = steps(values["illuminance"], 1, 0, 0xFFFF)
    sequence = counter % COUNTER_MODULUS
    payload = _LAYOUT.pack(
        _V2_WITH_LUX,
        sequence,
        millivolts,
        temperature,
        humidity,
        moisture,
        mac_bytes(address),
        illuminance,
    )
    voltage = millivolts / 1000
    m: Measurements = {
        "temperature": round(temperature / 100, 2),
        "humidity": round(humidity * 100 / _FULL_SCALE, 2),
        "moisture": round(moisture * 100 / _FULL_SCALE, 2),
        "voltage": voltage,
        "battery": battery_of(voltage, BATTERY_CURVE),
        "illuminance": illuminance,
    }
    return fields(m, name="prst", service_data={UUID: payload}, sequence=sequence)


def broken_bparasite(_address: str, _key: bytes | None) -> tuple[AdvertisementRecordFields, ...]:
    cases = (
        ("payload of 10 bytes", b"\x20" + b"\x00" * 9),
        ("unknown protocol version", b"\x70" + b"\x00" * 15),
        ("illuminance flagged, missing", b"\x21" + b"\x00" * 15),
    )
    return tuple(broken(why, name="prst", service_data={UUID: data}) for why, data in cases)


V2 = Family(
    name="bparasite",
    integration="bparasite",
    model="b-parasite",
    quantities=("temperature", "humidity", "moisture", "battery", "illuminance"),
    encode_fn=encode_v2,
    broken_fn=broken_bparasite,
    intervals=(30.0, 60.0),
    sequence_modulus=COUNTER_MODULUS,
    ranges={"temperature": (-20.0, 60.0), "illuminance": (0.0, 65535.0)},
    resolution={
        "temperature": 0.01,
        "humidity": 100 / 65535,
        "moisture": 100 / 65535,
        "illuminance": 1,
        "battery": 2,
    },
)
