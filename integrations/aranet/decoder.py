"""Tell the Aranet models apart and hand the payload to the layout that owns it.

The Aranet4 sends no device-type byte; the others start with one (1, 2 or 3). The local
name says which device it is ("Aranet4 …", "Aranet2 …", "AranetRn …", "Aranet☢ …"), but a
passive scan may carry no name. Then the payload decides: the typed devices always send
24 bytes and start with their type, while an Aranet4 sends at most 22, or 7-8 bytes with
integrations disabled (where its flags byte can also be 1-3).
"""

from __future__ import annotations

from collections.abc import Callable

from hub.events import Advertisement
from hub.integrations import DecodeContext, Decoded, DecodeFailure
from integrations.aranet import aranet4, typed

SAF_TEHNIKA_COMPANY_ID = 0x0702
# Highest first byte that is a device type rather than an Aranet4 flags byte with
# integrations enabled (bit 5 set).
_MAX_TYPE = 0x1F

Layout = Callable[[bytes], Decoded | DecodeFailure]
_BY_NAME: tuple[tuple[str, Layout], ...] = (
    ("Aranet4", aranet4.decode),
    ("Aranet2", typed.decode),
    ("AranetRn", typed.decode),
    ("Aranet\u2622", typed.decode),
)


def decode(adv: Advertisement, _context: DecodeContext) -> Decoded | DecodeFailure | None:
    payload = adv.manufacturer_data.get(SAF_TEHNIKA_COMPANY_ID)
    if payload is None:
        return None
    return _layout(adv.name, payload)(payload)


def _layout(name: str | None, payload: bytes) -> Layout:
    if name:
        for prefix, layout in _BY_NAME:
            if name.startswith(prefix):
                return layout
    if len(payload) >= typed.LENGTH and payload[0] <= _MAX_TYPE:
        return typed.decode
    return aranet4.decode
