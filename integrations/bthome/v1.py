"""BTHome v1 (legacy): service data 0x181C (plain) or 0x181E (encrypted), https://bthome.io/v1/.

There is no device info byte. Each object starts with a header byte: bits 0-4 the object
length (the object id plus the value bytes), bits 5-7 the value format (0 unsigned int,
1 signed int, 2 IEEE float of 2, 4 or 8 bytes, 3 string, 4 MAC address). The object ids and
factors are those of v2 (objects.py); the value length comes from the header, not from
the table. Since every object states its length, an object we cannot use (unknown id,
string, MAC, reserved format) is skipped and parsing goes on; only a malformed length
ends the packet.
"""

from __future__ import annotations

import math
import struct

from hub.integrations import Decoded, DecodeFailure
from integrations.bthome import crypto
from integrations.bthome.events import EVENT_PARSERS
from integrations.bthome.objects import OBJECTS, Kind
from integrations.bthome.result import Collector, finish

LENGTH_MASK = 0x1F
FORMAT_SHIFT = 5
FORMAT_UINT, FORMAT_SINT, FORMAT_FLOAT = 0, 1, 2
MAX_INT_BYTES = 8
_FLOATS = {2: struct.Struct("<e").unpack_from, 4: struct.Struct("<f").unpack_from}
_FLOATS[8] = struct.Struct("<d").unpack_from


def decode(payload: bytes, _address: str, key: bytes | None) -> Decoded | DecodeFailure:
    if not payload:
        return DecodeFailure("empty BTHome v1 payload")
    if key is not None:
        # As in v2: a device we hold a bindkey for must encrypt (spoofing protection).
        return DecodeFailure("unencrypted packet from a device with a bindkey; ignored")
    found = Collector()
    return finish(found, parse_objects(payload, found), "v1")


def decode_encrypted(payload: bytes, address: str, key: bytes | None) -> Decoded | DecodeFailure:
    if not payload:
        return DecodeFailure("empty BTHome v1 payload")
    opened = crypto.decrypt(
        payload, address, key, crypto.V1_UUID_LE, associated_data=crypto.V1_ASSOCIATED_DATA
    )
    if isinstance(opened, DecodeFailure):
        return opened
    plaintext, counter = opened
    found = Collector()
    return finish(found, parse_objects(plaintext, found), "v1-encrypted", counter)


def parse_objects(data: bytes, found: Collector) -> str | None:
    """Decode every v1 object of `data` into `found`; why it stopped early, or None."""
    pos = 0
    end = len(data)
    while pos < end:
        header = data[pos]
        length = header & LENGTH_MASK
        if length == 0:
            return f"object at byte {pos} has length 0"
        if pos + 1 + length > end:
            return f"object at byte {pos} truncated"
        spec = OBJECTS.get(data[pos + 1])
        start, size = pos + 2, length - 1
        pos += 1 + length
        if spec is None or size == 0:
            continue
        fmt = header >> FORMAT_SHIFT
        kind = spec.kind
        if kind is Kind.SENSOR:
            value = _number(data, start, size, fmt, spec.factor, spec.decimals)
            if value is not None:
                found.values.append((spec.name, value))
        elif fmt > FORMAT_SINT:
            continue  # strings, MACs, reserved formats carry no state, event or counter
        elif kind is Kind.BINARY:
            found.states.append((spec.name, any(data[start : start + size])))
        elif kind is Kind.EVENT:
            found.events.append((spec.name, EVENT_PARSERS[spec.name](data, start, size)))
        elif kind is Kind.PACKET_ID:
            if found.sequence is None:
                found.sequence = data[start]
        elif kind is Kind.DEVICE_TYPE and found.device_type is None and size <= MAX_INT_BYTES:
            found.device_type = int.from_bytes(data[start : start + size], "little")
    return None


def _number(
    data: bytes, start: int, size: int, fmt: int, factor: float, decimals: int
) -> float | int | None:
    """The value scaled by the object's factor, or None if its format gives no number."""
    if fmt in (FORMAT_UINT, FORMAT_SINT):
        if size > MAX_INT_BYTES:
            return None
        raw = int.from_bytes(data[start : start + size], "little", signed=fmt == FORMAT_SINT)
        if factor == 1:
            return raw
        return round(raw * factor, decimals)
    if fmt == FORMAT_FLOAT:
        unpack = _FLOATS.get(size)
        if unpack is None:
            return None
        number = float(unpack(data, start)[0])
        if not math.isfinite(number):
            return None  # inf/NaN: the device has no valid value
        return number if factor == 1 else round(number * factor, decimals)
    return None
