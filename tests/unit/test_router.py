"""The router: advertisement in, Reading (or a repeat, or a failure) out."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pytest

from hub.bus import EventBus
from hub.errors import IntegrationError
from hub.events import Advertisement, Reading, SensorSeen
from hub.integrations import (
    DecodeContext,
    Decoded,
    DecodeFailure,
    Integration,
    IntegrationRegistry,
    Match,
)
from hub.router import SEQUENCE_WINDOW, Router
from integrations.ruuvi import INTEGRATION as RUUVI
from integrations.ruuvi.df5 import encode

RUUVI_ID = 0x0499
TAG = "C8:25:2D:8E:AB:4C"
OTHER_TAG = "F7:6B:13:E0:51:A8"
SVC_UUID = "0000fff0-0000-1000-8000-00805f9b34fb"  # declared below in its short form


# -- test-only integrations ---------------------------------------------------------------


def decode_svc(adv: Advertisement, _context: DecodeContext) -> Decoded | DecodeFailure | None:
    """Service data: int16 temperature (0.01 °C), uint8 humidity (%), uint8 sequence."""
    payload = adv.service_data.get(SVC_UUID)
    if not payload:
        return None  # not mine after all
    if len(payload) != 4:
        return DecodeFailure(f"needs 4 bytes, got {len(payload)}")
    temperature, humidity, sequence = struct.unpack("<hBB", payload)
    return Decoded(
        measurements={"temperature": temperature / 100, "humidity": humidity},
        model="SvcThermo",
        sequence=sequence,
    )


def decode_name(adv: Advertisement, _context: DecodeContext) -> Decoded | DecodeFailure | None:
    """Devices that put their reading in the name: "Test <temperature> <humidity>"."""
    assert adv.name is not None
    if adv.name == "Test boom":
        raise ZeroDivisionError("division by zero")
    if adv.name == "Test weird":
        return Decoded(
            measurements={
                "temperature": math.nan,
                "humidity": 40.0,
                "pressure": math.inf,
                "co2": -math.inf,
                "voltage": 3.0,
                "battery": 87,
            },
            states={"door_open": True},
            events=("button",),
        )
    _, temperature, humidity = adv.name.split()
    return Decoded(measurements={"temperature": float(temperature), "humidity": float(humidity)})


SVC_TEST = Integration(
    name="svc_test",
    kind="decoder",
    matches=(Match(service_data_uuid="FFF0"),),
    decode=decode_svc,
)
NAME_TEST = Integration(
    name="name_test",
    kind="decoder",
    matches=(Match(local_name="Test*"),),
    decode=decode_name,
)


@pytest.fixture
def registry() -> IntegrationRegistry:
    return IntegrationRegistry([RUUVI, SVC_TEST, NAME_TEST])


@pytest.fixture
def router(registry: IntegrationRegistry) -> Router:
    return Router(registry, EventBus())


def ruuvi_payload(sequence: int, *, temperature: float = 21.5, humidity: float = 45.0) -> bytes:
    return encode(
        temperature=temperature,
        humidity=humidity,
        pressure=1013.25,
        acceleration=(0.0, -0.004, 1.036),
        voltage=2.977,
        tx_power=4,
        movement_counter=66,
        sequence=sequence,
        mac=bytes.fromhex("c8252d8eab4c"),
    )


def ruuvi(sequence: int = 205, *, address: str = TAG, ts: float = 100.0, **values: float):
    return Advertisement(
        ts=ts,
        address=address,
        name="Ruuvi AB4C",
        rssi=-67,
        manufacturer_data={RUUVI_ID: ruuvi_payload(sequence, **values)},
    )


def magnus(t: float, rh: float) -> float:
    gamma = math.log(rh / 100) + 17.62 * t / (243.12 + t)
    return 243.12 * gamma / (17.62 - gamma)


# -- routing ------------------------------------------------------------------------------


def test_routes_by_manufacturer_id(router: Router) -> None:
    event = router.route(ruuvi(205))

    assert isinstance(event, Reading)
    assert event.integration == "ruuvi"
    assert (event.address, event.ts, event.rssi, event.name) == (TAG, 100.0, -67, "Ruuvi AB4C")
    assert (event.model, event.format, event.sequence) == ("RuuviTag", "5", 205)
    m = event.measurements
    assert (m["temperature"], m["humidity"], m["pressure"]) == (21.5, 45.0, 1013.25)
    assert m["measurement_sequence"] == 205
    assert router.counters.readings == 1
    assert router.counters.by_integration["ruuvi"].decoded == 1
    assert TAG in router.known_sensors


def test_routes_by_service_data_uuid(router: Router) -> None:
    adv = Advertisement(
        ts=5.0, address=OTHER_TAG, service_data={SVC_UUID: struct.pack("<hBB", 2150, 45, 9)}
    )
    event = router.route(adv)

    assert isinstance(event, Reading)
    assert event.integration == "svc_test"
    assert event.model == "SvcThermo"
    assert event.sequence == 9
    assert event.measurements["temperature"] == 21.5
    assert event.measurements["humidity"] == 45
    assert router.counters.by_integration["svc_test"].decoded == 1


@pytest.mark.parametrize("name", ["Test 19.5 60", "Testing 19.5 60"])
def test_routes_by_local_name(router: Router, name: str) -> None:
    event = router.route(Advertisement(ts=1.0, address=TAG, name=name))

    assert isinstance(event, Reading)
    assert event.integration == "name_test"
    assert event.name == name
    assert event.sequence is None
    assert event.measurements["temperature"] == 19.5


@pytest.mark.parametrize(
    "adv",
    [
        pytest.param(
            Advertisement(ts=1.0, address=TAG, manufacturer_data={0x004C: b"\x02\x15"}),
            id="unknown-company",
        ),
        pytest.param(
            Advertisement(ts=1.0, address=TAG, service_data={"0000feaa" + SVC_UUID[8:]: b"x"}),
            id="unknown-service",
        ),
        pytest.param(Advertisement(ts=1.0, address=TAG, name="test 1 2"), id="name-other-case"),
        pytest.param(Advertisement(ts=1.0, address=TAG, name="Te"), id="name-too-short"),
        pytest.param(Advertisement(ts=1.0, address=TAG), id="nothing"),
    ],
)
def test_unmatched_advertisements_are_counted(router: Router, adv: Advertisement) -> None:
    assert router.route(adv) is None
    assert router.counters.advertisements == 1
    assert router.counters.unmatched == 1
    assert router.counters.readings == 0


def test_a_decoder_that_declines_lets_the_next_candidate_decode(router: Router) -> None:
    # The service data is empty, so svc_test says "not mine"; the name decoder takes it.
    adv = Advertisement(ts=1.0, address=TAG, name="Test 18 50", service_data={SVC_UUID: b""})
    event = router.route(adv)

    assert isinstance(event, Reading)
    assert event.integration == "name_test"
    assert router.counters.unmatched == 0


# -- failures -----------------------------------------------------------------------------


def test_a_decode_failure_is_counted_and_kept(router: Router) -> None:
    adv = Advertisement(ts=7.0, address=TAG, manufacturer_data={RUUVI_ID: b"\x05\x12\xfc"})
    event = router.route(adv)

    assert event == DecodeFailure("format 5 needs 24 bytes, got 3")
    assert router.counters.by_integration["ruuvi"].errors == 1
    assert router.counters.by_integration["ruuvi"].decoded == 0
    assert router.counters.readings == 0
    assert router.counters.unmatched == 0
    [error] = router.recent_errors
    assert (error.ts, error.address, error.integration) == (7.0, TAG, "ruuvi")
    assert error.reason == "format 5 needs 24 bytes, got 3"


def test_failures_are_counted_per_integration(router: Router) -> None:
    router.route(Advertisement(ts=1.0, address=TAG, manufacturer_data={RUUVI_ID: b"\x08"}))
    router.route(Advertisement(ts=2.0, address=TAG, service_data={SVC_UUID: b"\x01"}))
    router.route(Advertisement(ts=3.0, address=TAG, service_data={SVC_UUID: b"\x01\x02"}))

    counters = router.counters.by_integration
    assert (counters["ruuvi"].errors, counters["svc_test"].errors) == (1, 2)
    assert counters["name_test"].errors == 0
    assert [e.integration for e in router.recent_errors] == ["ruuvi", "svc_test", "svc_test"]
    assert "encrypted" in router.recent_errors[0].reason


def test_a_decoder_that_raises_becomes_a_decode_failure(router: Router) -> None:
    event = router.route(Advertisement(ts=1.0, address=TAG, name="Test boom"))

    assert isinstance(event, DecodeFailure)
    assert "ZeroDivisionError" in event.reason
    assert router.counters.by_integration["name_test"].errors == 1
    assert router.recent_errors[-1].integration == "name_test"
    # The router carries on with the next advertisement.
    assert isinstance(router.route(Advertisement(ts=2.0, address=TAG, name="Test 1 50")), Reading)


# -- repeats ------------------------------------------------------------------------------


def test_a_repeated_measurement_is_a_sighting_not_a_reading(router: Router) -> None:
    first = router.route(ruuvi(205, ts=1.0))
    again = router.route(ruuvi(205, ts=2.3))
    new = router.route(ruuvi(206, ts=5.0))

    assert isinstance(first, Reading)
    assert again == SensorSeen(2.3, TAG, "ruuvi", -67, repeat=True)
    assert isinstance(new, Reading)
    assert new.sequence == 206
    assert router.counters.readings == 2
    assert router.counters.by_integration["ruuvi"].repeats == 1
    assert router.counters.by_integration["ruuvi"].decoded == 2


def test_a_late_repeat_within_the_window_is_caught(router: Router) -> None:
    for sequence in (10, 11, 12):
        assert isinstance(router.route(ruuvi(sequence)), Reading)
    assert isinstance(router.route(ruuvi(10)), SensorSeen)
    assert router.counters.readings == 3


def test_sequences_are_per_sensor(router: Router) -> None:
    assert isinstance(router.route(ruuvi(205)), Reading)
    assert isinstance(router.route(ruuvi(205, address=OTHER_TAG)), Reading)


def test_a_wrapped_sequence_is_a_new_reading(router: Router) -> None:
    # 0xFFFF means "no sequence" in format 5, so the counter wraps from 65534 to 0.
    assert isinstance(router.route(ruuvi(65533)), Reading)
    assert isinstance(router.route(ruuvi(65534)), Reading)
    wrapped = router.route(ruuvi(0))
    assert isinstance(wrapped, Reading)
    assert wrapped.sequence == 0
    assert isinstance(router.route(ruuvi(0)), SensorSeen)
    assert router.counters.readings == 3


def test_the_window_forgets_old_sequences(router: Router) -> None:
    for sequence in range(SEQUENCE_WINDOW + 1):
        router.route(ruuvi(sequence))
    # Sequence 0 has left the window; 1 has not.
    assert isinstance(router.route(ruuvi(1)), SensorSeen)
    assert isinstance(router.route(ruuvi(0)), Reading)


def stored_values(registry: IntegrationRegistry, sequence: int, **values: float) -> dict:
    """What the store holds for a Ruuvi frame: the canonical measurements a router makes."""
    reading = Router(registry, EventBus()).route(ruuvi(sequence, **values))
    assert isinstance(reading, Reading)
    return dict(reading.measurements)


def test_seeded_sequences_are_repeats(router: Router, registry: IntegrationRegistry) -> None:
    router.seed_sequences({TAG: [(s, stored_values(registry, s)) for s in (203, 204, 205)]})
    assert TAG in router.known_sensors

    assert isinstance(router.route(ruuvi(205)), SensorSeen)
    assert isinstance(router.route(ruuvi(203)), SensorSeen)
    assert isinstance(router.route(ruuvi(206)), Reading)
    assert isinstance(router.route(ruuvi(205, address=OTHER_TAG)), Reading)
    assert router.counters.by_integration["ruuvi"].repeats == 2


def test_a_seeded_sequence_with_other_values_is_a_new_measurement(
    router: Router, registry: IntegrationRegistry
) -> None:
    # Stored before a restart; the tag rebooted meanwhile and counts from 0 again.
    router.seed_sequences({TAG: [(0, stored_values(registry, 0, temperature=19.0))]})
    assert isinstance(router.route(ruuvi(0, temperature=23.4)), Reading)


def test_a_short_counter_that_comes_round_is_not_taken_for_a_repeat(router: Router) -> None:
    """b-parasite counts 0-15: every sequence number comes back after 16 measurements."""
    readings = 0
    for i in range(100):
        payload = struct.pack("<hBB", 2000 + i, 50, i % 16)
        event = router.route(Advertisement(ts=i, address=TAG, service_data={SVC_UUID: payload}))
        readings += isinstance(event, Reading)
        # ...and the repeat of the same frame is still a repeat.
        again = router.route(Advertisement(ts=i, address=TAG, service_data={SVC_UUID: payload}))
        assert isinstance(again, SensorSeen)
    assert readings == 100


def test_a_receiver_lagging_far_behind_delivers_only_repeats(router: Router) -> None:
    """Two receivers hear the same frames; one hands them over 40 measurements late."""
    for sequence in range(1_000, 1_040):
        assert isinstance(router.route(ruuvi(sequence, temperature=sequence / 100)), Reading)
    for sequence in range(1_000, 1_040):
        late = router.route(ruuvi(sequence, temperature=sequence / 100, ts=200.0))
        assert isinstance(late, SensorSeen), sequence
    assert router.counters.readings == 40


def test_a_failure_of_one_candidate_does_not_hide_anothers_reading(router: Router) -> None:
    """Ids are not unique: an Inkbird sends its temperature where the company id belongs,
    and 11.77 °C is Ruuvi's id. The frame is the other integration's reading."""
    adv = Advertisement(
        ts=1.0, address=TAG, name="Test 11.77 50", manufacturer_data={RUUVI_ID: b"\x08\x01"}
    )
    event = router.route(adv)

    assert isinstance(event, Reading)
    assert event.integration == "name_test"
    assert event.measurements["temperature"] == 11.77
    assert router.counters.by_integration["ruuvi"].errors == 0


# -- values -------------------------------------------------------------------------------


def test_dew_point_is_added_from_temperature_and_humidity(router: Router) -> None:
    event = router.route(ruuvi(1, temperature=20.0, humidity=50.0))

    assert isinstance(event, Reading)
    assert event.measurements["dew_point"] == 9.26
    assert event.measurements["dew_point"] == round(magnus(20.0, 50.0), 2)


@pytest.mark.parametrize(
    ("temperature", "humidity"), [(-10.0, 80.0), (0.0, 100.0), (35.5, 12.5), (4.2, 95.0)]
)
def test_dew_point_follows_the_magnus_formula(
    router: Router, temperature: float, humidity: float
) -> None:
    event = router.route(Advertisement(ts=1.0, address=TAG, name=f"Test {temperature} {humidity}"))

    assert isinstance(event, Reading)
    assert event.measurements["dew_point"] == pytest.approx(
        magnus(temperature, humidity), abs=0.005
    )
    assert event.measurements["dew_point"] <= temperature


def test_no_dew_point_where_it_is_undefined(router: Router) -> None:
    event = router.route(Advertisement(ts=1.0, address=TAG, name="Test 20 0"))

    assert isinstance(event, Reading)
    assert event.measurements == {"temperature": 20.0, "humidity": 0.0}


def test_non_finite_values_are_dropped(router: Router) -> None:
    event = router.route(Advertisement(ts=1.0, address=TAG, name="Test weird"))

    assert isinstance(event, Reading)
    # No temperature left, so no dew point either.
    assert event.measurements == {"humidity": 40.0, "voltage": 3.0, "battery": 87}
    assert event.states == {"door_open": True}
    assert event.events == ("button",)


def test_the_decoders_result_is_not_changed(registry: IntegrationRegistry) -> None:
    """A decoder may keep what it returned (a cache, the last values of a device)."""
    latest = Decoded(measurements={"temperature": 20.0, "humidity": 50.0})
    cached = Integration(
        name="cached",
        kind="decoder",
        matches=(Match(manufacturer_id=0xFFFE),),
        decode=lambda _adv, _ctx: latest,
    )
    router = Router(IntegrationRegistry([*registry.integrations.values(), cached]), EventBus())
    adv = Advertisement(ts=1.0, address=TAG, manufacturer_data={0xFFFE: b""})

    first = router.route(adv)
    assert isinstance(first, Reading)
    assert first.measurements["dew_point"] == 9.26
    assert latest.measurements == {"temperature": 20.0, "humidity": 50.0}

    # The device's temperature changes: the dew point follows it.
    latest.measurements["temperature"] = 25.0
    second = router.route(adv)
    assert isinstance(second, Reading)
    assert second.measurements["dew_point"] == round(magnus(25.0, 50.0), 2)
    assert first.measurements["temperature"] == 20.0  # what was published stays as it was


# -- the registry -------------------------------------------------------------------------


def decoder(name: str, *matches: Match) -> Integration:
    return Integration(name=name, kind="decoder", matches=matches, decode=decode_name)


def test_the_registry_indexes_every_matcher(registry: IntegrationRegistry) -> None:
    assert set(registry.decoders) == {"ruuvi", "svc_test", "name_test"}
    assert registry.by_manufacturer[RUUVI_ID] == (RUUVI,)
    assert registry.by_service_data[SVC_UUID] == (SVC_TEST,)  # short form expanded
    assert registry.candidates(Advertisement(ts=1.0, address=TAG, name="Test 1 2")) == [NAME_TEST]


@pytest.mark.parametrize("pattern", ["T*", "Te?t", "*Test", "[Tt]est*", "Te"])
def test_the_registry_rejects_over_broad_name_patterns(pattern: str) -> None:
    with pytest.raises(IntegrationError, match="literal characters"):
        IntegrationRegistry([decoder("broad", Match(local_name=pattern))])


def test_the_registry_rejects_duplicate_names() -> None:
    with pytest.raises(IntegrationError, match="two integrations are named 'ruuvi'"):
        IntegrationRegistry([RUUVI, decoder("ruuvi", Match(local_name="Test*"))])


@pytest.mark.parametrize(
    "match",
    [
        pytest.param(Match(manufacturer_id=0x0499, local_name="Test*"), id="two"),
        pytest.param(Match(service_data_uuid="fff0", local_name="Test*"), id="two-other"),
        pytest.param(Match(), id="none"),
    ],
)
def test_the_registry_rejects_a_match_without_exactly_one_criterion(match: Match) -> None:
    with pytest.raises(IntegrationError, match="exactly one criterion"):
        IntegrationRegistry([decoder("mixed", match)])


@pytest.mark.parametrize(
    "integration",
    [
        pytest.param(decoder("Bad-Name", Match(local_name="Test*")), id="bad-name"),
        pytest.param(decoder("nomatch"), id="no-match"),
        pytest.param(decoder("range", Match(manufacturer_id=0x10000)), id="id-out-of-range"),
    ],
)
def test_the_registry_rejects_other_bad_declarations(integration: Integration) -> None:
    with pytest.raises(IntegrationError):
        IntegrationRegistry([integration])


# -- publishing ---------------------------------------------------------------------------


async def test_submit_publishes_readings_and_sightings(router: Router) -> None:
    bus = router._bus
    readings: list[Reading] = []
    seen: list[SensorSeen] = []
    bus.subscribe(Reading, readings.append)
    bus.subscribe(SensorSeen, seen.append)
    bus.start()
    try:
        await router.submit(ruuvi(205, ts=1.0))
        await router.submit(ruuvi(205, ts=2.0))  # a repeat
        await router.submit(ruuvi(206, ts=6.0))
        await router.submit(Advertisement(ts=7.0, address=TAG, manufacturer_data={76: b"x"}))
        await router.submit(Advertisement(ts=8.0, address=TAG, name="Test boom"))
        await bus.idle()
    finally:
        await bus.stop()

    assert [(r.ts, r.sequence) for r in readings] == [(1.0, 205), (6.0, 206)]
    assert seen == [SensorSeen(2.0, TAG, "ruuvi", -67, repeat=True)]
    assert router.counters.advertisements == 5


async def test_submit_waits_for_a_full_blocking_subscriber(router: Router) -> None:
    bus = router._bus
    readings: list[Reading] = []
    bus.subscribe(Reading, readings.append, policy="block", queue_size=1)
    bus.start()
    try:
        for sequence in range(50):
            await router.submit(ruuvi(sequence))
        await bus.idle()
    finally:
        await bus.stop()

    assert [r.sequence for r in readings] == list(range(50))  # none refused
    assert bus.dropped == 0


def test_values_no_store_can_hold_are_dropped_not_raised(registry: IntegrationRegistry) -> None:
    odd = Integration(
        name="odd",
        kind="decoder",
        matches=(Match(manufacturer_id=0xFFFD),),
        decode=lambda _adv, _ctx: Decoded(
            measurements={
                "temperature": 21.0,
                "huge": 10**400,  # overflows float conversion
                "bigint": 2**64,  # no SQLite or JSON integer holds it
                "text": "21",  # type: ignore[dict-item]
                "flag": True,
                "pressure": 1000.5,
            }
        ),
    )
    router = Router(IntegrationRegistry([*registry.integrations.values(), odd]), EventBus())
    event = router.route(Advertisement(ts=1.0, address=TAG, manufacturer_data={0xFFFD: b""}))
    assert isinstance(event, Reading)
    assert event.measurements == {"temperature": 21.0, "pressure": 1000.5}


def test_discovery_leaves_out_a_broken_integration_and_reports_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "fake_integrations_pkg"
    (root / "good").mkdir(parents=True)
    (root / "broken").mkdir()
    (root / "wrong").mkdir()
    (root / "__init__.py").write_text("")
    (root / "good" / "__init__.py").write_text(
        "from hub.integrations import Integration, Match\n"
        "INTEGRATION = Integration(name='good', kind='decoder', "
        "matches=(Match(manufacturer_id=0x1234),), decode=lambda adv, ctx: None)\n"
    )
    (root / "broken" / "__init__.py").write_text("import this_module_does_not_exist\n")
    (root / "wrong" / "__init__.py").write_text(
        "from hub.integrations import Integration, Match\n"
        "INTEGRATION = Integration(name='wrong', kind='decoder', "
        "matches=(Match(local_name='T*'),), decode=lambda adv, ctx: None)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = IntegrationRegistry.discover("fake_integrations_pkg")
    assert list(registry.integrations) == ["good"]
    assert len(registry.problems) == 2
    assert registry.problems[0].startswith("fake_integrations_pkg.broken: failed to import")
    assert registry.problems[1].startswith("fake_integrations_pkg.wrong: local-name pattern")


def test_calibration_is_applied_before_the_dew_point(registry: IntegrationRegistry) -> None:
    from hub.config.models import Calibration

    router = Router(
        registry,
        EventBus(),
        calibrations={
            TAG: {
                "temperature": Calibration(offset=-0.5),
                "humidity": Calibration(points=((76.0, 75.0), (34.0, 33.0))),
            }
        },
    )
    event = router.route(ruuvi(300, temperature=20.5, humidity=51.0))
    assert isinstance(event, Reading)
    assert event.measurements["temperature"] == 20.0
    assert event.measurements["humidity"] == 50.0
    assert event.measurements["dew_point"] == round(magnus(20.0, 50.0), 2)
    other = router.route(ruuvi(301, address="AA:00:00:00:00:01", temperature=20.5))
    assert isinstance(other, Reading)
    assert other.measurements["temperature"] == 20.5
