"""Encrypted BTHome packets (AES-CCM), https://bthome.io/encryption/.

The v2 vector is the worked example of that page: key 231d39c1d7cc1ab1aee224cd096db932,
MAC 54:48:E6:8F:80:A5, counter 0x00112233 (bytes 33 22 11 00), plaintext 02CA09 03BF13,
service data d2fc 41 e445f3c9962b 33221100 6c7c4519 (bleak gives it without the UUID).

The v1 vector is the encrypted-v1 example of bthome-ble's test suite (tests/test_parser_v1.py,
"test_bindkey_correct"), the library whose v1 encryption script bthome.io/v1 links as the
v1 encryption documentation: same key and MAC, counter bytes 00 11 22 33, plaintext
2302CA09 0303BF13, service data 0x181E = fba435e4d3c312fb 00112233 57d90a99.
"""

from __future__ import annotations

import pytest

from hub.integrations import DecodeFailure
from integrations.bthome.tests.helpers import (
    SPEC_KEY,
    SPEC_MAC,
    V1,
    V1_ENCRYPTED,
    decoded,
    encrypt_v1,
    encrypt_v2,
    run,
)

SPEC_V2_PACKET = "41 e445f3c9962b 33221100 6c7c4519"
SPEC_V1_PACKET = "fba435e4d3c312fb 00112233 57d90a99"
KEYS = {SPEC_MAC: SPEC_KEY}
WRONG_KEYS = {SPEC_MAC: bytes.fromhex("814aac74c4f17b6c1581e1ab87816b99")}


def test_v2_official_example_decrypts() -> None:
    result = decoded(SPEC_V2_PACKET, keys=KEYS)
    assert result.measurements == {"temperature": 25.06, "humidity": 50.55}
    assert result.format == "v2-encrypted"
    assert result.model == "BTHome device"
    # No packet id object inside: the encryption counter (1122867) counts advertisements.
    assert result.sequence == 0x00112233


def test_v2_wrong_key() -> None:
    assert run(SPEC_V2_PACKET, keys=WRONG_KEYS) == DecodeFailure(
        "decryption failed: wrong bindkey?"
    )


def test_v2_no_key() -> None:
    assert run(SPEC_V2_PACKET) == DecodeFailure("encrypted; no bindkey configured for this device")
    other_device = {"11:22:33:44:55:66": SPEC_KEY}
    assert run(SPEC_V2_PACKET, keys=other_device) == DecodeFailure(
        "encrypted; no bindkey configured for this device"
    )


def test_v2_the_nonce_uses_the_senders_mac() -> None:
    result = run(SPEC_V2_PACKET, address="54:48:E6:8F:80:A6", keys={"54:48:E6:8F:80:A6": SPEC_KEY})
    assert result == DecodeFailure("decryption failed: wrong bindkey?")


@pytest.mark.parametrize("position", range(1, 15))
def test_v2_any_tampered_byte_is_rejected_not_decoded(position: int) -> None:
    data = bytearray(bytes.fromhex(SPEC_V2_PACKET.replace(" ", "")))
    data[position] ^= 0x01
    assert run(bytes(data), keys=KEYS) == DecodeFailure("decryption failed: wrong bindkey?")


def test_v2_tampered_device_info_byte_is_rejected() -> None:
    # The info byte is part of the nonce: 0x45 (trigger-based) instead of 0x41.
    data = bytes.fromhex("45" + SPEC_V2_PACKET.replace(" ", "")[2:])
    assert run(data, keys=KEYS) == DecodeFailure("decryption failed: wrong bindkey?")


def test_v2_packet_id_inside_the_encrypted_payload_is_the_sequence() -> None:
    packet = encrypt_v2(bytes.fromhex("0007 02CA09 2101"), counter=99)
    result = decoded(packet, keys=KEYS)
    assert result.sequence == 7
    assert result.measurements == {"temperature": 25.06}
    assert result.states == {"motion": True}


def test_v2_encrypted_unknown_object_id() -> None:
    assert run(encrypt_v2(bytes.fromhex("7F01")), keys=KEYS) == DecodeFailure(
        "unknown object id 0x7F"
    )


@pytest.mark.parametrize(
    ("packet", "reason"),
    [
        ("41 332211006c7c45", "encrypted payload too short (7 bytes after the header)"),
        ("41", "encrypted payload too short (0 bytes after the header)"),
    ],
)
def test_v2_truncated_encrypted_payload(packet: str, reason: str) -> None:
    assert run(packet, keys=KEYS) == DecodeFailure(reason)


def test_bindkey_of_the_wrong_length() -> None:
    short = {SPEC_MAC: SPEC_KEY[:15]}
    assert run(SPEC_V2_PACKET, keys=short) == DecodeFailure("bindkey must be 16 bytes, got 15")
    assert run(SPEC_V1_PACKET, V1_ENCRYPTED, keys=short) == DecodeFailure(
        "bindkey must be 16 bytes, got 15"
    )


def test_an_address_that_is_not_a_mac_cannot_be_decrypted() -> None:
    address = "2F1C3B7A-0E5D-4C6B-9A8F-1E2D3C4B5A69"  # what CoreBluetooth reports on macOS
    assert run(SPEC_V2_PACKET, address=address, keys={address: SPEC_KEY}) == DecodeFailure(
        "encrypted; the device address is not a MAC, so no nonce can be built"
    )


def test_plain_packets_from_a_device_with_a_bindkey_are_refused() -> None:
    # bthome.io/encryption warns that anyone can send plain packets under a copied address.
    reason = DecodeFailure("unencrypted packet from a device with a bindkey; ignored")
    assert run("4002CA09", keys=KEYS) == reason
    assert run("2302CA09", V1, keys=KEYS) == reason


def test_v1_official_example_decrypts() -> None:
    result = decoded(SPEC_V1_PACKET, V1_ENCRYPTED, keys=KEYS)
    assert result.measurements == {"temperature": 25.06, "humidity": 50.55}
    assert result.format == "v1-encrypted"
    assert result.sequence == int.from_bytes(bytes.fromhex("00112233"), "little")


def test_v1_wrong_key_and_no_key() -> None:
    assert run(SPEC_V1_PACKET, V1_ENCRYPTED, keys=WRONG_KEYS) == DecodeFailure(
        "decryption failed: wrong bindkey?"
    )
    assert run(SPEC_V1_PACKET, V1_ENCRYPTED) == DecodeFailure(
        "encrypted; no bindkey configured for this device"
    )
    assert run("", V1_ENCRYPTED, keys=KEYS) == DecodeFailure("empty BTHome v1 payload")


def test_v1_needs_the_associated_data_byte() -> None:
    # Our helper reproduces the official vector, so it is a faithful v1 encoder.
    plaintext = bytes.fromhex("2302CA090303BF13")
    expected = bytes.fromhex(SPEC_V1_PACKET.replace(" ", ""))
    assert encrypt_v1(plaintext, counter=int.from_bytes(bytes.fromhex("00112233"), "little")) == (
        expected
    )


def test_the_v2_helper_reproduces_the_official_vector() -> None:
    plaintext = bytes.fromhex("02CA0903BF13")
    assert encrypt_v2(plaintext, counter=0x00112233) == bytes.fromhex(
        SPEC_V2_PACKET.replace(" ", "")
    )
