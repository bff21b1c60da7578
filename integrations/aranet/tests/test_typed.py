"""Aranet2, Aranet Radon Plus and Aranet Radiation advertisements (sources: vectors.py)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.integrations import Decoded, DecodeFailure
from hub.testing import advertisement, assert_reading_or_failure, decode, mutations
from integrations.aranet import INTEGRATION
from integrations.aranet.tests import vectors
from integrations.aranet.tests.helpers import run

RADIATION = (
    "Aranet Radiation is not supported: its dose readings have no canonical measurement name"
)
DISABLED = "Aranet2 sends no readings: Smart Home integrations are disabled in the Aranet app"


@pytest.mark.parametrize("with_name", [True, False])
@pytest.mark.parametrize(
    ("payload", "name", "model", "data_format", "expected", "counter"),
    [
        pytest.param(
            vectors.ARANET2,
            "Aranet2 278F8",
            "Aranet2",
            "aranet2",
            {"temperature": 20.45, "humidity": 52.2, "battery": 59},
            0x64,
            id="aranet2-aranet4-python",
        ),
        pytest.param(
            vectors.HA_ARANET2,
            "Aranet2 12345",
            "Aranet2",
            "aranet2",
            {"temperature": 24.8, "humidity": 52.4, "battery": 79},
            0x80,
            id="aranet2-home-assistant",
        ),
        pytest.param(
            vectors.ARANET_RADON,
            "AranetRn 298C9",
            "Aranet Radon Plus",
            "aranet_radon",
            # Radon (7 Bq/m³) is published too but has no canonical name (README).
            {"temperature": 25.5, "humidity": 46.2, "pressure": 1018.5, "battery": 100},
            0x08,
            id="radon-aranet4-python",
        ),
    ],
)
def test_published_packets(
    payload: bytes,
    name: str,
    model: str,
    data_format: str,
    expected: dict[str, float],
    counter: int,
    with_name: bool,
) -> None:
    result = run(payload, name if with_name else None)
    assert isinstance(result, Decoded)
    assert result.measurements == expected
    assert result.model == model
    assert result.format == data_format
    assert result.sequence == counter


def test_aranet2_markers_and_extremes() -> None:
    # Hand-made from the documented layout and markers (temperature bit 14, 1/10 % humidity
    # bit 15): a marked reading is left out, the rest stays.
    data = bytearray(vectors.ARANET2)
    struct.pack_into("<H", data, 10, 0x4000)
    struct.pack_into("<H", data, 14, 0x8000)
    result = run(bytes(data), "Aranet2 278F8")
    assert isinstance(result, Decoded)
    assert result.measurements == {"battery": 59}
    struct.pack_into("<H", data, 10, 0)
    struct.pack_into("<H", data, 14, 1000)
    result = run(bytes(data), "Aranet2 278F8")
    assert isinstance(result, Decoded)
    assert result.measurements == {"temperature": 0.0, "humidity": 100.0, "battery": 59}


@pytest.mark.parametrize(
    ("payload", "name", "reason"),
    [
        (vectors.ARANET_RADIATION, "Aranet\u2622 27DB3", RADIATION),
        (vectors.ARANET_RADIATION, None, RADIATION),
        (vectors.HA_ARANET_RADIATION, None, RADIATION),
        (vectors.ARANET2_NO_INTEGRATIONS, "Aranet2 278F8", DISABLED),
        (vectors.ARANET2_NO_INTEGRATIONS, None, DISABLED),
        (
            vectors.ARANET2[:22],
            "Aranet2 278F8",
            "Aranet2 readings need 23 bytes, got 22 (firmware v1.4.4)",
        ),
        (
            vectors.ARANET2[:3],
            "Aranet2 278F8",
            "Aranet2 payload of 3 bytes is shorter than its header",
        ),
        (b"\x09" + vectors.ARANET2[1:], None, "unknown Aranet device type 9"),
        (b"", "AranetRn 298C9", "empty Aranet payload"),
    ],
)
def test_failures_say_why(payload: bytes, name: str | None, reason: str) -> None:
    assert run(payload, name) == DecodeFailure(reason)


def test_other_company_is_not_ours() -> None:
    adv = advertisement(manufacturer_data={0x004C: vectors.ARANET2}, name="Aranet2 278F8")
    assert decode(INTEGRATION, adv) is None


VALID = [vectors.ARANET2, vectors.HA_ARANET2, vectors.ARANET_RADON, vectors.ARANET_RADIATION]
NAMES = ["Aranet2 278F8", "AranetRn 298C9", "Aranet\u2622 27DB3", "Aranet4 1", None]


@given(st.sampled_from(VALID).flatmap(mutations), st.sampled_from(NAMES))
def test_mutations_never_raise(payload: bytes, name: str | None) -> None:
    assert_reading_or_failure(run(payload, name))


@given(st.binary(max_size=40), st.sampled_from([*NAMES, "Other"]))
def test_random_payloads_never_raise(payload: bytes, name: str | None) -> None:
    assert_reading_or_failure(run(payload, name))
