"""ThermoPro hygrometer frames against published captures, plus hand-made edge cases.

ThermoPro publishes no advertisement specification or vectors. The frames below were
captured from devices and posted publicly, most of them next to the value the display or
the app showed; each has its source in a comment. A capture is written as the raw
manufacturer-specific bytes (after the AD type 0xFF); bleak's company id is bytes 0-1.
Hand-made frames follow the documented layout (../README.md) and say so.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.integrations import Decoded, DecodeFailure
from hub.testing import advertisement, assert_reading_or_failure, decode, mutations
from integrations.thermopro import INTEGRATION


def as_bleak(raw_hex: str) -> dict[int, bytes]:
    raw = bytes.fromhex(raw_hex.replace(" ", ""))
    return {raw[0] | raw[1] << 8: raw[2:]}


def run(name: str | None, entries: dict[int, bytes]) -> Decoded | DecodeFailure | None:
    return decode(INTEGRATION, advertisement(name=name, manufacturer_data=entries))


@pytest.mark.parametrize(
    ("name", "raw", "expected", "data_format"),
    [
        # ble_monitor #961, TP357 hcidump "07 ffc2 1701 27 022c" with the display at 27.9 °C,
        # 39 %; ble_monitor #1422 (same reporter): byte 02 = three battery bars.
        pytest.param(
            "TP357 (2A01)",
            "c2 1701 27 02 2c",
            {"temperature": 27.9, "humidity": 39, "battery": 100},
            "tp357",
            id="tp357-27.9",
        ),
        # Same issue: display 32.2 °C / 86 %, 29.5 °C / 87 %, 28.9 °C / 88 %.
        pytest.param(
            "TP357 (2A01)",
            "c2 4201 56 02 2c",
            {"temperature": 32.2, "humidity": 86, "battery": 100},
            "tp357",
            id="tp357-32.2",
        ),
        pytest.param(
            "TP357 (2A01)",
            "c2 2701 57 02 2c",
            {"temperature": 29.5, "humidity": 87, "battery": 100},
            "tp357",
            id="tp357-29.5",
        ),
        pytest.param(
            "TP357 (2A01)",
            "c2 2101 58 02 2c",
            {"temperature": 28.9, "humidity": 88, "battery": 100},
            "tp357",
            id="tp357-28.9",
        ),
        # thermopro-ble #11, TP357 frames against the iOS app: "#07FFC2E50032002C" battery
        # low, 22.9 °C, 50 %; "#07FFC2E00036022C" high, 22.4, 54; "#07FFC2EE0033012C" half,
        # 23.8, 51.
        pytest.param(
            "TP357 (9A57)",
            "c2 e500 32 00 2c",
            {"temperature": 22.9, "humidity": 50, "battery": 10},
            "tp357",
            id="tp357-battery-low",
        ),
        pytest.param(
            "TP357 (8FF9)",
            "c2 e000 36 02 2c",
            {"temperature": 22.4, "humidity": 54, "battery": 100},
            "tp357",
            id="tp357-battery-full",
        ),
        pytest.param(
            "TP357 (3E17)",
            "c2 ee00 33 01 2c",
            {"temperature": 23.8, "humidity": 51, "battery": 50},
            "tp357",
            id="tp357-battery-half",
        ),
        # thermopro-ble tests TP357_RAW: raw advertisement 07 ff 82 f1 00 1d 02 2c (the
        # first byte is 0x82 here, 0xC2 elsewhere).
        pytest.param(
            "TP357 (2142)",
            "82 f100 1d 02 2c",
            {"temperature": 24.1, "humidity": 29, "battery": 100},
            "tp357",
            id="tp357-0x82",
        ),
        # thermopro-ble tests TP393: {62146: 00 35 02 2c}.
        pytest.param(
            "TP393 (9376)",
            "c2 f200 35 02 2c",
            {"temperature": 24.2, "humidity": 53, "battery": 100},
            "tp357",
            id="tp393",
        ),
        # ble_monitor PR #1240, TP357S: 08 ff c2 dd 00 34 22 0b 01 (two bytes longer; the
        # battery byte of the short frame is not there, so no battery is reported).
        pytest.param(
            "TP357S (XXXX)",
            "c2 dd00 34 22 0b 01",
            {"temperature": 22.1, "humidity": 52},
            "tp357s",
            id="tp357s",
        ),
    ],
)
def test_published_captures(
    name: str, raw: str, expected: dict[str, float], data_format: str
) -> None:
    result = run(name, as_bleak(raw))
    assert isinstance(result, Decoded)
    assert result.measurements == expected
    assert result.model == name.split(" ")[0]
    assert result.format == data_format
    assert result.sequence is None


def test_all_ones_fill_is_no_reading() -> None:
    # thermopro-ble tests TP357_S_FILTER_2: {65474: ff ff 22 0b 01} -> not -0.1 °C / 255 %.
    result = run("TP357S (3C62)", {65474: bytes.fromhex("ffff220b01")})
    assert result == Decoded(measurements={}, model="TP357S", format="tp357s")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Hand-made: -5.3 °C = 0xFFCB, 31 %, battery half.
        ("c2 cbff 1f 01 2c", {"temperature": -5.3, "humidity": 31, "battery": 50}),
        # Hand-made: int16 extremes, humidity 100 %.
        ("c2 0080 64 00 2c", {"temperature": -3276.8, "humidity": 100, "battery": 10}),
        ("c2 ff7f 00 02 2c", {"temperature": 3276.7, "humidity": 0, "battery": 100}),
        # Hand-made: humidity 101 % and battery level 3 are not readings: left out.
        ("c2 e500 65 03 2c", {"temperature": 22.9}),
    ],
)
def test_hand_made_frames(raw: str, expected: dict[str, float]) -> None:
    result = run("TP359 (1234)", as_bleak(raw))
    assert isinstance(result, Decoded)
    assert result.measurements == expected
    assert result.model == "TP359"


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        # Truncated frames.
        ({0x17C2: bytes.fromhex("012702")}, "payload of 3 bytes, expected 4 or 5"),
        ({0x17C2: b""}, "payload of 0 bytes, expected 4 or 5"),
        ({0x17C2: bytes.fromhex("012702")[:1]}, "payload of 1 bytes, expected 4 or 5"),
        # Two frames, as BlueZ merges them (thermopro-ble TP357_S_2 has 41): no guessing.
        (
            {0x17C2: bytes.fromhex("0127022c"), 0x42C2: bytes.fromhex("0156022c")},
            "2 manufacturer-data entries; cannot tell the current one",
        ),
    ],
)
def test_failures_say_why(entries: dict[int, bytes], reason: str) -> None:
    assert run("TP357 (2A01)", entries) == DecodeFailure(reason)


def test_name_without_data_is_heard_but_empty() -> None:
    assert run("TP358 (0001)", {}) == Decoded(measurements={}, model="TP358")


@pytest.mark.parametrize("name", [None, "", "TP3", "TP960R (0000)", "Thermopro", "tp357"])
def test_other_names_are_not_ours(name: str | None) -> None:
    assert run(name, as_bleak("c2 1701 27 02 2c")) is None


VALID = bytes.fromhex("0127022c")


@given(mutations(VALID), st.integers(0, 0xFFFF))
def test_mutations_never_raise(payload: bytes, company_id: int) -> None:
    result = run("TP357 (2A01)", {company_id: payload})
    assert_reading_or_failure(result)
    assert result is not None


@given(st.dictionaries(st.integers(0, 0xFFFF), st.binary(max_size=10), max_size=3))
def test_random_entries_never_raise(entries: dict[int, bytes]) -> None:
    result = run("TP393 (9376)", entries)
    assert_reading_or_failure(result)
    if isinstance(result, Decoded):
        assert 0 <= result.measurements.get("humidity", 0) <= 100
        assert result.measurements.get("battery", 10) in (10, 50, 100)
