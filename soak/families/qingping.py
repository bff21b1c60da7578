"""Qingping (ClearGrass) frames on service data 0xFDCD: the CGP1W barometer (temperature,
humidity, pressure, battery) and the mains-powered CGDN1 air monitor (temperature,
humidity, PM2.5, PM10, CO2). Objects: id, size, little-endian value. No counter.
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

UUID = "0000fdcd-0000-1000-8000-00805f9b34fb"
_CONTROL = 0x08
_CGP1W = 0x09
_CGDN1 = 0x0E


def _header(product: int, address: str) -> bytes:
    return bytes((_CONTROL, product)) + mac_bytes(address)[::-1]


def _climate(values: Values) -> tuple[bytes, Measurements]:
    temperature = steps(values["temperature"], 0.1, -32768, 32767)
    humidity = steps(values["humidity"], 0.1, 0, 1000)
    obj = b"\x01\x04" + struct.pack("<hH", temperature, humidity)
    return obj, {"temperature": temperature / 10, "humidity": humidity / 10}


def encode_cgp1w(
    values: Values, _counter: int, address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    climate, m = _climate(values)
    battery = steps(values["battery"], 1, 0, 100)
    pressure = steps(values["pressure"], 0.1, 0, 65535)
    payload = (
        _header(_CGP1W, address)
        + climate
        + b"\x02\x01"
        + bytes((battery,))
        + b"\x07\x02"
        + struct.pack("<H", pressure)
    )
    return fields(
        {**m, "battery": battery, "pressure": pressure / 10},
        name="Qingping Temp RH Barometer",
        service_data={UUID: payload},
    )


def encode_cgdn1(
    values: Values, _counter: int, address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    climate, m = _climate(values)
    pm25 = steps(values["pm2_5"], 1, 0, 65535)
    pm10 = steps(values["pm10"], 1, 0, 65535)
    co2 = steps(values["co2"], 1, 0, 65535)
    payload = (
        _header(_CGDN1, address)
        + climate
        + b"\x12\x04"
        + struct.pack("<HH", pm25, pm10)
        + b"\x13\x02"
        + struct.pack("<H", co2)
    )
    return fields(
        {**m, "pm2_5": pm25, "pm10": pm10, "co2": co2},
        name="Qingping Air Monitor Lite",
        service_data={UUID: payload},
    )


def broken_qingping(address: str, _key: bytes | None) -> tuple[AdvertisementRecordFields, ...]:
    head = _header(_CGP1W, address)
    return (
        broken("shorter than the header", service_data={UUID: head[:5]}),
        broken("not an object frame", service_data={UUID: b"\x30" + head[1:]}),
        broken("object truncated", service_data={UUID: head + b"\x01\x04\x10"}),
        broken("object of the wrong size", service_data={UUID: head + b"\x01\x02\x10\x00"}),
    )


CGP1W = Family(
    name="qingping_cgp1w",
    integration="qingping",
    model="CGP1W",
    quantities=("temperature", "humidity", "battery", "pressure"),
    encode_fn=encode_cgp1w,
    broken_fn=broken_qingping,
    intervals=(5.0, 10.0, 20.0),
    repeats=(1, 2),
    ranges={"temperature": (-30.0, 60.0)},
    resolution={"temperature": 0.1, "humidity": 0.1, "battery": 1, "pressure": 0.1},
)
CGDN1 = Family(
    name="qingping_cgdn1",
    integration="qingping",
    model="CGDN1",
    quantities=("temperature", "humidity", "pm2_5", "pm10", "co2"),
    encode_fn=encode_cgdn1,
    broken_fn=broken_qingping,
    intervals=(5.0, 10.0, 20.0),
    repeats=(1, 2),
    ranges={"temperature": (-10.0, 50.0)},
    resolution={"temperature": 0.1, "humidity": 0.1, "pm2_5": 1, "pm10": 1, "co2": 1},
)
