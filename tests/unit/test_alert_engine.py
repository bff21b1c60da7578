"""The alert engine, each semantic of contract 4 as a small timeline.

A timeline is a list of steps: `(ts, sensor, {measurement: value})` is a reading,
`(ts, None, None)` a tick. What comes out is compared as `(ts, rule, sensor, state, value)`,
by default only what people are notified of (firing and resolved, as `hub alerts test`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.alerts.engine import AlertEngine, AlertState, Change, Repeat, Transition
from hub.alerts.rules import Rule, check_rules, parse_rules
from hub.commands.alerts import parse_readings, simulate
from hub.events import AlertChanged

ROOT = Path(__file__).resolve().parents[2]
Step = tuple[float, str | None, dict[str, float] | None]
Row = tuple[float, str, str, str, float | None]


def rule(name: str = "r", **keys: Any) -> Rule:
    if "for_" in keys:
        keys["for"] = keys.pop("for_")
    rules, problems = parse_rules({"rules": [{"name": name, **keys}]}, "t", ("log", "webhook"))
    assert problems == [], problems
    return rules[0]


def warm(**keys: Any) -> Rule:
    """Freezer above -15 °C, the contract's example without its options."""
    return rule("freezer_warm", measurement="temperature", above=-15, **keys)


def rows(changes: list[Change], everything: bool = False) -> list[Row]:
    out: list[Row] = []
    for c in changes:
        if isinstance(c, Repeat):
            if everything:
                out.append((c.ts, c.rule, c.sensor, "repeat", c.value))
        elif everything or c.notifies:
            out.append((c.ts, c.rule, c.sensor, c.state, c.value))
    return out


def run(engine: AlertEngine, steps: list[Step], everything: bool = False) -> list[Row]:
    changes: list[Change] = []
    for ts, sensor, measurements in steps:
        if sensor is None:
            changes += engine.tick(ts)
        else:
            changes += engine.on_reading(ts, sensor, None, measurements or {})
    return rows(changes, everything)


def temps(sensor: str, *points: tuple[float, float]) -> list[Step]:
    return [(ts, sensor, {"temperature": v}) for ts, v in points]


def ticks(*times: float) -> list[Step]:
    return [(t, None, None) for t in times]


# --- thresholds ---------------------------------------------------------------------------------


def test_crossing_fires_and_resolves() -> None:
    engine = AlertEngine([warm()])
    steps = temps("Freezer", (0, -18), (10, -16), (20, -14.5), (30, -13), (40, -15.5))
    assert run(engine, steps, everything=True) == [
        (20, "freezer_warm", "Freezer", "firing", -14.5),
        (40, "freezer_warm", "Freezer", "resolved", -15.5),
    ]


def test_the_threshold_value_itself_is_not_a_crossing() -> None:
    engine = AlertEngine([warm(), rule("low", measurement="battery", below=15)])
    steps: list[Step] = [
        (0, "F", {"temperature": -15.0, "battery": 15}),
        (10, "F", {"temperature": -15}),
    ]
    assert run(engine, steps, everything=True) == []
    # ... and resolving is inclusive: back at exactly the threshold minus hysteresis.
    engine = AlertEngine([warm(hysteresis=1)])
    steps = temps("F", (0, -14), (10, -15), (20, -15.999), (30, -16))
    assert run(engine, steps) == [
        (0, "freezer_warm", "F", "firing", -14),
        (30, "freezer_warm", "F", "resolved", -16),
    ]


def test_a_first_reading_already_past_the_threshold_starts_pending_at_once() -> None:
    engine = AlertEngine([warm(for_="5m")])
    assert run(engine, temps("F", (100, -10)), everything=True) == [
        (100, "freezer_warm", "F", "pending", -10)
    ]
    assert run(engine, ticks(399, 400)) == [(400, "freezer_warm", "F", "firing", -10)]


def test_for_satisfied_fires_at_the_first_evaluation_after_it_with_the_latest_value() -> None:
    engine = AlertEngine([warm(for_="5m")])
    steps = [
        *temps("F", (0, -18), (60, -14), (120, -13)),
        *ticks(300, 359.9),  # never earlier than start + for
        *temps("F", (355, -12.5)),
        *ticks(365),  # the first evaluation at or after 60 + 300
    ]
    assert run(engine, steps, everything=True) == [
        (60, "freezer_warm", "F", "pending", -14),
        (365, "freezer_warm", "F", "firing", -12.5),
    ]


