"""Alert rules (CONTRACTS.md section 4): read a rules file and report every problem at once.

A rules file is validated by hand rather than by pydantic models so that each problem names
the rule and the key a person has to fix (`alerts.yaml: rules[2] (freezer_warm).above: ...`)
and so that the checks that span several keys (no condition, `above <= below`, a stale rule
with thresholds, a template that needs a value the rule cannot give) read the same way.
"""

from __future__ import annotations

import difflib
import math
import re
import string
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from hub.durations import format_duration, parse_duration
from hub.errors import ConfigError, ConfigProblem

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[str, ...] = get_args(Severity)

# Channels every hub has, whatever its config says; `notify` defaults to these.
BUILTIN_CHANNELS: frozenset[str] = frozenset({"log"})
DEFAULT_NOTIFY: tuple[str, ...] = ("log",)

# --- measurement names: the one place that knows them ------------------------------------

# CONTRACTS.md section 2: the canonical names every decoder reports under.
CANONICAL_MEASUREMENTS: frozenset[str] = frozenset(
    {
        "temperature",
        "humidity",
        "pressure",
        "dew_point",
        "battery",
        "voltage",
        "acceleration_x",
        "acceleration_y",
        "acceleration_z",
        "movement_counter",
        "rssi",
        "co2",
        "pm1_0",
        "pm2_5",
        "pm4_0",
        "pm10",
        "voc_index",
        "nox_index",
        "illuminance",
        "moisture",
        "conductivity",
        "tx_power",
        "measurement_sequence",
    }
)
# Other quantities travel under BTHome's object name in snake_case (section 2). These are the
# numeric (sensor) objects of the BTHome table that are not canonical names already; a test
# checks this list against integrations/bthome/objects.py.
BTHOME_MEASUREMENTS: frozenset[str] = frozenset(
    {
        "acceleration",
        "channel",
        "count",
        "current",
        "direction",
        "distance_m",
        "distance_mm",
        "duration",
        "energy",
        "gas",
        "gyroscope",
        "light_level",
        "mass_kg",
        "mass_lb",
        "power",
        "precipitation",
        "rotation",
        "rotational_speed",
        "settings_revision",
        "speed",
        "timestamp",
        "tvoc",
        "uv_index",
        "volume",
        "volume_flow_rate",
        "volume_storage",
        "water",
    }
)
KNOWN_MEASUREMENTS: frozenset[str] = CANONICAL_MEASUREMENTS | BTHOME_MEASUREMENTS
_NUMBERED = re.compile(r"(?P<base>[a-z0-9_]+?)_(?P<n>[1-9][0-9]*)")


def measurement_problem(name: str) -> str | None:
    """Why `name` is not a measurement a decoder reports, or None when it is one.

    Known: a canonical name, a BTHome object name, or either numbered (`temperature_2`,
    contract 2: a packet carrying one quantity several times reports every instance numbered).
    """
    if name in KNOWN_MEASUREMENTS:
        return None
    numbered = _NUMBERED.fullmatch(name)
    if numbered is not None and numbered.group("base") in KNOWN_MEASUREMENTS:
        return None
    close = difflib.get_close_matches(name, sorted(KNOWN_MEASUREMENTS), n=1, cutoff=0.75)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return (
        f"unknown measurement {name!r}{hint}; use a canonical name such as temperature, "
        "humidity, battery (CONTRACTS.md section 2), a BTHome object name, or a numbered "
        "instance such as temperature_2"
    )


# --- the rule ------------------------------------------------------------------------------

