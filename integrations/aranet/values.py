"""Scaling and "not available" markers shared by the Aranet devices.

A reading with its marker bit set is one the device has not got (for instance while the
CO2 sensor calibrates): it is left out, never reported as a number.
"""

from __future__ import annotations

# Temperature: uint16 in 1/20 °C; bit 14 marks "no reading". No published layout gives a
# sign, so a value with bit 15 set is not a temperature we can read either.
_TEMPERATURE_INVALID = 0xC000
# CO2 (ppm), pressure (1/10 hPa) and the 1/10 % humidity of Aranet2 and Radon: bit 15.
_WORD_INVALID = 0x8000


def temperature(raw: int, m: dict[str, float | int]) -> None:
    if not raw & _TEMPERATURE_INVALID:
        m["temperature"] = round(raw / 20, 2)


def pressure(raw: int, m: dict[str, float | int]) -> None:
    if not raw & _WORD_INVALID:
        m["pressure"] = round(raw / 10, 1)


def humidity_tenths(raw: int, m: dict[str, float | int]) -> None:
    if not raw & _WORD_INVALID and raw <= 1000:
        m["humidity"] = round(raw / 10, 1)


def percent(name: str, raw: int, m: dict[str, float | int]) -> None:
    # A one-byte percentage above 100 cannot be a reading; no marker is documented.
    if raw <= 100:
        m[name] = raw


def co2(raw: int, m: dict[str, float | int]) -> None:
    if not raw & _WORD_INVALID:
        m["co2"] = raw
