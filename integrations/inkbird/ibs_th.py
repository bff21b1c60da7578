"""The 9-byte IBS-TH frame, of which bleak hands us the company id and 7 payload bytes.

Layout of the manufacturer-specific data (after the AD type 0xFF), little-endian:

| bytes | field |
|---|---|
| 0–1 | temperature, int16, 0.01 °C (what bleak calls the company id) |
| 2–3 | humidity, uint16, 0.01 % |
| 4 | sensor: 0 internal, 1 external probe (IBS-TH1 Plus / TH2 Plus) |
| 5–6 | CRC-16/MODBUS of bytes 0–4, little-endian |
| 7 | battery, % |
| 8 | not documented (6 or 8 in the published captures); ignored |

Sources: ESPHome's inkbird_ibsth1_mini component (temperature in the company id, humidity,
sensor byte, battery byte), ble_monitor's inkbird.py (the "modbus" field), and the
published frames in tests/test_inkbird.py, whose checksum over bytes 0–4 is exactly
CRC-16/MODBUS. Temperature is signed: the unsigned reading gave 643.74 °C for a freezer at
-11.6 °C (OpenMQTTGateway #1112; ESPHome esphome/issues #2531).
"""

from __future__ import annotations

import struct

from hub.integrations import Decoded, DecodeFailure
from integrations.inkbird.crc import crc16_modbus

PAYLOAD_LENGTH = 7
_PAYLOAD = struct.Struct("<HBHBx")  # humidity, sensor, crc, battery, undocumented
_INTERNAL, _EXTERNAL = 0, 1
_FORMATS = {_INTERNAL: "ibs-th", _EXTERNAL: "ibs-th external probe"}
# The IBS-P01B pool thermometer shares the 'tps' name but has no hygrometer: it fills the
# humidity field with 0x0000 (older firmware) or 0xFFFF (2.3.0), per inkbird-ble PR #256.
NO_HYGROMETER = frozenset((0x0000, 0xFFFF))


def checksum_ok(company_id: int, payload: bytes) -> bool:
    """Whether bytes 5-6 are the CRC-16/MODBUS of bytes 0-4 (the id and payload[0:3])."""
    head = bytes((company_id & 0xFF, company_id >> 8)) + payload[:3]
    return crc16_modbus(head) == payload[3] | payload[4] << 8


def decode(
    company_id: int, payload: bytes, model: str, humidity_optional: bool
) -> Decoded | DecodeFailure:
    """One frame whose checksum has been verified."""
    humidity, sensor, _crc, battery = _PAYLOAD.unpack(payload)
    data_format = _FORMATS.get(sensor)
    if data_format is None:
        return DecodeFailure(f"unknown sensor byte {sensor}")
    temperature = company_id - 0x10000 if company_id & 0x8000 else company_id
    m: dict[str, float | int] = {"temperature": temperature / 100}
    if humidity <= 10000 and not (humidity_optional and humidity in NO_HYGROMETER):
        m["humidity"] = humidity / 100
    if battery <= 100:
        m["battery"] = battery
    return Decoded(measurements=m, model=model, format=data_format)
