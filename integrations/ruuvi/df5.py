"""Ruuvi data format 5 (RAWv2), 24 bytes, big-endian.

Layout: format, temperature (int16, 0.005 °C), humidity (uint16, 0.0025 %), pressure
(uint16, Pa - 50 000), acceleration x/y/z (int16, mg), power (11 bits battery mV - 1600,
5 bits tx power (dBm + 40) / 2), movement counter (uint8), measurement sequence (uint16),
MAC (6 bytes). Each field's all-ones (or int16 minimum) value means "not available".
"""

from __future__ import annotations

import struct

from hub.derive import battery_from_voltage
from hub.integrations import Decoded, DecodeFailure
from integrations.ruuvi.battery import BATTERY_CURVE
from integrations.ruuvi.climate import add_climate

LENGTH = 24
_LAYOUT = struct.Struct(">xhHHhhhHBH6x")
_INT16_INVALID = -32768
_MV_INVALID = 0x7FF
_TX_INVALID = 0x1F
# Battery % for every possible 11-bit millivolt field, worked out once.
_BATTERY = tuple(
    battery_from_voltage((mv + 1600) / 1000, BATTERY_CURVE) for mv in range(_MV_INVALID)
)
# The fast path below divides as climate.add_climate does (exact, no rounding needed).


def decode(payload: bytes) -> Decoded | DecodeFailure:
    if len(payload) != LENGTH:
        return DecodeFailure(f"format 5 needs {LENGTH} bytes, got {len(payload)}")
    temp, hum, pres, acc_x, acc_y, acc_z, power, movement, sequence = _LAYOUT.unpack(payload)
    millivolts = power >> 5
    tx_power = power & 0x1F
    if (
        temp != _INT16_INVALID
        and hum != 0xFFFF
        and pres != 0xFFFF
        and acc_x != _INT16_INVALID
        and acc_y != _INT16_INVALID
        and acc_z != _INT16_INVALID
        and millivolts != _MV_INVALID
        and tx_power != _TX_INVALID
        and movement != 0xFF
        and sequence != 0xFFFF
    ):
        # A tag in good order marks nothing "not available": one dict, no branches.
        measurements: dict[str, float | int] = {
            "temperature": temp / 200,
            "humidity": hum / 400,
            "pressure": (pres + 50_000) / 100,
            "acceleration_x": acc_x / 1000,
            "acceleration_y": acc_y / 1000,
            "acceleration_z": acc_z / 1000,
            "voltage": (millivolts + 1600) / 1000,
            "battery": _BATTERY[millivolts],
            "tx_power": tx_power * 2 - 40,
            "movement_counter": movement,
            "measurement_sequence": sequence,
        }
        return Decoded(measurements, "RuuviTag", "5", sequence)
    m: dict[str, float | int] = {}
    add_climate(m, temp, hum, pres)
    if acc_x != _INT16_INVALID:
        m["acceleration_x"] = acc_x / 1000
    if acc_y != _INT16_INVALID:
        m["acceleration_y"] = acc_y / 1000
    if acc_z != _INT16_INVALID:
        m["acceleration_z"] = acc_z / 1000
    if millivolts != _MV_INVALID:
        m["voltage"] = (millivolts + 1600) / 1000
        m["battery"] = _BATTERY[millivolts]
    if tx_power != _TX_INVALID:
        m["tx_power"] = tx_power * 2 - 40
    if movement != 0xFF:
        m["movement_counter"] = movement
    seq: int | None = None
    if sequence != 0xFFFF:
        m["measurement_sequence"] = seq = sequence
    return Decoded(measurements=m, model="RuuviTag", format="5", sequence=seq)


def encode(
    *,
    temperature: float,
    humidity: float,
    pressure: float,
    acceleration: tuple[float, float, float],
    voltage: float,
    tx_power: int,
    movement_counter: int,
    sequence: int,
    mac: bytes,
) -> bytes:
    """The format 5 payload for these values (used to make demo captures and tests)."""
    power = (round(voltage * 1000) - 1600) << 5 | (tx_power + 40) // 2
    return struct.pack(
        ">BhHHhhhHBH6s",
        5,
        round(temperature / 0.005),
        round(humidity / 0.0025),
        round(pressure * 100) - 50_000,
        *(round(a * 1000) for a in acceleration),
        power,
        movement_counter,
        sequence,
        mac,
    )
