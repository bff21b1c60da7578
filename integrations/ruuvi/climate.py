"""Temperature, humidity and pressure as formats 5, 6 and E1 encode them.

Temperature is int16 in 0.005 °C, humidity uint16 in 0.0025 %, pressure uint16 in Pa above
50 000; the int16 minimum and the uint16 maximum mean "not available". Exact division
(temp / 200 rather than temp * 0.005) gives the shortest decimal for every raw value
(checked for all 65 536 of each), so no rounding is needed.
"""

from __future__ import annotations

INT16_INVALID = -32768
UINT16_INVALID = 0xFFFF


def add_climate(m: dict[str, float | int], temp: int, hum: int, pres: int) -> None:
    """Put the valid ones of the three into `m`, in canonical units (°C, %, hPa)."""
    if temp != INT16_INVALID:
        m["temperature"] = temp / 200
    if hum != UINT16_INVALID:
        m["humidity"] = hum / 400
    if pres != UINT16_INVALID:
        m["pressure"] = (pres + 50_000) / 100
