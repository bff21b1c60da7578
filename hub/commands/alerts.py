"""`hub alerts`: check a rules file, and test rules against recorded readings (contract 5).

`hub alerts check FILE` prints every problem of a rules file (rule name and key) and exits 2,
or a summary of the rules and exits 0. `hub alerts test RULES READINGS` runs the hub's own
alert engine over recorded readings with a simulated clock and prints one JSON line per
transition, so a rule can be tried before it is trusted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from hub.alerts.engine import AlertEngine, Change, Transition
from hub.alerts.rules import Rule, check_rules, describe
from hub.durations import parse_duration
from hub.errors import ConfigProblem, RecordError
from hub.records import normalise_address

EXIT_CONFIG = 2
# Until the hub config has a `notify:` section, these are the channels a rule may name.
DEFAULT_CHANNELS: tuple[str, ...] = ("log", "mqtt", "webhook", "ntfy")


def register(subparsers: Any) -> None:
    alerts = subparsers.add_parser(
        "alerts", help="check alert rules, and test them against recorded readings"
    )
    actions = alerts.add_subparsers(title="actions", metavar="ACTION")

    check = actions.add_parser(
        "check",
        help="validate a rules file: every problem with its rule and key",
        description="Validates an alert rules file (CONTRACTS.md section 4). Prints every "
        "problem and exits 2, or a summary of the rules and exits 0.",
    )
    check.add_argument("file", type=Path, help="rules file, e.g. config/alerts.yaml")
    _channel_options(check)
    check.set_defaults(func=_check)

    test = actions.add_parser(
        "test",
        help="evaluate rules against recorded readings; one JSON line per transition",
        description="Evaluates the rules against readings (JSON lines: ts, sensor, "
        "measurements) with a simulated clock taken from the readings' ts, at every reading "
        "and at every --interval tick, and prints one JSON line per transition in time order.",
    )
    test.add_argument("rules", type=Path, help="rules file")
    test.add_argument("readings", type=Path, help="readings, JSON lines ('-' for stdin)")
    test.add_argument(
        "--interval",
        default="10s",
        help="simulated time between evaluations without a reading (default: %(default)s)",
    )
    test.add_argument(
        "--extend",
        default="0s",
        help="keep the simulated clock running this long after the last reading, "
        "e.g. to see a stale rule fire (default: %(default)s)",
    )
    test.add_argument(
        "--all",
        action="store_true",
        help="also print pending, inactive (pending that went away) and repeat lines",
    )
    test.add_argument(
        "--messages", action="store_true", help="add each line's severity and message"
    )
    _channel_options(test)
    test.set_defaults(func=_test)
    alerts.set_defaults(func=lambda args: _usage(alerts))


def _channel_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", "-c", type=Path, help="hub config whose notification channels rules may name"
    )
    parser.add_argument(
        "--channels",
        default=",".join(DEFAULT_CHANNELS),
        help="channel names rules may name when no --config is given (default: %(default)s)",
    )


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_CONFIG


def channels_from_config(config: Any) -> list[str] | None:
    """The channel names a hub config defines, or None when it has no `notify:` section yet.

    Accepts `notify` as a mapping of channel name to settings, or an object holding such a
    mapping as `channels`; `log` is always a channel.
    """
    names = getattr(config, "channel_names", None)
    return list(names()) if callable(names) else None


def _channels(args: argparse.Namespace) -> list[str] | None:
    if args.config is not None:
        from hub.cli import _load

        config = _load(args.config)
        if config is None:
            return None
        channels = channels_from_config(config)
        if channels is not None:
            return channels
    return [c.strip() for c in str(args.channels).split(",") if c.strip()]


def _print_problems(file: Path, problems: list[ConfigProblem]) -> None:
    count = len(problems)
    noun = "problem" if count == 1 else "problems"
    sys.stderr.write(f"hub: invalid alert rules ({count} {noun} in {file}):\n")
    for problem in problems:
        sys.stderr.write(f"  {problem}\n")


def _check(args: argparse.Namespace) -> int:
    channels = _channels(args)
    if channels is None:
        return EXIT_CONFIG
    rules, problems = check_rules(args.file, channels)
    if problems:
        _print_problems(args.file, problems)
        return EXIT_CONFIG
    stale = sum(1 for r in rules if r.is_stale)
    count = len(rules)
    sys.stdout.write(
        f"{args.file}: {count} rule{'' if count == 1 else 's'} valid "
        f"({count - stale} threshold, {stale} stale)\n"
    )
    for rule in rules:
        sys.stdout.write(f"  {describe(rule)}\n")
    return 0


# --- hub alerts test -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordedReading:
    """One line of a readings file (contract 5)."""

    ts: float
    name: str | None
    address: str | None
    measurements: dict[str, float | int]


def parse_readings(
    lines: Iterable[str], source: str = "readings"
) -> Iterator[RecordedReading | str]:
    """Readings from JSON lines; a line that is not a reading gives its problem as a string.

    A line is `{"ts": ..., "sensor": NAME_OR_ADDRESS, "measurements": {...}}`; lines of
    `hub decode`'s output are accepted too (`address` instead of `sensor`; its error lines
    are skipped). A sensor that is a Bluetooth address is known by its address.
    """
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text:
            continue
        where = f"{source}:{number}"
        try:
            obj = json.loads(text)
        except ValueError as exc:
            yield f"{where}: not JSON: {exc}"
            continue
        if not isinstance(obj, dict):
            yield f"{where}: not a JSON object"
            continue
        if "error" in obj or obj.get("integration", "") is None:
            continue  # hub decode: not decodable or not recognised, not a reading
        ts = obj.get("ts")
        if isinstance(ts, bool) or not isinstance(ts, int | float) or ts != ts:
            yield f"{where}: needs a numeric ts"
            continue
        sensor = obj.get("sensor", obj.get("address"))
        if not isinstance(sensor, str) or not sensor:
            yield f"{where}: needs a sensor (name or address)"
            continue
        raw = obj.get("measurements", {})
        if not isinstance(raw, dict):
            yield f"{where}: measurements must be an object"
            continue
        measurements = {
            str(k): v
            for k, v in raw.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        try:
            address: str | None = normalise_address(sensor)
        except RecordError:
            address = None
        name = None if address is not None else sensor
        yield RecordedReading(float(ts), name, address, measurements)


def simulate(
    rules: Iterable[Rule],
    readings: Iterable[RecordedReading],
    interval: float,
    extend: float = 0.0,
) -> list[Change]:
    """Every change the engine makes for `readings`, taken in ts order (a stable sort), with
    an evaluation at every reading and at every `interval` of simulated time from the first
    reading's ts, until the last reading's ts + `extend`."""
    ordered = sorted(readings, key=lambda r: r.ts)
    engine = AlertEngine(rules)
    out: list[Change] = []
    if not ordered:
        return out
    start = ordered[0].ts
    step = 1

    def next_tick() -> float:
        return start + step * interval

    for reading in ordered:
        # A reading at time t is part of the evaluation at t: ticks strictly before it first.
        while next_tick() < reading.ts:
            out.extend(engine.tick(next_tick()))
            step += 1
        out.extend(
            engine.on_reading(reading.ts, reading.name, reading.address, reading.measurements)
        )
    end = ordered[-1].ts + extend
    while next_tick() <= end:
        out.extend(engine.tick(next_tick()))
        step += 1
    return out


def change_line(change: Change, *, messages: bool = False) -> dict[str, Any]:
    """A change as contract 5 prints it."""
    state = change.state if isinstance(change, Transition) else "repeat"
    line: dict[str, Any] = {
        "ts": round(change.ts, 6),
        "rule": change.rule,
        "sensor": change.sensor,
        "state": state,
        "value": change.value,
    }
    if messages:
        line["severity"] = change.severity
        line["message"] = change.message
    return line


def _open(path: Path) -> TextIO:
    if str(path) == "-":
        return sys.stdin
    return path.open(encoding="utf-8")


def _test(args: argparse.Namespace) -> int:
    try:
        interval = parse_duration(args.interval)
        extend = parse_duration(args.extend)
    except ValueError as exc:
        sys.stderr.write(f"hub: {exc}\n")
        return EXIT_CONFIG
    if interval <= 0:
        sys.stderr.write("hub: --interval must be longer than 0\n")
        return EXIT_CONFIG
    channels = _channels(args)
    if channels is None:
        return EXIT_CONFIG
    rules, problems = check_rules(args.rules, channels)
    if problems:
        _print_problems(args.rules, problems)
        return EXIT_CONFIG
    readings: list[RecordedReading] = []
    bad = 0
    try:
        with _open(args.readings) as lines:
            for item in parse_readings(lines, str(args.readings)):
                if isinstance(item, str):
                    bad += 1
                    sys.stderr.write(f"hub: {item}\n")
                else:
                    readings.append(item)
    except OSError as exc:
        sys.stderr.write(f"hub: cannot read {args.readings}: {exc.strerror}\n")
        return 1
    changes = simulate(rules, readings, interval, extend)
    try:
        for change in changes:
            if not args.all and not (isinstance(change, Transition) and change.notifies):
                continue
            line = change_line(change, messages=args.messages)
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    if bad:
        sys.stderr.write(f"hub: {bad} line{'' if bad == 1 else 's'} of {args.readings} skipped\n")
        return 1
    return 0
