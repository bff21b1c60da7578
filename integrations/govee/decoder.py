"""Find the Govee payload in an advertisement and hand it to the decoder of its layout.

The local name says which model sent the advertisement; the model says which layouts it
uses. Without a (Govee) name the company id and the payload length must identify the
layout on their own, which they do for 0xEC88 and 0x8801 but not for 0x0001.
"""

from __future__ import annotations

from collections.abc import Mapping

from hub.events import Advertisement
from hub.integrations import DecodeContext, Decoded, DecodeFailure
from integrations.govee.layouts import Layout
from integrations.govee.models import (
    COMPANY_IDS,
    MODEL_LAYOUTS,
    NAMELESS_COMPANY_IDS,
    NAMELESS_LAYOUTS,
    model_from_name,
)

# macOS (CoreBluetooth) glues the sensor's Apple iBeacon record (company 0x004C, 25 bytes,
# UUID "INTELLI_ROCKS_HW") onto the end of the Govee payload. Recognised by its first 20
# bytes: the rest (major, minor, tx power) varies.
_GLUED_IBEACON = b"\x4c\x00\x02\x15INTELLI_ROCKS_HW"
_GLUED_LENGTH = 25
_GLUED_PREFIX_END = _GLUED_LENGTH - len(_GLUED_IBEACON)


def _unglue(payload: bytes) -> bytes:
    if len(payload) > _GLUED_LENGTH and payload[-_GLUED_LENGTH:-_GLUED_PREFIX_END] == (
        _GLUED_IBEACON
    ):
        return payload[:-_GLUED_LENGTH]
    return payload


def _decode_model(
    model: str, layouts: dict[int, Layout], manufacturer_data: Mapping[int, bytes]
) -> Decoded | DecodeFailure | None:
    for company_id, layout in layouts.items():
        payload = manufacturer_data.get(company_id)
        if payload is None:
            continue
        payload = _unglue(payload)
        if len(payload) != layout.length:
            return DecodeFailure(
                f"Govee {model} payload must be {layout.length} bytes, got {len(payload)}"
            )
        return layout.decode(payload, model)
    for company_id in COMPANY_IDS:
        if company_id in manufacturer_data:
            return DecodeFailure(f"Govee {model} sends no known layout under 0x{company_id:04X}")
    return None


def decode(adv: Advertisement, _context: DecodeContext) -> Decoded | DecodeFailure | None:
    manufacturer_data = adv.manufacturer_data
    name = adv.name
    model = model_from_name(name) if name else None
    if model is not None:
        layouts = MODEL_LAYOUTS.get(model)
        if layouts is None:
            # Another Govee product (meat thermometer, button, ...): not ours.
            return None
        return _decode_model(model, layouts, manufacturer_data)
    for company_id in NAMELESS_COMPANY_IDS:
        payload = manufacturer_data.get(company_id)
        if payload is None:
            continue
        payload = _unglue(payload)
        entry = NAMELESS_LAYOUTS.get((company_id, len(payload)))
        if entry is not None:
            layout, known_model = entry
            return layout.decode(payload, known_model)
    # An unknown shape without a name that says it is a Govee thermo-hygrometer.
    return None
