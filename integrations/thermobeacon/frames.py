"""The two ThermoBeacon frames: the current reading (18 bytes) and min/max history (20).

Manufacturer data after the 2-byte id (the id is the device type, see decoder.py),
little-endian:

| bytes | reading frame (18) | history frame (20) |
|---|---|---|
| 0 | not documented (0) | not documented |
| 1 | bit 7: button pressed | not documented |
| 2–7 | device MAC, least significant byte first | same |
| 8–9 | battery, uint16, mV | maximum temperature, 1/16 °C |
| 10–11 | temperature, int16, 1/16 °C | time of the maximum, uint32 (4 bytes) |
| 12–13 | humidity, uint16, 1/16 % | … |
| 14–17 | counter, uint32 (not documented; unused) | minimum temperature, then its time |

Sources: ble_monitor #836 (a complete hcidump that ble_monitor's parser reads as 2.963 V,
24.8125 °C, 33.1875 %), ble_monitor's thermoplus.py and aioblescan's thermobeacon plugin
(field positions, /16 scaling, MAC check, the history frame), thermobeacon-ble (button bit,
device-type ids). The history frame holds no current value, so it reports nothing.

Battery: the device sends only its voltage; `battery` comes from BATTERY_CURVE below.
"""

from __future__ import annotations

import struct

from hub.derive import battery_from_voltage
from hub.integrations import Decoded

READING_LENGTH = 18
HISTORY_LENGTH = 20
_READING = struct.Struct("<xB6xHhH4x")  # flags, mV, temperature, humidity
_BUTTON = 0x80

# Our own curve; ThermoBeacon publishes none. The family runs on a 3 V lithium coin cell
# (lanyard) or two AAA cells (desk models), both near 3.0 V when fresh. A coin cell under
# this light load holds 2.9-3.0 V for most of its life and falls off past 2.7 V; an AAA
# pair declines more evenly. The curve is steep enough in the middle for the coin cell and
# reaches 0 % at 2.2 V, about where such sensors stop working.
BATTERY_CURVE = (
    (3.0, 100.0),
    (2.9, 90.0),
    (2.8, 75.0),
    (2.7, 55.0),
    (2.6, 35.0),
    (2.5, 20.0),
    (2.4, 10.0),
    (2.2, 0.0),
)


def decode_reading(payload: bytes, model: str) -> Decoded:
    flags, millivolts, temperature, humidity = _READING.unpack(payload)
    voltage = millivolts / 1000
    m: dict[str, float | int] = {
        "temperature": temperature / 16,
        "voltage": voltage,
        "battery": battery_from_voltage(voltage, BATTERY_CURVE),
    }
    if humidity <= 1600:  # above 100 % is no humidity: leave it out
        m["humidity"] = humidity / 16
    return Decoded(
        measurements=m,
        model=model,
        format="reading",
        states={"button": bool(flags & _BUTTON)},
    )


def decode_history(_payload: bytes, model: str) -> Decoded:
    # Min/max since some reset: not a current reading, so nothing is reported.
    return Decoded(measurements={}, model=model, format="history")
