"""Ruuvi data format 6 (Ruuvi Air, Bluetooth 4) against the official test vectors.

Vectors and field examples: https://docs.ruuvi.com/communication/bluetooth-advertisements/data-format-6
(source: ruuvi/docs communication/bluetooth-advertisements/data-format-6.md). The documented
vectors mark the reserved byte 14 as "XX"; we fill it with 0xFF, its documented value.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.integrations import Decoded, DecodeFailure
from hub.testing import advertisement, assert_reading_or_failure, mutations
from hub.testing import decode as run_decoder
from integrations.ruuvi import INTEGRATION

RUUVI = 0x0499
VALID = bytes.fromhex("06170C5668C79E007000C90501D9FFCD004C884F")


def decode(payload: bytes | str) -> Decoded | DecodeFailure | None:
    data = bytes.fromhex(payload) if isinstance(payload, str) else payload
    return run_decoder(INTEGRATION, advertisement(manufacturer_data={RUUVI: data}))


@pytest.mark.parametrize(
    ("vector", "expected"),
    [
        # docs.ruuvi.com data format 6, "Case: valid data".
        pytest.param(
            "06170C5668C79E007000C90501D9FFCD004C884F",
            {
                "temperature": 29.5,  # °C
                "humidity": 55.3,  # %
                "pressure": 1011.02,  # hPa (101102 Pa)
                "pm2_5": 11.2,  # µg/m³
                "co2": 201,  # ppm
                "voc_index": 10,
                "nox_index": 2,
                "illuminance": 13026.67,  # lx
                "measurement_sequence": 205,
            },
            id="valid",
        ),
        # docs.ruuvi.com data format 6, "Case: maximum values" (calibration flag set).
        pytest.param(
            "067FFF9C40FFFE27109C40FAFAFEFFFF074C8F4F",
            {
                "temperature": 163.835,
                "humidity": 100.0,
                "pressure": 1155.34,
                "pm2_5": 1000.0,
                "co2": 40000,
                "voc_index": 500,
                "nox_index": 500,
                "illuminance": 65535.0,
                "measurement_sequence": 255,
            },
            id="maximum",
        ),
        # docs.ruuvi.com data format 6, "Case: minimum values".
        pytest.param(
            "0680010000000000000000000000FF00004C884F",
            {
                "temperature": -163.835,
                "humidity": 0.0,
                "pressure": 500.0,
                "pm2_5": 0.0,
                "co2": 0,
                "voc_index": 0,
                "nox_index": 0,
                "illuminance": 0.0,
                "measurement_sequence": 0,
            },
            id="minimum",
        ),
        # docs.ruuvi.com data format 6, "Case: Invalid values": every field "not available"
        # (VOC and NOx via their flag bits) except the sequence, which has no such value.
        pytest.param(
            "068000FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
            {"measurement_sequence": 255},
            id="invalid",
        ),
    ],
)
def test_official_vectors(vector: str, expected: dict[str, float]) -> None:
    result = decode(vector)
    assert isinstance(result, Decoded)
    assert result.measurements == expected
    assert result.model == "Ruuvi Air"
    assert result.format == "6"
    assert result.sequence == expected["measurement_sequence"]
    assert not result.states
    assert not result.events


@pytest.mark.parametrize(
    ("code", "lux"),
    # docs.ruuvi.com data format 6, "Luminosity" examples. The page lists 244.06 lx for code
    # 0x80, but its own formula (and its valid vector, 0xD9 -> 13 026.67 lx) gives 244.06 lx
    # for 0x7E and 266.43 lx for 0x80: the example's code is a typo, so we test the formula.
    [(0x00, 0.0), (0x01, 0.04), (0x10, 1.01), (0x7E, 244.06), (0x80, 266.43), (0xFE, 65535.0)],
)
def test_documented_luminosity_examples(code: int, lux: float) -> None:
    result = decode(VALID[:13] + bytes([code]) + VALID[14:])
    assert isinstance(result, Decoded)
    assert result.measurements["illuminance"] == lux


def test_luminosity_code_255_is_not_available() -> None:
    # docs.ruuvi.com data format 6: "0xFF Invalid / not available".
    result = decode(VALID[:13] + b"\xff" + VALID[14:])
    assert isinstance(result, Decoded)
    assert "illuminance" not in result.measurements


@pytest.mark.parametrize(
    ("field", "offset", "raw", "expected"),
    [
        # docs.ruuvi.com data format 6 field examples ("Temperature", "Humidity", "Pressure",
        # "PM 2.5", "CO2").
        ("temperature", 1, "01C3", 2.255),
        ("temperature", 1, "FE3D", -2.255),
        ("humidity", 3, "271A", 25.025),  # 10010
        ("humidity", 3, "9C40", 100.0),  # 40000
        ("pressure", 5, "C87D", 1013.25),  # 51325 -> 101325 Pa
        ("pm2_5", 7, "03E8", 100.0),
        ("co2", 9, "03E8", 1000),
    ],
)
def test_documented_field_examples(field: str, offset: int, raw: str, expected: float) -> None:
    value = bytes.fromhex(raw)
    result = decode(VALID[:offset] + value + VALID[offset + len(value) :])
    assert isinstance(result, Decoded)
    assert result.measurements[field] == expected
    assert type(result.measurements[field]) is type(expected)


@pytest.mark.parametrize(
    ("high", "flags", "voc", "nox"),
    [
        # docs.ruuvi.com data format 6, "VOC, NOX": 0x0E8 is 232; 0x1FF is not available.
        # The ninth (lowest) bit of VOC is flags bit 6, of NOx flags bit 7.
        (0x74, 0x00, 232, 232),
        (0x74, 0x40, 233, 232),
        (0x74, 0x80, 232, 233),
        (0xFF, 0x40, None, 510),
        (0xFF, 0xC1, None, None),  # bit 0 (calibration) does not touch the indexes
    ],
)
def test_nine_bit_indexes_take_their_low_bit_from_the_flags(
    high: int, flags: int, voc: int | None, nox: int | None
) -> None:
    payload = VALID[:11] + bytes([high, high]) + VALID[13:16] + bytes([flags]) + VALID[17:]
    result = decode(payload)
    assert isinstance(result, Decoded)
    assert result.measurements.get("voc_index") == voc
    assert result.measurements.get("nox_index") == nox


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (VALID[:-1], "format 6 needs 20 bytes, got 19"),
        (VALID[:2], "format 6 needs 20 bytes, got 2"),
        (VALID + b"\x00", "format 6 needs 20 bytes, got 21"),
    ],
)
def test_wrong_length_is_a_failure_not_a_reading(payload: bytes, reason: str) -> None:
    assert decode(payload) == DecodeFailure(reason)


@given(mutations(VALID))
def test_payloads_near_the_vector_never_raise(payload: bytes) -> None:
    assert_reading_or_failure(decode(payload))


@given(st.binary(max_size=48))
def test_any_body_after_format_6_never_raises(body: bytes) -> None:
    result = decode(b"\x06" + body)
    assert_reading_or_failure(result)
    if len(body) != 19:
        assert result == DecodeFailure(f"format 6 needs 20 bytes, got {len(body) + 1}")


@given(
    st.integers(-32767, 32767),
    st.integers(0, 0xFFFE),
    st.integers(0, 0xFFFE),
    st.integers(0, 0xFFFE),
    st.integers(0, 0xFFFE),
    st.integers(0, 0x1FE),
    st.integers(0, 0x1FE),
    st.integers(0, 254),
    st.integers(0, 255),
    st.booleans(),
)
def test_every_valid_frame_decodes_to_its_values(
    temperature: int,
    humidity: int,
    pressure: int,
    pm2_5: int,
    co2: int,
    voc: int,
    nox: int,
    lux_code: int,
    sequence: int,
    calibrating: bool,
) -> None:
    # The frame built field by field from the documented layout.
    flags = (nox & 1) << 7 | (voc & 1) << 6 | int(calibrating)
    payload = (
        b"\x06"
        + temperature.to_bytes(2, "big", signed=True)
        + b"".join(v.to_bytes(2, "big") for v in (humidity, pressure, pm2_5, co2))
        + bytes([voc >> 1, nox >> 1, lux_code, 0xFF, sequence, flags])
        + b"\x4c\x88\x4f"
    )
    result = decode(payload)
    assert isinstance(result, Decoded)
    lux = round(math.exp(lux_code * math.log(65536) / 254) - 1, 2)
    assert result.measurements == {
        "temperature": pytest.approx(temperature * 0.005, abs=1e-9),
        "humidity": pytest.approx(humidity * 0.0025, abs=1e-9),
        "pressure": pytest.approx((pressure + 50_000) / 100, abs=1e-9),
        "pm2_5": pytest.approx(pm2_5 / 10, abs=1e-9),
        "co2": co2,
        "voc_index": voc,
        "nox_index": nox,
        "illuminance": lux,
        "measurement_sequence": sequence,
    }
    assert 0.0 <= result.measurements["illuminance"] <= 65535.0
    assert result.sequence == sequence
