"""Property tests: whatever the bytes, the decoder answers with a reading, a reason or None."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hub.integrations import Decoded
from hub.testing import advertisement, assert_reading_or_failure, decode, mutations
from integrations.govee import INTEGRATION
from integrations.govee.layouts import TEMPERATURE_MAX, TEMPERATURE_MIN

# One published capture per layout (see test_vectors.py for their sources).
VALID = {
    "ec88_packed": ("GVH5075_CB9B", 0xEC88, bytes.fromhex("0003215d6400")),
    "ec88_le16": ("Govee_H5074_5FF4", 0xEC88, bytes.fromhex("00e609bc126402")),
    "ec88_le16_long": ("Govee_H5052_E81B", 0xEC88, bytes.fromhex("001c01a7143b000002")),
    "8801_le16": ("Govee_H5179_3CD5", 0x8801, bytes.fromhex("ec0001010a0aa40664")),
    "0001_packed": ("GVH5102_CB9B", 0x0001, bytes.fromhex("010103cb0164")),
    "0001_packed_pm25": ("GVH5106_4E05", 0x0001, bytes.fromhex("01010ed13298")),
}
NAMES = [name for name, _, _ in VALID.values()] + [
    "GV5179_250D",
    "GVH5183_A1B4",
    "GVH5072_1A2B",
    "ihoment_H5177_1A2B",
    "B51782BC8",
]


def check(result: object) -> None:
    assert_reading_or_failure(result)
    if isinstance(result, Decoded):
        m = result.measurements
        assert TEMPERATURE_MIN <= m.get("temperature", 0.0) <= TEMPERATURE_MAX
        assert 0 <= m.get("humidity", 0.0) <= 100
        assert 0 <= m.get("battery", 0) <= 100
        assert 0 <= m.get("pm2_5", 0) <= 999
        for key in ("battery", "pm2_5"):
            assert type(m.get(key, 0)) is int
        assert result.sequence is None


def _layout_test(layout: str) -> None:
    name, company_id, valid = VALID[layout]

    @given(payload=mutations(valid), named=st.booleans())
    def run(payload: bytes, named: bool) -> None:
        adv = advertisement(manufacturer_data={company_id: payload}, name=name if named else None)
        check(decode(INTEGRATION, adv))

    run()


def test_ec88_packed_never_raises() -> None:
    _layout_test("ec88_packed")


def test_ec88_le16_never_raises() -> None:
    _layout_test("ec88_le16")


def test_ec88_le16_long_never_raises() -> None:
    _layout_test("ec88_le16_long")


def test_8801_le16_never_raises() -> None:
    _layout_test("8801_le16")


def test_0001_packed_never_raises() -> None:
    _layout_test("0001_packed")


def test_0001_packed_pm25_never_raises() -> None:
    _layout_test("0001_packed_pm25")


@given(
    manufacturer_data=st.dictionaries(
        st.sampled_from([0xEC88, 0x8801, 0x0001, 0x004C, 0x0969]), st.binary(max_size=40)
    ),
    name=st.one_of(st.none(), st.sampled_from(NAMES), st.text(max_size=20)),
)
def test_random_advertisements_never_raise(
    manufacturer_data: dict[int, bytes], name: str | None
) -> None:
    adv = advertisement(manufacturer_data=manufacturer_data, name=name)
    check(decode(INTEGRATION, adv))


@given(body=st.binary(min_size=5, max_size=5))
def test_every_named_h5075_body_decodes(body: bytes) -> None:
    # Every 6-byte H5075 payload is a reading (possibly battery-only), never an error.
    adv = advertisement(manufacturer_data={0xEC88: b"\x00" + body}, name="GVH5075_1A2B")
    result = decode(INTEGRATION, adv)
    assert isinstance(result, Decoded)
    check(result)
