"""Find the Inkbird frame among the advertisement's manufacturer data and check it.

The local name says which model it is. The frame is the only 7-byte manufacturer-data
entry whose checksum holds; an entry of another length is not an IBS-TH frame.

On Linux, BlueZ keeps every manufacturer-data entry it has ever seen for a device, and
here the key changes with the temperature, so a merged advertisement can hold several
valid frames of different ages. Nothing in them says which is current, so that case is
a DecodeFailure rather than a guess.
"""

from __future__ import annotations

from hub.events import Advertisement
from hub.integrations import DecodeContext, Decoded, DecodeFailure
from integrations.inkbird import ibs_th

# local name -> (model, humidity may be absent)
MODELS: dict[str, tuple[str, bool]] = {
    "sps": ("IBS-TH", False),  # IBS-TH1, IBS-TH1 Mini, IBS-TH1 Plus
    "tps": ("IBS-TH2/P01B", True),  # IBS-TH2, IBS-TH2 Plus, IBS-P01B (no hygrometer)
}
LOCAL_NAMES = tuple(MODELS)


def decode(adv: Advertisement, _context: DecodeContext) -> Decoded | DecodeFailure | None:
    known = MODELS.get(adv.name or "")
    if known is None:
        return None
    model, humidity_optional = known
    entries = adv.manufacturer_data
    if not entries:
        # The scan response (name only): heard, nothing measured.
        return Decoded(measurements={}, model=model)
    current: tuple[int, bytes] | None = None
    candidates = valid = 0
    for company_id, payload in entries.items():
        if len(payload) != ibs_th.PAYLOAD_LENGTH:
            continue
        candidates += 1
        if ibs_th.checksum_ok(company_id, payload):
            valid += 1
            current = (company_id, payload)
    if current is None:
        if candidates:
            return DecodeFailure("checksum mismatch")
        lengths = sorted({len(payload) for payload in entries.values()})
        return DecodeFailure(f"no 7-byte Inkbird payload (payload lengths {lengths})")
    if valid > 1:
        return DecodeFailure(
            f"{valid} valid frames in one advertisement; cannot tell the current one"
        )
    return ibs_th.decode(*current, model, humidity_optional)
