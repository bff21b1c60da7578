"""Ruuvi data format 3 (RAWv1) against the official test vectors of Ruuvi's documentation.

Vectors and field examples: https://docs.ruuvi.com/communication/bluetooth-advertisements/data-format-3-rawv1
(also ruuvi/ruuvi-sensor-protocols dataformat_03.md). The format has no "not available"
marker, so Ruuvi publishes no invalid case.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.derive import battery_from_voltage
from hub.integrations import Decoded, DecodeFailure
from hub.testing import advertisement, assert_reading_or_failure, mutations
from hub.testing import decode as run_decoder
from integrations.ruuvi import INTEGRATION
from integrations.ruuvi.battery import BATTERY_CURVE

RUUVI = 0x0499
VALID = bytes.fromhex("03291A1ECE1EFC18F94202CA0B53")


def decode(payload: bytes | str) -> Decoded | DecodeFailure | None:
    data = bytes.fromhex(payload) if isinstance(payload, str) else payload
    return run_decoder(INTEGRATION, advertisement(manufacturer_data={RUUVI: data}))


@pytest.mark.parametrize(
    ("vector", "expected"),
    [
        # docs.ruuvi.com data format 3, "Case: valid data".
        pytest.param(
            "03291A1ECE1EFC18F94202CA0B53",
            {
                "temperature": 26.3,  # °C
                "humidity": 20.5,  # %
                "pressure": 1027.66,  # hPa (102766 Pa)
                "acceleration_x": -1.0,  # g
                "acceleration_y": -1.726,
                "acceleration_z": 0.714,
                "voltage": 2.899,  # V
                "battery": 80,  # our CR2477 curve: 60 + 20 * 0.99 = 79.8
            },
            id="valid",
        ),
        # docs.ruuvi.com data format 3, "Case: maximum values".
        pytest.param(
            "03FF7F63FFFF7FFF7FFF7FFFFFFF",
            {
                "temperature": 127.99,
                "humidity": 127.5,  # above 100 % means a sensor fault, but it is what was sent
                "pressure": 1155.35,
                "acceleration_x": 32.767,
                "acceleration_y": 32.767,
                "acceleration_z": 32.767,
                "voltage": 65.535,
                "battery": 100,
            },
            id="maximum",
        ),
        # docs.ruuvi.com data format 3, "Case: minimum values".
        pytest.param(
            "0300FF6300008001800180010000",
            {
                "temperature": -127.99,
                "humidity": 0.0,
                "pressure": 500.0,
                "acceleration_x": -32.767,
                "acceleration_y": -32.767,
                "acceleration_z": -32.767,
                "voltage": 0.0,
                "battery": 0,
            },
            id="minimum",
        ),
    ],
)
def test_official_vectors(vector: str, expected: dict[str, float]) -> None:
    result = decode(vector)
    assert isinstance(result, Decoded)
    assert result.measurements == expected
    assert result.model == "RuuviTag"
    assert result.format == "3"
    assert result.sequence is None  # format 3 has no measurement counter
    assert not result.states
    assert not result.events


@pytest.mark.parametrize(
    ("temperature_bytes", "humidity_byte", "temperature", "humidity"),
    [
        # The documented field examples (docs.ruuvi.com, "Temperature" and "Humidity").
        ("0000", 0, 0.0, 0.0),
        ("8145", 128, -1.69, 64.0),
        ("0145", 200, 1.69, 100.0),
        # Derived by hand from the layout: a sign bit on zero is still 0 °C, not -0.0.
        ("8000", 1, 0.0, 0.5),
    ],
)
def test_documented_field_examples(
    temperature_bytes: str, humidity_byte: int, temperature: float, humidity: float
) -> None:
    payload = bytearray(VALID)
    payload[1] = humidity_byte
    payload[2:4] = bytes.fromhex(temperature_bytes)
    result = decode(bytes(payload))
    assert isinstance(result, Decoded)
    assert result.measurements["temperature"] == temperature
    assert str(result.measurements["temperature"]) == str(temperature)  # no "-0.0"
    assert result.measurements["humidity"] == humidity


@pytest.mark.parametrize(
    ("pressure_field", "hpa"),
    # docs.ruuvi.com, "Atmospheric Pressure" examples: 0 -> 50000 Pa, 51325 -> 101325 Pa.
    [(0, 500.0), (51325, 1013.25), (65535, 1155.35)],
)
def test_documented_pressure_examples(pressure_field: int, hpa: float) -> None:
    payload = VALID[:4] + pressure_field.to_bytes(2, "big") + VALID[6:]
    result = decode(payload)
    assert isinstance(result, Decoded)
    assert result.measurements["pressure"] == hpa


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (VALID[:-1], "format 3 needs 14 bytes, got 13"),
        (VALID[:1], "format 3 needs 14 bytes, got 1"),
        (VALID + b"\x00", "format 3 needs 14 bytes, got 15"),
        # Hundredths are 0-99 by the layout; 100 cannot come from a working encoder.
        (VALID[:3] + b"\x64" + VALID[4:], "format 3 temperature hundredths 100 exceed 99"),
        (VALID[:3] + b"\xff" + VALID[4:], "format 3 temperature hundredths 255 exceed 99"),
    ],
)
def test_malformed_payloads_are_failures_not_readings(payload: bytes, reason: str) -> None:
    assert decode(payload) == DecodeFailure(reason)


@given(mutations(VALID))
def test_payloads_near_the_vector_never_raise(payload: bytes) -> None:
    assert_reading_or_failure(decode(payload))


@given(st.binary(max_size=40))
def test_any_body_after_format_3_never_raises(body: bytes) -> None:
    result = decode(b"\x03" + body)
    assert_reading_or_failure(result)
    if len(body) != 13:
        assert result == DecodeFailure(f"format 3 needs 14 bytes, got {len(body) + 1}")


@given(
    st.integers(0, 255),
    st.integers(-127, 127),
    st.integers(0, 99),
    st.integers(0, 0xFFFF),
    st.tuples(*[st.integers(-32768, 32767)] * 3),
    st.integers(0, 0xFFFF),
)
def test_every_encodable_frame_decodes_to_its_values(
    humidity: int,
    whole: int,
    hundredths: int,
    pressure: int,
    acceleration: tuple[int, int, int],
    millivolts: int,
) -> None:
    # The frame built field by field from the documented layout (sign-and-magnitude temperature).
    sign = 0x80 if whole < 0 else 0
    payload = (
        bytes([3, humidity, sign | abs(whole), hundredths])
        + pressure.to_bytes(2, "big")
        + b"".join(a.to_bytes(2, "big", signed=True) for a in acceleration)
        + millivolts.to_bytes(2, "big")
    )
    result = decode(payload)
    assert isinstance(result, Decoded)
    m = result.measurements
    magnitude = abs(whole) + hundredths / 100
    assert m["temperature"] == pytest.approx(-magnitude if whole < 0 else magnitude, abs=1e-9)
    assert m["humidity"] == humidity / 2
    assert m["pressure"] == pytest.approx((pressure + 50_000) / 100, abs=1e-9)
    assert (m["acceleration_x"], m["acceleration_y"], m["acceleration_z"]) == tuple(
        a / 1000 for a in acceleration
    )
    assert m["voltage"] == millivolts / 1000
    assert m["battery"] == battery_from_voltage(millivolts / 1000, BATTERY_CURVE)
    assert 0 <= m["battery"] <= 100
    assert result.sequence is None
