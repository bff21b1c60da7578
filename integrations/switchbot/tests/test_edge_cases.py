"""Negative temperatures, invalid values, partial advertisements and other products.

No capture below 0 °C has been published, so the negative vectors are built by hand from
meter.md: byte 4 bit 7 is the sign, SET above zero and CLEAR below ("0: subzero
temperature, 1: temperature above zero"); sign and magnitude, not two's complement.
"""

from __future__ import annotations

import math

import pytest

from hub.integrations import Decoded, DecodeFailure, IntegrationRegistry
from hub.testing import advertisement, decode
from integrations.switchbot import INTEGRATION

Expected = dict[str, float | int]
MAC = "AABBCCDDEEFF"


def run(service_data: str | None, manufacturer_data: str | None) -> Decoded | DecodeFailure | None:
    adv = advertisement(
        service_data={0xFD3D: bytes.fromhex(service_data)} if service_data is not None else None,
        manufacturer_data=(
            {0x0969: bytes.fromhex(manufacturer_data)} if manufacturer_data is not None else None
        ),
    )
    return decode(INTEGRATION, adv)


NEGATIVE = [
    # Service data: tenths 5, sign clear + 5 -> -5.5 °C.
    ("540064050540", None, {"battery": 100, "temperature": -5.5, "humidity": 64}),
    # Sign clear, 0 whole degrees, tenths 5 -> -0.5 °C (the sign applies to the tenths too).
    ("540064050040", None, {"battery": 100, "temperature": -0.5, "humidity": 64}),
    # Sign set, 0 whole degrees, tenths 4 -> +0.4 °C.
    ("540064048040", None, {"battery": 100, "temperature": 0.4, "humidity": 64}),
    # Outdoor Meter manufacturer data: tenths 3, sign clear + 12 -> -12.3 °C, 80 %.
    ("770064", MAC + "3603030c5000", {"battery": 100, "temperature": -12.3, "humidity": 80}),
    # Outdoor Meter at -30.0 °C (sign clear + 30, tenths 0), 95 %.
    ("770050", MAC + "3603001e5f00", {"battery": 80, "temperature": -30.0, "humidity": 95}),
    # Meter Pro CO2: -3.4 °C, 36 %, 412 ppm (0x019C).
    (
        "350064",
        MAC + "b7e40403a40037019c00",
        {"battery": 100, "temperature": -3.4, "humidity": 36, "co2": 412},
    ),
]


@pytest.mark.parametrize(("service", "manufacturer", "expected"), NEGATIVE)
def test_negative_temperatures(service: str, manufacturer: str | None, expected: Expected) -> None:
    result = run(service, manufacturer)
    assert isinstance(result, Decoded)
    assert result.measurements == expected


def test_zero_with_the_sign_clear_is_plain_zero() -> None:
    result = run("540064000040", None)
    assert isinstance(result, Decoded)
    assert result.measurements == {"battery": 100, "temperature": 0.0, "humidity": 64}
    assert math.copysign(1.0, result.measurements["temperature"]) == 1.0


@pytest.mark.parametrize(
    ("service", "manufacturer", "expected"),
    [
        # Tenths nibble 0xA is not a digit (documented 0000-1001): no temperature.
        ("5400640a972d", None, {"battery": 100, "humidity": 45}),
        ("770064", MAC + "36030f963700", {"battery": 100, "humidity": 55}),
        # Humidity above 100 % (documented 0-99) is not reported.
        ("54006405977f", None, {"battery": 100, "temperature": 23.5}),
        # Battery above 100 % (documented 0-100) is not reported.
        ("54007f05972d", None, {"temperature": 23.5, "humidity": 45}),
        # Meter Pro CO2 above its sensor's 9999 ppm: not a measurement.
        (
            "350064",
            MAC + "b7e4079ba40037ffff00",
            {"battery": 100, "temperature": 27.7, "humidity": 36},
        ),
        # Meter Pro CO2 manufacturer data too short to hold the CO2 field: the rest is read.
        ("350064", MAC + "b7e4079ba40037", {"battery": 100, "temperature": 27.7, "humidity": 36}),
        # The scan response alone from a model whose record is in the manufacturer data:
        # the battery is all there is.
        ("770064", None, {"battery": 100}),
        ("350064", None, {"battery": 100}),
    ],
)
def test_invalid_or_missing_values_are_absent(
    service: str, manufacturer: str | None, expected: Expected
) -> None:
    result = run(service, manufacturer)
    assert isinstance(result, Decoded)
    assert result.measurements == expected


def test_manufacturer_data_too_short_falls_back_to_the_service_data() -> None:
    # A Meter whose manufacturer data holds only its MAC: the service data has the record.
    result = run("54006405972d", MAC)
    assert isinstance(result, Decoded)
    assert result.measurements == {"battery": 100, "temperature": 23.5, "humidity": 45}
    assert result.format == "service_data"


@pytest.mark.parametrize(
    ("service", "manufacturer", "reason"),
    [
        ("5400", None, "SwitchBot Meter: service data must be at least 3 bytes, got 2"),
        ("54", MAC + "de03069835", "SwitchBot Meter: service data must be at least 3 bytes, got 1"),
        ("5400e40597", None, "SwitchBot Meter: service data must be 6 bytes, got 5"),
        ("5400e406", None, "SwitchBot Meter: service data must be 6 bytes, got 4"),
        (
            "770064",
            MAC + "3603",
            "SwitchBot Outdoor Meter: manufacturer data must be at least 11 bytes, got 8",
        ),
        ("340064", "", "SwitchBot Meter Pro: manufacturer data must be at least 11 bytes, got 0"),
    ],
)
def test_truncated_payloads_are_failures(
    service: str, manufacturer: str | None, reason: str
) -> None:
    assert run(service, manufacturer) == DecodeFailure(reason)


@pytest.mark.parametrize(
    ("service_data", "manufacturer_data"),
    [
        # A SwitchBot Bot ('H') under the legacy UUID (pySwitchbot / Home Assistant tests).
        ({0x0D00: bytes.fromhex("481061")}, {0x0059: bytes.fromhex("d82eadcd0d85")}),
        # A Contact Sensor ('d') under 0xFD3D: a SwitchBot product that is not a meter.
        ({0xFD3D: bytes.fromhex("6440640000")}, {0x0969: bytes(12)}),
        # Manufacturer data alone: every SwitchBot product uses 0x0969.
        (None, {0x0969: bytes.fromhex(MAC + "360302963700")}),
        # Empty service data says nothing about the product.
        ({0xFD3D: b""}, {0x0969: bytes.fromhex(MAC + "360302963700")}),
        # Another service's data.
        ({0xFCD2: bytes.fromhex("4002c40903bf13")}, None),
    ],
)
def test_not_a_switchbot_meter(
    service_data: dict[int | str, bytes] | None, manufacturer_data: dict[int, bytes] | None
) -> None:
    adv = advertisement(service_data=service_data, manufacturer_data=manufacturer_data)
    assert decode(INTEGRATION, adv) is None


def test_the_hub_offers_switchbot_service_data_to_this_integration() -> None:
    INTEGRATION.check()
    registry = IntegrationRegistry([INTEGRATION])
    for uuid in (0xFD3D, 0x0D00):
        adv = advertisement(service_data={uuid: b"T"})
        assert registry.candidates(adv) == [INTEGRATION]
    assert registry.candidates(advertisement(manufacturer_data={0x0969: b"\x00"})) == []
