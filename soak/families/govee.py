"""Govee thermo-hygrometers: H5075 (0xEC88, packed decimal), H5074 (0xEC88, little-endian
hundredths), H5179 (0x8801, little-endian hundredths) and the H5106 air monitor (0x0001,
packed decimal with PM2.5). The local name carries the model; no format has a counter.
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

_EC88_PACKED = struct.Struct(">BBHBB")
_EC88_LE16 = struct.Struct("<BhHBB")
_8801_LE16 = struct.Struct("<4shHB")
_0001_PACKED_PM25 = struct.Struct(">2sI")
_SIGN_24 = 0x800000
_SIGN_32 = 0x80000000


def _packed_temperature(celsius: float) -> tuple[int, bool, float]:
    """Tenths of a degree (magnitude), the sign, and the value the decoder gives."""
    tenths = steps(abs(celsius), 0.1, 0, 400 if celsius < 0 else 1000)
    negative = celsius < 0 and tenths > 0
    return tenths, negative, (-tenths if negative else tenths) / 10


def encode_h5075(
    values: Values, _counter: int, address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    tenths, negative, temperature = _packed_temperature(values["temperature"])
    humidity = steps(values["humidity"], 0.1, 0, 999)  # 100.0 % would carry into the degrees
    battery = steps(values["battery"], 1, 0, 100)
    packed = tenths * 1000 + humidity | (_SIGN_24 if negative else 0)
    payload = _EC88_PACKED.pack(0, packed >> 16, packed & 0xFFFF, battery, 0)
    m: Measurements = {"temperature": temperature, "humidity": humidity / 10, "battery": battery}
    return fields(m, name=f"GVH5075_{short_id(address)}", manufacturer_data={0xEC88: payload})


def encode_h5074(
    values: Values, _counter: int, address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    temperature = steps(values["temperature"], 0.01, -4000, 10000)
    humidity = steps(values["humidity"], 0.01, 0, 10000)
    battery = steps(values["battery"], 1, 0, 100)
    payload = _EC88_LE16.pack(0, temperature, humidity, battery, 2)
    m: Measurements = {
        "temperature": temperature / 100,
        "humidity": humidity / 100,
        "battery": battery,
    }
    return fields(m, name=f"Govee_H5074_{short_id(address)}", manufacturer_data={0xEC88: payload})


def encode_h5179(
    values: Values, _counter: int, address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    temperature = steps(values["temperature"], 0.01, -4000, 10000)
    humidity = steps(values["humidity"], 0.01, 0, 10000)
    battery = steps(values["battery"], 1, 0, 100)
    payload = _8801_LE16.pack(b"\xec\x00\x01\x01", temperature, humidity, battery)
    m: Measurements = {
        "temperature": temperature / 100,
        "humidity": humidity / 100,
        "battery": battery,
    }
    return fields(m, name=f"Govee_H5179_{short_id(address)}", manufacturer_data={0x8801: payload})


def encode_h5106(
    values: Values, _counter: int, address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    tenths, negative, temperature = _packed_temperature(values["temperature"])
    humidity = steps(values["humidity"], 0.1, 0, 999)
    pm25 = steps(values["pm2_5"], 1, 0, 999)
    packed = tenths * 1_000_000 + humidity * 1000 + pm25 | (_SIGN_32 if negative else 0)
    payload = _0001_PACKED_PM25.pack(b"\x01\x01", packed)
    m: Measurements = {"temperature": temperature, "humidity": humidity / 10, "pm2_5": pm25}
    return fields(m, name=f"GVH5106_{short_id(address)}", manufacturer_data={0x0001: payload})


def broken_govee(address: str, _key: bytes | None) -> tuple[AdvertisementRecordFields, ...]:
    name = f"GVH5075_{short_id(address)}"
    return (
        broken("H5075 payload too short", name=name, manufacturer_data={0xEC88: b"\x00\x03\x41"}),
        broken("H5075 payload too long", name=name, manufacturer_data={0xEC88: b"\x00" * 9}),
        broken("H5075 without its layout", name=name, manufacturer_data={0x8801: b"\x00" * 9}),
        broken(
            "H5106 payload too short",
            name=f"GVH5106_{short_id(address)}",
            manufacturer_data={0x0001: b"\x01\x01\x00"},
        ),
    )


H5075 = Family(
    name="govee_h5075",
    integration="govee",
    model="H5075",
    quantities=("temperature", "humidity", "battery"),
    encode_fn=encode_h5075,
    broken_fn=broken_govee,
    intervals=(1.0, 2.0, 5.0),
    repeats=(1, 2, 5),
    ranges={"temperature": (-40.0, 100.0), "humidity": (0.0, 99.9)},
    resolution={"temperature": 0.1, "humidity": 0.1, "battery": 1},
)
H5074 = Family(
    name="govee_h5074",
    integration="govee",
    model="H5074",
    quantities=("temperature", "humidity", "battery"),
    encode_fn=encode_h5074,
    broken_fn=broken_govee,
    intervals=(2.0, 5.0, 10.0),
    repeats=(1, 2, 5),
    ranges={"temperature": (-40.0, 100.0)},
    resolution={"temperature": 0.01, "humidity": 0.01, "battery": 1},
)
H5179 = Family(
    name="govee_h5179",
    integration="govee",
    model="H5179",
    quantities=("temperature", "humidity", "battery"),
    encode_fn=encode_h5179,
    broken_fn=broken_govee,
    intervals=(2.0, 5.0, 10.0),
    repeats=(1, 2),
    ranges={"temperature": (-40.0, 100.0)},
    resolution={"temperature": 0.01, "humidity": 0.01, "battery": 1},
)
H5106 = Family(
    name="govee_h5106",
    integration="govee",
    model="H5106",
    quantities=("temperature", "humidity", "pm2_5"),
    encode_fn=encode_h5106,
    broken_fn=broken_govee,
    intervals=(5.0, 10.0),
    repeats=(1, 2),
    ranges={"temperature": (-40.0, 100.0), "humidity": (0.0, 99.9), "pm2_5": (0.0, 999.0)},
    resolution={"temperature": 0.1, "humidity": 0.1, "pm2_5": 1},
)
