"""Sensirion BLE gadgets, manufacturer data of company 0x06D5: advertisement type 0, a
sample type, a device id, then uint16 little-endian fields. SHT4x gadget (type 6:
temperature, humidity on the SHT4x scale) and MyCO2 (type 8: temperature, humidity, CO2).
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
    mac_bytes,
    steps,
)

COMPANY_ID = 0x06D5
_FULL_SCALE = 65535.0
_SHT4X = struct.Struct("<BB2sHH")
_MYCO2 = struct.Struct("<BB2sHHH")


def _temperature(celsius: float) -> tuple[int, float]:
    raw = steps((celsius + 45) * _FULL_SCALE / 175, 1, 0, 65535)
    return raw, round(-45 + 175 * raw / _FULL_SCALE, 2)


def encode_sht4x(
    values: Values, _counter: int, address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    t_raw, temperature = _temperature(values["temperature"])
    h_raw = steps((values["humidity"] + 6) * _FULL_SCALE / 125, 1, 0, 65535)
    humidity = min(100.0, max(0.0, round(-6 + 125 * h_raw / _FULL_SCALE, 2)))
    payload = _SHT4X.pack(0, 0x06, mac_bytes(address)[-2:], t_raw, h_raw)
    m: Measurements = {"temperature": temperature, "humidity": humidity}
    return fields(m, name="SHT40 Gadget", manufacturer_data={COMPANY_ID: payload})


def encode_myco2(
    values: Values, _counter: int, address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    t_raw, temperature = _temperature(values["temperature"])
    h_raw = steps(values["humidity"] * _FULL_SCALE / 100, 1, 0, 65535)
    co2 = steps(values["co2"], 1, 0, 65535)
    payload = _MYCO2.pack(0, 0x08, mac_bytes(address)[-2:], t_raw, h_raw, co2)
    m: Measurements = {
        "temperature": temperature,
        "humidity": round(100 * h_raw / _FULL_SCALE, 2),
        "co2": co2,
    }
    return fields(m, name="MyCO2", manufacturer_data={COMPANY_ID: payload})


def broken_sensirion(_address: str, _key: bytes | None) -> tuple[AdvertisementRecordFields, ...]:
    return (
        broken("no sample type", manufacturer_data={COMPANY_ID: b"\x00"}),
        broken("unknown sample type", manufacturer_data={COMPANY_ID: b"\x00\x7f\x01\x02"}),
        broken("samples switched off", manufacturer_data={COMPANY_ID: b"\xff\x00\x01\x02"}),
        broken("sample cut short", manufacturer_data={COMPANY_ID: b"\x00\x08\x01\x02\x03\x04"}),
    )


SHT4X = Family(
    name="sensirion_sht4x",
    integration="sensirion",
    model="SHT4x gadget",
    quantities=("temperature", "humidity"),
    encode_fn=encode_sht4x,
    broken_fn=broken_sensirion,
    intervals=(5.0, 10.0),
    repeats=(1, 2),
    ranges={"temperature": (-40.0, 125.0)},
    resolution={"temperature": 175 / 65535, "humidity": 125 / 65535},
)
MYCO2 = Family(
    name="sensirion_myco2",
    integration="sensirion",
    model="MyCO2 gadget",
    quantities=("temperature", "humidity", "co2"),
    encode_fn=encode_myco2,
    broken_fn=broken_sensirion,
    intervals=(5.0, 10.0),
    repeats=(1, 2),
    ranges={"temperature": (-10.0, 60.0)},
    resolution={"temperature": 175 / 65535, "humidity": 100 / 65535, "co2": 1},
)