def test_a_reading_at_start_plus_for_fires_itself() -> None:
    engine = AlertEngine([warm(for_="5m")])
    assert run(engine, temps("F", (0, -14), (300, -13))) == [
        (300, "freezer_warm", "F", "firing", -13)
    ]


def test_for_interrupted_goes_back_silently() -> None:
    engine = AlertEngine([warm(for_="5m", hysteresis=3)])
    steps = [
        *temps("F", (0, -14), (100, -13), (200, -15.5)),  # -15.5: hysteresis keeps nothing alive
        *ticks(300, 400, 1000),
    ]
    changes: list[Change] = []
    for ts, sensor, m in steps:
        changes += (
            engine.tick(ts) if sensor is None else engine.on_reading(ts, sensor, None, m or {})
        )
    assert rows(changes) == []
    assert [(c.ts, c.state) for c in changes if isinstance(c, Transition)] == [
        (0, "pending"),
        (200, "inactive"),
    ]
    assert not any(c.notifies for c in changes if isinstance(c, Transition))
    # The next episode starts its own `for` from its own start.
    assert run(engine, [*temps("F", (500, -14)), *ticks(790, 800)]) == [
        (800, "freezer_warm", "F", "firing", -14)
    ]


def test_hysteresis_against_a_noisy_series_near_the_threshold_does_not_flap() -> None:
    noise = [0.3, -0.2, 0.4, -0.4, 0.1, -0.3, 0.2, -0.1, 0.35, -0.45, 0.05, -0.25]
    around = [(10 + i * 10, -15 + n) for i, n in enumerate(noise * 5)]
    steps = temps("F", (0, -18), *around, (1000, -16.0))
    # Without hysteresis the same series flaps at every crossing ...
    flapping = run(AlertEngine([warm()]), steps)
    assert len(flapping) > 40
    # ... with 1 °C it fires once and resolves once, at -16.
    assert run(AlertEngine([warm(hysteresis=1)]), steps) == [
        (10, "freezer_warm", "F", "firing", -14.7),
        (1000, "freezer_warm", "F", "resolved", -16.0),
    ]
    # And with `for`, the dips below the threshold keep cancelling the pending alert.
    assert run(AlertEngine([warm(for_="1m", hysteresis=1)]), steps) == []


def test_both_thresholds_a_band_narrowed_on_both_sides_to_resolve() -> None:
    fridge = rule("fridge", measurement="temperature", above=8, below=1, hysteresis=0.5)
    engine = AlertEngine([fridge])
    steps = temps(
        "Fridge",
        (0, 4), (10, 8), (20, 1),  # on the limits: nothing
        (30, 8.1), (40, 7.8), (50, 7.5),  # too warm, resolved at 7.5
        (60, 0.9), (70, 1.2), (80, 9), (90, 1.5),  # too cold, stays firing when too warm, ...
    )  # fmt: skip
    assert run(engine, steps) == [
        (30, "fridge", "Fridge", "firing", 8.1),
        (50, "fridge", "Fridge", "resolved", 7.5),
        (60, "fridge", "Fridge", "firing", 0.9),
        (90, "fridge", "Fridge", "resolved", 1.5),
    ]


def test_below_threshold_with_hysteresis() -> None:
    frost = rule("frost", measurement="temperature", below=0, hysteresis=1)
    steps = temps("G", (0, 2), (10, -0.5), (20, 0.5), (30, -0.1), (40, 0.99), (50, 1))
    assert run(AlertEngine([frost]), steps) == [
        (10, "frost", "G", "firing", -0.5),
        (50, "frost", "G", "resolved", 1),
    ]


def test_a_reading_without_the_measurement_leaves_the_state_alone() -> None:
    engine = AlertEngine([warm(for_="5m")])
    steps: list[Step] = [
        (0, "F", {"temperature": -14}),
        (100, "F", {"humidity": 50}),  # pending keeps counting
        (200, "F", {}),
        (300, "F", {"humidity": 51}),  # an evaluation at start + for: fires, latest value
        (400, "F", {"battery": 80}),  # firing stays firing
        (500, "F", {"temperature": math.nan}),  # not a value either
    ]
    assert run(engine, steps, everything=True) == [
        (0, "freezer_warm", "F", "pending", -14),
        (300, "freezer_warm", "F", "firing", -14),
    ]
    assert engine.active()[0].state == "firing"


