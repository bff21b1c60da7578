"""The soak's synthetic world: deterministic, complete, with the quirks it promises, and
every line it sends read back by the hub's own router as exactly the values it expects."""

from __future__ import annotations

import fnmatch
import itertools
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from hub.alerts.rules import parse_rules
from hub.bus import EventBus
from hub.config.models import HubConfig
from hub.events import Reading, SensorSeen
from hub.integrations import DecodeFailure, IntegrationRegistry
from hub.records import parse_line
from hub.router import Router
from soak.encoders import FAMILIES
from soak.world import SILENT_INTERVAL_S, Emission, SimSensor, World

HOUR = 3600.0
REGISTRY = IntegrationRegistry.discover()


@pytest.fixture(scope="module")
def world() -> World:
    return World(sensors=300, seed=1)


def sensor_named(world: World, name: str) -> SimSensor:
    return next(s for s in world.sensors if s.name == name)


def first_hour(seed: int = 1, sensors: int = 300) -> tuple[World, list[Emission]]:
    world = World(sensors=sensors, seed=seed)
    return world, list(world.emissions(world.start + HOUR))


@pytest.fixture(scope="module")
def hour() -> tuple[World, list[Emission]]:
    """The first simulated hour of a 100-sensor world (every group, every quirk)."""
    return first_hour(sensors=100)


# -- the world itself ---------------------------------------------------------------------


def test_a_seed_gives_the_same_world_and_the_same_emissions_however_sliced() -> None:
    one, two = World(seed=7), World(seed=7)
    assert one.sensors == two.sensors
    end = one.start + 150
    whole = list(one.emissions(end))
    sliced = [
        *two.emissions(one.start + 12.4),
        *two.emissions(one.start + 100),
        *two.emissions(end),
    ]
    assert whole == sliced
    assert len(whole) > 5_000
    other = World(seed=8)
    assert other.sensors != one.sensors
    assert list(other.emissions(end))[:100] != whole[:100]


def test_300_sensors_cover_every_family_in_named_groups(world: World) -> None:
    assert len(world.sensors) == 300
    assert {s.family for s in world.sensors} == set(FAMILIES)
    groups = Counter(s.group for s in world.sensors)
    assert groups == {
        "living": 176,
        "dual": 45,
        "greenhouse": 30,
        "lossy": 30,
        "freezer": 9,
        "silent": 6,
        "constant": 4,
    }
    assert len({s.address for s in world.sensors}) == 300
    assert len({s.name for s in world.sensors}) == 300
    assert sensor_named(world, "living-012").group == "living"
    assert sensor_named(world, "dual-008").receivers == (0, 1)
    assert all(1.0 <= s.interval_s <= 60.0 for s in world.sensors)
    assert 60 <= world.advertisements_per_second <= 80
    for sensor in world.sensors:
        family = FAMILIES[sensor.family]
        assert sensor.has_sequence == family.has_sequence
        assert sensor.integration == family.integration
        assert (sensor.bindkey is not None) == bool(family.key_length)
        assert sensor.measurement_interval_s >= sensor.interval_s


def test_emissions_come_in_time_order_until_the_limit(hour: tuple[World, list[Emission]]) -> None:
    world, emissions = hour
    times = [e.sim_ts for e in emissions]
    assert times == sorted(times)
    assert world.start <= times[0]
    assert times[-1] < world.start + HOUR
    assert all(e.line.endswith(b"\n") and b'"ts"' not in e.line for e in emissions[:1000])


def test_silent_sensors_send_nothing_in_their_windows_and_come_back() -> None:
    fresh = World(sensors=120, seed=1)  # two silent sensors
    end = fresh.start + 3 * HOUR
    silent = [s for s in fresh.sensors if s.group == "silent"]
    assert silent[0].silent[0] == (fresh.start + 15 * 60, fresh.start + 45 * 60)
    heard: dict[str, list[float]] = defaultdict(list)
    for emission in fresh.emissions(end):
        heard[emission.address].append(emission.sim_ts)
    for sensor in silent:
        assert sensor.interval_s == SILENT_INTERVAL_S
        times = heard[sensor.address]
        for begin, stop in sensor.silent:
            assert not [t for t in times if begin <= t < stop], sensor.name
            if stop < end - 2 * SILENT_INTERVAL_S:
                assert any(stop <= t < stop + 2 * SILENT_INTERVAL_S for t in times), sensor.name
        # Outside the windows, never a gap the short stale rule (2.25 intervals) would see.
        gaps = [b - a for a, b in itertools.pairwise(times)]
        in_windows = sum(1 for begin, stop in sensor.silent if begin < end)
        assert sum(1 for g in gaps if g > 2.25 * sensor.interval_s) <= in_windows
    # Sensors of the other groups never fall silent.
    assert all(not s.silent for s in fresh.sensors if s.group != "silent")


