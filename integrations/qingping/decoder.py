"""Route a Qingping advertisement to the frame decoder; nothing else carries 0xFDCD."""

from __future__ import annotations

from hub.events import Advertisement
from hub.integrations import DecodeContext, Decoded, DecodeFailure
from integrations.qingping.frame import decode as decode_frame

SERVICE_DATA_UUID = "0000fdcd-0000-1000-8000-00805f9b34fb"


def decode(adv: Advertisement, _context: DecodeContext) -> Decoded | DecodeFailure | None:
    payload = adv.service_data.get(SERVICE_DATA_UUID)
    if payload is None:
        return None
    return decode_frame(payload)
