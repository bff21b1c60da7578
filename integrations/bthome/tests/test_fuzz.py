"""Property tests: any bytes give a reading, a reason or None; well-formed object streams
decode to exactly the values they carry; truncation and tampering never invent values."""

from __future__ import annotations

import math
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.integrations import Decoded, DecodeFailure
from hub.testing import assert_reading_or_failure, mutations
from integrations.bthome.objects import OBJECTS, TABLE, Kind, ObjectSpec
from integrations.bthome.tests.helpers import (
    SPEC_KEY,
    SPEC_MAC,
    V1,
    V1_ENCRYPTED,
    V2,
    encrypt_v1,
    encrypt_v2,
    run,
)

KEYS = {SPEC_MAC: SPEC_KEY}
VALID_V2 = bytes.fromhex("40 0009 0161 02CA09 03BF13 0C020C 2101 3A01 3C0103 F00100")
VALID_V2_ENCRYPTED = encrypt_v2(bytes.fromhex("0009 0161 02CA09 03BF13 2101"), counter=7)
VALID_V1 = bytes.fromhex("020009 020161 2302CA09 0303BF13 022101 023A01")
VALID_V1_ENCRYPTED = encrypt_v1(bytes.fromhex("2302CA09 0303BF13"), counter=7)

FIXED = [s for s in TABLE if s.size and s.kind is not Kind.EVENT]
SENSORS = [s for s in TABLE if s.kind is Kind.SENSOR]
keys_or_none = st.sampled_from([None, KEYS, {SPEC_MAC: bytes(16)}])


def _expected(spec: ObjectSpec, value: bytes) -> float:
    # Independent of the decoder's divisor/multiplier: the spec's factor times the integer.
    return int.from_bytes(value, "little", signed=spec.signed) * spec.factor


@st.composite
def v2_objects(draw: st.DrawFn) -> list[tuple[ObjectSpec, bytes]]:
    """A well-formed stream of fixed-size objects, with text/raw objects mixed in."""
    objects = []
    for spec in draw(st.lists(st.sampled_from([*FIXED, OBJECTS[0x53], OBJECTS[0x54]]))):
        if spec.kind is Kind.VARIABLE:
            objects.append((spec, draw(st.binary(max_size=12))))
        else:
            objects.append((spec, draw(st.binary(min_size=spec.size, max_size=spec.size))))
    return objects


def _v2_bytes(objects: list[tuple[ObjectSpec, bytes]]) -> bytes:
    out = bytearray()
    for spec, value in objects:
        out.append(spec.object_id)
        if spec.kind is Kind.VARIABLE:
            out.append(len(value))
        out += value
    return bytes(out)


def _check_values(result: Decoded, objects: list[tuple[ObjectSpec, bytes]]) -> None:
    sensors = [(s, v) for s, v in objects if s.kind is Kind.SENSOR]
    binaries = [(s, v) for s, v in objects if s.kind is Kind.BINARY]
    assert len(result.measurements) == len(sensors)
    assert len(result.states) == len(binaries)
    counts = Counter(s.name for s, _ in sensors)
    seen: Counter[str] = Counter()
    for spec, value in sensors:
        seen[spec.name] += 1
        name = spec.name if counts[spec.name] == 1 else f"{spec.name}_{seen[spec.name]}"
        got = result.measurements[name]
        assert math.isclose(got, _expected(spec, value), rel_tol=1e-9, abs_tol=1e-9), name
        if spec.factor == 1:
            assert type(got) is int, name


def _values(result: Decoded | DecodeFailure | None) -> Counter[float]:
    return Counter(result.measurements.values()) if isinstance(result, Decoded) else Counter()


@given(st.binary(max_size=40), st.sampled_from([V2, V1, V1_ENCRYPTED]), keys_or_none)
def test_any_bytes_never_raise(payload: bytes, uuid: int, keys: dict[str, bytes] | None) -> None:
    assert_reading_or_failure(run(payload, uuid, keys=keys))


