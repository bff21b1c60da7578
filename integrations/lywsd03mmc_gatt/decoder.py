"""The value of the LYWSD03MMC's temperature-humidity characteristic.

Characteristic ebe0ccc1-7a0a-4b0c-8a1a-6ff2997da3a6 (service ebe0ccb0-...), 5 bytes,
little-endian:

| bytes | field |
|---|---|
| 0–1 | temperature, int16, 0.01 °C |
| 2 | humidity, uint8, % |
| 3–4 | battery voltage, uint16, mV |

A humidity above 100 %, a temperature outside what the sensor can measure, or a voltage of
0 is not reported. Longer values are accepted (later firmware may append bytes); shorter
ones are a failure.
"""

from __future__ import annotations

from hub.events import Advertisement
from hub.integrations import DecodeContext, Decoded, DecodeFailure

CHARACTERISTIC_UUID = "ebe0ccc1-7a0a-4b0c-8a1a-6ff2997da3a6"
LENGTH = 5
MODEL = "LYWSD03MMC"
# Beyond what the SHTC3 inside can measure (-40 to 125 °C): not a reading.
_TEMPERATURE_RANGE = (-40.0, 125.0)


def decode(adv: Advertisement, _context: DecodeContext) -> Decoded | DecodeFailure | None:
    payload = adv.service_data.get(CHARACTERISTIC_UUID)
    if payload is None:
        return None
    if len(payload) < LENGTH:
        return DecodeFailure(f"truncated: {len(payload)} < {LENGTH} bytes")
    temperature = int.from_bytes(payload[0:2], "little", signed=True) / 100
    humidity = payload[2]
    millivolts = int.from_bytes(payload[3:5], "little")
    m: dict[str, float | int] = {}
    low, high = _TEMPERATURE_RANGE
    if low <= temperature <= high:
        m["temperature"] = temperature
    if humidity <= 100:
        m["humidity"] = humidity
    if millivolts:
        m["voltage"] = millivolts / 1000
    return Decoded(measurements=m, model=MODEL, format="gatt")
