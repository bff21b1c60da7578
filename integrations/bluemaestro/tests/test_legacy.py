"""Blue Maestro Tempo Disc advertisements (versions 13, 22, 23, 27) with exact values.

Layout sources: Blue Maestro's own apps - the iOS Tempo Utility SDK
(BlueMaestro/IOS-Tempo-Utility-App-SDK, TempoDiscDevice+CoreDataClass.m and
TempoDiscPressureDevice+CoreDataClass.m) and the Android SDK (com.bluemaestro.utility.sdk,
devices/BMDevice.java and BMTempHumi.java).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.integrations import Decoded, DecodeFailure
from hub.testing import advertisement, assert_reading_or_failure, decode, mutations
from integrations.bluemaestro import INTEGRATION


def run(payload: str | bytes, company: int = 0x0133) -> Decoded | DecodeFailure | None:
    data = bytes.fromhex(payload) if isinstance(payload, str) else payload
    return decode(INTEGRATION, advertisement(manufacturer_data={company: data}))


T, THD, THPD = "Tempo Disc T", "Tempo Disc THD", "Tempo Disc THPD"

# theengs/decoder, tests/BLE/test_ble.cpp: the "BlueMaestro" manufacturer-data inputs
# (there with the 3301 company-id prefix) and that file's expected outputs.
THEENGS = [
    ("17560e10177000ef01b3006c0100", THD, {"temperature": 23.9, "humidity": 43.5, "battery": 86}),
    ("16430e10061eff5d030fff400100", THD, {"temperature": -16.3, "humidity": 78.3, "battery": 67}),
    (
        "1b3a0e10061e00df02f727970100",
        THPD,
        {"temperature": 22.3, "humidity": 75.9, "pressure": 1013.5, "battery": 58},
    ),
    ("0d6402580ad100fc0100", T, {"temperature": 25.2, "battery": 100}),
]

# Bluetooth-Devices/bluemaestro-ble, tests/fixtures/live-proxy.json: payloads captured from
# physical devices (four v13, three v23), expected values from Blue Maestro's bmLogger app.
LIVE = [
    ("0d61070817a000600100", T, {"temperature": 9.6, "battery": 97}),
    ("0d6107083bda00680100", T, {"temperature": 10.4, "battery": 97}),
    ("0d5e070828fd00530100", T, {"temperature": 8.3, "battery": 94}),
    ("0d61070817a000610100", T, {"temperature": 9.7, "battery": 97}),
    ("0d5d02583cdf004c0100", T, {"temperature": 7.6, "battery": 93}),
    ("176403841770005f02d2002f0100", THD, {"temperature": 9.5, "humidity": 72.2, "battery": 100}),
    ("176407081770006002d900310100", THD, {"temperature": 9.6, "humidity": 72.9, "battery": 100}),
    ("176407081770006002da00320100", THD, {"temperature": 9.6, "humidity": 73.0, "battery": 100}),
    ("176003841770005c02a900240100", THD, {"temperature": 9.2, "humidity": 68.1, "battery": 96}),
]

# Same repository, tests/fixtures/bmlogger-13.8.4.json: synthetic payloads (only the fields
# the app reads) with the values Blue Maestro's bmLogger 13.8.4 decodes from them.
BMLOGGER = [
    ("0d570000000000f2", T, {"temperature": 24.2, "battery": 87}),
    ("0d5700000000ff85", T, {"temperature": -12.3, "battery": 87}),
    ("0d57000000000000", T, {"temperature": 0.0, "battery": 87}),
    ("17570000000000f201f2", THD, {"temperature": 24.2, "humidity": 49.8, "battery": 87}),
    ("175700000000ff850352", THD, {"temperature": -12.3, "humidity": 85.0, "battery": 87}),
    ("175700000000000003e8", THD, {"temperature": 0.0, "humidity": 100.0, "battery": 87}),
    ("17570000000000fa0000", THD, {"temperature": 25.0, "humidity": 0.0, "battery": 87}),
    ("17570000000000fa0001", THD, {"temperature": 25.0, "humidity": 0.1, "battery": 87}),
    (
        "1b570000000000f201f22794",
        THPD,
        {"temperature": 24.2, "humidity": 49.8, "pressure": 1013.2, "battery": 87},
    ),
    (
        "1b5700000000ff8503522794",
        THPD,
        {"temperature": -12.3, "humidity": 85.0, "pressure": 1013.2, "battery": 87},
    ),
    (
        "1b5700000000000003e82794",
        THPD,
        {"temperature": 0.0, "humidity": 100.0, "pressure": 1013.2, "battery": 87},
    ),
]


@pytest.mark.parametrize(("payload", "model", "expected"), THEENGS + LIVE + BMLOGGER)
def test_published_packets(payload: str, model: str, expected: dict[str, float]) -> None:
    result = run(payload)
    assert isinstance(result, Decoded)
    assert result.measurements == expected
    assert result.model == model
    assert result.format == str(bytes.fromhex(payload)[0])
    assert result.sequence is None  # the log count saturates; it is no packet counter


def test_extremes_and_fahrenheit_mode() -> None:
    # Hand-made from the documented layout: int16 limits of the temperature, and a mode
    # byte above 100 (Fahrenheit display), which changes nothing in the advertised values.
    low = run("1b00000000008000000000000000")
    high = run("1b64000000007fffffffffff6500")
    assert isinstance(low, Decoded)
    assert isinstance(high, Decoded)
    assert low.measurements == {
        "temperature": -3276.8,
        "humidity": 0.0,
        "pressure": 0.0,
        "battery": 0,
    }
    assert high.measurements == {
        "temperature": 3276.7,
        "humidity": 6553.5,
        "pressure": 6553.5,
        "battery": 100,
    }
    fahrenheit = run("17560e10177000ef01b3006c6500")
    assert isinstance(fahrenheit, Decoded)
    assert fahrenheit.measurements["temperature"] == 23.9


def test_battery_above_100_is_left_out() -> None:
    result = run("0d6502580ad100fc0100")
    assert isinstance(result, Decoded)
    assert result.measurements == {"temperature": 25.2}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("", "empty Blue Maestro payload"),
        ("0d6402580ad100", "Blue Maestro version 13 needs 8 bytes, got 7"),
        ("17560e10177000ef01", "Blue Maestro version 23 needs 10 bytes, got 9"),
        ("16430e10061eff5d03", "Blue Maestro version 22 needs 10 bytes, got 9"),
        ("1b3a0e10061e00df02f727", "Blue Maestro version 27 needs 12 bytes, got 11"),
        ("2b57", "Blue Maestro version 43 (Disc Maxi, 0.01 resolution) is not supported"),
        ("29570000", "Blue Maestro version 41 (Disc Maxi, 0.01 resolution) is not supported"),
        ("05640258", "unknown Blue Maestro version 5"),
    ],
)
def test_failures_say_why(payload: str, reason: str) -> None:
    assert run(payload) == DecodeFailure(reason)


def test_other_company_is_not_ours() -> None:
    assert run("17560e10177000ef01b3006c0100", company=0x004C) is None


VALID = [bytes.fromhex(p) for p, _, _ in THEENGS + LIVE]


@given(st.sampled_from(VALID).flatmap(mutations))
def test_mutations_never_raise(payload: bytes) -> None:
    assert_reading_or_failure(run(payload))


@given(st.binary(max_size=32))
def test_random_payloads_never_raise(payload: bytes) -> None:
    assert_reading_or_failure(run(payload))


@given(st.sampled_from([13, 22, 23, 27]), st.binary(min_size=11, max_size=20))
def test_any_known_version_decodes_in_range(version: int, body: bytes) -> None:
    result = run(bytes([version]) + body)
    assert isinstance(result, Decoded)
    m = result.measurements
    assert -3276.8 <= m["temperature"] <= 3276.7
    assert 0 <= m.get("battery", 0) <= 100
    assert ("humidity" in m) == (version != 13)
    assert ("pressure" in m) == (version == 27)
