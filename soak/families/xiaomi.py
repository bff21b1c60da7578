"""Xiaomi thermometers: the ATC1441 and pvvx custom firmware (service data 0x181A) and
MiBeacon (0xFE95) as sent by a LYWSDCGQ (v2, clear), a LYWSD02MMC (v5, clear, float
objects) and a LYWSD03MMC (v5, AES-CCM encrypted).

Every format has a one-byte frame or measurement counter the hub uses as the sequence.
A MiBeacon frame carries one object, so its measurements are a subset: these devices
send temperature, humidity (or both in one object) and now and then the battery, in turn.
"""

from __future__ import annotations

import struct
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from soak.families.base import (
    AdvertisementRecordFields,
    Family,
    Measurements,
    Values,
    broken,
    fields,
    mac_bytes,
    millivolts_for,
    steps,
)

CUSTOM_UUID = "0000181a-0000-1000-8000-00805f9b34fb"
MIBEACON_UUID = "0000fe95-0000-1000-8000-00805f9b34fb"

_ATC1441 = struct.Struct(">6shBBHB")
_PVVX = struct.Struct("<6shHHBBB")
_MIBEACON_HEADER = struct.Struct("<HHB")
_OBJECT_HEADER = struct.Struct("<HB")

LYWSDCGQ_PRODUCT = 0x01AA
LYWSD02MMC_PRODUCT = 0x16E4
LYWSD03MMC_PRODUCT = 0x055B
# Frame control: version in bits 12-15, 0x40 object included, 0x10 MAC included,
# 0x08 encrypted.
_V2_CLEAR = 0x2050
_V5_CLEAR = 0x5050
_V5_ENCRYPTED = 0x5058
_ASSOCIATED_DATA = b"\x11"
# One frame in five carries the battery; the others temperature and humidity in turn.
_BATTERY_EVERY = 5


@lru_cache(maxsize=256)
def _cipher(key: bytes) -> AESCCM:
    return AESCCM(key, tag_length=4)


