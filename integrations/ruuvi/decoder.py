"""Dispatch a Ruuvi payload to the decoder of its data format (the first byte)."""

from __future__ import annotations

from collections.abc import Callable

from hub.events import Advertisement
from hub.integrations import DecodeContext, Decoded, DecodeFailure
from integrations.ruuvi import df3, df5, df6, dfe1

RUUVI_COMPANY_ID = 0x0499

FORMAT_DECODERS: dict[int, Callable[[bytes], Decoded | DecodeFailure]] = {
    0x03: df3.decode,
    0x05: df5.decode,
    0x06: df6.decode,
    0xE1: dfe1.decode,
}
_KNOWN_UNSUPPORTED = {
    0x08: "data format 8 is encrypted; decrypting it is not supported",
}


def decode(adv: Advertisement, _context: DecodeContext) -> Decoded | DecodeFailure | None:
    payload = adv.manufacturer_data.get(RUUVI_COMPANY_ID)
    if payload is None:
        return None
    if not payload:
        return DecodeFailure("empty payload")
    data_format = payload[0]
    decoder = FORMAT_DECODERS.get(data_format)
    if decoder is None:
        reason = _KNOWN_UNSUPPORTED.get(data_format, f"unknown data format 0x{data_format:02X}")
        return DecodeFailure(reason)
    return decoder(payload)
