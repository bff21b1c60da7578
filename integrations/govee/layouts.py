"""The manufacturer-data layouts of Govee thermo-hygrometers, one decode function each.

Govee publishes no documentation of its advertisements; every layout here is the one the
community reverse-engineered and cross-checked against the Govee app (see README.md for
the sources). Offsets are into the payload as bleak gives it, without the two company-id
bytes. Each decode function is called only with a payload of exactly its layout's length.

Two ways of carrying temperature and humidity exist:

- packed decimal: one big-endian integer whose top bit is the temperature's sign (sign and
  magnitude, not two's complement); the rest read in decimal is TTTHHH (temperature and
  humidity in tenths) or, for the H5106, TTTHHHPPP (plus PM2.5 in µg/m³).
- little-endian int16 temperature and uint16 humidity, both in hundredths.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from hub.integrations import Decoded

# Plausible temperature range. Govee specifies -20..60 °C for most models, but users
# record freezers below -20 °C; a decoded value outside this range comes from a frame that
# is not a measurement (a real 0xEC88 capture decodes to -393.2 °C) and is not reported.
TEMPERATURE_MIN = -40.0
TEMPERATURE_MAX = 100.0

_SIGN_24 = 0x800000
_MAGNITUDE_24 = 0x7FFFFF
_SIGN_32 = 0x80000000
_MAGNITUDE_32 = 0x7FFFFFFF
# In the battery byte of the packed layouts the top bit is the device's error flag.
_ERROR_FLAG = 0x80
_BATTERY_MASK = 0x7F

# 00 | packed (24 bit) | battery+error | 00
_EC88_PACKED = struct.Struct(">xBHBx")
# 01 01 | packed (24 bit) | battery+error
_0001_PACKED = struct.Struct(">2xBHB")
# 01 01 | packed (32 bit): temperature, humidity, PM2.5
_0001_PACKED_PM25 = struct.Struct(">2xI")
# 00 | temperature int16 LE | humidity uint16 LE | battery | one more byte
_EC88_LE16 = struct.Struct("<xhHBx")
# 00 | temperature int16 LE | humidity uint16 LE | battery | three more bytes
_EC88_LE16_LONG = struct.Struct("<xhHB3x")
# EC 00 01 01 | temperature int16 LE | humidity uint16 LE | battery
_8801_LE16 = struct.Struct("<4xhHB")

LayoutDecoder = Callable[[bytes, "str | None"], Decoded]


@dataclass(frozen=True, slots=True)
class Layout:
    """One payload layout: where it travels, how long it is, how to read it."""

    format: str
    company_id: int
    length: int
    decode: LayoutDecoder


def _battery(value: int) -> int | None:
    return value if value <= 100 else None


def _packed_24(m: dict[str, float | int], high: int, low: int) -> None:
    packed = high << 16 | low
    magnitude = packed & _MAGNITUDE_24
    tenths = magnitude // 1000
    temperature = (-tenths if packed & _SIGN_24 else tenths) / 10
    if TEMPERATURE_MIN <= temperature <= TEMPERATURE_MAX:
        m["temperature"] = temperature
        m["humidity"] = (magnitude % 1000) / 10


def _finish_packed(
    m: dict[str, float | int], high: int, low: int, battery_byte: int
) -> dict[str, float | int]:
    if not battery_byte & _ERROR_FLAG:
        _packed_24(m, high, low)
    battery = _battery(battery_byte & _BATTERY_MASK)
    if battery is not None:
        m["battery"] = battery
    return m


def decode_ec88_packed(payload: bytes, model: str | None) -> Decoded:
    high, low, battery_byte = _EC88_PACKED.unpack(payload)
    m = _finish_packed({}, high, low, battery_byte)
    return Decoded(measurements=m, model=model, format="ec88_packed")


def decode_0001_packed(payload: bytes, model: str | None) -> Decoded:
    high, low, battery_byte = _0001_PACKED.unpack(payload)
    m = _finish_packed({}, high, low, battery_byte)
    return Decoded(measurements=m, model=model, format="0001_packed")


def decode_0001_packed_pm25(payload: bytes, model: str | None) -> Decoded:
    (packed,) = _0001_PACKED_PM25.unpack(payload)
    magnitude = packed & _MAGNITUDE_32
    tenths = magnitude // 1_000_000
    temperature = (-tenths if packed & _SIGN_32 else tenths) / 10
    m: dict[str, float | int] = {}
    if TEMPERATURE_MIN <= temperature <= TEMPERATURE_MAX:
        m["temperature"] = temperature
        m["humidity"] = (magnitude // 1000 % 1000) / 10
        m["pm2_5"] = magnitude % 1000
    return Decoded(measurements=m, model=model, format="0001_packed_pm25")


def _le16(temperature: int, humidity: int, battery: int) -> dict[str, float | int]:
    m: dict[str, float | int] = {}
    celsius = temperature / 100
    if TEMPERATURE_MIN <= celsius <= TEMPERATURE_MAX:
        m["temperature"] = celsius
    if humidity <= 10_000:
        m["humidity"] = humidity / 100
    if battery <= 100:
        m["battery"] = battery
    return m


def decode_ec88_le16(payload: bytes, model: str | None) -> Decoded:
    return Decoded(measurements=_le16(*_EC88_LE16.unpack(payload)), model=model, format="ec88_le16")


def decode_ec88_le16_long(payload: bytes, model: str | None) -> Decoded:
    m = _le16(*_EC88_LE16_LONG.unpack(payload))
    return Decoded(measurements=m, model=model, format="ec88_le16_long")


def decode_8801_le16(payload: bytes, model: str | None) -> Decoded:
    return Decoded(measurements=_le16(*_8801_LE16.unpack(payload)), model=model, format="8801_le16")


EC88_PACKED = Layout("ec88_packed", 0xEC88, _EC88_PACKED.size, decode_ec88_packed)
EC88_LE16 = Layout("ec88_le16", 0xEC88, _EC88_LE16.size, decode_ec88_le16)
EC88_LE16_LONG = Layout("ec88_le16_long", 0xEC88, _EC88_LE16_LONG.size, decode_ec88_le16_long)
B8801_LE16 = Layout("8801_le16", 0x8801, _8801_LE16.size, decode_8801_le16)
P0001_PACKED = Layout("0001_packed", 0x0001, _0001_PACKED.size, decode_0001_packed)
P0001_PACKED_PM25 = Layout(
    "0001_packed_pm25", 0x0001, _0001_PACKED_PM25.size, decode_0001_packed_pm25
)
