"""Dispatch by data format: which formats decode, and what the others say."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.integrations import Decoded, DecodeFailure
from hub.testing import advertisement, assert_reading_or_failure
from hub.testing import decode as run_decoder
from integrations.ruuvi import INTEGRATION
from integrations.ruuvi.decoder import FORMAT_DECODERS, RUUVI_COMPANY_ID

LENGTHS = {0x03: 14, 0x05: 24, 0x06: 20, 0xE1: 40}


def decode(payload: bytes) -> Decoded | DecodeFailure | None:
    adv = advertisement(manufacturer_data={RUUVI_COMPANY_ID: payload})
    return run_decoder(INTEGRATION, adv)


def test_the_table_holds_the_supported_formats() -> None:
    assert set(FORMAT_DECODERS) == set(LENGTHS)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        # Format 8 is AES-encrypted with a per-tag password; we hold no way to decrypt it.
        (b"\x08" + bytes(23), "data format 8 is encrypted; decrypting it is not supported"),
        (b"\xc5" + bytes(17), "unknown data format 0xC5"),
        (b"\x04", "unknown data format 0x04"),
        (b"\xe0" + bytes(39), "unknown data format 0xE0"),
        (b"", "empty payload"),
    ],
)
def test_formats_we_cannot_decode_say_why(payload: bytes, reason: str) -> None:
    assert decode(payload) == DecodeFailure(reason)


def test_an_e1_frame_in_a_bluetooth_5_advert_is_found_under_the_company_id() -> None:
    # Extended advertising changes only how the radio carries the frame; bleak still hands
    # over manufacturer data {0x0499: payload}, so a 40-byte payload decodes like the others.
    payload = bytes.fromhex(
        "E1170C5668C79E0065007004BD11CA00C90A0213E0ACFFFFFFDECDEE01FFFFFFFFFFCBB8334C884F"
    )
    adv = advertisement(
        "CB:B8:33:4C:88:4F",
        manufacturer_data={0x004C: b"\x02\x15", RUUVI_COMPANY_ID: payload},
        name="Ruuvi 884F",
    )
    result = run_decoder(INTEGRATION, adv)
    assert isinstance(result, Decoded)
    assert result.format == "E1"


@given(st.integers(0, 255), st.binary(max_size=48))
def test_any_format_byte_and_body_gives_a_reading_or_a_reason(fmt: int, body: bytes) -> None:
    payload = bytes([fmt]) + body
    result = decode(payload)
    assert_reading_or_failure(result)
    if LENGTHS.get(fmt) == len(payload) and not (fmt == 0x03 and payload[3] > 99):
        assert isinstance(result, Decoded)
    else:
        assert isinstance(result, DecodeFailure)
