"""Dispatch a Blue Maestro payload on its version byte (the first byte)."""

from __future__ import annotations

from hub.events import Advertisement
from hub.integrations import DecodeContext, Decoded, DecodeFailure
from integrations.bluemaestro import legacy

BLUE_MAESTRO_COMPANY_ID = 0x0133

_UNSUPPORTED = {
    number: f"Blue Maestro version {number} (Disc Maxi, 0.01 resolution) is not supported"
    for number in (41, 42, 43)
}


def decode(adv: Advertisement, _context: DecodeContext) -> Decoded | DecodeFailure | None:
    payload = adv.manufacturer_data.get(BLUE_MAESTRO_COMPANY_ID)
    if payload is None:
        return None
    if not payload:
        return DecodeFailure("empty Blue Maestro payload")
    number = payload[0]
    if number in legacy.VERSIONS:
        return legacy.decode(payload)
    return DecodeFailure(_UNSUPPORTED.get(number, f"unknown Blue Maestro version {number}"))
