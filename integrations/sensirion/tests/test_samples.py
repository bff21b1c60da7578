"""Sensirion advertisement samples against published packets and the official layout.

Layout: Sensirion/ble-services, data_source/ble-ad-sample-types.yml (all fields uint16,
little-endian, per README.md of that repository): 0 advertisement type, 1 sample type,
2-3 device id, then the sample type's fields from offset 4.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.integrations import Decoded, DecodeFailure
from hub.testing import advertisement, assert_reading_or_failure, decode, mutations
from integrations.sensirion import INTEGRATION
from integrations.sensirion.samples import SAMPLE_TYPES


def run(payload: str | bytes, company: int = 0x06D5) -> Decoded | DecodeFailure | None:
    data = bytes.fromhex(payload) if isinstance(payload, str) else payload
    return decode(INTEGRATION, advertisement(manufacturer_data={company: data}))


# Published packets: theengs/decoder, tests/BLE/test_ble.cpp, the "Sensirion SHT4X" and
# "Sensirion MyCO2" manufacturer-data inputs (there with the d506 company-id prefix) and that
# file's expected outputs (e.g. tempc 27.47005417, hum 43.37056535), rounded to 2 decimals.
PUBLISHED = [
    ("0006e2e7036a1c65", "0x06", {"temperature": 27.47, "humidity": 43.37}),
    ("0006e2e733339dc4", "0x06", {"temperature": -10.0, "humidity": 90.0}),
    ("0006e2e72b3e6891", "0x06", {"temperature": -2.5, "humidity": 65.0}),
    # The same sample followed by further advertising data (a local name structure).
    (
        "0006e2e7036a1c650d09534854343020476164676574",
        "0x06",
        {"temperature": 27.47, "humidity": 43.37},
    ),
    ("000ae2e733339dc4e902", "0x0A", {"temperature": -10.0, "humidity": 76.8, "co2": 745}),
    (
        "000867355367925c0b040609",
        "0x08",
        {"temperature": 25.63, "humidity": 36.16, "co2": 1035},
    ),
    # A type 0x0A sample with trailing bytes beyond its documented fields.
    (
        "000ac543016b88619a05000000009a05000000000000",
        "0x0A",
        {"temperature": 28.15, "humidity": 38.1, "co2": 1434},
    ),
]


@pytest.mark.parametrize(("payload", "data_format", "expected"), PUBLISHED)
def test_published_packets(payload: str, data_format: str, expected: dict[str, float]) -> None:
    result = run(payload)
    assert isinstance(result, Decoded)
    assert result.measurements == expected
    assert result.format == data_format
    assert result.sequence is None  # the samples carry no counter


def sample(sample_type: int, *raws: int, device_id: int = 0xE7E2) -> bytes:
    return struct.pack(f"<BBH{len(raws)}H", 0x00, sample_type, device_id, *raws)


# Hand-made from the documented layout: raw values chosen so that the documented formulas
# give round numbers (T raw 26214 -> 25.0 °C, 13107 -> -10.0 °C; RH raw 32768 -> 50.0 %;
# PM2.5 1000 * 983 / 65535 -> 15.0 µg/m³; PM raw / 10).
HAND_MADE = [
    (sample(0x03, 26214, 32768, 100), {"temperature": 25.0, "humidity": 50.0, "voc_index": 100}),
    (sample(0x04, 13107, 19661), {"temperature": -10.0, "humidity": 30.0}),
    (sample(0x0A, 26214, 32768, 800), {"temperature": 25.0, "humidity": 50.0, "co2": 800}),
    (
        sample(0x0C, 26214, 32768, 800, 983),
        {"temperature": 25.0, "humidity": 50.0, "co2": 800, "pm2_5": 15.0},
    ),
    (sample(0x0E, 26214, 32768, 150), {"temperature": 25.0, "humidity": 50.0}),
    (
        sample(0x10, 26214, 32768, 100, 983),
        {"temperature": 25.0, "humidity": 50.0, "voc_index": 100, "pm2_5": 15.0},
    ),
    (
        sample(0x14, 26214, 32768, 800, 100, 983, 150),
        {"temperature": 25.0, "humidity": 50.0, "co2": 800, "voc_index": 100, "pm2_5": 15.0},
    ),
    (
        sample(0x16, 26214, 32768, 100, 1),
        {"temperature": 25.0, "humidity": 50.0, "voc_index": 100, "nox_index": 1},
    ),
    (
        sample(0x18, 26214, 32768, 100, 1, 123),
        {"temperature": 25.0, "humidity": 50.0, "voc_index": 100, "nox_index": 1, "pm2_5": 12.3},
    ),
    (
        sample(0x1A, 13107, 32768, 800, 100, 1, 123),
        {
            "temperature": -10.0,
            "humidity": 50.0,
            "co2": 800,
            "voc_index": 100,
            "nox_index": 1,
            "pm2_5": 12.3,
        },
    ),
    (
        sample(0x1C, 26214, 32768, 800, 123),
        {"temperature": 25.0, "humidity": 50.0, "co2": 800, "pm2_5": 12.3},
    ),
    (
        sample(0x1E, 26214, 32768, 100, 123),
        {"temperature": 25.0, "humidity": 50.0, "voc_index": 100, "pm2_5": 12.3},
    ),
    (
        sample(0x20, 26214, 32768, 800, 100, 123, 150),
        {"temperature": 25.0, "humidity": 50.0, "co2": 800, "voc_index": 100, "pm2_5": 12.3},
    ),
    (
        sample(0x22, 51, 123, 150, 1000),
        {"pm1_0": 5.1, "pm2_5": 12.3, "pm4_0": 15.0, "pm10": 100.0},
    ),
    (sample(0x24, 412), {"co2": 412}),
    (sample(0x26, 32768, 26214), {"temperature": 25.0}),
]


@pytest.mark.parametrize(("payload", "expected"), HAND_MADE)
def test_documented_sample_types(payload: bytes, expected: dict[str, float]) -> None:
    result = run(payload)
    assert isinstance(result, Decoded)
    assert result.measurements == expected
    assert result.format == f"0x{payload[1]:02X}"
    assert result.model == SAMPLE_TYPES[payload[1]].model


def test_every_documented_sample_type_has_a_vector() -> None:
    covered = {payload[1] for payload, _ in HAND_MADE} | {0x06, 0x08}
    assert covered == set(SAMPLE_TYPES)


@pytest.mark.parametrize(
    ("raws", "expected"),
    [
        # Hand-made extremes: T from -45 to 130 °C; the SHT4x humidity formula
        # (-6 + 125 * raw / 65535) reaches -6 % and 119 %, cropped to 0-100 % as
        # Sensirion's SHT4x datasheet prescribes.
        ((0, 0), {"temperature": -45.0, "humidity": 0.0}),
        ((65535, 65535), {"temperature": 130.0, "humidity": 100.0}),
        ((26214, 26214), {"temperature": 25.0, "humidity": 44.0}),
    ],
)
def test_sht4x_extremes_are_cropped(raws: tuple[int, int], expected: dict[str, float]) -> None:
    result = run(sample(0x06, *raws))
    assert isinstance(result, Decoded)
    assert result.measurements == expected


def test_pm_full_scale_maximum() -> None:
    result = run(sample(0x0C, 0, 65535, 0, 65535))
    assert isinstance(result, Decoded)
    assert result.measurements == {
        "temperature": -45.0,
        "humidity": 100.0,
        "co2": 0,
        "pm2_5": 1000.0,
    }


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("", "Sensirion payload of 0 bytes has no sample type"),
        ("00", "Sensirion payload of 1 bytes has no sample type"),
        ("0006e2e7036a1c", "Sensirion sample type 0x06 needs 8 bytes, got 7"),
        ("000ae2e733339dc4e9", "Sensirion sample type 0x0A needs 10 bytes, got 9"),
        ("0014e2e7", "Sensirion sample type 0x14 needs 16 bytes, got 4"),
        ("ff00", "advertisement samples are switched off on this SHT43 board"),
        ("0005e2e7036a1c65", "unknown Sensirion advertisement type 0x00 sample type 0x05"),
        ("0106e2e7036a1c65", "unknown Sensirion advertisement type 0x01 sample type 0x06"),
    ],
)
def test_failures_say_why(payload: str, reason: str) -> None:
    assert run(payload) == DecodeFailure(reason)


def test_other_company_is_not_ours() -> None:
    assert run("0006e2e7036a1c65", company=0x0499) is None


VALID = [bytes.fromhex(p) for p, _, _ in PUBLISHED] + [p for p, _ in HAND_MADE]


@given(st.sampled_from(VALID).flatmap(mutations))
def test_mutations_never_raise(payload: bytes) -> None:
    assert_reading_or_failure(run(payload))


@given(st.binary(max_size=40))
def test_random_payloads_never_raise(payload: bytes) -> None:
    assert_reading_or_failure(run(payload))


@given(st.sampled_from(sorted(SAMPLE_TYPES)), st.binary(min_size=16, max_size=16))
def test_any_sample_stays_in_range(sample_type: int, body: bytes) -> None:
    result = run(bytes([0x00, sample_type]) + body)
    assert isinstance(result, Decoded)
    m = result.measurements
    assert -45 <= m.get("temperature", 0) <= 130
    assert 0 <= m.get("humidity", 0) <= 100
    assert all(0 <= m.get(pm, 0) <= 6553.5 for pm in ("pm1_0", "pm2_5", "pm4_0", "pm10"))