def test_silence_does_not_resolve_a_threshold_alert() -> None:
    engine = AlertEngine([warm()])
    assert run(engine, [*temps("F", (0, -10)), *ticks(3600, 86400, 30 * 86400)]) == [
        (0, "freezer_warm", "F", "firing", -10)
    ]
    assert [s.state for s in engine.snapshot()] == ["firing"]


def test_several_sensors_matched_by_glob_are_independent() -> None:
    engine = AlertEngine([warm(sensors=["Freezer*"], for_="1m")])
    steps = [
        *temps("Freezer 1", (0, -14)),
        *temps("Freezer 2", (30, -18)),
        *temps("Fridge", (40, 5)),  # not matched
        *temps("freezer 3", (45, 5)),  # names match as written
        *temps("Freezer 2", (50, -13)),
        *temps("Freezer 1", (55, -16)),  # cancels 1's pending, not 2's
        *ticks(60, 110),
        *temps("Freezer 2", (120, -17)),
    ]
    assert run(engine, steps) == [
        (110, "freezer_warm", "Freezer 2", "firing", -13),
        (120, "freezer_warm", "Freezer 2", "resolved", -17),
    ]


def test_globs_match_addresses_whatever_their_case_and_names_as_written() -> None:
    engine = AlertEngine(
        [
            warm(sensors=["c8:25:2d:*"]),
            rule("by_name", measurement="temperature", above=0, sensors=["Kitchen"]),
        ]
    )
    out = engine.on_reading(0, "Kitchen", "C8:25:2D:8E:AB:4C", {"temperature": 5})
    assert [(c.rule, c.sensor, c.address) for c in out] == [
        ("freezer_warm", "Kitchen", "C8:25:2D:8E:AB:4C"),
        ("by_name", "Kitchen", "C8:25:2D:8E:AB:4C"),
    ]
    assert engine.on_reading(0, "kitchen", "AA:00:00:00:00:01", {"temperature": 5}) == []


def test_a_sensor_renamed_is_matched_again_and_keeps_its_states() -> None:
    engine = AlertEngine(
        [warm(sensors=["Freezer*", "AA:*"]), rule("k", stale="1m", sensors=["K*"])]
    )
    engine.on_reading(0, "Freezer", "AA:00:00:00:00:01", {"temperature": -10})
    out = engine.on_reading(10, "Kitchen", "AA:00:00:00:00:01", {"temperature": -17})
    assert rows(out) == [(10, "freezer_warm", "Kitchen", "resolved", -17)]
    assert rows(engine.tick(70)) == [(70, "k", "Kitchen", "firing", None)]


def test_a_reading_older_than_the_last_one_is_ignored() -> None:
    engine = AlertEngine([warm()])
    steps = temps("F", (100, -18), (50, -10), (100, -17), (150, -10))
    assert run(engine, steps) == [(150, "freezer_warm", "F", "firing", -10)]
    assert engine.ignored == 1
    assert engine.readings == 3


def test_every_reading_is_an_evaluation_of_every_timer() -> None:
    engine = AlertEngine([warm(for_="1m")])
    steps = [*temps("A", (0, -10)), *temps("B", (75, -20))]  # no tick at all
    assert run(engine, steps) == [(75, "freezer_warm", "A", "firing", -10)]


# --- stale ------------------------------------------------------------------------------------


def test_stale_fires_after_silence_and_any_reading_resolves_it() -> None:
    engine = AlertEngine([rule("silent", stale="10m", sensors=["*"])])
    steps: list[Step] = [
        (0, "A", {"temperature": 1}),
        (100, "B", {}),
        *ticks(599, 600),  # A: first evaluation at or after 0 + 600
        (650, "C", {"humidity": 3}),
        *ticks(700, 710),  # B: 100 + 600
        (720, "A", {}),  # a reading, whatever it carries, resolves
        (1300, "C", {"humidity": 3}),
        *ticks(1319, 1320, 1330, 1899, 1900, 5000),  # A again at 720 + 600, C at 1300 + 600
    ]
    assert run(engine, steps) == [
        (600, "silent", "A", "firing", None),
        (700, "silent", "B", "firing", None),
        (720, "silent", "A", "resolved", None),
        (1320, "silent", "A", "firing", None),
        (1900, "silent", "C", "firing", None),
    ]


