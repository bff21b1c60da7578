"""`hub alerts check` and `hub alerts test` (contract 5) as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from hub import cli

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "config" / "alerts.yaml"
DEMO = ROOT / "config" / "demo" / "alerts-readings.jsonl"

# `python -m hub` once the alerts module is in hub.cli.COMMAND_MODULES; until then the same
# hub.cli.main with it added, so these tests run the real command line either way.
if "alerts" in cli.COMMAND_MODULES:
    HUB = [sys.executable, "-m", "hub"]
else:
    HUB = [
        sys.executable,
        "-c",
        "import sys; from hub import cli; cli.COMMAND_MODULES += ('alerts',); "
        "sys.exit(cli.main(sys.argv[1:]))",
    ]


def hub(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HUB, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )


def lines(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_check_the_shipped_rules() -> None:
    result = hub("alerts", "check", "config/alerts.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "config/alerts.yaml: 5 rules valid (4 threshold, 1 stale)"
    )
    assert "  freezer_warm: temperature > -15 for 5m (hysteresis 1) on Freezer* [critical]" in (
        result.stdout
    )


def test_check_prints_every_problem_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text(
        textwrap.dedent(
            """
            rules:
              - name: freezer_warm
                measurement: temprature
                above: -15
                notify: [log, pager]
              - name: freezer_warm
                stale: 10 minutes
              - name: nothing
            """
        )
    )
    result = hub("alerts", "check", str(path), "--channels", "log,webhook")
    assert result.returncode == 2
    assert result.stdout == ""
    problems = result.stderr.splitlines()
    assert problems[0] == f"hub: invalid alert rules (5 problems in {path}):"
    assert [p.split(": ", 2)[1] for p in problems[1:]] == [
        "rules[0] (freezer_warm).measurement",
        "rules[0] (freezer_warm).notify",
        "rules[1] (freezer_warm).stale",
        "rules[1] (freezer_warm).name",
        "rules[2] (nothing)",
    ]
    assert "did you mean 'temperature'?" in problems[1]
    assert "unknown channel 'pager' (defined: log, webhook)" in problems[2]


def test_the_shipped_examples_against_the_shipped_readings() -> None:
    """What the README shows: each example fires, and resolves where the readings say so."""
    result = hub("alerts", "test", "config/alerts.yaml", "config/demo/alerts-readings.jsonl")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert lines(result.stdout) == [
        {"ts": 1732301160.0, "rule": "sensor_silent", "sensor": "Outdoor", "state": "firing",
         "value": None},
        {"ts": 1732302460.0, "rule": "frost", "sensor": "Greenhouse", "state": "firing",
         "value": -0.38},
        {"ts": 1732303140.0, "rule": "freezer_warm", "sensor": "Freezer", "state": "firing",
         "value": -14.2},
        {"ts": 1732304460.0, "rule": "sensor_silent", "sensor": "Outdoor", "state": "resolved",
         "value": None},
        {"ts": 1732305080.0, "rule": "battery_low", "sensor": "Kitchen", "state": "firing",
         "value": 14},
        {"ts": 1732305920.0, "rule": "fridge_out_of_range", "sensor": "Fridge",
         "state": "firing", "value": 8.85},
        {"ts": 1732306340.0, "rule": "fridge_out_of_range", "sensor": "Fridge",
         "state": "resolved", "value": 6.86},
        {"ts": 1732307160.0, "rule": "freezer_warm", "sensor": "Freezer", "state": "resolved",
         "value": -16.22},
        {"ts": 1732307800.0, "rule": "frost", "sensor": "Greenhouse", "state": "resolved",
         "value": 1.1},
    ]  # fmt: skip


def test_all_and_messages_show_pending_episodes_and_templates() -> None:
    result = hub("alerts", "test", str(RULES), str(DEMO), "--all", "--messages")
    assert result.returncode == 0, result.stderr
    out = lines(result.stdout)
    # The freezer door opened for four minutes: pending, then gone, never notified.
    assert [(o["ts"], o["state"]) for o in out if o["rule"] == "freezer_warm"][:2] == [
        (1732300800.0, "pending"),
        (1732301040.0, "inactive"),
    ]
    fired = next(o for o in out if o["rule"] == "freezer_warm" and o["state"] == "firing")
    assert fired["severity"] == "critical"
    assert fired["message"] == "Freezer is at -14.2 °C (limit -15 °C) for 5m"
    assert [o["ts"] for o in out] == sorted(o["ts"] for o in out)  # type: ignore[type-var]


def test_interval_changes_when_timers_are_evaluated(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n"
        "  - {name: warm, measurement: temperature, above: 5, for: 1m}\n"
        "  - {name: silent, stale: 2m}\n"
    )
    readings = "".join(
        json.dumps({"ts": ts, "sensor": sensor, "measurements": m}) + "\n"
        for ts, sensor, m in [
            (1000, "a4:c1:38:00:00:01", {"temperature": 6}),
            (1000, "Shed", {"temperature": 1}),
            (1075, "Shed", {}),
            (1300, "Shed", {"temperature": 2}),
        ]
    )
    result = hub("alerts", "test", str(rules), "-", "--interval", "45s", stdin=readings)
    assert result.returncode == 0, result.stderr
    assert lines(result.stdout) == [
        {"ts": 1075.0, "rule": "warm", "sensor": "A4:C1:38:00:00:01", "state": "firing",
         "value": 6},
        {"ts": 1135.0, "rule": "silent", "sensor": "A4:C1:38:00:00:01", "state": "firing",
         "value": None},
        {"ts": 1225.0, "rule": "silent", "sensor": "Shed", "state": "firing", "value": None},
        {"ts": 1300.0, "rule": "silent", "sensor": "Shed", "state": "resolved", "value": None},
    ]  # fmt: skip
    # --extend keeps the simulated clock running after the last reading.
    result = hub(
        "alerts", "test", str(rules), "-", "--interval", "45s", "--extend", "3m", stdin=readings
    )
    assert lines(result.stdout)[-1] == {
        "ts": 1450.0,  # 1300 + 2m, at the next 45 s tick
        "rule": "silent",
        "sensor": "Shed",
        "state": "firing",
        "value": None,
    }


def test_bad_reading_lines_are_reported_and_the_rest_evaluated(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {name: warm, measurement: temperature, above: 5}\n")
    readings = "\n".join(
        [
            '{"ts": 1, "sensor": "A", "measurements": {"temperature": 6}}',
            "not json",
            '{"sensor": "A", "measurements": {}}',
            '{"address": "AA:BB:CC:DD:EE:FF", "integration": null}',  # hub decode: unknown
            '{"ts": 2, "address": "aa:bb:cc:dd:ee:ff", "measurements": {"temperature": 9}}',
            "",
        ]
    )
    result = hub("alerts", "test", str(rules), "-", stdin=readings)
    assert result.returncode == 1
    assert [(o["sensor"], o["state"]) for o in lines(result.stdout)] == [
        ("A", "firing"),
        ("AA:BB:CC:DD:EE:FF", "firing"),
    ]
    assert result.stderr.splitlines() == [
        "hub: -:2: not JSON: Expecting value: line 1 column 1 (char 0)",
        "hub: -:3: needs a numeric ts",
        "hub: 2 lines of - skipped",
    ]


def test_invalid_rules_or_options_exit_2(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {name: warm, measurement: temperature}\n")
    result = hub("alerts", "test", str(rules), str(DEMO))
    assert result.returncode == 2
    assert "rules[0] (warm): no condition" in result.stderr
    result = hub("alerts", "test", str(RULES), str(DEMO), "--interval", "0")
    assert result.returncode == 2
    assert "--interval must be longer than 0" in result.stderr
    result = hub("alerts", "test", str(RULES), str(tmp_path / "missing.jsonl"))
    assert result.returncode == 1
    assert "cannot read" in result.stderr
    assert hub("alerts").returncode == 2
