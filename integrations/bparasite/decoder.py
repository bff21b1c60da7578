"""Claim the 0x181A service data of a b-parasite, and leave every other 0x181A format alone.

0x181A (Environmental Sensing) is shared: the ATC1441 and pvvx thermometer firmwares use it
too (13 and 15 bytes, handled by another integration). A payload is ours when the device
calls itself "prst" (the firmware's default name), or when nothing is known about the name
but the payload has a b-parasite length (16, or 18 with illuminance) and a b-parasite
protocol version.
"""

from __future__ import annotations

from hub.events import Advertisement
from hub.integrations import DecodeContext, Decoded, DecodeFailure
from integrations.bparasite import protocol

ENVIRONMENTAL_SENSING_UUID = "0000181a-0000-1000-8000-00805f9b34fb"
DEFAULT_NAME = "prst"
_LENGTHS = frozenset((protocol.MIN_LENGTH, protocol.LUX_LENGTH))


def decode(adv: Advertisement, _context: DecodeContext) -> Decoded | DecodeFailure | None:
    payload = adv.service_data.get(ENVIRONMENTAL_SENSING_UUID)
    if payload is None:
        return None
    name = adv.name
    if not (name and name.startswith(DEFAULT_NAME)) and not (
        len(payload) in _LENGTHS and payload[0] >> 4 in protocol.VERSIONS
    ):
        return None
    return protocol.decode(payload)
