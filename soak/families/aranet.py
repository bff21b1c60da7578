"""Aranet4 (CO2 monitor) and Aranet2 (thermo-hygrometer), manufacturer data of SAF
Tehnika (0x0702) with "Smart Home integrations" enabled. Both end in a one-byte
measurement counter that the hub uses as the sequence; a measurement lasts minutes and is
repeated in every advertisement meanwhile.
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
    short_id,
    steps,
)

COMPANY_ID = 0x0702
_INTEGRATIONS = 0x22  # flags: Smart Home integrations enabled (bit 5)
_VERSION = bytes((12, 4, 1))  # firmware v1.4.12 (patch, minor, major)
# Aranet4: flags, version, 4 undecoded bytes, CO2, temperature (1/20 °C), pressure
# (0.1 hPa), humidity %, battery %, status, interval s, age s, counter.
_ARANET4 = struct.Struct("<B3s4sHHHBBBHHB")
# Aranet2: type 1, flags, version, 3 undecoded bytes, 2 bytes, temperature, 2 bytes,
# humidity (0.1 %), 1 byte, battery, status, interval, age, counter.
_ARANET2 = struct.Struct("<BB3s3s2sH2sHxBBHHB")
_INTERVAL_S = 60


def encode_aranet4(
    values: Values, counter: int, address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    co2 = steps(values["co2"], 1, 0, 9999)
    temperature = steps(values["temperature"], 0.05, 0, 0x3FFF)
    pressure = steps(values["pressure"], 0.1, 0, 0x7FFF)
    humidity = steps(values["humidity"], 1, 0, 100)
    battery = steps(values["battery"], 1, 0, 100)
    sequence = counter & 0xFF
    payload = _ARANET4.pack(
        _INTEGRATIONS,
        _VERSION,
        b"\x00" * 4,
        co2,
        temperature,
        pressure,
        humidity,
        battery,
        1,
        _INTERVAL_S,
        2,
        sequence,
    )
    m: Measurements = {
        "co2": co2,
        "temperature": round(temperature / 20, 2),
        "pressure": round(pressure / 10, 1),
        "humidity": humidity,
        "battery": battery,
    }
    return fields(
        m,
        name=f"Aranet4 {short_id(address)}",
        manufacturer_data={COMPANY_ID: payload},
        sequence=sequence,
    )


def encode_aranet2(
    values: Values, counter: int, address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    temperature = steps(values["temperature"], 0.05, 0, 0x3FFF)
    humidity = steps(values["humidity"], 0.1, 0, 1000)
    battery = steps(values["battery"], 1, 0, 100)
    sequence = counter & 0xFF
    payload = _ARANET2.pack(
        1,
        _INTEGRATIONS,
        _VERSION,
        b"\x00" * 3,
        b"\x00" * 2,
        temperature,
        b"\x00" * 2,
        humidity,
        battery,
        1,
        _INTERVAL_S,
        2,
        sequence,
    )
    m: Measurements = {
        "temperature": round(temperature / 20, 2),
        "humidity": round(humidity / 10, 1),
        "battery": battery,
    }
    return fields(
        m,
        name=f"Aranet2 {short_id(address)}",
        manufacturer_data={COMPANY_ID: payload},
        sequence=sequence,
    )


def broken_aranet(address: str, _key: bytes | None) -> tuple[AdvertisementRecordFields, ...]:
    name = f"Aranet4 {short_id(address)}"
    return (
        broken(
            "integrations disabled",
            name=name,
            manufacturer_data={COMPANY_ID: b"\x02" + _VERSION + b"\x00" * 4},
        ),
        broken(
            "readings cut short",
            name=name,
            manufacturer_data={COMPANY_ID: bytes((_INTEGRATIONS,)) + _VERSION + b"\x00" * 8},
        ),
        broken("shorter than its header", name=name, manufacturer_data={COMPANY_ID: b"\x22"}),
        broken(
            "Aranet Radiation",
            name=f"Aranet\u2622 {short_id(address)}",
            manufacturer_data={COMPANY_ID: b"\x02\x22" + b"\x00" * 22},
        ),
    )


ARANET4 = Family(
    name="aranet4",
    integration="aranet",
    model="Aranet4",
    quantities=("co2", "temperature", "pressure", "humidity", "battery"),
    encode_fn=encode_aranet4,
    broken_fn=broken_aranet,
    intervals=(4.0, 8.0),
    repeats=(8, 15),
    sequence_modulus=256,
    ranges={"temperature": (0.0, 50.0), "co2": (400.0, 9999.0)},
    resolution={"co2": 1, "temperature": 0.05, "pressure": 0.1, "humidity": 1, "battery": 1},
)
ARANET2 = Family(
    name="aranet2",
    integration="aranet",
    model="Aranet2",
    quantities=("temperature", "humidity", "battery"),
    encode_fn=encode_aranet2,
    broken_fn=broken_aranet,
    intervals=(4.0, 8.0),
    repeats=(8, 15),
    sequence_modulus=256,
    ranges={"temperature": (0.0, 60.0)},
    resolution={"temperature": 0.05, "humidity": 0.1, "battery": 1},
)
