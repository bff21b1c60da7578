"""Negative temperatures, invalid markers, truncated frames and frames that are not ours.

No published capture below 0 °C exists for these models, so the negative vectors are built
by hand from the documented layouts (sign-and-magnitude packed values per
Thrilleratplay/GoveeWatcher issue #2 and govee-ble's decode_temp_humid; two's-complement
int16 per the H5074/H5179 layouts), as each comment shows.
"""

from __future__ import annotations

import math

import pytest

from hub.events import Advertisement
from hub.integrations import Decoded, DecodeFailure, IntegrationRegistry
from hub.testing import advertisement, decode
from integrations.govee import INTEGRATION

Expected = dict[str, float | int]


def run(company_id: int, payload: str, name: str | None) -> Decoded | DecodeFailure | None:
    adv = advertisement(manufacturer_data={company_id: bytes.fromhex(payload)}, name=name)
    return decode(INTEGRATION, adv)


NEGATIVE = [
    # packed 0x800000 | 52450 = 0x80CCE2: sign set, 052 tenths of a degree, 45.0 %.
    (
        "GVH5075_1A2B",
        0xEC88,
        "0080cce24000",
        {"temperature": -5.2, "humidity": 45.0, "battery": 64},
    ),
    # 0x800000 | 5300: -0.5 °C, 30.0 % (a small magnitude keeps its sign).
    (
        "GVH5075_1A2B",
        0xEC88,
        "008014b46400",
        {"temperature": -0.5, "humidity": 30.0, "battery": 100},
    ),
    # 0x800000 | 153821 = 0x8258DD under 0x0001: -15.3 °C, 82.1 %, 90 %.
    (
        "GVH5177_1A2B",
        0x0001,
        "01018258dd5a",
        {"temperature": -15.3, "humidity": 82.1, "battery": 90},
    ),
    # 0x800000 | 400000: -40.0 °C, the lowest reading we accept.
    (
        "GVH5102_1A2B",
        0x0001,
        "0101861a8064",
        {"temperature": -40.0, "humidity": 0.0, "battery": 100},
    ),
    # H5074 int16 LE -1050 = 0xFBE6 -> -10.5 °C; humidity 4482 -> 44.82 %.
    (
        "Govee_H5074_1A2B",
        0xEC88,
        "00e6fb82116402",
        {"temperature": -10.5, "humidity": 44.82, "battery": 100},
    ),
    # H5051 int16 LE -2000 = 0xF830 -> -20.0 °C; 5555 -> 55.55 %; battery 80.
    (
        "Govee_H5051_1A2B",
        0xEC88,
        "0030f8b31550020101",
        {"temperature": -20.0, "humidity": 55.55, "battery": 80},
    ),
    # H5179 int16 LE -525 = 0xFDF3 -> -5.25 °C; 6320 -> 63.2 %.
    (
        "Govee_H5179_1A2B",
        0x8801,
        "ec000101f3fdb01864",
        {"temperature": -5.25, "humidity": 63.2, "battery": 100},
    ),
    # H5106 32-bit packed 0x80000000 | 052 450 012: -5.2 °C, 45.0 %, 12 µg/m³.
    ("GVH5106_1A2B", 0x0001, "0101832052dc", {"temperature": -5.2, "humidity": 45.0, "pm2_5": 12}),
]


@pytest.mark.parametrize(("name", "company_id", "payload", "expected"), NEGATIVE)
def test_negative_temperatures(
    name: str, company_id: int, payload: str, expected: Expected
) -> None:
    result = run(company_id, payload, name)
    assert isinstance(result, Decoded)
    assert result.measurements == expected


def test_sign_bit_on_a_zero_magnitude_is_plain_zero() -> None:
    # 0x800000 | 500: "-0.0 °C" with 50.0 %. Reported as 0.0, never as -0.0.
    result = run(0xEC88, "008001f46400", "GVH5075_1A2B")
    assert isinstance(result, Decoded)
    assert result.measurements == {"temperature": 0.0, "humidity": 50.0, "battery": 100}
    assert math.copysign(1.0, result.measurements["temperature"]) == 1.0


