"""Blue Maestro Tempo Disc THPD (version 27), manufacturer data of company 0x0133,
big-endian: version, battery %, logging interval, number of stored logs, temperature,
humidity and pressure in tenths, mode, threshold breaches. The log count changes with
every measurement but is not a counter the hub uses.
"""

from __future__ import annotations

import struct

from soak.families.base import (
    AdvertisementRecordFields,
    Family,
    Measurements,
    Values,
    broken,
    fields,
    steps,
)

COMPANY_ID = 0x0133
_THPD = struct.Struct(">BBHHhHHBB")
_LOG_INTERVAL_S = 60


def encode_thpd(
    values: Values, counter: int, _address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    battery = steps(values["battery"], 1, 0, 100)
    temperature = steps(values["temperature"], 0.1, -32768, 32767)
    humidity = steps(values["humidity"], 0.1, 0, 1000)
    pressure = steps(values["pressure"], 0.1, 0, 65535)
    payload = _THPD.pack(
        27, battery, _LOG_INTERVAL_S, counter & 0xFFFF, temperature, humidity, pressure, 0, 0
    )
    m: Measurements = {
        "temperature": round(temperature / 10, 1),
        "humidity": round(humidity / 10, 1),
        "pressure": round(pressure / 10, 1),
        "battery": battery,
    }
    return fields(m, manufacturer_data={COMPANY_ID: payload})


def broken_bluemaestro(_address: str, _key: bytes | None) -> tuple[AdvertisementRecordFields, ...]:
    return (
        broken("version 27 cut short", manufacturer_data={COMPANY_ID: b"\x1b\x50\x00\x3c"}),
        broken("unknown version", manufacturer_data={COMPANY_ID: b"\x63" + b"\x00" * 13}),
        broken("Disc Maxi", manufacturer_data={COMPANY_ID: b"\x2a" + b"\x00" * 13}),
        broken("empty payload", manufacturer_data={COMPANY_ID: b""}),
    )


THPD = Family(
    name="bluemaestro_thpd",
    integration="bluemaestro",
    model="Tempo Disc THPD",
    quantities=("temperature", "humidity", "pressure", "battery"),
    encode_fn=encode_thpd,
    broken_fn=broken_bluemaestro,
    intervals=(10.0, 30.0),
    ranges={"temperature": (-30.0, 75.0)},
    resolution={"temperature": 0.1, "humidity": 0.1, "pressure": 0.1, "battery": 1},
)
