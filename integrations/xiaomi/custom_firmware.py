"""The custom firmware formats on service data 0x181A, told apart by their length.

- ATC1441, 13 bytes, big-endian (atc1441/ATC_MiThermometer README): MAC (6, highest byte
  first), temperature int16 0.1 °C, humidity uint8 %, battery uint8 %, battery uint16 mV,
  frame counter uint8.
- pvvx "custom", 15 bytes, little-endian (pvvx/ATC_MiThermometer README, "Custom format"):
  MAC (6, lowest byte first), temperature int16 0.01 °C, humidity uint16 0.01 %, battery
  uint16 mV, battery uint8 %, measurement counter uint8, flags uint8.
- pvvx encrypted, 11 bytes, and ATC1441 encrypted, 8 bytes (pvvx issue #94 and
  src/custom_beacon.h): counter uint8, then AES-CCM ciphertext and a 4-byte MIC. Plain
  text: pvvx = temperature int16 0.01 °C, humidity uint16 0.01 %, battery %, flags;
  ATC1441 = temperature uint8 (0.5 °C steps from -40 °C), humidity uint8 (0.5 %),
  battery % in bits 0-6 with the "trigger on" flag in bit 7.

0x181A is the generic Environmental Sensing UUID, so a payload of any other length is
not ours (None): another integration may own it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from types import MappingProxyType

from hub.integrations import Decoded, DecodeFailure
from integrations.xiaomi import crypto

_ATC1441 = struct.Struct(">6xhBBHB")
_PVVX = struct.Struct("<6xhHHBBB")
_PVVX_PLAIN = struct.Struct("<hHBB")

# pvvx flags byte (README "Custom format"): bit 0 reed switch input, bit 1 GPIO_TRG output
# value, bit 2 GPIO_TRG driven by the thresholds ("trigger on"), bit 3 temperature
# trigger event, bit 4 humidity trigger event. One shared, read-only mapping per value.
_FLAG_NAMES = (
    "reed_switch",
    "trigger_output",
    "trigger_enabled",
    "temperature_trigger",
    "humidity_trigger",
)
_FLAG_STATES: tuple[Mapping[str, bool], ...] = tuple(
    MappingProxyType({name: bool(flags >> bit & 1) for bit, name in enumerate(_FLAG_NAMES)})
    for flags in range(32)
)
_TRIGGER_ENABLED_STATES: tuple[Mapping[str, bool], ...] = (
    MappingProxyType({"trigger_enabled": False}),
    MappingProxyType({"trigger_enabled": True}),
)

# The nonce of the encrypted formats repeats the advertising-data header: AD length
# (service data + 3), AD type 0x16, UUID 0x181A little-endian.
_PVVX_ENCRYPTED_HEADER = b"\x0e\x16\x1a\x18"
_ATC1441_ENCRYPTED_HEADER = b"\x0b\x16\x1a\x18"

_FORMAT_ATC1441 = "atc1441"
_FORMAT_PVVX = "pvvx"
_FORMAT_ATC1441_ENCRYPTED = "atc1441_encrypted"
_FORMAT_PVVX_ENCRYPTED = "pvvx_encrypted"

Result = Decoded | DecodeFailure


def _atc1441(payload: bytes, _address: str, _keys: Mapping[str, bytes]) -> Result:
    temperature, humidity, battery, millivolts, counter = _ATC1441.unpack(payload)
    m: dict[str, float | int] = {"temperature": temperature / 10, "humidity": humidity}
    if battery <= 100:
        m["battery"] = battery
    m["voltage"] = millivolts / 1000
    return Decoded(measurements=m, format=_FORMAT_ATC1441, sequence=counter)


def _pvvx(payload: bytes, _address: str, _keys: Mapping[str, bytes]) -> Result:
    temperature, humidity, millivolts, battery, counter, flags = _PVVX.unpack(payload)
    m: dict[str, float | int] = {"temperature": temperature / 100, "humidity": humidity / 100}
    if battery <= 100:
        m["battery"] = battery
    m["voltage"] = millivolts / 1000
    return Decoded(
        measurements=m, format=_FORMAT_PVVX, sequence=counter, states=_FLAG_STATES[flags & 0x1F]
    )


def _decrypt(
    payload: bytes, address: str, keys: Mapping[str, bytes], header: bytes
) -> bytes | DecodeFailure:
    key = keys.get(address)
    if key is None:
        return crypto.NO_KEY
    if len(key) != crypto.KEY_LENGTH:
        return crypto.wrong_key_length(key, "16")
    mac = crypto.mac_little_endian(address)
    if mac is None:
        return crypto.NOT_A_MAC
    # nonce: MAC (lowest byte first), advertising-data header, counter
    plain = crypto.decrypt(key, mac + header + payload[:1], payload[1:])
    return crypto.WRONG_KEY if plain is None else plain


def _pvvx_encrypted(payload: bytes, address: str, keys: Mapping[str, bytes]) -> Result:
    plain = _decrypt(payload, address, keys, _PVVX_ENCRYPTED_HEADER)
    if isinstance(plain, DecodeFailure):
        return plain
    temperature, humidity, battery, flags = _PVVX_PLAIN.unpack(plain)
    m: dict[str, float | int] = {"temperature": temperature / 100, "humidity": humidity / 100}
    if battery <= 100:
        m["battery"] = battery
    return Decoded(
        measurements=m,
        format=_FORMAT_PVVX_ENCRYPTED,
        sequence=payload[0],
        states=_FLAG_STATES[flags & 0x1F],
    )


def _atc1441_encrypted(payload: bytes, address: str, keys: Mapping[str, bytes]) -> Result:
    plain = _decrypt(payload, address, keys, _ATC1441_ENCRYPTED_HEADER)
    if isinstance(plain, DecodeFailure):
        return plain
    temperature, humidity, battery = plain
    m: dict[str, float | int] = {"temperature": temperature / 2 - 40, "humidity": humidity / 2}
    level = battery & 0x7F
    if level <= 100:
        m["battery"] = level
    return Decoded(
        measurements=m,
        format=_FORMAT_ATC1441_ENCRYPTED,
        sequence=payload[0],
        states=_TRIGGER_ENABLED_STATES[battery >> 7],
    )


FormatDecoder = Callable[[bytes, str, Mapping[str, bytes]], Result]

BY_LENGTH: dict[int, FormatDecoder] = {
    13: _atc1441,
    15: _pvvx,
    11: _pvvx_encrypted,
    8: _atc1441_encrypted,
}


def decode(payload: bytes, address: str, keys: Mapping[str, bytes]) -> Result | None:
    decoder = BY_LENGTH.get(len(payload))
    return None if decoder is None else decoder(payload, address, keys)
