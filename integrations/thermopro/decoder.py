"""Pick the model from the local name and the frame from the manufacturer data.

The name is "<model> (<last four MAC digits>)", e.g. "TP357 (2A01)". The frame is the
advertisement's only manufacturer-data entry. BlueZ (bleak on Linux) keeps every entry a
device ever sent, and the key here changes with the temperature, so a merged
advertisement can hold many frames of different ages with nothing to say which is
current: that is a DecodeFailure, never a guess.
"""

from __future__ import annotations

from hub.events import Advertisement
from hub.integrations import DecodeContext, Decoded, DecodeFailure
from integrations.thermopro import hygrometer

NAME_PATTERNS = ("TP35*", "TP39*")
_PREFIXES = tuple(pattern.rstrip("*") for pattern in NAME_PATTERNS)


def decode(adv: Advertisement, _context: DecodeContext) -> Decoded | DecodeFailure | None:
    name = adv.name
    if not name or not name.startswith(_PREFIXES):
        return None
    model = name.split(" ", 1)[0]
    entries = adv.manufacturer_data
    if len(entries) != 1:
        if not entries:
            # Heard (the name), nothing measured.
            return Decoded(measurements={}, model=model)
        return DecodeFailure(
            f"{len(entries)} manufacturer-data entries; cannot tell the current one"
        )
    ((company_id, payload),) = entries.items()
    return hygrometer.decode(company_id, payload, model)