TEMPLATE_FIELDS: tuple[str, ...] = (
    "sensor",
    "address",
    "value",
    "above",
    "below",
    "rule",
    "measurement",
    "severity",
    "for",
    "stale",
    "duration",
)
_NAME = re.compile(r"[a-z0-9_]+")
_KEYS: tuple[str, ...] = (
    "name",
    "sensors",
    "measurement",
    "above",
    "below",
    "for",
    "hysteresis",
    "stale",
    "severity",
    "message",
    "notify",
    "repeat",
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One validated alert rule; durations in seconds.

    A threshold rule has `measurement` and `above` and/or `below`; a stale rule has `stale`
    and neither. `message` is the template, already filled with the default when not given.
    """

    name: str
    sensors: tuple[str, ...] = ("*",)
    measurement: str | None = None
    above: float | None = None
    below: float | None = None
    for_: float = 0.0
    hysteresis: float = 0.0
    stale: float | None = None
    severity: Severity = "warning"
    message: str = ""
    notify: tuple[str, ...] = DEFAULT_NOTIFY
    repeat: float | None = None

    @property
    def is_stale(self) -> bool:
        return self.stale is not None

    def template(self) -> str:
        return self.message or default_message(self)


def default_message(rule: Rule) -> str:
    """The message of a rule that gives none."""
    if rule.stale is not None:
        return "{sensor} has sent nothing for {duration}"
    if rule.above is not None and rule.below is not None:
        return "{sensor}: {measurement} {value} is outside {below} … {above}"
    if rule.above is not None:
        return "{sensor}: {measurement} {value} is above {above}"
    return "{sensor}: {measurement} {value} is below {below}"


def describe(rule: Rule) -> str:
    """One line for people: what the rule watches and where it sends."""
    if rule.stale is not None:
        what = f"silent for {format_duration(rule.stale)}"
    else:
        parts = []
        if rule.above is not None:
            parts.append(f"{rule.measurement} > {rule.above:g}")
        if rule.below is not None:
            parts.append(f"{rule.measurement} < {rule.below:g}")
        what = " or ".join(parts)
        if rule.for_:
            what += f" for {format_duration(rule.for_)}"
        if rule.hysteresis:
            what += f" (hysteresis {rule.hysteresis:g})"
    sensors = ", ".join(rule.sensors)
    repeat = f", repeat every {format_duration(rule.repeat)}" if rule.repeat else ""
    notify = ", ".join(rule.notify) or "nowhere"
    return f"{rule.name}: {what} on {sensors} [{rule.severity}] -> {notify}{repeat}"


# --- reading and checking a rules file ----------------------------------------------------


def check_rules(
    path: Path | str, channels: Collection[str] | None = None
) -> tuple[list[Rule], list[ConfigProblem]]:
    """The valid rules of the file at `path` and every problem found in it.

    `channels` are the notification channels the hub config defines (`log` is always there).
    Rules with a problem are left out of the list; a caller that reloads rules must reject the
    whole file when there is any problem, so a half-valid file never replaces good rules.
    """
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return [], [ConfigProblem(file, "", "file not found")]
    except OSError as exc:
        return [], [ConfigProblem(file, "", f"cannot read: {exc.strerror}")]
    except UnicodeDecodeError:
        return [], [ConfigProblem(file, "", "not UTF-8 text")]
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc)
        return [], [ConfigProblem(file, "", f"invalid YAML: {where}{reason}")]
    return parse_rules(data, file, channels)


def load_rules(path: Path | str, channels: Collection[str] | None = None) -> list[Rule]:
    """The rules of the file at `path`; ConfigError with every problem when there is any."""
    rules, problems = check_rules(path, channels)
    if problems:
        raise ConfigError(problems)
    return rules


def parse_rules(
    data: Any, file: str = "alerts.yaml", channels: Collection[str] | None = None
) -> tuple[list[Rule], list[ConfigProblem]]:
    """Rules and problems from already parsed YAML (`{"rules": [...]}`)."""
    allowed_channels = BUILTIN_CHANNELS | frozenset(channels or ())
    problems: list[ConfigProblem] = []
    if data is None:
        return [], []
    if not isinstance(data, Mapping):
        kind = type(data).__name__
        return [], [ConfigProblem(file, "", f"must be a mapping with a `rules:` list, not {kind}")]
    for key in data:
        if key != "rules":
            problems.append(ConfigProblem(file, str(key), "unknown key (the file holds `rules:`)"))
    raw_rules = data.get("rules")
    if raw_rules is None:
        return [], problems
    if not isinstance(raw_rules, list):
        problems.append(ConfigProblem(file, "rules", "must be a list of rules"))
        return [], problems
    rules: list[Rule] = []
    first_index: dict[str, int] = {}
    for index, raw in enumerate(raw_rules):
        checker = _RuleChecker(file, index, raw, allowed_channels)
        rule = checker.check()
        name = checker.name
        if name is not None:
            if name in first_index:
                checker.problem("name", f"duplicate: rules[{first_index[name]}] is named {name!r}")
                rule = None
            else:
                first_index[name] = index
        problems.extend(checker.problems)
        if rule is not None:
            rules.append(rule)
    return rules, problems


class _RuleChecker:
    """Validates one entry of `rules:` and collects its problems."""

    def __init__(self, file: str, index: int, raw: Any, channels: frozenset[str]) -> None:
        self.file = file
        self.index = index
        self.raw = raw
        self.channels = channels
        self.problems: list[ConfigProblem] = []
        self.name: str | None = None

    @property
    def where(self) -> str:
        label = f"rules[{self.index}]"
        return f"{label} ({self.name})" if self.name else label

    def problem(self, key: str | None, reason: str) -> None:
        where = f"{self.where}.{key}" if key else self.where
        self.problems.append(ConfigProblem(self.file, where, reason))

    def check(self) -> Rule | None:
        raw = self.raw
        if not isinstance(raw, Mapping):
            self.problem(None, f"must be a mapping of rule keys, not {type(raw).__name__}")
            return None
        name = raw.get("name")
        if isinstance(name, str) and _NAME.fullmatch(name):
            self.name = name
        for key in raw:
            if key not in _KEYS:
                close = difflib.get_close_matches(str(key), _KEYS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self.problem(str(key), f"unknown key{hint}; allowed: {', '.join(_KEYS)}")
        if name is None:
            self.problem("name", "missing: every rule needs a unique name")
        elif not isinstance(name, str) or not _NAME.fullmatch(name):
            self.problem(
                "name", f"{name!r} is not a valid name: use lower-case letters, digits and _"
            )

        sensors = self._sensors(raw.get("sensors"))
        measurement = self._measurement(raw.get("measurement"))
        above = self._number("above", raw.get("above"))
        below = self._number("below", raw.get("below"))
        for_ = self._duration("for", raw.get("for"), positive=False)
        hysteresis = self._number("hysteresis", raw.get("hysteresis"))
        stale = self._duration("stale", raw.get("stale"), positive=True)
        repeat = self._duration("repeat", raw.get("repeat"), positive=True)
        severity = raw.get("severity", "warning")
        if severity not in SEVERITIES:
            self.problem("severity", f"{severity!r} is not one of {', '.join(SEVERITIES)}")
        notify = self._notify(raw.get("notify", list(DEFAULT_NOTIFY)))
        message = raw.get("message")
        if message is not None and not isinstance(message, str):
            self.problem("message", "must be a text template, e.g. '{sensor} is {value}'")
            message = None

        self._conditions(raw, measurement, above, below, hysteresis, stale)
        if self.problems:
            return None
        rule = Rule(
            name=str(name),
            sensors=sensors,
            measurement=measurement,
            above=above,
            below=below,
            for_=for_ or 0.0,
            hysteresis=hysteresis or 0.0,
            stale=stale,
            severity=severity,
            message=message or "",
            notify=notify,
            repeat=repeat,
        )
        reason = template_problem(rule)
        if reason is not None:
            self.problem("message", reason)
            return None
        return rule

    def _conditions(
        self,
        raw: Mapping[Any, Any],
        measurement: str | None,
        above: float | None,
        below: float | None,
        hysteresis: float | None,
        stale: float | None,
    ) -> None:
        has_threshold = raw.get("above") is not None or raw.get("below") is not None
        if raw.get("stale") is not None:
            for key in ("measurement", "above", "below", "for", "hysteresis"):
                if raw.get(key) is not None:
                    self.problem(
                        key, "a stale rule takes no measurement, thresholds, for or hysteresis"
                    )
            return
        if not has_threshold:
            self.problem(
                None,
                "no condition: give above and/or below (with a measurement), or stale",
            )
            return
        if raw.get("measurement") is None:
            self.problem("measurement", "missing: a rule with above/below needs a measurement")
        if above is not None and below is not None:
            if above <= below:
                self.problem(
                    "above",
                    f"must be greater than below ({above:g} <= {below:g}): with both, the "
                    "condition is outside the band below … above",
                )
            elif hysteresis is not None and above - hysteresis < below + hysteresis:
                self.problem(
                    "hysteresis",
                    f"{hysteresis:g} leaves no band to resolve in: with both thresholds it must "
                    f"be at most (above - below) / 2 = {(above - below) / 2:g}",
                )

    def _sensors(self, value: Any) -> tuple[str, ...]:
        if value is None:
            return ("*",)
        globs = [value] if isinstance(value, str) else value
        if not isinstance(globs, list) or not all(isinstance(g, str) and g for g in globs):
            self.problem("sensors", "must be a list of sensor names or addresses (globs allowed)")
            return ("*",)
        if not globs:
            self.problem("sensors", "empty: the rule would match no sensor (omit it for all)")
        return tuple(globs)

    def _measurement(self, value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem("measurement", f"must be a measurement name, not {value!r}")
            return None
        reason = measurement_problem(value)
        if reason is not None:
            self.problem("measurement", reason)
            return None
        return value

    def _number(self, key: str, value: Any) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(key, f"must be a number, not {value!r}")
            return None
        if not math.isfinite(value):
            self.problem(key, f"must be a finite number, not {value!r}")
            return None
        if key == "hysteresis" and value < 0:
            self.problem(key, f"must be >= 0, not {value!r}")
            return None
        return float(value)

    def _duration(self, key: str, value: Any, *, positive: bool) -> float | None:
        if value is None:
            return None
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.problem(key, str(exc))
            return None
        if positive and seconds <= 0:
            self.problem(key, f"must be longer than 0, not {value!r}")
            return None
        return seconds

    def _notify(self, value: Any) -> tuple[str, ...]:
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            self.problem("notify", "must be a list of channel names, e.g. [log, webhook]")
            return DEFAULT_NOTIFY
        for name in names:
            if name not in self.channels:
                defined = ", ".join(sorted(self.channels))
                self.problem("notify", f"unknown channel {name!r} (defined: {defined})")
        if len(set(names)) != len(names):
            self.problem("notify", "a channel is named twice")
        return tuple(names)


# --- message templates ---------------------------------------------------------------------


class Seconds(float):
    """A duration in a message: `{duration}` reads `1h30m`, `{duration:.0f}` gives seconds."""

    __slots__ = ()

    def __str__(self) -> str:
        return human_duration(self)

    def __format__(self, spec: str) -> str:
        return human_duration(self) if not spec else float.__format__(self, spec)


def human_duration(seconds: float) -> str:
    """`45s`, `10m12s`, `1h30m`, `2d4h`: the two largest units, whole seconds."""
    total = round(seconds)
    if total < 60:
        return f"{seconds:.3g}s" if seconds < 10 and seconds != total else f"{total}s"
    parts = []
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m"), (1, "s")):
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    return "".join(parts[:2])


def template_fields(
    rule: Rule,
    *,
    sensor: str,
    address: str | None,
    value: float | None,
    duration: float,
) -> dict[str, Any]:
    """The fields a message template of `rule` is formatted with."""
    return {
        "sensor": sensor,
        "address": address or "",
        "value": value,
        "above": rule.above,
        "below": rule.below,
        "rule": rule.name,
        "measurement": rule.measurement,
        "severity": rule.severity,
        "for": Seconds(rule.for_),
        "stale": None if rule.stale is None else Seconds(rule.stale),
        "duration": Seconds(duration),
    }


def template_problem(rule: Rule) -> str | None:
    """Why the rule's message cannot be formatted with the fields it will get, or None."""
    template = rule.template()
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"not a valid template: {exc} (write {{{{ and }}}} for literal braces)"
    used: list[str] = []
    for _literal, field, spec, _conversion in parsed:
        if field is None:
            continue
        if field == "" or field.isdigit():
            return "positional fields such as {} are not allowed: name a field, e.g. {sensor}"
        if field not in TEMPLATE_FIELDS:
            return f"unknown field {{{field}}}; available: {', '.join(TEMPLATE_FIELDS)}"
        if spec and "{" in spec:
            return f"a format spec cannot hold another field: {{{field}:{spec}}}"
        used.append(field)
    # A stale alert carries no value; a threshold alert a float just past its threshold.
    if rule.stale is not None:
        value = None
    elif rule.above is not None:
        value = rule.above + 0.5
    else:
        value = (rule.below or 0.0) - 0.5
    fields = template_fields(
        rule, sensor="Freezer", address="AA:BB:CC:DD:EE:FF", value=value, duration=600.0
    )
    try:
        template.format_map(fields)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        nulls = [f for f in dict.fromkeys(used) if fields[f] is None]
        why = f" ({', '.join(nulls)}: null for this rule)" if nulls else ""
        return f"cannot be formatted: {exc}{why}"
    return None


def render(template: str, fields: Mapping[str, Any]) -> str:
    """The message, or the template itself if it cannot be formatted (it was checked)."""
    try:
        return template.format_map(fields)
    except (ValueError, TypeError, KeyError, IndexError):
        return template


def channels_in(rules: Iterable[Rule]) -> list[str]:
    """Every channel the rules notify, in order of first use."""
    return list(dict.fromkeys(c for rule in rules for c in rule.notify))
