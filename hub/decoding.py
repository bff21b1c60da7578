"""Decoding one advertisement, with no memory of earlier ones: shared by the router and
`hub decode`, so both give the same measurements for the same bytes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol

from hub.derive import dew_point
from hub.events import Advertisement
from hub.integrations import (
    DecodeContext,
    Decoded,
    DecodeFailure,
    Integration,
    IntegrationRegistry,
)


class Correction(Protocol):
    """A calibration of one measurement (see `hub.config.models.Calibration`)."""

    def apply(self, value: float) -> float: ...


def decode_advertisement(
    registry: IntegrationRegistry, context: DecodeContext, adv: Advertisement
) -> tuple[Integration | None, Decoded | DecodeFailure | None]:
    """The first candidate integration that decodes `adv`; failing that, the first failure;
    (None, None) when nobody claims it.

    A failure does not end the search: ids are not unique in the wild (an Inkbird sends its
    temperature where the company id belongs, so at 11.77 °C it wears Ruuvi's id), and the
    integration a frame really belongs to may come later in the list.
    """
    failed: tuple[Integration, DecodeFailure] | None = None
    for integration in registry.candidates(adv):
        decode = integration.decode
        assert decode is not None
        try:
            result = decode(adv, context)
        except Exception as exc:  # noqa: BLE001 - a decoder bug must not stop the hub
            result = DecodeFailure(f"decoder raised {type(exc).__name__}: {exc}")
        if result is None:
            continue
        if not isinstance(result, DecodeFailure):
            return integration, result
        if failed is None:
            failed = integration, result
    return failed if failed is not None else (None, None)


def canonical_measurements(
    decoded: Decoded, corrections: Mapping[str, Correction] | None = None
) -> Mapping[str, float | int]:
    """What a decoder measured, made safe to store, calibrated, with derived quantities added.

    Values no store can hold exactly (NaN, infinities, bools, huge integers, non-numbers)
    are dropped; the user's calibration is applied; the dew point is then derived (from the
    calibrated values) where temperature and humidity are both present. The decoder's own
    mapping is never changed.
    """
    measurements: Mapping[str, float | int] = decoded.measurements
    try:
        clean = all(map(math.isfinite, measurements.values()))
    except (TypeError, OverflowError):
        clean = False
    if not clean:
        measurements = {k: v for k, v in measurements.items() if _storable(v)}
    if corrections:
        measurements = {
            k: (corrections[k].apply(v) if k in corrections else v) for k, v in measurements.items()
        }
    temperature = measurements.get("temperature")
    humidity = measurements.get("humidity")
    if temperature is not None and humidity is not None and "dew_point" not in measurements:
        point = dew_point(temperature, humidity)
        if point is not None:
            measurements = {**measurements, "dew_point": point}
    return measurements


def _storable(value: object) -> bool:
    """A finite number that SQLite and JSON can hold exactly (no bool, NaN, inf or bigint)."""
    if type(value) is int:
        return -(2**63) <= value < 2**63
    return type(value) is float and math.isfinite(value)
