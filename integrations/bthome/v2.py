"""BTHome v2: service data 0xFCD2 = device info byte + objects (https://bthome.io/format/).

Device info byte: bit 0 encryption flag, bit 2 trigger-based device (irregular sending),
bits 5-7 the BTHome version (must be 2); the other bits are reserved. Then objects follow,
each an object id and a value whose length the id fixes (text, raw and command carry a
length byte). Because lengths are implied, an object id we do not know ends the packet: as
the specification asks, we stop there and keep what came before. Objects should be in
ascending id order; we do not insist on it.
"""

from __future__ import annotations

from hub.integrations import Decoded, DecodeFailure
from integrations.bthome import crypto
from integrations.bthome.events import COMMAND_ARGS_MASK, EVENT_PARSERS
from integrations.bthome.ints import UNPACKERS, Unpack, read_int
from integrations.bthome.objects import OBJECTS, Kind
from integrations.bthome.result import Collector, finish

ENCRYPTED_FLAG = 0x01
TRIGGER_BASED_FLAG = 0x04
VERSION_SHIFT = 5
VERSION = 2

_SENSOR, _PACKET_ID, _BINARY, _EVENT, _DEVICE_TYPE, _VARIABLE = (
    Kind.SENSOR,
    Kind.PACKET_ID,
    Kind.BINARY,
    Kind.EVENT,
    Kind.DEVICE_TYPE,
    Kind.VARIABLE,
)

# Object id -> the row as a plain tuple (kind, size, name, signed, unpack, divisor,
# multiplier, decimals), built once: unpacking a tuple is cheaper than attribute lookups
# in a loop that runs for every object of every advertisement.
_Row = tuple[Kind, int, str, bool, Unpack | None, int, float | None, int]
_ROWS: dict[int, _Row] = {
    oid: (
        spec.kind,
        spec.size,
        spec.name,
        spec.signed,
        UNPACKERS.get((spec.size, spec.signed)),
        spec.divisor,
        spec.multiplier,
        spec.decimals,
    )
    for oid, spec in OBJECTS.items()
}


def decode(payload: bytes, address: str, key: bytes | None) -> Decoded | DecodeFailure:
    if not payload:
        return DecodeFailure("empty BTHome v2 payload")
    info = payload[0]
    version = info >> VERSION_SHIFT
    if version != VERSION:
        return DecodeFailure(f"BTHome version {version} in v2 service data")
    found = Collector()
    if info & ENCRYPTED_FLAG:
        opened = crypto.decrypt(
            payload[1:], address, key, crypto.V2_UUID_LE + payload[:1], associated_data=None
        )
        if isinstance(opened, DecodeFailure):
            return opened
        plaintext, counter = opened
        return finish(found, parse_objects(plaintext, 0, found), "v2-encrypted", counter)
    if key is not None:
        # The spec warns that anyone can send plain packets with a copied address; a
        # device we hold a bindkey for must encrypt, so a plain one is not trusted.
        return DecodeFailure("unencrypted packet from a device with a bindkey; ignored")
    return finish(found, parse_objects(payload, 1, found), "v2")


def parse_objects(data: bytes, pos: int, found: Collector) -> str | None:
    """Decode the objects of `data` from `pos` into `found`; why it stopped early, or None."""
    end = len(data)
    rows = _ROWS
    values = found.values
    while pos < end:
        object_id = data[pos]
        row = rows.get(object_id)
        if row is None:
            return f"unknown object id 0x{object_id:02X}"
        kind, size, name, signed, unpack, divisor, multiplier, decimals = row
        pos += 1
        if size == 0:  # variable length: text/raw give a length byte, command an args length
            if pos >= end:
                return f"object 0x{object_id:02X} truncated"
            size = 1 + data[pos] if kind is _VARIABLE else 2 + (data[pos] & COMMAND_ARGS_MASK)
        if pos + size > end:
            return f"object 0x{object_id:02X} truncated"
        # Ordered by how often each kind occurs: sensors dominate real traffic.
        if kind is _SENSOR:
            if unpack is not None:
                raw = unpack(data, pos)[0]
            else:
                raw = int.from_bytes(data[pos : pos + size], "little", signed=signed)
            if multiplier is not None:
                values.append((name, round(raw * multiplier, decimals)))
            elif divisor != 1:
                values.append((name, raw / divisor))
            else:
                values.append((name, raw))
        elif kind is _PACKET_ID:
            if found.sequence is None:
                found.sequence = data[pos]
        elif kind is _BINARY:
            found.states.append((name, data[pos] != 0))
        elif kind is _EVENT:
            found.events.append((name, EVENT_PARSERS[name](data, pos, size)))
        elif kind is _DEVICE_TYPE and found.device_type is None:
            found.device_type = read_int(data, pos, size, signed)
        # Kind.IGNORED and Kind.VARIABLE: nothing to report, the length is all we need.
        pos += size
    return None
