"""ThermoBeacon frames against published captures, plus hand-made edge cases.

ThermoBeacon publishes no advertisement specification or vectors. The frames below are
captures posted publicly (source in each comment); hand-made frames follow the documented
layout (../README.md) and say so. Battery percentages come from our curve
(frames.BATTERY_CURVE), stated in the README.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.integrations import Decoded, DecodeFailure
from hub.testing import advertisement, assert_reading_or_failure, decode, mutations
from integrations.thermobeacon import INTEGRATION
from integrations.thermobeacon.frames import BATTERY_CURVE

# ble_monitor #836: hcidump of 91:20:00:00:2A:F4, manufacturer data "10 00 | 00 00 F4 2A
# 00 00 20 91 93 0B 8D 01 13 02 A1 AA 6F 00", which ble_monitor's parser reads as
# 2.963 V, 24.8125 °C, 33.1875 %.
ADDRESS = "91:20:00:00:2A:F4"
READING = "0000 f42a00002091 930b 8d01 1302 a1aa6f00"


def run(entries: dict[int, str], address: str = ADDRESS) -> Decoded | DecodeFailure | None:
    data = {company: bytes.fromhex(p.replace(" ", "")) for company, p in entries.items()}
    return decode(INTEGRATION, advertisement(address, manufacturer_data=data))


def reading(entries: dict[int, str], address: str = ADDRESS) -> Decoded:
    result = run(entries, address)
    assert isinstance(result, Decoded), result
    return result


def test_published_reading() -> None:
    result = reading({0x0010: READING})
    assert result.measurements == {
        "temperature": 24.8125,
        "humidity": 33.1875,
        "voltage": 2.963,
        "battery": 96,  # our curve: 90 + 10 * 0.063 / 0.1 = 96.3
    }
    assert result.states == {"button": False}
    assert result.model == "ThermoBeacon lanyard/mini hygrometer"
    assert result.format == "reading"
    assert result.sequence is None


def test_published_history_frame_reports_no_current_value() -> None:
    # h2zero/NimBLE-Arduino #215: "ThermoBeacon, Address: 70:f7:00:00:11:1a, manufacturer
    # data: 100000001a110000f770fa0100000000fa0100000000" (id 0x0010 + 20-byte min/max).
    result = reading({0x0010: "0000 1a110000f770 fa01 00000000 fa01 00000000"}, "70:F7:00:00:11:1A")
    assert result.measurements == {}
    assert result.format == "history"


@pytest.mark.parametrize(
    ("payload", "expected", "button"),
    [
        # Hand-made: -7.5 °C (0xFF88), 80.5 % (0x0508), 2.75 V (0x0ABE), button held.
        (
            "0080 f42a00002091 be0a 88ff 0805 00000000",
            {"temperature": -7.5, "humidity": 80.5, "voltage": 2.75, "battery": 65},
            True,
        ),
        # Hand-made: humidity 100.0625 % is no reading; 3.3 V is above the curve (100 %).
        (
            "0000 f42a00002091 e40c 4001 4106 00000000",
            {"temperature": 20.0, "voltage": 3.3, "battery": 100},
            False,
        ),
        # Hand-made: int16 minimum temperature, 0 % humidity, 2.0 V (below the curve).
        (
            "0000 f42a00002091 d007 0080 0000 00000000",
            {"temperature": -2048.0, "humidity": 0.0, "voltage": 2.0, "battery": 0},
            False,
        ),
    ],
)
def test_hand_made_readings(payload: str, expected: dict[str, float], button: bool) -> None:
    result = reading({0x0011: payload})
    assert result.measurements == expected
    assert result.states == {"button": button}
    assert result.model == "ThermoBeacon smart hygrometer"


@pytest.mark.parametrize(("volts", "percent"), [(p[0], round(p[1])) for p in BATTERY_CURVE])
def test_battery_curve_points(volts: float, percent: int) -> None:
    millivolts = round(volts * 1000)
    payload = f"0000 f42a00002091 {millivolts.to_bytes(2, 'little').hex()} 4001 2003 00000000"
    assert reading({0x0015: payload}).measurements["battery"] == percent


def test_other_devices_sharing_the_id_are_not_ours() -> None:
    # 0x0030 is STMicroelectronics' id: a payload not naming the sender's MAC is not ours.
    assert run({0x0030: "0102 030405060708 090a 0b0c 0d0e 0f101112"}) is None
    # The published reading heard from another address is not this sensor's either.
    assert run({0x0010: READING}, address="AA:BB:CC:DD:EE:FF") is None
    # Too short to hold a MAC: nothing identifies it as a ThermoBeacon.
    assert run({0x0010: "0000f42a0000"}) is None
    # An id outside the family.
    assert run({0x0499: READING}) is None


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        # Truncated after the MAC: recognisably ours, not decodable.
        ("0000 f42a00002091 930b 8d01 1302 a1aa6f", "payload of 17 bytes, expected 18 or 20"),
        ("0000 f42a00002091", "payload of 8 bytes, expected 18 or 20"),
        (
            "0000 f42a00002091 930b 8d01 1302 a1aa6f00 0000 00",
            "payload of 21 bytes, expected 18 or 20",
        ),
    ],
)
def test_failures_say_why(payload: str, reason: str) -> None:
    assert run({0x0010: payload}) == DecodeFailure(reason)


def test_matchers_cover_the_family_ids() -> None:
    assert {m.manufacturer_id for m in INTEGRATION.matches} == {
        0x0010,
        0x0011,
        0x0015,
        0x0018,
        0x001B,
        0x0030,
    }


VALID = bytes.fromhex(READING.replace(" ", ""))


@given(mutations(VALID), st.sampled_from([0x0010, 0x0011, 0x0015, 0x0018, 0x001B, 0x0030]))
def test_mutations_never_raise(payload: bytes, company_id: int) -> None:
    result = decode(INTEGRATION, advertisement(ADDRESS, manufacturer_data={company_id: payload}))
    assert_reading_or_failure(result)
    if isinstance(result, Decoded):
        assert 0 <= result.measurements.get("battery", 0) <= 100
        assert 0 <= result.measurements.get("humidity", 0) <= 100


@given(st.binary(min_size=0, max_size=24))
def test_random_payload_behind_the_right_mac_never_raises(tail: bytes) -> None:
    # Random bytes after a matching MAC exercise every length and value.
    payload = bytes.fromhex("0000f42a00002091") + tail
    result = decode(INTEGRATION, advertisement(ADDRESS, manufacturer_data={0x0011: payload}))
    assert_reading_or_failure(result)
    assert result is not None
