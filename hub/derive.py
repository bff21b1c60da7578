"""Quantities derived from what a sensor measured."""

from __future__ import annotations

import math
from itertools import pairwise

# Magnus coefficients over water (Sonntag 1990), good from -45 °C to 60 °C.
_MAGNUS_B = 17.62
_MAGNUS_C = 243.12


def dew_point(temperature_c: float, humidity_pct: float) -> float | None:
    """Dew point in °C by the Magnus formula; None where it is undefined (humidity <= 0)."""
    if not 0 < humidity_pct <= 100 or temperature_c <= -_MAGNUS_C:
        return None
    gamma = math.log(humidity_pct / 100.0) + _MAGNUS_B * temperature_c / (_MAGNUS_C + temperature_c)
    return round(_MAGNUS_C * gamma / (_MAGNUS_B - gamma), 2)


def battery_from_voltage(voltage: float, curve: tuple[tuple[float, float], ...]) -> int:
    """Battery % by linear interpolation on `curve`, ((volts, percent), ...) sorted high to low."""
    if voltage >= curve[0][0]:
        return round(curve[0][1])
    for (v_hi, p_hi), (v_lo, p_lo) in pairwise(curve):
        if voltage >= v_lo:
            return round(p_lo + (p_hi - p_lo) * (voltage - v_lo) / (v_hi - v_lo))
    return round(curve[-1][1])
