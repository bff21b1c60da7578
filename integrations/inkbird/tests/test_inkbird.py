"""Inkbird IBS-TH frames against published frames, plus hand-made edge cases.

Inkbird publishes no advertisement specification or vectors. The real frames below come
from the public test suite of Bluetooth-Devices/inkbird-ble (tests/test_parser.py, frames
captured from users' devices); we reuse the bytes and the values, not the code. Their
checksum over bytes 0-4 is exactly CRC-16/MODBUS, which is what ties the layout down.
Hand-made frames are built from the documented layout (../README.md), with the checksum
computed by CRC-16/MODBUS, and say so.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.integrations import Decoded, DecodeFailure
from hub.testing import advertisement, assert_reading_or_failure, decode, mutations
from integrations.inkbird import INTEGRATION
from integrations.inkbird.crc import crc16_modbus


def run(name: str | None, entries: dict[int, str]) -> Decoded | DecodeFailure | None:
    data = {company: bytes.fromhex(payload) for company, payload in entries.items()}
    return decode(INTEGRATION, advertisement(name=name, manufacturer_data=data))


def test_crc_matches_the_catalogue_check_value() -> None:
    # CRC-16/MODBUS of ASCII "123456789" is 0x4B37 (the CRC catalogue's check value).
    assert crc16_modbus(b"123456789") == 0x4B37


@pytest.mark.parametrize(
    ("company_id", "payload", "expected"),
    [
        # inkbird-ble test_sps: {2044: c7 12 00 c8 3d 56 06} -> 20.44 °C, 48.07 %, 86 %.
        pytest.param(
            2044,
            "c71200c83d5606",
            {"temperature": 20.44, "humidity": 48.07, "battery": 86},
            id="sps-1",
        ),
        # inkbird-ble test_sps_variant2 (device 49:22:03:25:01:46): {2363: d0 13 00 ce 90 64 06}.
        pytest.param(
            2363,
            "d01300ce906406",
            {"temperature": 23.63, "humidity": 50.72, "battery": 100},
            id="sps-2",
        ),
        # inkbird-ble test_sps_th2_dupe_updates: {2248: 84 14 00 88 99 64 06}.
        pytest.param(
            2248,
            "84140088996406",
            {"temperature": 22.48, "humidity": 52.52, "battery": 100},
            id="sps-3",
        ),
    ],
)
def test_published_frames(company_id: int, payload: str, expected: dict[str, float]) -> None:
    result = run("sps", {company_id: payload})
    assert isinstance(result, Decoded)
    assert result.measurements == expected
    assert result.model == "IBS-TH"
    assert result.format == "ibs-th"
    assert result.sequence is None


def test_published_frame_with_a_stale_key_fails_its_checksum() -> None:
    # inkbird-ble test_unknown_sps: {2063: c0 12 01 70 08 64 06}; its checksum matches no
    # plausible temperature key (only 310.72 °C would), so it is a corrupt/merged entry.
    assert run("sps", {2063: "c0120170086406"}) == DecodeFailure("checksum mismatch")


@pytest.mark.parametrize(
    ("name", "company_id", "payload", "expected", "data_format"),
    [
        # Hand-made: IBS-P01B on firmware 2.3.0, -13.38 °C, humidity field 0xFFFF, 75 %.
        pytest.param(
            "tps",
            64198,
            "ffff00ed094b08",
            {"temperature": -13.38, "battery": 75},
            "ibs-th",
            id="p01b-ffff",
        ),
        # Hand-made: IBS-P01B on older firmware, humidity field 0x0000.
        pytest.param(
            "tps",
            64198,
            "0000009cc94b08",
            {"temperature": -13.38, "battery": 75},
            "ibs-th",
            id="p01b-zero",
        ),
        # Hand-made: IBS-TH2 at -0.5 °C, 45.67 %, 60 %.
        pytest.param(
            "tps",
            65486,
            "d71100c1ac3c08",
            {"temperature": -0.5, "humidity": 45.67, "battery": 60},
            "ibs-th",
            id="th2-negative",
        ),
        # Hand-made: IBS-TH1 Plus reading its external probe (sensor byte 1).
        pytest.param(
            "sps",
            525,
            "a00f01cc6b5a06",
            {"temperature": 5.25, "humidity": 40.0, "battery": 90},
            "ibs-th external probe",
            id="external-probe",
        ),
        # Hand-made: humidity 100.01 % and battery 0xFF are not readings: left out.
        pytest.param(
            "sps",
            2044,
            "1127003e95ff06",
            {"temperature": 20.44},
            "ibs-th",
            id="out-of-range",
        ),
        # Hand-made: the int16 extremes.
        pytest.param(
            "sps",
            32768,
            "10270017f50008",
            {"temperature": -327.68, "humidity": 100.0, "battery": 0},
            "ibs-th",
            id="minimum",
        ),
        pytest.param(
            "sps",
            32767,
            "00000029c06408",
            {"temperature": 327.67, "humidity": 0.0, "battery": 100},
            "ibs-th",
            id="maximum",
        ),
    ],
)
def test_hand_made_frames(
    name: str, company_id: int, payload: str, expected: dict[str, float], data_format: str
) -> None:
    result = run(name, {company_id: payload})
    assert isinstance(result, Decoded)
    assert result.measurements == expected
    assert result.format == data_format
    assert result.model == ("IBS-TH2/P01B" if name == "tps" else "IBS-TH")


def test_the_valid_frame_is_found_among_corrupt_and_foreign_entries() -> None:
    result = run("sps", {2063: "c0120170086406", 76: "0215", 2044: "c71200c83d5606"})
    assert isinstance(result, Decoded)
    assert result.measurements["temperature"] == 20.44


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        # Two frames that both check out (BlueZ merges old entries): no guessing.
        (
            {2044: "c71200c83d5606", 2248: "84140088996406"},
            "2 valid frames in one advertisement; cannot tell the current one",
        ),
        # Truncated: the 7-byte frame lost its last byte.
        ({2044: "c71200c83d56"}, "no 7-byte Inkbird payload (payload lengths [6])"),
        ({2044: ""}, "no 7-byte Inkbird payload (payload lengths [0])"),
        # Hand-made with a correct checksum but sensor byte 2, which is undocumented.
        ({525: "a00f028c6a5a06"}, "unknown sensor byte 2"),
        # One flipped humidity bit: the checksum catches it.
        ({2044: "c61200c83d5606"}, "checksum mismatch"),
    ],
)
def test_failures_say_why(entries: dict[int, str], reason: str) -> None:
    assert run("sps", entries) == DecodeFailure(reason)


def test_scan_response_without_data_is_heard_but_empty() -> None:
    result = run("tps", {})
    assert result == Decoded(measurements={}, model="IBS-TH2/P01B")


@pytest.mark.parametrize("name", [None, "", "spsx", "SPS", "Ink@IAM-T1"])
def test_other_names_are_not_ours(name: str | None) -> None:
    assert run(name, {2044: "c71200c83d5606"}) is None


def test_matchers_are_exact_names() -> None:
    assert {m.local_name for m in INTEGRATION.matches} == {"sps", "tps"}


VALID = bytes.fromhex("c71200c83d5606")


@given(mutations(VALID), st.integers(0, 0xFFFF), st.sampled_from(["sps", "tps"]))
def test_mutations_never_raise(payload: bytes, company_id: int, name: str) -> None:
    result = decode(INTEGRATION, advertisement(name=name, manufacturer_data={company_id: payload}))
    assert_reading_or_failure(result)
    assert result is not None


@given(st.dictionaries(st.integers(0, 0xFFFF), st.binary(max_size=12), max_size=4))
def test_random_entries_never_raise(entries: dict[int, bytes]) -> None:
    result = decode(INTEGRATION, advertisement(name="sps", manufacturer_data=entries))
    assert_reading_or_failure(result)
    if isinstance(result, Decoded):
        assert 0 <= result.measurements.get("battery", 0) <= 100
        assert 0 <= result.measurements.get("humidity", 0) <= 100
