"""Every family's encoder against the hub's own decoders: exact measurements, right counter,
values within the device's resolution, a new payload for every new measurement, and
malformed payloads that decode to nothing."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub import testing
from hub.bus import EventBus
from hub.decoding import canonical_measurements, decode_advertisement
from hub.events import Advertisement
from hub.integrations import DecodeContext, Decoded, DecodeFailure, IntegrationRegistry
from hub.records import parse_line
from hub.router import Router
from soak.encoders import FAMILIES, AdvertisementRecordFields, Family, garbage

# Decoders of data that never travels in an advertisement (read over GATT).
NOT_ADVERTISED = {"lywsd03mmc_gatt"}
REGISTRY = IntegrationRegistry.discover()
FAMILY_LIST = list(FAMILIES.values())
IDS = [f.name for f in FAMILY_LIST]

addresses = st.binary(min_size=6, max_size=6).map(lambda b: b.hex(":").upper())
keys = st.binary(min_size=16, max_size=16)


def values_of(family: Family) -> st.SearchStrategy[dict[str, float]]:
    return st.fixed_dictionaries(
        {
            q: st.floats(*family.range_of(q), allow_nan=False, allow_infinity=False)
            for q in family.quantities
        }
    )


def heard(fields: AdvertisementRecordFields, address: str) -> Advertisement:
    """The advertisement as the hub reads it from the record's JSON line."""
    return parse_line(fields.line(address, -70).decode(), now=1_800_000_000.0)


def route(adv: Advertisement, address: str, key: bytes | None) -> tuple[str | None, object]:
    """Which integration the hub picks for `adv`, and what it makes of it."""
    context = DecodeContext(keys={address: key} if key is not None else {})
    integration, result = decode_advertisement(REGISTRY, context, adv)
    return (integration.name if integration else None), result


def test_every_decoder_of_advertisements_has_a_family() -> None:
    covered = {f.integration for f in FAMILY_LIST}
    assert covered == set(REGISTRY.decoders) - NOT_ADVERTISED


@pytest.mark.parametrize("family", FAMILY_LIST, ids=IDS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), address=addresses, key=keys, counter=st.integers(0, 2**32 - 1))
def test_round_trip_through_the_hubs_decoders(
    family: Family, data: st.DataObject, address: str, key: bytes, counter: int
) -> None:
    values = data.draw(values_of(family))
    bindkey = key if family.key_length else None
    fields = family.encode(values, counter, address, bindkey)

    integration = REGISTRY.integrations[family.integration]
    keys = {address: bindkey} if bindkey is not None else None
    result = testing.decode(integration, heard(fields, address), keys)

    assert isinstance(result, Decoded), result
    assert result.measurements == fields.measurements  # exactly, float for float
    assert [type(v) for v in result.measurements.values()] == [
        type(v) for v in fields.measurements.values()
    ]
    assert result.sequence == fields.sequence
    assert (result.sequence is not None) == family.has_sequence
    assert dict(canonical_measurements(result)) == dict(fields.stored)
    for name, step in family.resolution.items():
        if name in fields.measurements:
            error = abs(fields.measurements[name] - values[name])
            # Half a step, plus what a decoder's rounding to two decimals may add.
            assert error <= step / 2 + 0.0051, (name, values[name], fields.measurements[name])


@pytest.mark.parametrize("family", FAMILY_LIST, ids=IDS)
def test_the_hub_routes_every_family_to_its_integration(family: Family) -> None:
    address = "C1:22:33:44:55:66"
    key = bytes(range(16)) if family.key_length else None
    for counter in range(10):
        fields = family.encode(_middle(family), counter, address, key)
        integration, result = route(heard(fields, address), address, key)
        assert integration == family.integration
        assert isinstance(result, Decoded)
        assert result.measurements == fields.measurements


# Temperatures whose raw value equals the company id another integration claims: Inkbird
# sends its temperature in the company-id bytes (0x0499 = 11.77 °C is Ruuvi's id).
COLLIDING = {11.77: "ruuvi", 17.94: "aranet", 3.07: "bluemaestro", 17.49: "sensirion"}


@pytest.mark.parametrize("celsius", sorted(COLLIDING), ids=lambda c: f"{c}C-{COLLIDING[c]}")
def test_an_inkbird_whose_temperature_spells_another_company_id_is_still_read(
    celsius: float,
) -> None:
    family = FAMILIES["inkbird_ibs_th"]
    fields = family.encode({**_middle(family), "temperature": celsius}, 0, "49:42:07:00:12:34")
    integration, result = route(heard(fields, "49:42:07:00:12:34"), "49:42:07:00:12:34", None)
    assert (integration, result) == (
        "inkbird",
        Decoded(dict(fields.measurements), "IBS-TH", "ibs-th"),
    )


