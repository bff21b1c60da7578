"""Shared helpers for the BTHome tests: build advertisements, run the decoder, encrypt."""

from __future__ import annotations

from collections.abc import Mapping

from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from hub.integrations import Decoded, DecodeFailure
from hub.testing import advertisement, decode
from integrations.bthome import INTEGRATION

V2, V1, V1_ENCRYPTED = 0xFCD2, 0x181C, 0x181E

# The example device of https://bthome.io/encryption/ (key, MAC).
SPEC_KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
SPEC_MAC = "54:48:E6:8F:80:A5"


def run(
    payload: str | bytes,
    uuid: int = V2,
    *,
    address: str = SPEC_MAC,
    keys: Mapping[str, bytes] | None = None,
) -> Decoded | DecodeFailure | None:
    data = bytes.fromhex(payload.replace(" ", "")) if isinstance(payload, str) else payload
    adv = advertisement(address, service_data={uuid: data})
    return decode(INTEGRATION, adv, keys)


def decoded(
    payload: str | bytes,
    uuid: int = V2,
    *,
    address: str = SPEC_MAC,
    keys: Mapping[str, bytes] | None = None,
) -> Decoded:
    result = run(payload, uuid, address=address, keys=keys)
    assert isinstance(result, Decoded), result
    return result


def encrypt_v2(
    objects: bytes, key: bytes = SPEC_KEY, mac: str = SPEC_MAC, counter: int = 1, info: int = 0x41
) -> bytes:
    """Service data of an encrypted v2 packet, built as bthome.io/encryption describes."""
    counter_bytes = counter.to_bytes(4, "little")
    nonce = bytes.fromhex(mac.replace(":", "")) + b"\xd2\xfc" + bytes([info]) + counter_bytes
    sealed = AESCCM(key, tag_length=4).encrypt(nonce, objects, None)
    return bytes([info]) + sealed[:-4] + counter_bytes + sealed[-4:]


def encrypt_v1(
    objects: bytes, key: bytes = SPEC_KEY, mac: str = SPEC_MAC, counter: int = 1
) -> bytes:
    """Service data (without the UUID) of an encrypted v1 packet (0x181E)."""
    counter_bytes = counter.to_bytes(4, "little")
    nonce = bytes.fromhex(mac.replace(":", "")) + b"\x1e\x18" + counter_bytes
    sealed = AESCCM(key, tag_length=4).encrypt(nonce, objects, b"\x11")
    return sealed[:-4] + counter_bytes + sealed[-4:]
