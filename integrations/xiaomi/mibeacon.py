"""MiBeacon frames (service data 0xFE95), versions 2 to 5, clear or encrypted.

Layout (Xiaomi "MiBeacon协议", all little-endian): frame control (2), product id (2),
frame counter (1), MAC (6, if control bit 4, lowest byte first), capability (1, if bit 5;
two I/O-capability bytes follow when capability bit 5 is set), objects (if bit 6).
Encrypted frames (bit 3) end in a 3-byte extension of the frame counter and a 4-byte MIC
(v4/v5), or in 3 counter bytes and a 1-byte check (v2/v3). Version: bits 12-15.

A device sends one quantity per frame (temperature, then humidity, then battery), so a
reading holds what its frame holds. A valid frame with no measurement in it (capability
only, or a button or lock object) is a reading with no measurements and no sequence: the
core then counts the sensor as seen without storing anything, and the counter of such a
frame is not remembered as a measurement that could hide a later one.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

from hub.integrations import Decoded, DecodeFailure
from integrations.xiaomi import crypto, objects
from integrations.xiaomi.products import model_of

_HEADER = struct.Struct("<HHB")

_ENCRYPTED = 0x0008
_MAC_INCLUDED = 0x0010
_CAPABILITY_INCLUDED = 0x0020
_OBJECT_INCLUDED = 0x0040
_MESH = 0x0080
_IO_CAPABILITY = 0x20  # in the capability byte: two I/O-capability bytes follow

# version -> (format name clear, format name encrypted)
_FORMATS: dict[int, tuple[str, str]] = {
    version: (f"mibeacon_v{version}", f"mibeacon_v{version}_encrypted") for version in (2, 3, 4, 5)
}

_UNSUPPORTED_VERSION = {
    version: DecodeFailure(f"MiBeacon version {version} is not supported")
    for version in range(16)
    if version not in _FORMATS
}
_TOO_SHORT = DecodeFailure("MiBeacon frame is shorter than its 5-byte header")
_MESH_FRAME = DecodeFailure("MiBeacon mesh frames are not supported")
_TRUNCATED_MAC = DecodeFailure("MiBeacon frame is truncated in its MAC address")
_TRUNCATED_CAPABILITY = DecodeFailure("MiBeacon frame is truncated in its capability")
_TRUNCATED_ENCRYPTED = DecodeFailure("encrypted MiBeacon frame is too short")


def decode(payload: bytes, address: str, keys: Mapping[str, bytes]) -> Decoded | DecodeFailure:
    size = len(payload)
    if size < 5:
        return _TOO_SHORT
    control, product, counter = _HEADER.unpack_from(payload)
    version = control >> 12
    formats = _FORMATS.get(version)
    if formats is None:
        return _UNSUPPORTED_VERSION[version]
    if control & _MESH:
        return _MESH_FRAME
    at = 5
    mac: bytes | None = None
    if control & _MAC_INCLUDED:
        at = 11
        if size < at:
            return _TRUNCATED_MAC
        mac = payload[5:11]
    if control & _CAPABILITY_INCLUDED:
        if size <= at:
            return _TRUNCATED_CAPABILITY
        capability = payload[at]
        at += 3 if capability & _IO_CAPABILITY else 1
        if size < at:
            return _TRUNCATED_CAPABILITY
    encrypted = control & _ENCRYPTED
    model = model_of(product)
    data_format = formats[1] if encrypted else formats[0]
    if not control & _OBJECT_INCLUDED:
        return Decoded(measurements={}, model=model, format=data_format)
    if encrypted:
        key = keys.get(address)
        if key is None:
            return crypto.NO_KEY
        if mac is None:
            mac = crypto.mac_little_endian(address)
            if mac is None:
                return crypto.NOT_A_MAC
        if version >= 4:
            plain = _decrypt_v4_v5(payload, at, mac, key)
        else:
            plain = _decrypt_v2_v3(payload, at, mac, key)
        if isinstance(plain, DecodeFailure):
            return plain
    else:
        plain = payload[at:]
    measured = objects.parse(plain, objects.TABLES.get(product, objects.OBJECTS))
    if isinstance(measured, DecodeFailure):
        return measured
    return Decoded(
        measurements=measured,
        model=model,
        format=data_format,
        sequence=counter if measured else None,
    )


def _decrypt_v4_v5(payload: bytes, at: int, mac: bytes, key: bytes) -> bytes | DecodeFailure:
    # objects (>= 3 bytes: id + length) | counter extension (3) | MIC (4)
    if len(payload) < at + 10:
        return _TRUNCATED_ENCRYPTED
    if len(key) != crypto.KEY_LENGTH:
        return crypto.wrong_key_length(key, "16 (MiBeacon v4/v5)")
    # nonce: MAC (lowest byte first), product id, frame counter, counter extension
    nonce = mac + payload[2:5] + payload[-7:-4]
    plain = crypto.decrypt(key, nonce, payload[at:-7] + payload[-4:])
    return crypto.WRONG_KEY if plain is None else plain


def _decrypt_v2_v3(payload: bytes, at: int, mac: bytes, key: bytes) -> bytes | DecodeFailure:
    # objects (>= 3 bytes) | counter extension (3) | first byte of the CCM tag (1)
    if len(payload) < at + 7:
        return _TRUNCATED_ENCRYPTED
    aes_key = crypto.legacy_key(key)
    if aes_key is None:
        return crypto.wrong_key_length(key, "12 (MiBeacon v2/v3)")
    # nonce: frame control, product id, frame counter, counter extension, first 5 MAC bytes
    nonce = payload[:5] + payload[-4:-1] + mac[:5]
    plain = crypto.decrypt_legacy(aes_key, nonce, payload[at:-4], payload[-1])
    return crypto.WRONG_KEY if plain is None else plain
