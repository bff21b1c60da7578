"""Which Govee model sends which layout, and how to read the model from the local name."""

from __future__ import annotations

import re
from functools import lru_cache

from integrations.govee.layouts import (
    B8801_LE16,
    EC88_LE16,
    EC88_LE16_LONG,
    EC88_PACKED,
    P0001_PACKED,
    P0001_PACKED_PM25,
    Layout,
)

# Govee names its sensors "GVH5075_1A2B", "Govee_H5074_1A2B", "ihoment_H5177_1A2B" or, on
# newer firmware, "GV5179_1A2B" / "GV51085242": a brand prefix, then the four digits.
_NAME = re.compile(r"(?:GVH|GV|Govee_H|ihoment_H)(5\d{3})")

_EC88_PACKED = {EC88_PACKED.company_id: EC88_PACKED}
_0001_PACKED = {P0001_PACKED.company_id: P0001_PACKED}
_EC88_LE16_LONG = {EC88_LE16_LONG.company_id: EC88_LE16_LONG}

# model -> {company id -> layout}. A model may use more than one company id: the H5179
# moved from 0x8801 to 0x0001 with its "GV5179" firmware.
MODEL_LAYOUTS: dict[str, dict[int, Layout]] = {
    "H5072": _EC88_PACKED,
    "H5075": _EC88_PACKED,
    "H5074": {EC88_LE16.company_id: EC88_LE16},
    "H5051": _EC88_LE16_LONG,
    "H5052": _EC88_LE16_LONG,
    "H5071": _EC88_LE16_LONG,
    "H5179": {B8801_LE16.company_id: B8801_LE16, P0001_PACKED.company_id: P0001_PACKED},
    "H5100": _0001_PACKED,
    "H5101": _0001_PACKED,
    "H5102": _0001_PACKED,
    "H5103": _0001_PACKED,
    "H5104": _0001_PACKED,
    "H5105": _0001_PACKED,
    "H5174": _0001_PACKED,
    "H5177": _0001_PACKED,
    "H5106": {P0001_PACKED_PM25.company_id: P0001_PACKED_PM25},
}

# Without a Govee name, (company id, length) identifies a layout only where exactly one
# layout has that shape; the model is known where only one model sends it. Company 0x0001
# is absent on purpose: it belongs to Nokia, other products use it too, and Govee sends two
# different 6-byte layouts under it (temperature/humidity/battery, and the H5106's PM2.5).
NAMELESS_LAYOUTS: dict[tuple[int, int], tuple[Layout, str | None]] = {
    (EC88_PACKED.company_id, EC88_PACKED.length): (EC88_PACKED, None),
    (EC88_LE16.company_id, EC88_LE16.length): (EC88_LE16, "H5074"),
    (EC88_LE16_LONG.company_id, EC88_LE16_LONG.length): (EC88_LE16_LONG, None),
    (B8801_LE16.company_id, B8801_LE16.length): (B8801_LE16, "H5179"),
}

COMPANY_IDS = (EC88_PACKED.company_id, B8801_LE16.company_id, P0001_PACKED.company_id)
NAMELESS_COMPANY_IDS = (EC88_PACKED.company_id, B8801_LE16.company_id)


@lru_cache(maxsize=1024)
def model_from_name(name: str) -> str | None:
    """'H5075' for 'GVH5075_1A2B'; None for a name that is not a Govee sensor's."""
    found = _NAME.match(name)
    return f"H{found.group(1)}" if found else None
