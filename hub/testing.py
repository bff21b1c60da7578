"""Helpers for integration tests: build advertisements, fuzz payloads, check decoders."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from hub.events import Advertisement
from hub.integrations import DecodeContext, Decoded, DecodeFailure, Integration
from hub.records import normalise_uuid

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy


def advertisement(
    address: str = "AA:BB:CC:DD:EE:FF",
    *,
    manufacturer_data: Mapping[int, bytes] | None = None,
    service_data: Mapping[int | str, bytes] | None = None,
    name: str | None = None,
    rssi: int | None = -60,
    service_uuids: tuple[str, ...] = (),
    ts: float = 1_795_155_600.0,
) -> Advertisement:
    """An Advertisement as bleak would give it; service-data keys may be 16-bit ints."""
    services = {
        normalise_uuid(f"{key:04x}" if isinstance(key, int) else key): payload
        for key, payload in (service_data or {}).items()
    }
    return Advertisement(
        ts=ts,
        address=address.upper(),
        name=name,
        rssi=rssi,
        manufacturer_data=dict(manufacturer_data or {}),
        service_data=services,
        service_uuids=tuple(normalise_uuid(u) for u in service_uuids),
    )


def decode(
    integration: Integration, adv: Advertisement, keys: Mapping[str, bytes] | None = None
) -> Decoded | DecodeFailure | None:
    """Run an integration's decoder as the router does (without the router's guard)."""
    assert integration.decode is not None, f"{integration.name} has no decoder"
    return integration.decode(adv, DecodeContext(keys=dict(keys or {})))


def mutations(valid: bytes, max_extra: int = 16) -> SearchStrategy[bytes]:
    """Payloads near a valid one: truncated, extended, with flipped bytes, or random."""
    from hypothesis import strategies as st

    truncated = st.integers(0, max(0, len(valid) - 1)).map(lambda n: valid[:n])
    extended = st.binary(min_size=1, max_size=max_extra).map(lambda extra: valid + extra)
    flipped = st.lists(
        st.tuples(st.integers(0, max(0, len(valid) - 1)), st.integers(0, 255)),
        min_size=1,
        max_size=4,
    ).map(lambda edits: _apply(valid, edits))
    same_length = st.binary(min_size=len(valid), max_size=len(valid))
    random = st.binary(max_size=len(valid) + max_extra)
    return st.one_of(truncated, extended, flipped, same_length, random)


def _apply(valid: bytes, edits: list[tuple[int, int]]) -> bytes:
    if not valid:
        return valid
    data = bytearray(valid)
    for index, value in edits:
        data[index % len(data)] = value
    return bytes(data)


def assert_reading_or_failure(result: object) -> None:
    """What every decoder must return for any input: a reading, a reason, or not-mine."""
    assert result is None or isinstance(result, Decoded | DecodeFailure), repr(result)
    if isinstance(result, Decoded):
        for name, value in result.measurements.items():
            assert isinstance(name, str)
            assert type(value) in (int, float), f"{name}={value!r} is not a number"
            assert math.isfinite(value), f"{name}={value!r} is not finite"
    if isinstance(result, DecodeFailure):
        assert result.reason, "a failure needs a reason"
        assert "\n" not in result.reason, "a reason is one line"