def test_stale_messages_say_how_long() -> None:
    engine = AlertEngine([rule("silent", stale="10m")])
    engine.on_reading(0, "Outdoor", None, {})
    (fired,) = engine.tick(900)
    assert isinstance(fired, Transition)
    assert fired.message == "Outdoor has sent nothing for 15m"
    assert (fired.started, fired.fired) == (0, 900)
    (resolved,) = engine.on_reading(3600, "Outdoor", None, {})
    assert isinstance(resolved, Transition)
    assert resolved.state == "resolved"
    assert resolved.message == "Outdoor has sent nothing for 1h"
    assert (resolved.started, resolved.fired) == (0, 900)


# --- repeat -----------------------------------------------------------------------------------


def test_repeat_renotifies_while_firing_and_is_not_a_transition() -> None:
    engine = AlertEngine([warm(repeat="1h")])
    steps = [
        *temps("F", (0, -10)),
        *ticks(3599, 3600, 3700, 7200),
        *temps("F", (7300, -12)),
        *ticks(10800),
        *temps("F", (10900, -18)),
        *ticks(14400, 20000),
    ]
    assert run(engine, steps, everything=True) == [
        (0, "freezer_warm", "F", "firing", -10),
        (3600, "freezer_warm", "F", "repeat", -10),
        (7200, "freezer_warm", "F", "repeat", -10),
        (10800, "freezer_warm", "F", "repeat", -12),
        (10900, "freezer_warm", "F", "resolved", -18),
    ]


def test_repeat_of_a_stale_alert() -> None:
    engine = AlertEngine([rule("silent", stale="10m", repeat="1h")])
    engine.on_reading(0, "A", None, {})
    steps = ticks(600, 4199, 4200, 7800)
    assert run(engine, steps, everything=True) == [
        (600, "silent", "A", "firing", None),
        (4200, "silent", "A", "repeat", None),
        (7800, "silent", "A", "repeat", None),
    ]


# --- messages, events, timers -----------------------------------------------------------------


def test_transitions_carry_severity_channels_message_and_make_events() -> None:
    engine = AlertEngine(
        [
            warm(
                severity="critical",
                notify=["log", "webhook"],
                message="{sensor} ({address}) {value:.1f} > {above:g} for {duration} [{rule}]",
                for_="2m",
            )
        ]
    )
    engine.on_reading(0, "Freezer", "AA:BB:CC:DD:EE:FF", {"temperature": -14.04})
    (fired,) = engine.tick(150)
    assert isinstance(fired, Transition)
    assert fired.message == "Freezer (AA:BB:CC:DD:EE:FF) -14.0 > -15 for 2m30s [freezer_warm]"
    assert fired.notify == ("log", "webhook")
    assert (fired.started, fired.fired) == (0, 150)
    assert fired.to_event() == AlertChanged(
        ts=150,
        rule="freezer_warm",
        sensor="Freezer",
        state="firing",
        severity="critical",
        value=-14.04,
        message=fired.message,
    )


def test_next_due_says_when_to_tick() -> None:
    engine = AlertEngine([warm(for_="5m"), rule("silent", stale="10m")])
    assert engine.next_due() is None
    engine.on_reading(0, "F", None, {"temperature": -14})
    assert engine.next_due() == 300
    engine.on_reading(10, "F", None, {"temperature": -16})  # pending gone
    assert engine.next_due() == 300  # a lower bound: ticking then changes nothing
    assert engine.tick(300) == []
    assert engine.next_due() == 600  # the stale timer, from the first reading
    assert engine.tick(600) == []
    assert engine.next_due() == 610  # now from the last one


def test_listening_since_stale_timers_count_from_when_the_hub_could_hear() -> None:
    """A hub that was down (or held its readings for a wrong clock) from 100 to 1000 cannot
    call the sensor silent at 1000: silence counts from 1000."""
    engine = AlertEngine([rule("silent", stale="10m"), warm()])
    assert run(engine, temps("Freezer", (100, -20))) == []
    engine.listening_since(1000)
    assert run(engine, ticks(1000, 1500, 1599)) == []
    assert run(engine, ticks(1600)) == [(1600, "silent", "Freezer", "firing", None)]
    # Readings, thresholds and resolving are not affected by it.
    assert run(engine, temps("Freezer", (1610, -10))) == [
        (1610, "silent", "Freezer", "resolved", None),
        (1610, "freezer_warm", "Freezer", "firing", -10),
    ]
    # An earlier floor changes nothing; a reading after the floor counts as usual.
    engine.listening_since(500)
    assert run(engine, ticks(2209)) == []
    assert run(engine, ticks(2210)) == [(2210, "silent", "Freezer", "firing", None)]


