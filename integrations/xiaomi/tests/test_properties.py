"""Any bytes under either UUID give a reading, a reason or "not mine"; never an exception."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.integrations import Decoded, DecodeFailure
from hub.testing import assert_reading_or_failure, mutations
from integrations.xiaomi.tests.frames import ENVIRONMENTAL_SENSING, MIBEACON, run

ADDRESS = "A4:C1:38:AA:BB:CC"
KEYS = {ADDRESS: bytes.fromhex("aa" * 16)}
WRONG_KEY = DecodeFailure("decryption failed: wrong bindkey?")
LEGACY_ADDRESS = "F8:24:41:C5:98:8B"
LEGACY_KEYS = {LEGACY_ADDRESS: bytes.fromhex("b853075158487ca39a5b5ea9")}

ATC1441 = bytes.fromhex("a4c138aabbcc00ce33430a6ec3")
PVVX = bytes.fromhex("ccbbaa38c1a46c07fa13d60a52090f")
PVVX_ENCRYPTED = bytes.fromhex("bd9dc54efab5000e8bb807")
ATC1441_ENCRYPTED = bytes.fromhex("bde9b75db856f303")
MIBEACON_CLEAR = bytes.fromhex("50585b051bccbbaa38c1a40d1004be000002")
MIBEACON_FLORA = bytes.fromhex("71209800667a3e6a8d7cc40d071003000000")
MIBEACON_CAPABILITY_IO = bytes.fromhex("70505b054333221138c1a42801000a100137")
MIBEACON_V5 = bytes.fromhex("58585b05f4ccbbaa38c1a413df92a81cb30000acc46fda")
MIBEACON_V5_NO_MAC = bytes.fromhex("48590312a41b776e7c96add7000000f2bf545b")
MIBEACON_LEGACY = bytes.fromhex("5830b603d28b98c54124f8c3491476757e00000099")


def check(result: object) -> None:
    assert_reading_or_failure(result)
    if isinstance(result, Decoded):
        m = result.measurements
        assert 0 <= m.get("battery", 0) <= 100
        assert all(type(v) is bool for v in result.states.values())
        assert result.sequence is None or 0 <= result.sequence <= 255


@given(mutations(ATC1441))
def test_atc1441(payload: bytes) -> None:
    check(run(payload, ENVIRONMENTAL_SENSING))


@given(mutations(PVVX))
def test_pvvx(payload: bytes) -> None:
    check(run(payload, ENVIRONMENTAL_SENSING))


@given(mutations(PVVX_ENCRYPTED))
def test_pvvx_encrypted(payload: bytes) -> None:
    check(run(payload, ENVIRONMENTAL_SENSING, ADDRESS, KEYS))
    check(run(payload, ENVIRONMENTAL_SENSING, ADDRESS))


@given(mutations(ATC1441_ENCRYPTED))
def test_atc1441_encrypted(payload: bytes) -> None:
    check(run(payload, ENVIRONMENTAL_SENSING, ADDRESS, KEYS))
    check(run(payload, ENVIRONMENTAL_SENSING, ADDRESS))


@given(st.sampled_from([MIBEACON_CLEAR, MIBEACON_FLORA, MIBEACON_CAPABILITY_IO]).flatmap(mutations))
def test_mibeacon_clear(payload: bytes) -> None:
    check(run(payload, MIBEACON, ADDRESS))


@given(st.sampled_from([MIBEACON_V5, MIBEACON_V5_NO_MAC]).flatmap(mutations))
def test_mibeacon_v5_encrypted(payload: bytes) -> None:
    check(run(payload, MIBEACON, ADDRESS, KEYS))
    check(run(payload, MIBEACON, ADDRESS))


@given(mutations(MIBEACON_LEGACY))
def test_mibeacon_legacy(payload: bytes) -> None:
    check(run(payload, MIBEACON, LEGACY_ADDRESS, LEGACY_KEYS))


@given(
    st.lists(
        st.tuples(st.integers(11, len(MIBEACON_V5) - 1), st.integers(1, 255)),
        min_size=1,
        max_size=4,
        unique_by=lambda edit: edit[0],
    )
)
def test_a_changed_encrypted_body_is_never_read(edits: list[tuple[int, int]]) -> None:
    # The MIC covers the objects and the nonce the counters: with the header kept, any
    # change to what follows it is a failed decryption, never other values.
    frame = bytearray(MIBEACON_V5)
    for index, flip in edits:
        frame[index] ^= flip
    assert run(bytes(frame), MIBEACON, ADDRESS, KEYS) == WRONG_KEY


@settings(max_examples=300)
@given(
    st.binary(max_size=40),
    st.sampled_from([MIBEACON, ENVIRONMENTAL_SENSING]),
    st.sampled_from([None, KEYS, {ADDRESS: b""}, {ADDRESS: bytes(12)}, {ADDRESS: bytes(24)}]),
)
def test_random_bytes(payload: bytes, uuid: int, keys: dict[str, bytes] | None) -> None:
    check(run(payload, uuid, ADDRESS, keys))