def test_lossy_sensors_lose_about_half_and_the_others_nothing(
    hour: tuple[World, list[Emission]],
) -> None:
    world, emissions = hour
    groups = {s.address: s.group for s in world.sensors}
    lost = Counter()
    total = Counter()
    for emission in emissions:
        group = groups[emission.address]
        total[group] += 1
        lost[group] += not emission.receivers
    assert 0.45 <= lost["lossy"] / total["lossy"] <= 0.55
    assert sum(lost.values()) == lost["lossy"]
    dual = [e for e in emissions if groups[e.address] == "dual"]
    assert dual
    assert all(e.receivers == (0, 1) for e in dual)


def test_ruuvi_counters_wrap_at_65535_and_reset_on_a_reboot(
    hour: tuple[World, list[Emission]],
) -> None:
    world, emissions = hour
    rebooting = [s for s in world.sensors if s.reboots]
    assert rebooting
    first = next(s for s in rebooting if s.reboots[0] == world.start + 20 * 60)
    sequences = [
        (e.sim_ts, e.values["measurement_sequence"])
        for e in emissions
        if e.address == first.address
    ]
    drops = [
        (t, before, after)
        for (_, before), (t, after) in itertools.pairwise(sequences)
        if after < before
    ]
    wraps = [d for d in drops if d[1] == 65534 and d[2] == 0]
    resets = [d for d in drops if d not in wraps]
    assert len(wraps) == 1
    assert len(resets) == 1
    assert resets[0][2] == 0
    assert resets[0][0] >= world.start + 20 * 60
    steps = {after - before for (_, before), (_, after) in itertools.pairwise(sequences)}
    assert steps <= {1, -65534} | {resets[0][2] - resets[0][1]}


def test_constant_sensors_send_the_same_bytes_all_run(hour: tuple[World, list[Emission]]) -> None:
    world, emissions = hour
    for sensor in (s for s in world.sensors if s.constant):
        mine = [e for e in emissions if e.address == sensor.address]
        assert len(mine) > 50
        assert {e.line for e in mine} == {mine[0].line}
        assert {e.measurement for e in mine} == {0}


def test_every_new_measurement_is_a_new_payload(hour: tuple[World, list[Emission]]) -> None:
    world, emissions = hour
    last: dict[str, Emission] = {}
    for emission in emissions:
        before = last.get(emission.address)
        if before is not None:
            if emission.measurement == before.measurement:
                assert emission.line == before.line  # a repeat is the same bytes
            else:
                assert emission.line != before.line
        last[emission.address] = emission
    constant = {s.address for s in world.sensors if s.constant}
    assert all(
        len({e.measurement for e in emissions if e.address == a}) > 1
        for a in {e.address for e in emissions} - constant
    )


def test_freezers_defrost_above_minus_15_for_10_to_20_minutes(
    hour: tuple[World, list[Emission]],
) -> None:
    world, emissions = hour
    freezer = sensor_named(world, "freezer-000")
    readings = [
        (e.sim_ts, e.values["temperature"]) for e in emissions if e.address == freezer.address
    ]
    above = [t for t, celsius in readings if celsius > -15]
    assert above, "the first defrost comes 12 minutes in"
    assert 10 * 60 <= above[-1] - above[0] <= 20 * 60 + 2 * freezer.measurement_interval_s
    assert min(c for _, c in readings) < -17
    assert readings[-1][1] < -16  # back to cold within the hour


def test_a_battery_crosses_15_percent_when_planned(hour: tuple[World, list[Emission]]) -> None:
    world, emissions = hour
    sensor = next(s for s in world.sensors if s.battery_crossing == world.start + 600)
    levels = [
        (e.sim_ts, e.values["battery"])
        for e in emissions
        if e.address == sensor.address and "battery" in e.values
    ]
    assert all(b >= 15 for t, b in levels if t < sensor.battery_crossing - 300)
    assert all(b < 15 for t, b in levels if t > sensor.battery_crossing + 300)
    assert all(b >= a for (_, a), (_, b) in zip(levels[1:], levels, strict=False))  # never up


def test_devices_config_loads_into_the_hub_config(world: World) -> None:
    config = HubConfig.model_validate({"devices": world.devices_config()})
    assert {d.name for d in config.devices.values()} == {s.name for s in world.sensors}
    keys = config.device_keys()
    assert set(keys) == {s.address for s in world.sensors if s.bindkey}
    assert all(keys[s.address].hex() == s.bindkey for s in world.sensors if s.bindkey)


