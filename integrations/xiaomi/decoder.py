"""Pick the payload of an advertisement and hand it to the format that owns it."""

from __future__ import annotations

from hub.events import Advertisement
from hub.integrations import DecodeContext, Decoded, DecodeFailure
from integrations.xiaomi.custom_firmware import decode as decode_custom_firmware
from integrations.xiaomi.mibeacon import decode as decode_mibeacon

MIBEACON_UUID = "0000fe95-0000-1000-8000-00805f9b34fb"
ENVIRONMENTAL_SENSING_UUID = "0000181a-0000-1000-8000-00805f9b34fb"


def decode(adv: Advertisement, context: DecodeContext) -> Decoded | DecodeFailure | None:
    service_data = adv.service_data
    # The custom firmware is checked first: it is the common case for these thermometers,
    # and a device sending both (pvvx alternating formats) is best read from its richer one.
    payload = service_data.get(ENVIRONMENTAL_SENSING_UUID)
    if payload is not None:
        result = decode_custom_firmware(payload, adv.address, context.keys)
        if result is not None:
            return result
    payload = service_data.get(MIBEACON_UUID)
    if payload is not None:
        return decode_mibeacon(payload, adv.address, context.keys)
    return None
