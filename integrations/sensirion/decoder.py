"""Dispatch a Sensirion advertisement sample on its first two bytes (advertisement type and
sample type) and convert its fields."""

from __future__ import annotations

from hub.events import Advertisement
from hub.integrations import DecodeContext, Decoded, DecodeFailure
from integrations.sensirion.samples import FIELDS_AT, SAMPLE_TYPES

SENSIRION_COMPANY_ID = 0x06D5
_SAMPLE_AD_TYPE = 0x00
_NO_DATA = (0xFF, 0x00)  # SHT43 demo board with advertisement samples switched off


def decode(adv: Advertisement, _context: DecodeContext) -> Decoded | DecodeFailure | None:
    payload = adv.manufacturer_data.get(SENSIRION_COMPANY_ID)
    if payload is None:
        return None
    if len(payload) < 2:
        return DecodeFailure(f"Sensirion payload of {len(payload)} bytes has no sample type")
    ad_type, sample_type = payload[0], payload[1]
    sample = SAMPLE_TYPES.get(sample_type) if ad_type == _SAMPLE_AD_TYPE else None
    if sample is None:
        if (ad_type, sample_type) == _NO_DATA:
            return DecodeFailure("advertisement samples are switched off on this SHT43 board")
        return DecodeFailure(
            f"unknown Sensirion advertisement type 0x{ad_type:02X} sample type 0x{sample_type:02X}"
        )
    if len(payload) < sample.length:
        return DecodeFailure(
            f"Sensirion sample type 0x{sample_type:02X} needs {sample.length} bytes, "
            f"got {len(payload)}"
        )
    raws = sample.layout.unpack_from(payload, FIELDS_AT)
    m: dict[str, float | int] = {
        name: convert(raw) for (name, convert), raw in zip(sample.fields, raws, strict=True)
    }
    return Decoded(measurements=m, model=sample.model, format=f"0x{sample_type:02X}")