def test_alert_rules_are_valid_and_fit_the_groups(world: World) -> None:
    rules, problems = parse_rules(world.alert_rules(), "soak-alerts.yaml")
    assert problems == []
    by_name = {rule.name: rule for rule in rules}
    short = by_name["silent_sensor_short"]
    assert short.stale is not None
    assert 2 * SILENT_INTERVAL_S <= short.stale <= 2.5 * SILENT_INTERVAL_S
    assert short.stale < 3 * SILENT_INTERVAL_S  # a real silence fires within three intervals
    matched = [
        s for s in world.sensors if any(fnmatch.fnmatchcase(s.name, g) for g in short.sensors)
    ]
    assert {s.group for s in matched} == {"silent"}
    generous = by_name["sensor_silent"].stale
    assert generous is not None
    # A lossy sensor would need many losses in a row to look silent.
    assert generous >= 30 * max(s.interval_s for s in world.sensors if s.loss)
    freezers = [s for s in world.sensors if fnmatch.fnmatchcase(s.name, "freezer-*")]
    assert all(FAMILIES[s.family].temperature_always for s in freezers)


# -- through the hub's router -------------------------------------------------------------


@dataclass
class Routed:
    """What the router made of one simulated hour, per family."""

    new_measurements: Counter[str] = field(default_factory=Counter)
    readings: Counter[str] = field(default_factory=Counter)
    repeats: Counter[str] = field(default_factory=Counter)
    lost_new: Counter[str] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def routed() -> Routed:
    """A simulated hour of a 60-sensor world, every heard copy through one Router."""
    world = World(sensors=60, seed=5)
    keys = {s.address: bytes.fromhex(s.bindkey) for s in world.sensors if s.bindkey}
    router = Router(REGISTRY, EventBus(), keys=keys)
    sensors = {s.address: s for s in world.sensors}
    seen: dict[str, set[int]] = defaultdict(set)
    out = Routed()
    for emission in world.emissions(world.start + HOUR):
        sensor = sensors[emission.address]
        family = sensor.family
        for _ in emission.receivers:
            new = emission.measurement not in seen[emission.address]
            seen[emission.address].add(emission.measurement)
            event = router.route(parse_line(emission.line.decode(), now=emission.sim_ts))
            if new:
                out.new_measurements[family] += 1
            if isinstance(event, Reading):
                out.readings[family] += 1
                if dict(event.measurements) != dict(emission.values):
                    out.wrong.append(f"{sensor.name}: {event.measurements} != {emission.values}")
                if sensor.has_sequence and not new:
                    out.wrong.append(f"{sensor.name}: repeat {emission.measurement} stored again")
            elif isinstance(event, SensorSeen) and event.repeat and sensor.has_sequence and not new:
                out.repeats[family] += 1
            else:
                out.lost_new[family] += 1
                out.wrong.append(f"{sensor.name}: {emission.measurement} gave {event!r}")
    return out


def test_the_router_stores_exactly_the_expected_values(routed: Routed) -> None:
    assert set(routed.readings) | set(routed.lost_new) == set(FAMILIES)
    assert [w for w in routed.wrong if "gave" not in w] == []


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_new_measurement_becomes_a_reading(routed: Routed, family: str) -> None:
    assert routed.new_measurements[family] > 0
    assert routed.lost_new[family] == 0, [w for w in routed.wrong if "gave" in w][:5]


def test_the_malformed_burst_gives_only_decode_errors_or_unmatched(world: World) -> None:
    keys = {s.address: bytes.fromhex(s.bindkey) for s in world.sensors if s.bindkey}
    router = Router(REGISTRY, EventBus(), keys=keys)
    burst = world.malformed(world.start + 100.0, 300)
    assert burst == world.malformed(world.start + 100.0, 300)  # deterministic
    assert len(burst) == 300
    known = {s.address for s in world.sensors}
    assert sum(e.address in known for e in burst) >= 150
    assert sum(e.address not in known for e in burst) >= 50
    results = Counter()
    for emission in burst:
        assert emission.measurement == -1
        assert emission.values == {}
        event = router.route(parse_line(emission.line.decode(), now=emission.sim_ts))
        results["error" if isinstance(event, DecodeFailure) else type(event).__name__] += 1
    assert router.counters.readings == 0
    assert set(results) <= {"error", "NoneType"}
    assert results["error"] >= 250
    assert len({e.line for e in burst}) > 100


def test_the_generator_keeps_well_ahead_of_a_day_in_ten_minutes() -> None:
    """Speed 144 needs about 10,000 emissions per real second for 300 sensors."""
    world = World(sensors=300, seed=2)
    started = time.process_time()  # CPU time: other processes on the machine do not count
    count = sum(1 for _ in _emissions(world, 20 * 60))
    rate = count / (time.process_time() - started)
    print(f"generator: {count} emissions in 20 simulated minutes, {rate:,.0f} per CPU second")
    assert rate > 2 * world.advertisements_per_second * 144


def _emissions(world: World, seconds: float) -> Iterator[Emission]:
    return world.emissions(world.start + seconds)
