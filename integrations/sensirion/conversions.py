"""Raw-value conversions of Sensirion's advertisement sample types (ble-ad-sample-types.yml).

Results are rounded to 2 decimals (the raw step is 0.003 °C / 0.002 %) so that they
compare exactly; values Sensirion sends as plain integers stay integers.
"""

from __future__ import annotations

_FULL_SCALE = 65535.0  # 2^16 - 1


def temperature(raw: int) -> float:
    """T = -45 + 175 * raw / (2^16 - 1), °C."""
    return round(-45 + 175 * raw / _FULL_SCALE, 2)


def humidity(raw: int) -> float:
    """RH = 100 * raw / (2^16 - 1), %."""
    return round(100 * raw / _FULL_SCALE, 2)


def humidity_sht4x(raw: int) -> float:
    """RH = -6 + 125 * raw / (2^16 - 1), % (sample type 6), cropped to 0-100 %.

    The SHT4x formula reaches -6 % and 119 %; Sensirion's SHT4x datasheet (section 4.6)
    says to crop values outside 0-100 %, which are not physical.
    """
    return min(100.0, max(0.0, round(-6 + 125 * raw / _FULL_SCALE, 2)))


def integer(raw: int) -> int:
    """CO2 (ppm), VOC index and NOx index are sent as plain integers."""
    return raw


def pm_full_scale(raw: int) -> float:
    """PM2.5 = 1000 * raw / (2^16 - 1), µg/m³ (sample types 0x0C, 0x10, 0x14)."""
    return round(1000 * raw / _FULL_SCALE, 2)


def pm_tenths(raw: int) -> float:
    """PM = raw / 10, µg/m³ (sample types 0x18 and later)."""
    return round(raw / 10, 1)
