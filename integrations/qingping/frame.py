"""One Qingping frame: header, then the objects one after another.

Layout (service data 0xFDCD, after the UUID): frame control (1 byte), product id (1),
the device MAC (6, least significant byte first), then objects of id (1), size (1) and
`size` value bytes. Frame control bit 0x08 marks this layout; bits 0x10/0x20 are set in
the MiBeacon-style frames (MAC-included, capability bits) that some Qingping firmwares
broadcast, which carry no Qingping objects. Bit 0x40 marks an event frame. The MAC is
not checked against the sender: the CGDN1 sends its Wi-Fi MAC, one off from its BLE
address (ble_monitor #1170).
"""

from __future__ import annotations

from hub.integrations import Decoded, DecodeFailure
from integrations.qingping.models import MODELS
from integrations.qingping.objects import OBJECTS

HEADER_LENGTH = 8
_LAYOUT_BITS = 0x38  # bits that must read 0x08 for the object layout
_QINGPING_LAYOUT = 0x08
_EVENT_FRAME = 0x40
FORMAT = "qingping"


def decode(payload: bytes) -> Decoded | DecodeFailure:
    length = len(payload)
    if length < HEADER_LENGTH:
        return DecodeFailure(f"frame of {length} bytes is shorter than the 8-byte header")
    control = payload[0]
    if control & _LAYOUT_BITS != _QINGPING_LAYOUT:
        return DecodeFailure(f"frame control 0x{control:02X} is not a Qingping object frame")
    event = bool(control & _EVENT_FRAME)
    measurements: dict[str, float | int] = {}
    states: dict[str, bool] = {}
    sequence: int | None = None
    position = HEADER_LENGTH
    while position < length:
        start = position + 2
        if start > length:
            return DecodeFailure(f"object header at byte {position} is truncated")
        object_id = payload[position]
        size = payload[position + 1]
        position = start + size
        if position > length:
            return DecodeFailure(
                f"object 0x{object_id:02X} needs {size} bytes, {length - start} left"
            )
        known = OBJECTS.get(object_id)
        if known is None:
            continue  # an object we have no verified layout for
        expected, handler = known
        if size != expected:
            return DecodeFailure(f"object 0x{object_id:02X} has {size} bytes, expected {expected}")
        packet_id = handler(payload, start, measurements, states, event)
        if packet_id is not None:
            sequence = packet_id
    return Decoded(
        measurements=measurements,
        model=MODELS.get(payload[1]),
        format=FORMAT,
        sequence=sequence,
        states=states,
    )