def encode_atc1441(
    values: Values, counter: int, address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    temperature = steps(values["temperature"], 0.1, -32768, 32767)
    humidity = steps(values["humidity"], 1, 0, 100)
    battery = steps(values["battery"], 1, 0, 100)
    millivolts = millivolts_for(values["battery"])
    frame = counter & 0xFF
    payload = _ATC1441.pack(mac_bytes(address), temperature, humidity, battery, millivolts, frame)
    m: Measurements = {
        "temperature": temperature / 10,
        "humidity": humidity,
        "battery": battery,
        "voltage": millivolts / 1000,
    }
    return fields(
        m,
        name=f"ATC_{address.replace(':', '')[-6:]}",
        service_data={CUSTOM_UUID: payload},
        sequence=frame,
    )


def encode_pvvx(
    values: Values, counter: int, address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    temperature = steps(values["temperature"], 0.01, -32768, 32767)
    humidity = steps(values["humidity"], 0.01, 0, 10000)
    battery = steps(values["battery"], 1, 0, 100)
    millivolts = millivolts_for(values["battery"])
    frame = counter & 0xFF
    payload = _PVVX.pack(
        mac_bytes(address)[::-1], temperature, humidity, millivolts, battery, frame, 0
    )
    m: Measurements = {
        "temperature": temperature / 100,
        "humidity": humidity / 100,
        "battery": battery,
        "voltage": millivolts / 1000,
    }
    return fields(
        m,
        name=f"ATC_{address.replace(':', '')[-6:]}",
        service_data={CUSTOM_UUID: payload},
        sequence=frame,
    )


def _object(object_id: int, data: bytes) -> bytes:
    return _OBJECT_HEADER.pack(object_id, len(data)) + data


def _float32(value: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def encode_lywsdcgq(
    values: Values, counter: int, address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    frame = counter & 0xFF
    m: Measurements
    if counter % _BATTERY_EVERY == _BATTERY_EVERY - 1:
        battery = steps(values["battery"], 1, 0, 100)
        objects = _object(0x100A, bytes((battery,)))
        m = {"battery": battery}
    else:
        temperature = steps(values["temperature"], 0.1, -32768, 32767)
        humidity = steps(values["humidity"], 0.1, 0, 1000)
        objects = _object(0x100D, struct.pack("<hH", temperature, humidity))
        m = {"temperature": temperature / 10, "humidity": humidity / 10}
    header = _MIBEACON_HEADER.pack(_V2_CLEAR, LYWSDCGQ_PRODUCT, frame)
    payload = header + mac_bytes(address)[::-1] + objects
    return fields(m, name="MJ_HT_V1", service_data={MIBEACON_UUID: payload}, sequence=frame)


def _thermometer_object(
    values: Values, counter: int, *, floats: bool
) -> tuple[bytes, Measurements]:
    """The object of frame `counter`: temperature, humidity, ..., every fifth the battery."""
    turn = counter % _BATTERY_EVERY
    if turn == _BATTERY_EVERY - 1:
        battery = steps(values["battery"], 1, 0, 100)
        return _object(0x4C03 if floats else 0x100A, bytes((battery,))), {"battery": battery}
    if turn % 2 == 0:
        if floats:
            sent = _float32(steps(values["temperature"], 0.01, -4000, 8500) / 100)
            return _object(0x4C01, struct.pack("<f", sent)), {"temperature": round(sent, 2)}
        temperature = steps(values["temperature"], 0.1, -32768, 32767)
        return _object(0x1004, struct.pack("<h", temperature)), {"temperature": temperature / 10}
    if floats:
        humidity = steps(values["humidity"], 1, 0, 100)
        return _object(0x4C02, bytes((humidity,))), {"humidity": humidity}
    humidity = steps(values["humidity"], 0.1, 0, 1000)
    return _object(0x1006, struct.pack("<H", humidity)), {"humidity": humidity / 10}


def encode_mibeacon_clear(
    values: Values, counter: int, address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    frame = counter & 0xFF
    objects, m = _thermometer_object(values, counter, floats=True)
    header = _MIBEACON_HEADER.pack(_V5_CLEAR, LYWSD02MMC_PRODUCT, frame)
    payload = header + mac_bytes(address)[::-1] + objects
    return fields(m, name="LYWSD02MMC", service_data={MIBEACON_UUID: payload}, sequence=frame)


def seal_mibeacon(objects: bytes, counter: int, address: str, key: bytes) -> bytes:
    """A MiBeacon v5 encrypted frame (MAC included) carrying `objects`."""
    frame = counter & 0xFF
    extension = ((counter >> 8) & 0xFFFFFF).to_bytes(3, "little")
    header = _MIBEACON_HEADER.pack(_V5_ENCRYPTED, LYWSD03MMC_PRODUCT, frame)
    mac = mac_bytes(address)[::-1]
    nonce = mac + header[2:5] + extension
    sealed = _cipher(key).encrypt(nonce, objects, _ASSOCIATED_DATA)
    return header + mac + sealed[:-4] + extension + sealed[-4:]


def encode_mibeacon_encrypted(
    values: Values, counter: int, address: str, key: bytes | None
) -> AdvertisementRecordFields:
    assert key is not None, "an encrypted MiBeacon device needs its bindkey"
    objects, m = _thermometer_object(values, counter, floats=False)
    payload = seal_mibeacon(objects, counter, address, key)
    return fields(
        m, name="LYWSD03MMC", service_data={MIBEACON_UUID: payload}, sequence=counter & 0xFF
    )


def broken_xiaomi(address: str, key: bytes | None) -> tuple[AdvertisementRecordFields, ...]:
    mac = mac_bytes(address)[::-1]
    found = [
        broken("MiBeacon shorter than its header", service_data={MIBEACON_UUID: b"\x50\x20\xaa"}),
        broken(
            "MiBeacon version 1",
            service_data={MIBEACON_UUID: _MIBEACON_HEADER.pack(0x1050, 0x01AA, 3) + mac},
        ),
        broken(
            "MiBeacon truncated in its MAC",
            service_data={MIBEACON_UUID: _MIBEACON_HEADER.pack(_V2_CLEAR, 0x01AA, 3) + mac[:3]},
        ),
        broken(
            "MiBeacon object of the wrong length",
            service_data={
                MIBEACON_UUID: _MIBEACON_HEADER.pack(_V2_CLEAR, 0x01AA, 3)
                + mac
                + _object(0x100D, b"\x01\x02")
            },
        ),
        broken(
            "MiBeacon mesh frame",
            service_data={MIBEACON_UUID: _MIBEACON_HEADER.pack(0x50D0, 0x055B, 3) + mac},
        ),
    ]
    if key is not None:
        good = seal_mibeacon(_object(0x1004, b"\xc8\x00"), 300, address, key)
        tampered = good[:-1] + bytes(((good[-1] + 1) & 0xFF,))
        found.append(broken("MiBeacon MIC wrong", service_data={MIBEACON_UUID: tampered}))
    else:
        found.append(
            broken(
                "encrypted MiBeacon, no key",
                service_data={
                    MIBEACON_UUID: _MIBEACON_HEADER.pack(_V5_ENCRYPTED, 0x055B, 3)
                    + mac
                    + b"\x00" * 12
                },
            )
        )
    return tuple(found)


_CLIMATE = ("temperature", "humidity", "battery")

ATC1441 = Family(
    name="xiaomi_atc1441",
    integration="xiaomi",
    model="LYWSD03MMC (ATC1441 firmware)",
    quantities=_CLIMATE,
    encode_fn=encode_atc1441,
    broken_fn=broken_xiaomi,
    intervals=(2.5, 5.0, 10.0),
    repeats=(2, 4),
    sequence_modulus=256,
    ranges={"temperature": (-40.0, 60.0)},
    resolution={"temperature": 0.1, "humidity": 1, "battery": 1},
)
PVVX = Family(
    name="xiaomi_pvvx",
    integration="xiaomi",
    model="LYWSD03MMC (pvvx firmware)",
    quantities=_CLIMATE,
    encode_fn=encode_pvvx,
    broken_fn=broken_xiaomi,
    intervals=(2.5, 5.0, 10.0),
    repeats=(1, 2, 4),
    sequence_modulus=256,
    ranges={"temperature": (-40.0, 60.0)},
    resolution={"temperature": 0.01, "humidity": 0.01, "battery": 1},
)
LYWSDCGQ = Family(
    name="xiaomi_lywsdcgq",
    integration="xiaomi",
    model="LYWSDCGQ/01ZM",
    quantities=_CLIMATE,
    encode_fn=encode_lywsdcgq,
    broken_fn=broken_xiaomi,
    intervals=(2.0, 3.0, 5.0),
    repeats=(2, 3),
    sequence_modulus=256,
    ranges={"temperature": (-20.0, 60.0)},
    temperature_always=False,
    resolution={"temperature": 0.1, "humidity": 0.1, "battery": 1},
)
MIBEACON_CLEAR = Family(
    name="xiaomi_mibeacon",
    integration="xiaomi",
    model="LYWSD02MMC",
    quantities=_CLIMATE,
    encode_fn=encode_mibeacon_clear,
    broken_fn=broken_xiaomi,
    intervals=(3.0, 5.0, 10.0),
    repeats=(1, 2),
    sequence_modulus=256,
    ranges={"temperature": (-20.0, 60.0)},
    temperature_always=False,
    resolution={"temperature": 0.01, "humidity": 1, "battery": 1},
)
MIBEACON_ENCRYPTED = Family(
    name="xiaomi_mibeacon_encrypted",
    integration="xiaomi",
    model="LYWSD03MMC",
    quantities=_CLIMATE,
    encode_fn=encode_mibeacon_encrypted,
    broken_fn=broken_xiaomi,
    intervals=(3.0, 5.0, 10.0),
    repeats=(1, 2, 3),
    sequence_modulus=256,
    key_length=16,
    ranges={"temperature": (-20.0, 60.0)},
    temperature_always=False,
    resolution={"temperature": 0.1, "humidity": 0.1, "battery": 1},
)
