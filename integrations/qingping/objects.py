"""The objects of a Qingping frame: id -> (exact size, handler), integers little-endian.

A handler reads its value at `start` and writes canonical measurements into `m` and
binary states into `s`; it returns the frame's packet id when it is the packet-id object,
else None. `event` is true for event frames (frame-control bit 0x40), which carry a
state change but no valid illuminance (pvvx, TLB2Z ble_scaning.c, filter_qingping_ad).

Sources for the layouts (objects not listed here are skipped, their values unverified):
- 0x01 temperature int16 0.1 °C + humidity uint16 0.1 %, 0x02 battery uint8 %,
  0x07 pressure uint16 0.1 hPa, 0x12 PM2.5 + PM10 uint16 µg/m³, 0x13 CO2 uint16 ppm:
  published captures whose decoded values match the device's display (ble_monitor #81,
  #1147, #1170; OpenMQTTGateway #1286, #810; qingping-ble #23) and pvvx's parser.
- 0x08 motion uint8 + illuminance uint24 lx, 0x09 illuminance uint32 lx, 0x11 light
  uint8, 0x0F packet id uint8: pvvx's CGPR1 captures in TLB2Z ble_scaning.c and a
  CGPR1 capture in home-assistant/core #97177.
- 0x04 door uint8: 0 open, 1 closed, 2 open for over a minute ("left open"); the CGH1
  keeps sending 2 while the door stays open (home-assistant/core #78439 shows the cost
  of reading 2 as closed), the same values as the MiBeacon door event of the same sensor.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

Measurements = dict[str, float | int]
States = dict[str, bool]
Handler = Callable[[bytes, int, Measurements, States, bool], "int | None"]

_TEMP_HUMIDITY = struct.Struct("<hH")
_U16 = struct.Struct("<H")
_U16_PAIR = struct.Struct("<HH")
_U32 = struct.Struct("<I")

# Door codes -> open? Any other code (a reset notice, say) reports no door state.
_DOOR_OPEN = {0: True, 1: False, 2: True}


def _temperature_humidity(
    data: bytes, start: int, m: Measurements, _s: States, _event: bool
) -> None:
    temperature, humidity = _TEMP_HUMIDITY.unpack_from(data, start)
    m["temperature"] = temperature / 10
    if humidity <= 1000:  # above 100.0 % is no humidity: leave it out
        m["humidity"] = humidity / 10


def _battery(data: bytes, start: int, m: Measurements, _s: States, _event: bool) -> None:
    battery = data[start]
    # 0xFF is what mains-powered models send; nothing above 100 is a percentage.
    if battery <= 100:
        m["battery"] = battery


def _door(data: bytes, start: int, _m: Measurements, s: States, _event: bool) -> None:
    is_open = _DOOR_OPEN.get(data[start])
    if is_open is not None:
        s["door"] = is_open


def _pressure(data: bytes, start: int, m: Measurements, _s: States, _event: bool) -> None:
    # 0.1 hPa (= 0.01 kPa): CGP1W 0x2672 -> 984.2 hPa, CGP23W 0x2772 -> 1009.8 hPa.
    m["pressure"] = _U16.unpack_from(data, start)[0] / 10


def _motion_illuminance(data: bytes, start: int, m: Measurements, s: States, event: bool) -> None:
    s["motion"] = data[start] != 0
    if not event:
        m["illuminance"] = data[start + 1] | data[start + 2] << 8 | data[start + 3] << 16


def _illuminance(data: bytes, start: int, m: Measurements, _s: States, _event: bool) -> None:
    m["illuminance"] = _U32.unpack_from(data, start)[0]


def _packet_id(data: bytes, start: int, _m: Measurements, _s: States, _event: bool) -> int:
    return data[start]


def _light(data: bytes, start: int, _m: Measurements, s: States, _event: bool) -> None:
    s["light"] = data[start] != 0


def _particulates(data: bytes, start: int, m: Measurements, _s: States, _event: bool) -> None:
    m["pm2_5"], m["pm10"] = _U16_PAIR.unpack_from(data, start)


def _co2(data: bytes, start: int, m: Measurements, _s: States, _event: bool) -> None:
    m["co2"] = _U16.unpack_from(data, start)[0]


OBJECTS: dict[int, tuple[int, Handler]] = {
    0x01: (4, _temperature_humidity),
    0x02: (1, _battery),
    0x04: (1, _door),
    0x07: (2, _pressure),
    0x08: (4, _motion_illuminance),
    0x09: (4, _illuminance),
    0x0F: (1, _packet_id),
    0x11: (1, _light),
    0x12: (4, _particulates),
    0x13: (2, _co2),
}
