"""Property tests: whatever the bytes, the decoder answers with a reading, a reason or None."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hub.integrations import Decoded
from hub.testing import advertisement, assert_reading_or_failure, decode, mutations
from integrations.switchbot import INTEGRATION

# One published advertisement per model (see test_vectors.py for their sources):
# (service data, manufacturer data of company 0x0969).
VALID = {
    "Meter": ("5400e4069835", "d7c17d5deb43de03069835"),
    "Meter Plus": ("6980e409914a", "c6c752663cbf160b09914a"),
    "Outdoor Meter": ("770064", "aabbccddeeff360302963700"),
    "Meter Pro": ("340064", "b0e9fe52dd84066408972c0005"),
    "Meter Pro CO2": ("350064", "b0e9fe543215b7e4079ba4003702d500"),
}


def check(result: object) -> None:
    assert_reading_or_failure(result)
    if isinstance(result, Decoded):
        m = result.measurements
        assert -127.9 <= m.get("temperature", 0.0) <= 127.9
        assert 0 <= m.get("humidity", 0) <= 100
        assert 0 <= m.get("battery", 0) <= 100
        assert 0 <= m.get("co2", 0) <= 9999
        for key in ("humidity", "battery", "co2"):
            assert type(m.get(key, 0)) is int
        assert result.sequence is None


def _model_test(model: str) -> None:
    service, manufacturer = (bytes.fromhex(h) for h in VALID[model])

    @given(
        service_data=st.one_of(st.just(service), mutations(service)),
        manufacturer_data=st.one_of(st.none(), st.just(manufacturer), mutations(manufacturer)),
        uuid=st.sampled_from([0xFD3D, 0x0D00]),
    )
    def run(service_data: bytes, manufacturer_data: bytes | None, uuid: int) -> None:
        adv = advertisement(
            service_data={uuid: service_data},
            manufacturer_data={0x0969: manufacturer_data}
            if manufacturer_data is not None
            else None,
        )
        check(decode(INTEGRATION, adv))

    run()


def test_meter_never_raises() -> None:
    _model_test("Meter")


def test_meter_plus_never_raises() -> None:
    _model_test("Meter Plus")


def test_outdoor_meter_never_raises() -> None:
    _model_test("Outdoor Meter")


def test_meter_pro_never_raises() -> None:
    _model_test("Meter Pro")


def test_meter_pro_co2_never_raises() -> None:
    _model_test("Meter Pro CO2")


@given(
    service_data=st.dictionaries(
        st.sampled_from([0xFD3D, 0x0D00, 0xFCD2]), st.binary(max_size=12), max_size=2
    ),
    manufacturer_data=st.dictionaries(
        st.sampled_from([0x0969, 0x0059]), st.binary(max_size=24), max_size=2
    ),
)
def test_random_advertisements_never_raise(
    service_data: dict[int | str, bytes], manufacturer_data: dict[int, bytes]
) -> None:
    adv = advertisement(service_data=service_data, manufacturer_data=manufacturer_data)
    check(decode(INTEGRATION, adv))


@given(
    model=st.sampled_from([0x54, 0x69, 0x77, 0x34, 0x35]),
    header=st.binary(min_size=2, max_size=2),
    record=st.binary(min_size=3, max_size=3),
)
def test_every_record_with_a_meter_type_decodes(model: int, header: bytes, record: bytes) -> None:
    # Service data with a meter's device type and a full record is always a reading.
    adv = advertisement(service_data={0xFD3D: bytes([model]) + header + record})
    result = decode(INTEGRATION, adv)
    assert isinstance(result, Decoded)
    check(result)
