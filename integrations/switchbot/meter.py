"""SwitchBot's three-byte temperature/humidity record, and the CO2 field of the Meter Pro CO2.

Layout (OpenWonderLabs/SwitchBotAPI-BLE devicetypes/meter.md, service data bytes 3-5):

- byte 0: bits 7-6 temperature alert, bits 5-4 humidity alert, bits 3-0 the temperature's
  tenths (0-9);
- byte 1: bit 7 the sign, SET for a temperature above zero and CLEAR below zero (sign and
  magnitude, not two's complement), bits 6-0 the whole degrees Celsius (0-127);
- byte 2: bit 7 the display unit (0 °C, 1 °F; the value sent is Celsius either way),
  bits 6-0 the relative humidity in whole per cent (0-99).
"""

from __future__ import annotations

_TENTHS = 0x0F
_POSITIVE = 0x80
_SEVEN_BITS = 0x7F
# CO2 of the Meter Pro CO2: big-endian uint16 at manufacturer-data offset 13. Its sensor
# reads 400-9999 ppm; anything larger is not a measurement.
CO2_OFFSET = 13
CO2_MAX_PPM = 9999


def add_temperature_humidity(m: dict[str, float | int], data: bytes, offset: int) -> None:
    """Add temperature and humidity read from data[offset:offset + 3] (caller checks length)."""
    tenths = data[offset] & _TENTHS
    # A tenths nibble of 10-15 is not a decimal digit: no temperature from this record.
    if tenths <= 9:
        degrees = data[offset + 1]
        magnitude = (degrees & _SEVEN_BITS) * 10 + tenths
        m["temperature"] = (magnitude if degrees & _POSITIVE else -magnitude) / 10
    humidity = data[offset + 2] & _SEVEN_BITS
    if humidity <= 100:
        m["humidity"] = humidity


def add_co2(m: dict[str, float | int], manufacturer_data: bytes) -> None:
    """Add the CO2 reading when the manufacturer data is long enough to hold one."""
    if len(manufacturer_data) >= CO2_OFFSET + 2:
        co2 = manufacturer_data[CO2_OFFSET] << 8 | manufacturer_data[CO2_OFFSET + 1]
        if co2 <= CO2_MAX_PPM:
            m["co2"] = co2