@pytest.mark.parametrize(
    ("name", "company_id", "payload", "expected"),
    [
        # The top bit of the battery byte is the device's error flag (govee-ble
        # decode_temp_humid_battery_error): temperature and humidity are not reported.
        ("GVH5075_1A2B", 0xEC88, "0003215de400", {"battery": 100}),
        ("GVH5177_1A2B", 0x0001, "010103cb01e4", {"battery": 100}),
        # A battery above 100 % cannot be: not reported, the rest is.
        ("GVH5075_1A2B", 0xEC88, "0003215d6500", {"temperature": 20.5, "humidity": 14.9}),
        ("Govee_H5074_1A2B", 0xEC88, "00e609bc12c802", {"temperature": 25.34, "humidity": 47.96}),
        # Outside -40..100 °C the packed value is not a measurement (both quantities go).
        ("GVH5075_1A2B", 0xEC88, "000f46286400", {"battery": 100}),  # 100.1 °C
        (
            "GVH5075_1A2B",
            0xEC88,
            "000f42406400",
            {"temperature": 100.0, "humidity": 0.0, "battery": 100},
        ),
        ("GVH5075_1A2B", 0xEC88, "00861e686400", {"battery": 100}),  # -40.1 °C
        # int16 layouts: temperature and humidity are separate fields, judged separately.
        ("Govee_H5074_1A2B", 0xEC88, "000080bc126402", {"humidity": 47.96, "battery": 100}),
        ("Govee_H5074_1A2B", 0xEC88, "00e609ffff6402", {"temperature": 25.34, "battery": 100}),
        ("Govee_H5179_1A2B", 0x8801, "ec0001010080112764", {"battery": 100}),
        # H5106 with an implausible temperature: the whole packed value goes.
        ("GVH5106_1A2B", 0x0001, "01017fffffff", {}),
    ],
)
def test_invalid_values_are_absent(
    name: str, company_id: int, payload: str, expected: Expected
) -> None:
    result = run(company_id, payload, name)
    assert isinstance(result, Decoded)
    assert result.measurements == expected


@pytest.mark.parametrize(
    ("name", "company_id", "payload", "reason"),
    [
        ("GVH5075_1A2B", 0xEC88, "0003215d64", "Govee H5075 payload must be 6 bytes, got 5"),
        ("GVH5075_1A2B", 0xEC88, "", "Govee H5075 payload must be 6 bytes, got 0"),
        ("Govee_H5074_1A2B", 0xEC88, "0003215d6400", "Govee H5074 payload must be 7 bytes, got 6"),
        ("Govee_H5179_1A2B", 0x8801, "ec000101", "Govee H5179 payload must be 9 bytes, got 4"),
        ("GVH5106_1A2B", 0x0001, "01010ed132", "Govee H5106 payload must be 6 bytes, got 5"),
        ("GVH5177_1A2B", 0x0001, "010103cb0164ff", "Govee H5177 payload must be 6 bytes, got 7"),
        # The right model name with a company id that model does not use.
        ("GVH5075_1A2B", 0x0001, "010103cb0164", "Govee H5075 sends no known layout under 0x0001"),
    ],
)
def test_wrong_lengths_are_failures_with_a_reason(
    name: str, company_id: int, payload: str, reason: str
) -> None:
    assert run(company_id, payload, name) == DecodeFailure(reason)


def test_a_glued_ibeacon_is_removed_only_when_it_is_one() -> None:
    # Looks like the glued record but the UUID differs: the payload stays as it is, and
    # 6 + 25 bytes is not an H5075 layout.
    fake = "0003215d6400" + "4c000215" + b"NOT_GOVEE_UUID__".hex() + "5075f2ffc2"
    assert run(0xEC88, fake, "GVH5075_1A2B") == DecodeFailure(
        "Govee H5075 payload must be 6 bytes, got 31"
    )


@pytest.mark.parametrize(
    "adv",
    [
        # Name only (the H5074's name-only advertisement): nothing to decode.
        Advertisement(ts=1.0, address="AA:BB:CC:DD:EE:FF", name="Govee_H5074_5FF4"),
        # Only the sensor's iBeacon (company 0x004C).
        advertisement(manufacturer_data={0x004C: b"\x02\x15INTELLI_ROCKS_HW"}, name="GVH5075_1A"),
        # A Govee meat thermometer (GoveeBTTempLogger: H5183 under a per-device company id).
        advertisement(
            manufacturer_data={0xA15D: bytes.fromhex("b401000101e4008b09c426480000")},
            name="GVH5183_A1B4",
        ),
        # Govee products we do not decode, even under a company id we know (govee-ble
        # GV5125 button; H5178 two-sensor frame under 0x0001 named "B51782BC8").
        advertisement(
            manufacturer_data={0xEC88: bytes.fromhex("010a2eafd930383553670101")},
            name="GV51255367",
        ),
        advertisement(
            manufacturer_data={0x0001: bytes.fromhex("010101002af7640003")}, name="B51782BC8"
        ),
        # Without a name, a shape that no layout has.
        advertisement(manufacturer_data={0xEC88: bytes.fromhex("0003215d64")}),
        advertisement(manufacturer_data={0x8801: bytes.fromhex("ec0001010a0aa406")}),
        advertisement(manufacturer_data={0xEC88: b""}),
    ],
)
def test_not_ours(adv: Advertisement) -> None:
    assert decode(INTEGRATION, adv) is None


def test_the_hub_offers_govee_advertisements_to_this_integration() -> None:
    INTEGRATION.check()
    registry = IntegrationRegistry([INTEGRATION])
    for adv in (
        advertisement(manufacturer_data={0xEC88: b"\x00"}),
        advertisement(manufacturer_data={0x8801: b"\x00"}),
        advertisement(manufacturer_data={0x0001: b"\x00"}),
        advertisement(name="GVH5075_1A2B"),
        advertisement(name="GV5179_250D"),
        advertisement(name="Govee_H5179_3CD5"),
        advertisement(name="ihoment_H5177_1A2B"),
    ):
        assert registry.candidates(adv) == [INTEGRATION], adv