def test_prime_starts_stale_timers_without_notifying() -> None:
    engine = AlertEngine([rule("silent", stale="10m")])
    engine.prime(100, "A", "AA:00:00:00:00:01")
    engine.prime(50, "A", "AA:00:00:00:00:01")  # older: ignored
    assert rows(engine.tick(699)) == []
    assert rows(engine.tick(700)) == [(700, "silent", "A", "firing", None)]
    engine.prime(800, "A", "AA:00:00:00:00:01")  # never resolves
    assert engine.active()[0].state == "firing"


# --- restart: snapshot and restore in each state ------------------------------------------------


def restarted(engine: AlertEngine, rules: list[Rule]) -> AlertEngine:
    saved = engine.snapshot()
    fresh = AlertEngine(rules)
    assert fresh.restore(saved) == len(saved)
    assert fresh.snapshot() == saved
    return fresh


def test_restore_firing_stays_firing_without_notifying_again() -> None:
    rules = [warm(repeat="1h")]
    engine = AlertEngine(rules)
    run(engine, temps("F", (0, -10), (1000, -11)))
    engine = restarted(engine, rules)
    steps = [*temps("F", (2000, -12)), *ticks(3000)]
    assert run(engine, steps, everything=True) == []
    # repeat counts from the last notification before the restart, and it resolves as usual
    steps = [*ticks(3600), *temps("F", (4000, -16))]
    assert run(engine, steps, everything=True) == [
        (3600, "freezer_warm", "F", "repeat", -12),
        (4000, "freezer_warm", "F", "resolved", -16),
    ]


def test_restore_pending_keeps_its_start() -> None:
    rules = [warm(for_="10m")]
    engine = AlertEngine(rules)
    run(engine, temps("F", (0, -14), (100, -13)))
    engine = restarted(engine, rules)
    (state,) = engine.active()
    assert (state.state, state.since, state.last_value) == ("pending", 0, -13)
    assert run(engine, ticks(500, 599, 600)) == [(600, "freezer_warm", "F", "firing", -13)]


def test_restore_stale_counts_from_the_last_reading_stored() -> None:
    rules = [rule("silent", stale="10m"), warm()]
    engine = AlertEngine(rules)
    engine.on_reading(1000, "A", "AA:00:00:00:00:01", {"temperature": -20})
    engine = restarted(engine, rules)  # say the hub restarts at 1300
    assert run(engine, ticks(1300, 1599)) == []
    assert run(engine, ticks(1600)) == [(1600, "silent", "A", "firing", None)]
    # restored while firing: no second firing, and a reading resolves it
    engine = restarted(engine, rules)
    assert run(engine, ticks(5000)) == []
    out = engine.on_reading(5001, "A", "AA:00:00:00:00:01", {})
    assert rows(out) == [(5001, "silent", "A", "resolved", None)]


def test_restore_inactive_and_older_readings_after_restart() -> None:
    rules = [warm()]
    engine = AlertEngine(rules)
    run(engine, temps("F", (100, -20)))
    engine = restarted(engine, rules)
    assert run(engine, temps("F", (50, -10))) == []  # older than the last one stored
    assert run(engine, temps("F", (150, -10))) == [(150, "freezer_warm", "F", "firing", -10)]


def test_restore_drops_states_of_rules_gone_or_not_matching() -> None:
    engine = AlertEngine([warm(sensors=["F*"])])
    engine.on_reading(0, "F", None, {"temperature": -10})
    saved = engine.snapshot()
    assert AlertEngine([rule("other", stale="1m")]).restore(saved) == 0
    assert AlertEngine([warm(sensors=["G*"])]).restore(saved) == 0
    state = AlertState(rule="freezer_warm", sensor="F", state="firing", since=None)
    assert AlertEngine([warm()]).restore([state]) == 1  # taken, but nothing to fire from


# --- reload -----------------------------------------------------------------------------------