@pytest.mark.parametrize("family", [f for f in FAMILY_LIST if f.has_sequence], ids=lambda f: f.name)
@settings(max_examples=30, deadline=None)
@given(data=st.data(), address=addresses, key=keys, counter=st.integers(0, 2**32 - 2))
def test_the_counter_follows_the_measurement_and_wraps_where_the_device_wraps(
    family: Family, data: st.DataObject, address: str, key: bytes, counter: int
) -> None:
    values = data.draw(values_of(family))
    bindkey = key if family.key_length else None
    this = family.encode(values, counter, address, bindkey)
    following = family.encode(values, counter + 1, address, bindkey)
    modulus = family.sequence_modulus
    assert modulus is not None
    assert this.sequence == counter % modulus
    assert following.sequence == (counter + 1) % modulus
    assert _payload(this) != _payload(following)


@pytest.mark.parametrize("family", FAMILY_LIST, ids=IDS)
@settings(max_examples=30, deadline=None)
@given(data=st.data(), address=addresses, key=keys)
def test_a_new_temperature_changes_the_payload_even_without_a_counter(
    family: Family, data: st.DataObject, address: str, key: bytes
) -> None:
    values = data.draw(values_of(family))
    bindkey = key if family.key_length else None
    counter = next(
        c
        for c in range(10)
        if "temperature" in family.encode(values, c, address, bindkey).measurements
    )
    before = family.encode(values, counter, address, bindkey)
    low, high = family.range_of("temperature")
    step = max(family.resolution["temperature"], 0.01) * 1.5
    moved = values["temperature"] + (step if values["temperature"] + step <= high else -step)
    assert low <= moved <= high
    after = family.encode({**values, "temperature": moved}, counter, address, bindkey)
    assert after.measurements["temperature"] != before.measurements["temperature"]
    assert _payload(after) != _payload(before)


@pytest.mark.parametrize("family", FAMILY_LIST, ids=IDS)
def test_malformed_payloads_give_decode_errors_and_no_reading(family: Family) -> None:
    address, stranger = "A4:C1:38:0B:5E:ED", "D7:00:00:00:00:01"
    key = bytes(range(16)) if family.key_length else None
    router = Router(REGISTRY, EventBus(), keys={address: key} if key else {})
    # The sensor itself is heard first, so a malformed advertisement could disturb its state.
    good = family.encode(_middle(family), 5, address, key)
    assert not isinstance(router.route(heard(good, address)), DecodeFailure)
    before = router.counters.readings
    cases = [(address, c) for c in family.broken(address, key)]
    cases += [(stranger, c) for c in family.broken(stranger, None)]  # an unknown device
    for target, case in cases:
        result = router.route(heard(case, target))
        assert result is None or isinstance(result, DecodeFailure), (case.malformed, result)
        assert case.malformed
        assert case.measurements == {}
    assert router.counters.readings == before
    errors = sum(c.errors for c in router.counters.by_integration.values())
    assert errors + router.counters.unmatched == len(cases)
    assert errors >= len(cases) // 2  # most are recognised by the family's integration


def test_garbage_is_unmatched() -> None:
    router = Router(REGISTRY, EventBus())
    for case in garbage(bytes(range(20))):
        assert router.route(heard(case, "D7:00:00:00:00:02")) is None
    assert router.counters.unmatched == len(garbage(b"x"))


def test_lines_are_contract_1_records_without_ts() -> None:
    family = FAMILIES["switchbot_meter_pro_co2"]
    fields = family.encode(_middle(family), 3, "C1:22:33:44:55:66")
    line = fields.line("C1:22:33:44:55:66", -61)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert b'"ts"' not in line
    adv = parse_line(line.decode(), now=5.0)
    assert adv.ts == 5.0
    assert adv.rssi == -61
    assert adv.manufacturer_data == fields.manufacturer_data
    assert adv.service_data == fields.service_data


def _middle(family: Family) -> dict[str, float]:
    return {q: sum(family.range_of(q)) / 2 for q in family.quantities}


def _payload(fields: AdvertisementRecordFields) -> tuple[Mapping[int, bytes], Mapping[str, bytes]]:
    return (dict(fields.manufacturer_data), dict(fields.service_data))


def test_quantities_are_finite_numbers_everywhere() -> None:
    for family in FAMILY_LIST:
        for counter in range(6):
            fields = family.encode(_middle(family), counter, "C1:22:33:44:55:66", bytes(16))
            assert all(math.isfinite(value) for value in fields.stored.values())
