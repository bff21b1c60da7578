"""b-parasite protocol v1/v2 against published packets and hand-made vectors of the spec.

Spec: rbaron/b-parasite, code/b-parasite/README.md, "Bluetooth Low Energy Advertisement
Data Encoding" (byte 0 version + has_lux, byte 1 counter, 2-3 battery mV, 4-5 temperature
in 1000 * °C (v1) or 100 * °C (v2), 6-7 humidity and 8-9 soil moisture 0..0xFFFF = 0..100 %,
10-15 MAC, 16-17 lux when has_lux is set).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.integrations import Decoded, DecodeFailure
from hub.testing import advertisement, assert_reading_or_failure, decode, mutations
from integrations.bparasite import INTEGRATION

MAC = "AA:BB:CC:DD:EE:FF"


def run(hex_or_bytes: str | bytes, name: str | None = None) -> Decoded | DecodeFailure | None:
    payload = bytes.fromhex(hex_or_bytes) if isinstance(hex_or_bytes, str) else hex_or_bytes
    adv = advertisement(MAC, service_data={0x181A: payload}, name=name)
    return decode(INTEGRATION, adv)


# Published packets: theengs/decoder, tests/BLE/test_ble.cpp, test_uuid "bParasite" inputs
# with that file's expected outputs (tempc, hum, moi, lux, volt; hum 90.00076295 and moi
# 49.99923705 there are 58982 and 32767 over 0xFFFF, which we round to 2 decimals).
# Battery % is ours: the firmware's own CR2032 curve (see README), 2.95 V -> 42 + 58 / 2.
PUBLISHED = [
    pytest.param(
        "10c30c1c6400e6667fffaabbccddeeff",
        "v1",
        {"temperature": 25.6, "humidity": 90.0, "moisture": 50.0, "voltage": 3.1, "battery": 100},
        id="v1",
    ),
    pytest.param(
        "11c30b8658aca6666b85aabbccddeeff30d4",
        "v1",
        {
            "temperature": 22.7,
            "humidity": 65.0,
            "moisture": 42.0,
            "voltage": 2.95,
            "battery": 71,
            "illuminance": 12500,
        },
        id="v1-lux",
    ),
    pytest.param(
        "20c30c1c0a00e6667fffaabbccddeeff",
        "v2",
        {"temperature": 25.6, "humidity": 90.0, "moisture": 50.0, "voltage": 3.1, "battery": 100},
        id="v2",
    ),
    pytest.param(
        "21c30b8608dea6666b85aabbccddeeff30d4",
        "v2",
        {
            "temperature": 22.7,
            "humidity": 65.0,
            "moisture": 42.0,
            "voltage": 2.95,
            "battery": 71,
            "illuminance": 12500,
        },
        id="v2-lux",
    ),
]

# Hand-made from the documented layout (no published packet covers these cases).
HAND_MADE = [
    # v2, counter 5, 3000 mV, -5.25 °C (int16 -525 = 0xFDF3), 0x8000 and 0x4000 scaled.
    pytest.param(
        "20050bb8fdf380004000aabbccddeeff",
        "v2",
        {"temperature": -5.25, "humidity": 50.0, "moisture": 25.0, "voltage": 3.0, "battery": 100},
        id="v2-negative",
    ),
    # v2 extremes: int16 minimum and maximum temperature, 0 and full-scale humidity/moisture.
    pytest.param(
        "200f07d080000000ffffaabbccddeeff",
        "v2",
        {"temperature": -327.68, "humidity": 0.0, "moisture": 100.0, "voltage": 2.0, "battery": 0},
        id="v2-minimum",
    ),
    pytest.param(
        "210a0ac47fffffff0000aabbccddeeffffff",
        "v2",
        {
            "temperature": 327.67,
            "humidity": 100.0,
            "moisture": 0.0,
            "voltage": 2.756,
            "battery": 20,  # 18 + (42 - 18) * 0.016 / 0.16
            "illuminance": 65535,
        },
        id="v2-maximum",
    ),
    # v1 is unsigned millidegrees: 0x0000 is 0 °C, 0xFFFF is 65.535 °C (no negatives).
    pytest.param(
        "1000098a0000147b3333aabbccddeeff",
        "v1",
        {"temperature": 0.0, "humidity": 8.0, "moisture": 20.0, "voltage": 2.442, "battery": 6},
        id="v1-zero",
    ),
    pytest.param(
        "1009098affff147b3333aabbccddeeff",
        "v1",
        {"temperature": 65.535, "humidity": 8.0, "moisture": 20.0, "voltage": 2.442, "battery": 6},
        id="v1-maximum",
    ),
]


@pytest.mark.parametrize(("vector", "version", "expected"), PUBLISHED + HAND_MADE)
def test_vectors(vector: str, version: str, expected: dict[str, float]) -> None:
    for name in ("prst", None):
        result = run(vector, name)
        assert isinstance(result, Decoded)
        assert result.measurements == expected
        assert result.model == "b-parasite"
        assert result.format == version
        assert result.sequence == bytes.fromhex(vector)[1] & 0x0F


def test_counter_is_the_low_nibble_of_byte_1() -> None:
    result = run("20fa0bb8fdf380004000aabbccddeeff")
    assert isinstance(result, Decoded)
    assert result.sequence == 0x0A


def test_lux_bytes_are_ignored_without_the_flag() -> None:
    # Spec: without has_lux, bytes 16-17 "may not exist or may contain meaningless data".
    result = run("20c30c1c0a00e6667fffaabbccddeeff30d4")
    assert isinstance(result, Decoded)
    assert "illuminance" not in result.measurements


@pytest.mark.parametrize(
    ("payload", "name", "reason"),
    [
        ("20c30c1c0a00e6667fffaabbccddee", "prst", "b-parasite payload needs 16 bytes, got 15"),
        ("", "prst", "b-parasite payload needs 16 bytes, got 0"),
        ("30c30c1c0a00e6667fffaabbccddeeff", "prst", "unknown b-parasite protocol version 3"),
        (
            "21c30b8608dea6666b85aabbccddeeff",
            None,
            "b-parasite payload flags illuminance but has 16 bytes, 18 needed",
        ),
        (
            "21c30b8608dea6666b85aabbccddeeff30",
            "prst",
            "b-parasite payload flags illuminance but has 17 bytes, 18 needed",
        ),
    ],
)
def test_bad_payloads_give_a_reason(payload: str, name: str | None, reason: str) -> None:
    assert run(payload, name) == DecodeFailure(reason)


@pytest.mark.parametrize(
    "payload",
    [
        "a4c138d5d49801453e510b7b62",  # ATC1441 custom firmware, 13 bytes
        "5601cf38c1a44008bd13470c64cc0f",  # pvvx custom firmware, 15 bytes
        "30c30c1c0a00e6667fffaabbccddeeff",  # b-parasite length, but no b-parasite version
        "20c30c1c0a00e6667fffaabbccdd",  # too short to tell, and no "prst" name
    ],
)
def test_other_0x181a_formats_are_not_ours(payload: str) -> None:
    assert run(payload, name="ATC_800021") is None
    assert run(payload) is None


def test_advertisement_without_0x181a_is_not_ours() -> None:
    adv = advertisement(MAC, service_data={0xFCD2: b"\x40\x02\xc4\x09"}, name="prst")
    assert decode(INTEGRATION, adv) is None


VALID = [bytes.fromhex(str(p.values[0])) for p in PUBLISHED + HAND_MADE]


@given(st.sampled_from(VALID).flatmap(mutations), st.sampled_from(["prst", None]))
def test_mutated_payloads_never_raise(payload: bytes, name: str | None) -> None:
    assert_reading_or_failure(run(payload, name))


@given(st.binary(max_size=40), st.sampled_from(["prst", "ATC_1234", None]))
def test_random_payloads_never_raise(payload: bytes, name: str | None) -> None:
    assert_reading_or_failure(run(payload, name))


@given(st.binary(min_size=17, max_size=17))
def test_any_v2_body_stays_in_range(body: bytes) -> None:
    result = run(bytes([0x21]) + body)
    assert isinstance(result, Decoded)
    m = result.measurements
    assert -327.68 <= m["temperature"] <= 327.67
    assert 0 <= m["humidity"] <= 100
    assert 0 <= m["moisture"] <= 100
    assert 0 <= m["battery"] <= 100
    assert result.sequence is not None
    assert 0 <= result.sequence <= 15
