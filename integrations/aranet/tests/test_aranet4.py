"""Aranet4 advertisements against published packets (see vectors.py for the sources)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.integrations import Decoded, DecodeFailure
from hub.testing import assert_reading_or_failure, mutations
from integrations.aranet.tests import vectors
from integrations.aranet.tests.helpers import run


@pytest.mark.parametrize("name", ["Aranet4 12345", None])
@pytest.mark.parametrize(
    ("payload", "expected", "counter"),
    [
        pytest.param(
            vectors.ARANET4,
            {"co2": 1091, "temperature": 20.75, "humidity": 53, "pressure": 1012.3, "battery": 12},
            0x55,
            id="aranet4-python",
        ),
        pytest.param(
            vectors.HA_ARANET4,
            {"co2": 650, "temperature": 21.05, "humidity": 34, "pressure": 990.5, "battery": 89},
            0x88,
            id="home-assistant",
        ),
    ],
)
def test_published_packets(
    payload: bytes, expected: dict[str, float], counter: int, name: str | None
) -> None:
    result = run(payload, name)
    assert isinstance(result, Decoded)
    assert result.measurements == expected
    assert result.model == "Aranet4"
    assert result.format == "aranet4"
    assert result.sequence == counter


def test_counter_is_optional() -> None:
    # Hand-made: the published packet without its last (counter) byte, 21 bytes.
    result = run(vectors.ARANET4[:21], "Aranet4 12345")
    assert isinstance(result, Decoded)
    assert result.measurements["co2"] == 1091
    assert result.sequence is None


def _with_readings(co2: int, temperature: int, pressure: int) -> bytes:
    data = bytearray(vectors.ARANET4)
    struct.pack_into("<HHH", data, 8, co2, temperature, pressure)
    return bytes(data)


def test_not_available_markers_leave_values_out() -> None:
    # Hand-made from the documented markers (Aranet4-Python, client.py CurrentReading._set:
    # CO2 and pressure bit 15, temperature bit 14 - what the Aranet4 stores while its CO2
    # sensor calibrates). Humidity and battery are still there.
    result = run(_with_readings(0x8001, 0x4000, 0x8000), "Aranet4 12345")
    assert isinstance(result, Decoded)
    assert result.measurements == {"humidity": 53, "battery": 12}


def test_temperature_with_bit_15_is_not_guessed() -> None:
    # No published layout gives the temperature a sign (the Aranet4 works from 0 to 50 °C):
    # a value that would be a negative int16 is left out rather than read as 3271.8 °C.
    result = run(_with_readings(415, 0xFF9C, 10123), "Aranet4 12345")
    assert isinstance(result, Decoded)
    assert "temperature" not in result.measurements
    assert result.measurements["co2"] == 415


def test_extremes() -> None:
    # Hand-made: temperature 0 and the largest unmarked raw value (0x3FFF / 20 = 819.15).
    low = run(_with_readings(0, 0, 0), "Aranet4 12345")
    high = run(_with_readings(0x7FFF, 0x3FFF, 0x7FFF), "Aranet4 12345")
    assert isinstance(low, Decoded)
    assert isinstance(high, Decoded)
    assert (low.measurements["co2"], low.measurements["temperature"]) == (0, 0.0)
    assert low.measurements["pressure"] == 0.0
    assert high.measurements["co2"] == 32767
    assert high.measurements["temperature"] == 819.15
    assert high.measurements["pressure"] == 3276.7


@pytest.mark.parametrize("name", ["Aranet4 12345", None])
@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (vectors.ARANET4_SHORT, "Aranet4 readings need 21 bytes, got 20 (firmware v1.3.5)"),
        (vectors.ARANET4_OLD_FIRMWARE, "Aranet4 readings need 21 bytes, got 7 (firmware v0.4.10)"),
        (vectors.HA_OLD_FIRMWARE, "Aranet4 readings need 21 bytes, got 8 (firmware v0.4.10)"),
        (
            vectors.ARANET4_NO_INTEGRATIONS,
            "Aranet4 sends no readings: Smart Home integrations are disabled in the Aranet app",
        ),
        (
            vectors.HA_DISABLED_INTEGRATIONS,
            "Aranet4 sends no readings: Smart Home integrations are disabled in the Aranet app",
        ),
        (vectors.ARANET4_BAD, "Aranet4 payload of 3 bytes is shorter than its header"),
        (b"", "Aranet4 payload of 0 bytes is shorter than its header"),
    ],
)
def test_payloads_without_readings_say_why(payload: bytes, reason: str, name: str | None) -> None:
    assert run(payload, name) == DecodeFailure(reason)


@given(mutations(vectors.ARANET4), st.sampled_from(["Aranet4 12345", None]))
def test_mutations_never_raise(payload: bytes, name: str | None) -> None:
    assert_reading_or_failure(run(payload, name))


@given(st.binary(min_size=21, max_size=22))
def test_any_aranet4_body_stays_in_range(body: bytes) -> None:
    result = run(bytes([0x21]) + body[1:], "Aranet4 12345")
    assert isinstance(result, Decoded)
    m = result.measurements
    assert 0 <= m.get("temperature", 0) < 819.2
    assert 0 <= m.get("humidity", 0) <= 100
    assert 0 <= m.get("battery", 0) <= 100
    assert 0 <= m.get("co2", 0) < 0x8000
