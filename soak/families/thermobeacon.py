"""ThermoBeacon hygrometers: manufacturer data under the device-type id 0x0011, 18 bytes,
the sender's MAC (reversed) at 2-7, battery millivolts, temperature and humidity in
sixteenths, and a counter the hub does not read. The hub derives the battery % from the
voltage with the integration's own curve.
"""

from __future__ import annotations

import struct

from integrations.thermobeacon.frames import BATTERY_CURVE
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

DEVICE_TYPE = 0x0011
_READING = struct.Struct("<BB6sHhHI")


def encode_reading(
    values: Values, counter: int, address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    millivolts = steps(voltage_for(values["battery"], BATTERY_CURVE), 0.001, 0, 65535)
    temperature = steps(values["temperature"], 1 / 16, -32768, 32767)
    humidity = steps(values["humidity"], 1 / 16, 0, 1600)
    payload = _READING.pack(
        0, 0, mac_bytes(address)[::-1], millivolts, temperature, humidity, counter & 0xFFFFFFFF
    )
    voltage = millivolts / 1000
    m: Measurements = {
        "temperature": temperature / 16,
        "voltage": voltage,
        "battery": battery_of(voltage, BATTERY_CURVE),
        "humidity": humidity / 16,
    }
    return fields(m, name="ThermoBeacon", manufacturer_data={DEVICE_TYPE: payload})


def broken_thermobeacon(address: str, _key: bytes | None) -> tuple[AdvertisementRecordFields, ...]:
    head = b"\x00\x00" + mac_bytes(address)[::-1]
    return (
        broken("payload of 19 bytes", manufacturer_data={DEVICE_TYPE: head + b"\x00" * 11}),
        broken("payload of 12 bytes", manufacturer_data={DEVICE_TYPE: head + b"\x00" * 4}),
    )


THERMOBEACON = Family(
    name="thermobeacon",
    integration="thermobeacon",
    model="ThermoBeacon smart hygrometer",
    quantities=("temperature", "humidity", "battery"),
    encode_fn=encode_reading,
    broken_fn=broken_thermobeacon,
    intervals=(5.0, 10.0),
    repeats=(1, 2),
    ranges={"temperature": (-40.0, 65.0)},
    resolution={"temperature": 1 / 16, "humidity": 1 / 16, "battery": 2},
)