def test_replace_rules_keeps_the_state_of_rules_that_still_exist() -> None:
    frost = {"measurement": "temperature", "below": 0, "sensors": ["G"]}
    engine = AlertEngine([warm(sensors=["F"]), rule("frost", for_="1h", **frost)])
    run(engine, temps("F", (0, -10)))
    run(engine, temps("G", (0, -1)))
    engine.replace_rules(
        [
            warm(sensors=["F"], hysteresis=2),  # changed: keeps firing, with a new hysteresis
            rule("frost", for_="10m", **frost),  # pending keeps its start, with a new `for`
            rule("silent", stale="1h"),  # new: counts from each sensor's last reading
        ]
    )
    assert run(engine, temps("F", (100, -16))) == []  # -16 > -15 - 2: still firing
    assert run(engine, ticks(600), everything=True) == [
        (600, "frost", "G", "firing", -1),
    ]
    assert run(engine, temps("F", (700, -17.5)) + ticks(3600)) == [
        (700, "freezer_warm", "F", "resolved", -17.5),
        (3600, "silent", "G", "firing", None),
    ]
    engine.replace_rules([rule("silent", stale="1h")])  # others gone with their states
    assert {s.rule for s in engine.snapshot()} == {"silent"}


def test_replace_rules_with_a_different_kind_starts_afresh() -> None:
    engine = AlertEngine([warm()])
    run(engine, temps("F", (0, -10)))
    engine.replace_rules([rule("freezer_warm", stale="1m")])
    assert [s.state for s in engine.snapshot()] == ["inactive"]


# --- hub alerts test and the live engine agree ---------------------------------------------------


def test_simulate_equals_the_engine_fed_the_same_readings_and_ticks() -> None:
    rules, problems = check_rules(ROOT / "config" / "alerts.yaml")
    assert problems == []
    path = ROOT / "config" / "demo" / "alerts-readings.jsonl"
    readings = [r for r in parse_readings(path.read_text().splitlines()) if not isinstance(r, str)]
    simulated = simulate(rules, readings, 10.0)
    live = AlertEngine(rules)
    changes: list[Change] = []
    start = readings[0].ts
    step = 1
    for reading in readings:
        while start + step * 10 < reading.ts:
            changes += live.tick(start + step * 10)
            step += 1
        changes += live.on_reading(reading.ts, reading.name, None, reading.measurements)
    assert changes == simulated
    assert {(row[1], row[3]) for row in rows(simulated)} == {
        (r.name, s) for r in rules for s in ("firing", "resolved")
    } - {("battery_low", "resolved")}


@st.composite
def series(draw: st.DrawFn) -> list[tuple[float, float]]:
    gaps = draw(st.lists(st.integers(1, 120), min_size=1, max_size=60))
    values = draw(st.lists(st.sampled_from([-16, -15.5, -15, -14.9, -14, -10]), min_size=len(gaps)))
    ts, out = 0.0, []
    for gap, value in zip(gaps, values, strict=False):
        ts += gap
        out.append((ts, float(value)))
    return out


@settings(max_examples=200, deadline=None)
@given(points=series(), for_=st.sampled_from([0, 30, 300]), interval=st.sampled_from([1, 7, 60]))
def test_properties_of_any_series(
    points: list[tuple[float, float]], for_: int, interval: int
) -> None:
    """Firing and resolved alternate; a firing comes only after the condition held for `for`
    on every reading since it began; resolved only at or below the hysteresis line."""
    engine = AlertEngine([warm(for_=for_, hysteresis=1)])
    changes: list[Change] = []
    now = points[0][0]
    for ts, value in points:
        while now + interval < ts:
            now += interval
            changes += engine.tick(now)
        changes += engine.on_reading(ts, "F", None, {"temperature": value})
    notified = [c for c in changes if isinstance(c, Transition) and c.notifies]
    assert [c.state for c in notified] == ["firing", "resolved"] * (len(notified) // 2) + (
        ["firing"] if len(notified) % 2 else []
    )
    for c in notified:
        if c.state == "firing":
            assert c.ts >= c.started + for_
            held = [v for t, v in points if c.started <= t <= c.ts]
            assert held
            assert all(v > -15 for v in held)
        else:
            assert c.value is not None
            assert c.value <= -16


@pytest.mark.parametrize("bad", ["", None])
def test_a_reading_needs_a_sensor(bad: str | None) -> None:
    with pytest.raises(ValueError, match="sensor name or an address"):
        AlertEngine([warm()]).on_reading(0, bad, None, {})
