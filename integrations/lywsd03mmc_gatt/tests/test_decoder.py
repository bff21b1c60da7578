"""The LYWSD03MMC characteristic value: hand-made vectors from the documented layout.

Xiaomi publishes no specification; the layout (int16 0.01 °C, uint8 %, uint16 mV, all
little-endian) is the one every stock-firmware reader uses. The vectors are built from it
by hand and say so.
"""

from __future__ import annotations

import pytest
from hypothesis import given

from hub.integrations import Decoded, DecodeFailure
from hub.testing import advertisement, assert_reading_or_failure, decode, mutations
from integrations.lywsd03mmc_gatt import GATT_POLLER, INTEGRATION
from integrations.lywsd03mmc_gatt.decoder import CHARACTERISTIC_UUID


def run(value: bytes) -> Decoded | DecodeFailure | None:
    return decode(INTEGRATION, advertisement(service_data={CHARACTERISTIC_UUID: value}))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # e1 08 = 2273 -> 22.73 °C; 2d = 45 %; 5c 0b = 2908 mV -> 2.908 V
        ("e1082d5c0b", {"temperature": 22.73, "humidity": 45, "voltage": 2.908}),
        # 00 fe = -512 -> -5.12 °C (negative temperatures are two's complement)
        ("00fe63b90b", {"temperature": -5.12, "humidity": 99, "voltage": 3.001}),
        # a sixth byte (as some firmware sends) is ignored
        ("e1082d5c0b00", {"temperature": 22.73, "humidity": 45, "voltage": 2.908}),
        # humidity 0xff and 0 V are not readings
        ("e108ff0000", {"temperature": 22.73}),
        # 0x7fff = 327.67 °C: out of the sensor's range, not reported
        ("ff7f2d5c0b", {"humidity": 45, "voltage": 2.908}),
    ],
)
def test_values(value: str, expected: dict[str, float]) -> None:
    result = run(bytes.fromhex(value))
    assert isinstance(result, Decoded)
    assert result.measurements == expected
    assert (result.model, result.format) == ("LYWSD03MMC", "gatt")


def test_short_value_is_a_failure_with_the_length() -> None:
    assert run(bytes.fromhex("e1082d")) == DecodeFailure("truncated: 3 < 5 bytes")


def test_other_service_data_is_not_mine() -> None:
    assert decode(INTEGRATION, advertisement(service_data={0x181A: b"\x01"})) is None


def test_the_poller_reads_the_decoders_characteristic() -> None:
    assert GATT_POLLER.characteristic == CHARACTERISTIC_UUID


@given(mutations(bytes.fromhex("e1082d5c0b")))
def test_any_value_gives_a_reading_or_a_reason(value: bytes) -> None:
    assert_reading_or_failure(run(value))
