"""Ruuvi data format 5 against the official test vectors of Ruuvi's documentation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.events import Advertisement
from hub.integrations import DecodeContext, Decoded, DecodeFailure
from integrations.ruuvi import INTEGRATION
from integrations.ruuvi.df5 import encode

CTX = DecodeContext()


def advert(hex_payload: str | bytes) -> Advertisement:
    payload = bytes.fromhex(hex_payload) if isinstance(hex_payload, str) else hex_payload
    return Advertisement(ts=1.0, address="CB:B8:33:4C:88:4F", manufacturer_data={0x0499: payload})


def decode(hex_payload: str | bytes) -> Decoded | DecodeFailure | None:
    assert INTEGRATION.decode is not None
    return INTEGRATION.decode(advert(hex_payload), CTX)


@pytest.mark.parametrize(
    ("vector", "expected"),
    [
        pytest.param(
            "0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F",
            {
                "temperature": 24.3,  # °C
                "humidity": 53.49,  # %
                "pressure": 1000.44,  # hPa (100044 Pa)
                "acceleration_x": 0.004,  # g
                "acceleration_y": -0.004,
                "acceleration_z": 1.036,
                "voltage": 2.977,  # V
                "battery": 95,  # our CR2477 curve: 80 + 20 * 0.77
                "tx_power": 4,  # dBm
                "movement_counter": 66,
                "measurement_sequence": 205,
            },
            id="valid",
        ),
        pytest.param(
            "057FFFFFFEFFFE7FFF7FFF7FFFFFDEFEFFFECBB8334C884F",
            {
                "temperature": 163.835,
                "humidity": 163.835,
                "pressure": 1155.34,
                "acceleration_x": 32.767,
                "acceleration_y": 32.767,
                "acceleration_z": 32.767,
                "voltage": 3.646,
                "battery": 100,
                "tx_power": 20,
                "movement_counter": 254,
                "measurement_sequence": 65534,
            },
            id="maximum",
        ),
        pytest.param(
            "058001000000008001800180010000000000CBB8334C884F",
            {
                "temperature": -163.835,
                "humidity": 0.0,
                "pressure": 500.0,
                "acceleration_x": -32.767,
                "acceleration_y": -32.767,
                "acceleration_z": -32.767,
                "voltage": 1.6,
                "battery": 0,
                "tx_power": -40,
                "movement_counter": 0,
                "measurement_sequence": 0,
            },
            id="minimum",
        ),
        # Every field carries its "not available" marker: nothing is reported.
        pytest.param("058000FFFFFFFF800080008000FFFFFFFFFFFFFFFFFFFFFF", {}, id="invalid"),
    ],
)
def test_official_vectors(vector: str, expected: dict[str, float]) -> None:
    result = decode(vector)
    assert isinstance(result, Decoded)
    assert result.measurements == expected
    assert result.model == "RuuviTag"
    assert result.format == "5"
    assert result.sequence == expected.get("measurement_sequence")


def test_truncated_payload_is_an_error_not_a_reading() -> None:
    result = decode("0512FC5394C37C0004FFFC040CAC364200CDCBB8334C88")
    assert result == DecodeFailure("format 5 needs 24 bytes, got 23")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("08" + "00" * 23, "data format 8 is encrypted; decrypting it is not supported"),
        ("7f0102", "unknown data format 0x7F"),
        ("", "empty payload"),
    ],
)
def test_unsupported_formats_say_why(payload: str, reason: str) -> None:
    assert decode(payload) == DecodeFailure(reason)


def test_other_company_is_not_ours() -> None:
    assert INTEGRATION.decode is not None
    adv = Advertisement(ts=1.0, address="AA:BB:CC:DD:EE:FF", manufacturer_data={76: b"\x02\x15"})
    assert INTEGRATION.decode(adv, CTX) is None


def test_encoder_round_trips_through_the_decoder() -> None:
    payload = encode(
        temperature=-18.25,
        humidity=81.5,
        pressure=1013.25,
        acceleration=(0.012, -0.998, 0.031),
        voltage=2.95,
        tx_power=4,
        movement_counter=7,
        sequence=65535 - 1,
        mac=bytes.fromhex("C8252D8EAB4C"),
    )
    result = decode(payload)
    assert isinstance(result, Decoded)
    assert result.measurements["temperature"] == -18.25
    assert result.measurements["humidity"] == 81.5
    assert result.measurements["pressure"] == 1013.25
    assert result.measurements["acceleration_y"] == -0.998
    assert result.measurements["voltage"] == 2.95
    assert result.sequence == 65534


@given(st.binary(max_size=40))
def test_any_bytes_give_a_reading_or_an_error(payload: bytes) -> None:
    result = decode(payload)
    assert isinstance(result, Decoded | DecodeFailure)


@given(st.binary(min_size=23, max_size=23), st.integers(0, 4))
def test_any_format_5_body_decodes_and_stays_in_range(body: bytes, extra: int) -> None:
    result = decode(b"\x05" + body + b"\x00" * extra)
    if extra:
        assert isinstance(result, DecodeFailure)
        return
    assert isinstance(result, Decoded)
    m = result.measurements
    assert -163.835 <= m.get("temperature", 0) <= 163.835
    assert 0 <= m.get("battery", 0) <= 100
    assert all(isinstance(v, int | float) for v in m.values())
