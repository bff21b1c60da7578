"""Find the ThermoBeacon frame: a device-type id whose payload names the sender's MAC.

The ids below are the device types these sensors put where a Bluetooth SIG company id
belongs (0x0010 and 0x0011 in published captures, the others from the id lists of
ble_monitor and thermobeacon-ble). They are assigned to other companies (0x0030 is
STMicroelectronics), so a payload is only ours when bytes 2-7 are the sender's MAC,
reversed; anything else, including a payload too short to hold the MAC, is not ours.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.events import Advertisement
from hub.integrations import DecodeContext, Decoded, DecodeFailure
from integrations.thermobeacon import frames

MODELS: dict[int, str] = {
    0x0010: "ThermoBeacon lanyard/mini hygrometer",
    0x0011: "ThermoBeacon smart hygrometer",
    0x0015: "ThermoBeacon smart hygrometer",
    0x0018: "ThermoBeacon smart hygrometer",
    0x001B: "ThermoBeacon smart hygrometer",
    0x0030: "ThermoBeacon smart hygrometer",
}
_FRAMES: dict[int, Callable[[bytes, str], Decoded]] = {
    frames.READING_LENGTH: frames.decode_reading,
    frames.HISTORY_LENGTH: frames.decode_history,
}
_MAC_END = 8


def decode(adv: Advertisement, _context: DecodeContext) -> Decoded | DecodeFailure | None:
    for company_id, payload in adv.manufacturer_data.items():
        model = MODELS.get(company_id)
        if model is None or len(payload) < _MAC_END:
            continue
        if payload[_MAC_END - 1 : 1 : -1].hex(":").upper() != adv.address:
            continue
        frame = _FRAMES.get(len(payload))
        if frame is None:
            return DecodeFailure(f"payload of {len(payload)} bytes, expected 18 or 20")
        return frame(payload, model)
    return None
