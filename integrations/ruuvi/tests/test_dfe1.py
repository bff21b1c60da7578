"""Ruuvi data format E1 (Ruuvi Air, Bluetooth 5 extended) against the official test vectors.

Vectors and field examples: https://docs.ruuvi.com/communication/bluetooth-advertisements/data-format-e1
(source: ruuvi/docs communication/bluetooth-advertisements/data-format-e1.md). The documented
vectors mark reserved bytes as "XX"; we fill them with 0xFF, their documented value.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.integrations import Decoded, DecodeFailure
from hub.testing import advertisement, assert_reading_or_failure, mutations
from hub.testing import decode as run_decoder
from integrations.ruuvi import INTEGRATION

RUUVI = 0x0499
VALID = bytes.fromhex(
    "E1170C5668C79E0065007004BD11CA00C90A0213E0ACFFFFFFDECDEE01FFFFFFFFFFCBB8334C884F"
)
VALID_MEASUREMENTS = {
    "temperature": 29.5,  # °C
    "humidity": 55.3,  # %
    "pressure": 1011.02,  # hPa (101102 Pa)
    "pm1_0": 10.1,  # µg/m³
    "pm2_5": 11.2,
    "pm4_0": 121.3,
    "pm10": 455.4,
    "co2": 201,  # ppm
    "voc_index": 20,
    "nox_index": 4,
    "illuminance": 13027.0,  # lx
    "measurement_sequence": 14601710,
}


def decode(payload: bytes | str) -> Decoded | DecodeFailure | None:
    data = bytes.fromhex(payload) if isinstance(payload, str) else payload
    return run_decoder(INTEGRATION, advertisement(manufacturer_data={RUUVI: data}))


@pytest.mark.parametrize(
    ("vector", "expected"),
    [
        # docs.ruuvi.com data format E1, "Case: valid data". Revisions of the page give the
        # flags byte as 0x01 and as 0x10 (both say "calibration in progress"); neither
        # touches the VOC/NOx bits, so both decode to the same reading.
        pytest.param(
            "E1170C5668C79E0065007004BD11CA00C90A0213E0ACFFFFFFDECDEE01FFFFFFFFFFCBB8334C884F",
            VALID_MEASUREMENTS,
            id="valid",
        ),
        pytest.param(
            "E1170C5668C79E0065007004BD11CA00C90A0213E0ACFFFFFFDECDEE10FFFFFFFFFFCBB8334C884F",
            VALID_MEASUREMENTS,
            id="valid-flags-0x10",
        ),
        # docs.ruuvi.com data format E1, "Case: maximum values".
        pytest.param(
            "E17FFF9C40FFFE27102710271027109C40FAFADC28F0FFFFFFFFFFFE3FFFFFFFFFFFCBB8334C884F",
            {
                "temperature": 163.835,
                "humidity": 100.0,
                "pressure": 1155.34,
                "pm1_0": 1000.0,
                "pm2_5": 1000.0,
                "pm4_0": 1000.0,
                "pm10": 1000.0,
                "co2": 40000,
                "voc_index": 500,
                "nox_index": 500,
                "illuminance": 144284.0,
                "measurement_sequence": 16777214,
            },
            id="maximum",
        ),
        # docs.ruuvi.com data format E1, "Case: minimum values" (flags 0x00).
        pytest.param(
            "E1800100000000000000000000000000000000000000FFFFFF00000000FFFFFFFFFFCBB8334C884F",
            {
                "temperature": -163.835,
                "humidity": 0.0,
                "pressure": 500.0,
                "pm1_0": 0.0,
                "pm2_5": 0.0,
                "pm4_0": 0.0,
                "pm10": 0.0,
                "co2": 0,
                "voc_index": 0,
                "nox_index": 0,
                "illuminance": 0.0,
                "measurement_sequence": 0,
            },
            id="minimum",
        ),
        # docs.ruuvi.com data format E1, "Case: Invalid values": everything "not available",
        # the sequence included, so nothing is reported.
        pytest.param(
            "E18000FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFFFFFFFF",
            {},
            id="invalid",
        ),
    ],
)
def test_official_vectors(vector: str, expected: dict[str, float]) -> None:
    result = decode(vector)
    assert isinstance(result, Decoded)
    assert result.measurements == expected
    assert result.model == "Ruuvi Air"
    assert result.format == "E1"
    full = expected.get("measurement_sequence")
    # The repeat key is the counter's low byte, shared with the same sample's format 6.
    assert result.sequence == (None if full is None else int(full) & 0xFF)
    assert not result.states
    assert not result.events


@pytest.mark.parametrize(
    ("field", "offset", "raw", "expected"),
    [
        # docs.ruuvi.com data format E1 field examples.
        ("temperature", 1, "01C3", 2.255),
        ("temperature", 1, "FE3D", -2.255),
        ("humidity", 3, "271A", 25.025),
        ("pressure", 5, "C87D", 1013.25),
        ("pm1_0", 7, "03E8", 100.0),
        ("pm2_5", 9, "03E8", 100.0),
        ("pm4_0", 11, "03E8", 100.0),
        ("pm10", 13, "03E8", 100.0),
        ("co2", 15, "03E8", 1000),
        ("illuminance", 19, "0003E8", 10.0),
        ("measurement_sequence", 25, "0003E8", 1000),
    ],
)
def test_documented_field_examples(field: str, offset: int, raw: str, expected: float) -> None:
    value = bytes.fromhex(raw)
    result = decode(VALID[:offset] + value + VALID[offset + len(value) :])
    assert isinstance(result, Decoded)
    assert result.measurements[field] == expected
    assert type(result.measurements[field]) is type(expected)


@pytest.mark.parametrize(
    ("field", "offset", "raw"),
    [
        # docs.ruuvi.com data format E1: each field's "Invalid / not available" value.
        ("temperature", 1, "8000"),
        ("humidity", 3, "FFFF"),
        ("pressure", 5, "FFFF"),
        ("pm1_0", 7, "FFFF"),
        ("pm2_5", 9, "FFFF"),
        ("pm4_0", 11, "FFFF"),
        ("pm10", 13, "FFFF"),
        ("co2", 15, "FFFF"),
        ("illuminance", 19, "FFFFFF"),
        ("measurement_sequence", 25, "FFFFFF"),
    ],
)
def test_each_not_available_marker_drops_only_its_field(field: str, offset: int, raw: str) -> None:
    value = bytes.fromhex(raw)
    result = decode(VALID[:offset] + value + VALID[offset + len(value) :])
    assert isinstance(result, Decoded)
    expected = {k: v for k, v in VALID_MEASUREMENTS.items() if k != field}
    assert result.measurements == expected
    if field == "measurement_sequence":
        assert result.sequence is None


@pytest.mark.parametrize(
    ("high", "flags", "voc", "nox"),
    [
        # docs.ruuvi.com data format E1, "VOC, NOX": 0x0E8 is 232, 0x1FF not available; the
        # lowest bit of VOC is flags bit 6, of NOx flags bit 7.
        (0x74, 0x00, 232, 232),
        (0x74, 0x40, 233, 232),
        (0x74, 0x80, 232, 233),
        (0xFF, 0x80, 510, None),
        (0xFF, 0xC1, None, None),
    ],
)
def test_nine_bit_indexes_take_their_low_bit_from_the_flags(
    high: int, flags: int, voc: int | None, nox: int | None
) -> None:
    payload = VALID[:17] + bytes([high, high]) + VALID[19:28] + bytes([flags]) + VALID[29:]
    result = decode(payload)
    assert isinstance(result, Decoded)
    assert result.measurements.get("voc_index") == voc
    assert result.measurements.get("nox_index") == nox
    # The NOx bits share a 32-bit word with the luminosity: it must not leak into it.
    assert result.measurements["illuminance"] == 13027.0


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (VALID[:-1], "format E1 needs 40 bytes, got 39"),
        (VALID[:20], "format E1 needs 40 bytes, got 20"),
        (VALID + b"\x00", "format E1 needs 40 bytes, got 41"),
    ],
)
def test_wrong_length_is_a_failure_not_a_reading(payload: bytes, reason: str) -> None:
    assert decode(payload) == DecodeFailure(reason)


@given(mutations(VALID))
def test_payloads_near_the_vector_never_raise(payload: bytes) -> None:
    assert_reading_or_failure(decode(payload))


@given(st.binary(max_size=64))
def test_any_body_after_format_e1_never_raises(body: bytes) -> None:
    result = decode(b"\xe1" + body)
    assert_reading_or_failure(result)
    if len(body) != 39:
        assert result == DecodeFailure(f"format E1 needs 40 bytes, got {len(body) + 1}")


@given(
    st.integers(-32767, 32767),
    st.lists(st.integers(0, 0xFFFE), min_size=7, max_size=7),
    st.integers(0, 0x1FE),
    st.integers(0, 0x1FE),
    st.integers(0, 0xFFFFFE),
    st.integers(0, 0xFFFFFE),
    st.booleans(),
    st.binary(min_size=6, max_size=6),
)
def test_every_valid_frame_decodes_to_its_values(
    temperature: int,
    sixteen_bit: list[int],
    voc: int,
    nox: int,
    lux: int,
    sequence: int,
    calibrating: bool,
    mac: bytes,
) -> None:
    humidity, pressure, pm1_0, pm2_5, pm4_0, pm10, co2 = sixteen_bit
    # The frame built field by field from the documented layout.
    flags = (nox & 1) << 7 | (voc & 1) << 6 | int(calibrating)
    payload = (
        b"\xe1"
        + temperature.to_bytes(2, "big", signed=True)
        + b"".join(v.to_bytes(2, "big") for v in sixteen_bit)
        + bytes([voc >> 1, nox >> 1])
        + lux.to_bytes(3, "big")
        + b"\xff" * 3
        + sequence.to_bytes(3, "big")
        + bytes([flags])
        + b"\xff" * 5
        + mac
    )
    result = decode(payload)
    assert isinstance(result, Decoded)
    assert result.measurements == {
        "temperature": pytest.approx(temperature * 0.005, abs=1e-9),
        "humidity": pytest.approx(humidity * 0.0025, abs=1e-9),
        "pressure": pytest.approx((pressure + 50_000) / 100, abs=1e-9),
        "pm1_0": pytest.approx(pm1_0 / 10, abs=1e-9),
        "pm2_5": pytest.approx(pm2_5 / 10, abs=1e-9),
        "pm4_0": pytest.approx(pm4_0 / 10, abs=1e-9),
        "pm10": pytest.approx(pm10 / 10, abs=1e-9),
        "co2": co2,
        "voc_index": voc,
        "nox_index": nox,
        "illuminance": pytest.approx(lux / 100, abs=1e-9),
        "measurement_sequence": sequence,
    }
    assert result.sequence == sequence & 0xFF
