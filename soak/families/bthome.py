"""BTHome v2 (service data 0xFCD2): clear with a packet id, and AES-CCM encrypted.

Objects in ascending id order: packet id 0x00 (uint8), battery 0x01 (uint8 %),
temperature 0x02 (sint16, 0.01 °C), humidity 0x03 (uint16, 0.01 %). Encrypted: the device
info byte has bit 0 set, the objects are the ciphertext, followed by a 4-byte counter and
a 4-byte MIC; nonce = MAC + UUID (D2 FC) + info byte + counter. Without a packet id the
hub uses the encryption counter as the sequence.
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
    short_id,
    steps,
)

UUID = "0000fcd2-0000-1000-8000-00805f9b34fb"
_CLEAR_INFO = 0x40  # version 2
_ENCRYPTED_INFO = 0x41
# info byte, then 00 packet id, 01 battery, 02 temperature, 03 humidity
_CLEAR = struct.Struct("<BBBBBBhBH")
_PLAIN_OBJECTS = struct.Struct("<BBBhBH")  # 01 battery, 02 temperature, 03 humidity
_COUNTER = struct.Struct("<I")


@lru_cache(maxsize=256)
def _cipher(key: bytes) -> AESCCM:
    return AESCCM(key, tag_length=4)


def _objects(values: Values) -> tuple[int, int, int, Measurements]:
    battery = steps(values["battery"], 1, 0, 100)
    temperature = steps(values["temperature"], 0.01, -32768, 32767)
    humidity = steps(values["humidity"], 0.01, 0, 10000)
    m: Measurements = {
        "battery": battery,
        "temperature": temperature / 100,
        "humidity": humidity / 100,
    }
    return battery, temperature, humidity, m


def encode_clear(
    values: Values, counter: int, address: str, _key: bytes | None
) -> AdvertisementRecordFields:
    battery, temperature, humidity, m = _objects(values)
    packet_id = counter & 0xFF
    payload = _CLEAR.pack(
        _CLEAR_INFO, 0x00, packet_id, 0x01, battery, 0x02, temperature, 0x03, humidity
    )
    return fields(
        m,
        name=f"SBHT-{short_id(address)}",
        service_data={UUID: payload},
        sequence=packet_id,
    )


def encrypt(plain: bytes, counter: int, address: str, key: bytes) -> bytes:
    """The encrypted v2 service data for the objects `plain`."""
    counter_bytes = _COUNTER.pack(counter & 0xFFFFFFFF)
    info = bytes((_ENCRYPTED_INFO,))
    nonce = mac_bytes(address) + b"\xd2\xfc" + info + counter_bytes
    sealed = _cipher(key).encrypt(nonce, plain, None)  # ciphertext + 4-byte MIC
    return info + sealed[:-4] + counter_bytes + sealed[-4:]


def encode_encrypted(
    values: Values, counter: int, address: str, key: bytes | None
) -> AdvertisementRecordFields:
    assert key is not None, "an encrypted BTHome device needs its bindkey"
    battery, temperature, humidity, m = _objects(values)
    plain = _PLAIN_OBJECTS.pack(0x01, battery, 0x02, temperature, 0x03, humidity)
    sequence = counter & 0xFFFFFFFF
    return fields(
        m,
        name=f"SBHT-{short_id(address)}",
        service_data={UUID: encrypt(plain, sequence, address, key)},
        sequence=sequence,
    )


def broken_bthome(address: str, key: bytes | None) -> tuple[AdvertisementRecordFields, ...]:
    found = [
        broken("empty payload", service_data={UUID: b""}),
        broken("BTHome version 0", service_data={UUID: b"\x00\x02\x10\x09"}),
        broken("unknown object id first", service_data={UUID: b"\x40\xfe\x01\x02"}),
        broken("object truncated", service_data={UUID: b"\x40\x02\x10"}),
        broken("encrypted, too short", service_data={UUID: b"\x41\x01\x02\x03"}),
    ]
    if key is not None:
        good = encode_encrypted(
            {"battery": 50.0, "temperature": 20.0, "humidity": 50.0}, 7, address, key
        ).service_data[UUID]
        tampered = good[:-1] + bytes(((good[-1] + 1) & 0xFF,))
        found.append(broken("encrypted, MIC wrong", service_data={UUID: tampered}))
        found.append(
            broken("clear packet from a device with a key", service_data={UUID: b"\x40\x01\x32"})
        )
    else:
        found.append(
            broken("encrypted with no key configured", service_data={UUID: b"\x41" + b"\x00" * 12})
        )
    return tuple(found)


_QUANTITIES = ("battery", "temperature", "humidity")

CLEAR = Family(
    name="bthome",
    integration="bthome",
    model="BTHome device",
    quantities=_QUANTITIES,
    encode_fn=encode_clear,
    broken_fn=broken_bthome,
    intervals=(3.0, 5.0, 10.0, 30.0, 60.0),
    repeats=(1, 2, 3),
    sequence_modulus=256,
    ranges={"temperature": (-40.0, 85.0)},
    resolution={"temperature": 0.01, "humidity": 0.01, "battery": 1},
)
ENCRYPTED = Family(
    name="bthome_encrypted",
    integration="bthome",
    model="BTHome device",
    quantities=_QUANTITIES,
    encode_fn=encode_encrypted,
    broken_fn=broken_bthome,
    intervals=(5.0, 10.0, 30.0, 60.0),
    repeats=(1, 2),
    sequence_modulus=2**32,
    key_length=16,
    ranges={"temperature": (-40.0, 85.0)},
    resolution={"temperature": 0.01, "humidity": 0.01, "battery": 1},
)