@given(mutations(VALID_V2))
def test_mutated_v2_packets(payload: bytes) -> None:
    assert_reading_or_failure(run(payload, V2))


@given(mutations(VALID_V2_ENCRYPTED))
def test_mutated_encrypted_v2_packets_decrypt_or_fail(payload: bytes) -> None:
    result = run(payload, V2, keys=KEYS)
    assert_reading_or_failure(result)
    if isinstance(result, Decoded) and payload[:1] == VALID_V2_ENCRYPTED[:1]:
        # Authenticated encryption: only the genuine packet (or a plain one) decodes.
        assert payload == VALID_V2_ENCRYPTED


@given(mutations(VALID_V1))
def test_mutated_v1_packets(payload: bytes) -> None:
    assert_reading_or_failure(run(payload, V1))


@given(mutations(VALID_V1_ENCRYPTED))
def test_mutated_encrypted_v1_packets_decrypt_or_fail(payload: bytes) -> None:
    result = run(payload, V1_ENCRYPTED, keys=KEYS)
    assert_reading_or_failure(result)
    if isinstance(result, Decoded):
        assert payload == VALID_V1_ENCRYPTED


@settings(max_examples=300)
@given(v2_objects())
def test_well_formed_v2_streams_decode_to_their_values(
    objects: list[tuple[ObjectSpec, bytes]],
) -> None:
    result = run(b"\x40" + _v2_bytes(objects), V2)
    assert isinstance(result, Decoded)
    assert_reading_or_failure(result)
    _check_values(result, objects)


@given(v2_objects(), st.integers(0, 2**32 - 1))
def test_encrypted_streams_decode_like_plain_ones(
    objects: list[tuple[ObjectSpec, bytes]], counter: int
) -> None:
    stream = _v2_bytes(objects)
    plain = run(b"\x40" + stream, V2)
    sealed = run(encrypt_v2(stream, counter=counter), V2, keys=KEYS)
    assert isinstance(plain, Decoded)
    assert isinstance(sealed, Decoded)
    assert sealed.measurements == plain.measurements
    assert sealed.states == plain.states
    assert sealed.format == "v2-encrypted"
    assert sealed.sequence == (plain.sequence if plain.sequence is not None else counter)


@given(v2_objects(), st.data())
def test_truncated_v2_streams_never_invent_values(
    objects: list[tuple[ObjectSpec, bytes]], data: st.DataObject
) -> None:
    full = b"\x40" + _v2_bytes(objects)
    cut = data.draw(st.integers(0, len(full)))
    prefix = run(full[:cut], V2)
    assert_reading_or_failure(prefix)
    assert not _values(prefix) - _values(run(full, V2))


@st.composite
def v1_objects(draw: st.DrawFn) -> list[tuple[ObjectSpec, int, bytes]]:
    """(row, format, value) with integer formats and lengths the header allows."""
    objects = []
    for spec in draw(st.lists(st.sampled_from(SENSORS))):
        fmt = draw(st.sampled_from([0, 1]))
        objects.append((spec, fmt, draw(st.binary(min_size=1, max_size=4))))
    return objects


@given(v1_objects())
def test_well_formed_v1_streams_decode_to_their_values(
    objects: list[tuple[ObjectSpec, int, bytes]],
) -> None:
    payload = b"".join(
        bytes([fmt << 5 | (len(value) + 1), spec.object_id]) + value for spec, fmt, value in objects
    )
    result = run(payload, V1)
    if not payload:
        assert result == DecodeFailure("empty BTHome v1 payload")
        return
    assert isinstance(result, Decoded)
    wanted = sorted(
        int.from_bytes(value, "little", signed=fmt == 1) * spec.factor
        for spec, fmt, value in objects
    )
    got = sorted(result.measurements.values())
    assert len(got) == len(wanted)
    assert all(
        math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) for a, b in zip(got, wanted, strict=True)
    )
