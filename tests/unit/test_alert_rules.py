"""Alert rules files (contract 4): what is accepted, and every problem named by rule and key."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from hub.alerts.rules import (
    BTHOME_MEASUREMENTS,
    CANONICAL_MEASUREMENTS,
    KNOWN_MEASUREMENTS,
    Rule,
    Seconds,
    check_rules,
    describe,
    human_duration,
    load_rules,
    measurement_problem,
    parse_rules,
    template_problem,
)
from hub.errors import ConfigError
from integrations.bthome.objects import TABLE, Kind

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "alerts.yaml"
CHANNELS = ("log", "mqtt", "webhook", "ntfy")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alerts.yaml"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def problems_of(data: Any, channels: tuple[str, ...] = CHANNELS) -> list[str]:
    return [str(p) for p in parse_rules(data, "alerts.yaml", channels)[1]]


def one_rule(**keys: Any) -> Rule:
    rules, problems = parse_rules({"rules": [{"name": "r", **keys}]}, "alerts.yaml", CHANNELS)
    assert problems == []
    return rules[0]


# --- accepted --------------------------------------------------------------------------------


def test_the_shipped_examples_are_valid() -> None:
    rules, problems = check_rules(SHIPPED, CHANNELS)
    assert problems == []
    names = [r.name for r in rules]
    assert {"freezer_warm", "frost", "sensor_silent", "battery_low"} <= set(names)
    # With only `log` defined (a hub config without notify channels) they are valid too.
    assert check_rules(SHIPPED, ())[1] == []


def test_the_contract_example_and_its_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        rules:
          - name: freezer_warm
            sensors: ["Freezer*"]
            measurement: temperature
            above: -15
            below: null
            for: 5m
            hysteresis: 1.0
            severity: warning
            message: "{sensor} is {value:.1f} °C (limit {above})"
            notify: [log, mqtt, webhook]
            repeat: 4h
          - name: sensor_silent
            sensors: ["*"]
            stale: 10m
          - name: battery_low
            measurement: battery
            below: 15
            for: 1h
        """,
    )
    rules = load_rules(path, CHANNELS)
    warm, silent, battery = rules
    assert warm == Rule(
        name="freezer_warm",
        sensors=("Freezer*",),
        measurement="temperature",
        above=-15.0,
        below=None,
        for_=300.0,
        hysteresis=1.0,
        stale=None,
        severity="warning",
        message="{sensor} is {value:.1f} °C (limit {above})",
        notify=("log", "mqtt", "webhook"),
        repeat=14400.0,
    )
    assert silent.stale == 600.0
    assert silent.is_stale
    assert silent.measurement is None
    assert battery.sensors == ("*",)
    assert battery.severity == "warning"
    assert battery.notify == ("log",)
    assert battery.repeat is None
    assert battery.for_ == 3600.0
    assert battery.hysteresis == 0.0
    assert battery.template() == "{sensor}: {measurement} {value} is below {below}"


@pytest.mark.parametrize(
    "name",
    ["temperature", "dew_point", "pm2_5", "acceleration_z", "rssi", "temperature_2",
     "humidity_1", "pm2_5_3", "tvoc", "uv_index", "volume_flow_rate", "count_2"],
)  # fmt: skip
def test_measurement_names_accepted(name: str) -> None:
    assert measurement_problem(name) is None


@pytest.mark.parametrize("name", ["temprature", "Temperature", "temperature_0", "foo", "co2_"])
def test_measurement_names_rejected(name: str) -> None:
    assert measurement_problem(name) is not None


def test_known_names_cover_contract_2_and_every_bthome_sensor_object() -> None:
    bthome = {spec.name for spec in TABLE if spec.kind is Kind.SENSOR}
    assert bthome <= KNOWN_MEASUREMENTS
    assert bthome >= BTHOME_MEASUREMENTS, "a name listed as BTHome's is not in its table"
    assert len(CANONICAL_MEASUREMENTS) == 23


def test_a_single_sensor_glob_and_channel_may_be_a_plain_string() -> None:
    rule = one_rule(sensors="Freezer", measurement="temperature", above=0, notify="webhook")
    assert rule.sensors == ("Freezer",)
    assert rule.notify == ("webhook",)


def test_empty_file_and_empty_list_are_no_rules(tmp_path: Path) -> None:
    assert check_rules(write(tmp_path, ""), CHANNELS) == ([], [])
    assert check_rules(write(tmp_path, "rules: []\n"), CHANNELS) == ([], [])


# --- problems, each named by rule and key -----------------------------------------------------


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        rules:
          - name: no_condition
            measurement: temperature
          - name: bad_for
            measurement: temperature
            above: 5
            for: 5 minutes
          - name: bad_for
            measurement: humidity
            above: 80
          - name: unknown_channel
            measurement: humidity
            above: 80
            notify: [log, pager]
          - name: typo
            measurement: temprature
            below: 0
          - name: freezer_warm
            measurement: temperature
            above: -20
            below: -15
          - name: silent
            stale: soon
        """,
    )
    rules, problems = check_rules(path, CHANNELS)
    assert [str(p) for p in problems] == [
        f"{path}: rules[0] (no_condition): no condition: give above and/or below (with a "
        "measurement), or stale",
        f"{path}: rules[1] (bad_for).for: not a duration: '5 minutes' (use e.g. 30s, 10m, 4h, "
        "2d or seconds)",
        f"{path}: rules[2] (bad_for).name: duplicate: rules[1] is named 'bad_for'",
        f"{path}: rules[3] (unknown_channel).notify: unknown channel 'pager' (defined: log, "
        "mqtt, ntfy, webhook)",
        f"{path}: rules[4] (typo).measurement: unknown measurement 'temprature' (did you mean "
        "'temperature'?); use a canonical name such as temperature, humidity, battery "
        "(CONTRACTS.md section 2), a BTHome object name, or a numbered instance such as "
        "temperature_2",
        f"{path}: rules[5] (freezer_warm).above: must be greater than below (-20 <= -15): with "
        "both, the condition is outside the band below … above",
        f"{path}: rules[6] (silent).stale: not a duration: 'soon' (use e.g. 30s, 10m, 4h, 2d "
        "or seconds)",
    ]
    assert rules == []


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"name": "Bad-Name", "stale": "1m"},
         "rules[0].name: 'Bad-Name' is not a valid name: use lower-case letters, digits and _"),
        ({"stale": "1m"}, "rules[0].name: missing: every rule needs a unique name"),
        ({"name": "x", "stale": "1m", "colour": "red"}, "rules[0] (x).colour: unknown key"),
        ({"name": "x", "stale": "1m", "serverity": "info"},
         "rules[0] (x).serverity: unknown key (did you mean 'severity'?)"),
        ({"name": "x", "above": 3}, "rules[0] (x).measurement: missing: a rule with above/below"),
        ({"name": "x", "measurement": "temperature", "above": "warm"},
         "rules[0] (x).above: must be a number, not 'warm'"),
        ({"name": "x", "measurement": "temperature", "below": True},
         "rules[0] (x).below: must be a number, not True"),
        ({"name": "x", "measurement": "temperature", "above": 3, "hysteresis": -1},
         "rules[0] (x).hysteresis: must be >= 0, not -1"),
        ({"name": "x", "measurement": "temperature", "above": 8, "below": 1, "hysteresis": 4},
         "rules[0] (x).hysteresis: 4 leaves no band to resolve in"),
        ({"name": "x", "measurement": "temperature", "above": 3, "below": 3},
         "rules[0] (x).above: must be greater than below (3 <= 3)"),
        ({"name": "x", "stale": "10m", "measurement": "temperature"},
         "rules[0] (x).measurement: a stale rule takes no measurement"),
        ({"name": "x", "stale": "10m", "for": "5m"}, "rules[0] (x).for: a stale rule takes no"),
        ({"name": "x", "stale": 0}, "rules[0] (x).stale: must be longer than 0, not 0"),
        ({"name": "x", "stale": "1m", "repeat": "0s"},
         "rules[0] (x).repeat: must be longer than 0, not '0s'"),
        ({"name": "x", "stale": "1m", "repeat": "-5m"}, "rules[0] (x).repeat: not a duration"),
        ({"name": "x", "stale": "1m", "severity": "fatal"},
         "rules[0] (x).severity: 'fatal' is not one of info, warning, critical"),
        ({"name": "x", "stale": "1m", "sensors": []}, "rules[0] (x).sensors: empty"),
        ({"name": "x", "stale": "1m", "sensors": [1]}, "rules[0] (x).sensors: must be a list"),
        ({"name": "x", "stale": "1m", "notify": [1]}, "rules[0] (x).notify: must be a list"),
        ({"name": "x", "stale": "1m", "notify": ["log", "log"]},
         "rules[0] (x).notify: a channel is named twice"),
        ({"name": "x", "stale": "1m", "message": 3}, "rules[0] (x).message: must be a text"),
        ({"name": "x", "stale": "1m", "message": "{sensor.name}"},
         "rules[0] (x).message: unknown field {sensor.name}; available: sensor, address"),
        ({"name": "x", "stale": "1m", "message": "{0} {}"},
         "rules[0] (x).message: positional fields such as {} are not allowed"),
        ({"name": "x", "stale": "1m", "message": "{sensor"},
         "rules[0] (x).message: not a valid template"),
        ({"name": "x", "stale": "1m", "message": "{value:.1f}"},
         "rules[0] (x).message: cannot be formatted: unsupported format string passed to "
         "NoneType.__format__ (value: null for this rule)"),
        ({"name": "x", "measurement": "battery", "below": 15, "message": "{above:.0f}"},
         "(above: null for this rule)"),
        ({"name": "x", "measurement": "battery", "below": 15, "message": "{value:d}"},
         "rules[0] (x).message: cannot be formatted: Unknown format code 'd'"),
        ({"name": "x", "stale": "1m", "message": "{sensor:{value}}"},
         "rules[0] (x).message: a format spec cannot hold another field"),
        ("freezer", "rules[0]: must be a mapping of rule keys, not str"),
    ],
)  # fmt: skip
def test_each_problem_names_rule_and_key(rule: Any, expected: str) -> None:
    problems = problems_of({"rules": [rule]})
    assert len(problems) == 1, problems
    assert problems[0].startswith("alerts.yaml: ")
    assert expected in problems[0]


def test_channels_come_from_the_caller_and_log_always_exists() -> None:
    rule = {"name": "x", "stale": "1m", "notify": ["log", "webhook"]}
    assert problems_of({"rules": [rule]}, ("log", "webhook")) == []
    assert problems_of({"rules": [rule]}, ()) == [
        "alerts.yaml: rules[0] (x).notify: unknown channel 'webhook' (defined: log)"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules: {a: 1}\n", "alerts.yaml: rules: must be a list of rules"),
        ("- name: x\n", "alerts.yaml: must be a mapping with a `rules:` list, not list"),
        ("rule: []\n", "alerts.yaml: rule: unknown key (the file holds `rules:`)"),
        ("rules: [\n", "alerts.yaml: invalid YAML: line 2: "),
    ],
)
def test_file_level_problems(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    _, problems = check_rules(path, CHANNELS)
    assert len(problems) == 1
    assert str(problems[0]).replace(str(path), "alerts.yaml").startswith(expected)


def test_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert [str(p) for p in check_rules(path)[1]] == [f"{path}: file not found"]
    with pytest.raises(ConfigError, match="file not found"):
        load_rules(path)


# --- templates and descriptions -------------------------------------------------------------


def test_default_messages_format_for_every_kind_of_rule() -> None:
    for keys in (
        {"measurement": "temperature", "above": 1},
        {"measurement": "temperature", "below": 1},
        {"measurement": "temperature", "above": 8, "below": 1},
        {"stale": "10m"},
    ):
        rule = one_rule(**keys)
        assert rule.message == ""
        assert template_problem(rule) is None


def test_durations_in_messages_read_like_durations() -> None:
    assert f"{Seconds(5400)}" == "1h30m"
    assert f"{Seconds(5400):.0f}" == "5400"
    assert str(Seconds(612.4)) == "10m12s"
    assert human_duration(0) == "0s"
    assert human_duration(2.5) == "2.5s"
    assert human_duration(45) == "45s"
    assert human_duration(2 * 86400 + 4 * 3600 + 5) == "2d4h"


def test_describe() -> None:
    rule = one_rule(
        sensors=["Fridge*"],
        measurement="temperature",
        above=8,
        below=1,
        hysteresis=0.5,
        repeat="4h",
        notify=["log", "mqtt"],
        severity="critical",
        **{"for": "15m"},
    )
    assert describe(rule) == (
        "r: temperature > 8 or temperature < 1 for 15m (hysteresis 0.5) on Fridge* "
        "[critical] -> log, mqtt, repeat every 4h"
    )
    assert describe(one_rule(stale="10m", notify=[])) == (
        "r: silent for 10m on * [warning] -> nowhere"
    )
