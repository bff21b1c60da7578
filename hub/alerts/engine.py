"""The alert engine: one pure state machine per rule × sensor (CONTRACTS.md section 4).

No clock, no asyncio, no I/O: time comes in with every call (`on_reading(ts, ...)`,
`tick(now)`), so the live hub (readings from the bus, ticks from the scheduler) and
`hub alerts test` (a simulated clock from recorded readings) drive the very same code and get
the same transitions.

States are `inactive` → `pending` → `firing` → `inactive`. What comes out of the engine:

- `Transition`: a rule × sensor changed state. `firing` and `resolved` are the ones people
  are notified of; `pending` and `inactive` (a pending alert that went away before `for` was
  over) are recorded but never notified.
- `Repeat`: a firing alert is notified again (`repeat:`); it is not a transition.

Speed: a sensor is matched against the rules' globs once, when it is first seen (and again if
its name changes), which leaves it with its states grouped by measurement; a reading then
costs a dict lookup per measurement some rule watches on that sensor and a few comparisons
per state. Timers (`for`, `stale`, `repeat`) live in one heap with at most one live entry per
state whose deadline is never later than the real one, so a reading that moves a stale
deadline costs nothing until the old deadline comes up.
"""

from __future__ import annotations

import fnmatch
import heapq
import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from hub.alerts.rules import Rule, render, template_fields
from hub.events import AlertChanged

StateName = Literal["inactive", "pending", "firing"]
TransitionState = Literal["pending", "firing", "resolved", "inactive"]

INACTIVE, PENDING, FIRING = 0, 1, 2
_STATE_NAMES: tuple[StateName, ...] = ("inactive", "pending", "firing")
_STATE_CODES: dict[str, int] = {"inactive": INACTIVE, "pending": PENDING, "firing": FIRING}
_INF = math.inf


@dataclass(frozen=True, slots=True)
class Transition:
    """A rule × sensor changed state at `ts` (an evaluation time: a reading's or a tick's).

    `state` is the new state, except `resolved` (a firing alert ended; the state is inactive
    again). `started` is when the episode began (the condition first held; for a stale alert,
    the sensor's last reading); `fired` is when it began firing (None if it never did).
    `value` is the latest value of the measurement, None for stale alerts.
    """

    ts: float
    rule: str
    sensor: str
    address: str | None
    state: TransitionState
    value: float | None
    severity: str
    notify: tuple[str, ...]
    started: float
    fired: float | None
    definition: Rule = field(repr=False, compare=False)

    @property
    def message(self) -> str:
        """The rule's message for this transition (formatted when asked for)."""
        return _message(
            self.definition, self.sensor, self.address, self.value, self.ts, self.started
        )

    @property
    def notifies(self) -> bool:
        """Whether people hear of it: firing and resolved are sent, pending and inactive not."""
        return self.state == "firing" or self.state == "resolved"

    def to_event(self) -> AlertChanged:
        return AlertChanged(
            ts=self.ts,
            rule=self.rule,
            sensor=self.sensor,
            state=self.state,
            severity=self.severity,
            value=self.value,
            message=self.message,
        )


@dataclass(frozen=True, slots=True)
class Repeat:
    """A firing alert is notified again (`repeat:`); not a transition, the state is unchanged."""

    ts: float
    rule: str
    sensor: str
    address: str | None
    value: float | None
    severity: str
    notify: tuple[str, ...]
    started: float
    fired: float
    definition: Rule = field(repr=False, compare=False)

    @property
    def message(self) -> str:
        return _message(
            self.definition, self.sensor, self.address, self.value, self.ts, self.started
        )


Change = Transition | Repeat


def _message(
    rule: Rule, sensor: str, address: str | None, value: float | None, ts: float, started: float
) -> str:
    fields = template_fields(
        rule, sensor=sensor, address=address, value=value, duration=max(0.0, ts - started)
    )
    return render(rule.template(), fields)


@dataclass(frozen=True, slots=True)
class AlertState:
    """The persisted state of one rule × sensor (what `snapshot` gives and `restore` takes).

    `sensor` is the engine's key for the sensor: its address, or its name when it has none
    (as in `hub alerts test`). `since` is when the current state began, `started` when the
    episode began (see Transition), `last_reading_ts` the sensor's last reading (a stale timer
    counts from it), `last_notified` the last firing or repeat notification.
    """

    rule: str
    sensor: str
    state: StateName
    since: float | None = None
    started: float | None = None
    last_value: float | None = None
    last_reading_ts: float | None = None
    last_notified: float | None = None
    name: str | None = None
    address: str | None = None


class _Rule:
    """A rule compiled for evaluation: thresholds as floats, globs as regular expressions."""

    __slots__ = (
        "for_",
        "globs",
        "hi",
        "lo",
        "measurement",
        "name",
        "notify",
        "repeat",
        "res_hi",
        "res_lo",
        "rule",
        "severity",
        "stale",
    )

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.name = rule.name
        self.measurement = rule.measurement
        # Condition: value > hi or value < lo. Resolved: res_lo <= value <= res_hi.
        self.hi = _INF if rule.above is None else rule.above
        self.lo = -_INF if rule.below is None else rule.below
        self.res_hi = _INF if rule.above is None else rule.above - rule.hysteresis
        self.res_lo = -_INF if rule.below is None else rule.below + rule.hysteresis
        self.for_ = rule.for_
        self.stale = rule.stale
        self.repeat = rule.repeat
        self.severity = rule.severity
        self.notify = rule.notify
        # Names are matched as written, addresses whatever their case.
        self.globs = tuple(
            (re.compile(fnmatch.translate(g)), re.compile(fnmatch.translate(g), re.IGNORECASE))
            for g in rule.sensors
        )

    def matches(self, name: str | None, address: str | None) -> bool:
        for by_name, by_address in self.globs:
            if name is not None and by_name.match(name):
                return True
            if address is not None and by_address.match(address):
                return True
        return False


class _Sensor:
    """One sensor as the engine knows it: its last reading and its states, grouped."""

    __slots__ = ("address", "key", "last_ts", "name", "plan", "stale", "states")

    def __init__(self, key: str, name: str | None, address: str | None) -> None:
        self.key = key
        self.name = name
        self.address = address
        self.last_ts: float | None = None
        self.states: dict[str, _State] = {}
        # The threshold states by measurement, and the stale states.
        self.plan: tuple[_Group, ...] = ()
        self.stale: tuple[_State, ...] = ()

    @property
    def shown(self) -> str:
        return self.name or self.key


class _Group:
    """The threshold states of one sensor watching one measurement.

    While none of them is pending or firing (`active == 0`), a value within `lo … hi` (no
    rule's condition holds) changes nothing, so the group is skipped in one comparison.
    """

    __slots__ = ("active", "hi", "lo", "measurement", "states", "value")

    def __init__(self, measurement: str, states: Sequence[_State]) -> None:
        self.measurement = measurement
        self.states = tuple(states)
        self.hi = min((st.rule.hi for st in states), default=_INF)
        self.lo = max((st.rule.lo for st in states), default=-_INF)
        self.value: float | None = None  # the latest value of the measurement
        self.count()
        for st in states:
            st.group = self

    def count(self) -> None:
        self.active = sum(1 for st in self.states if st.state != INACTIVE)


class _State:
    """One rule × sensor."""

    __slots__ = (
        "fire_at",
        "group",
        "notified",
        "queued_at",
        "rule",
        "sensor",
        "since",
        "started",
        "state",
        "value",
    )

    def __init__(self, rule: _Rule, sensor: _Sensor) -> None:
        self.rule = rule
        self.sensor = sensor
        self.state = INACTIVE
        self.since: float | None = None
        self.started: float | None = None
        self.value: float | None = None
        self.notified: float | None = None
        self.fire_at = _INF  # pending: since + for
        self.group: _Group | None = None  # None for stale rules
        # Deadline of this state's live heap entry (None: no entry).
        self.queued_at: float | None = None

    def due(self, heard_from: float = -_INF) -> float | None:
        """When something may happen to this state without a reading: fire, repeat, go stale.

        A stale timer counts from the sensor's last reading, but never from before
        `heard_from` (see `AlertEngine.listening_since`)."""
        rule = self.rule
        if self.state == PENDING:
            return self.fire_at
        if self.state == FIRING:
            if rule.repeat is None or self.notified is None:
                return None
            return self.notified + rule.repeat
        if rule.stale is not None and self.sensor.last_ts is not None:
            return max(self.sensor.last_ts, heard_from) + rule.stale
        return None


class AlertEngine:
    """Every rule × sensor state machine, driven by readings and ticks with given times.

    Call `on_reading` for every reading (it also evaluates the timers due at its time) and
    `tick(now)` regularly (for `for`, `stale` and `repeat` when no reading comes);
    `next_due()` says when the next timer is. Not thread-safe; cheap enough to call inline.
    """

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._rules: tuple[_Rule, ...] = tuple(_Rule(r) for r in rules)
        self._sensors: dict[str, _Sensor] = {}
        self._heap: list[tuple[float, int, _State]] = []
        self._seq = itertools.count()
        # Stale timers count from no earlier than this (see `listening_since`).
        self._heard_from = -_INF
        self.readings = 0
        self.ignored = 0  # older than the sensor's last reading

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(r.rule for r in self._rules)

    # --- readings and time ------------------------------------------------------------------

    def on_reading(
        self,
        ts: float,
        sensor_name: str | None,
        address: str | None,
        measurements: Mapping[str, float | int],
    ) -> list[Change]:
        """Evaluate one reading of a sensor, then the timers due at `ts`.

        The sensor is known by its address (or by its name when it has no address); globs
        match either. A reading older than the sensor's last one is ignored.
        """
        sensor = self._sensors.get(address or sensor_name or "")
        if sensor is None:
            sensor = self._sensor(sensor_name, address)
        elif sensor_name is not None and sensor_name != sensor.name:
            sensor.name = sensor_name
            self._bind(sensor)
        last = sensor.last_ts
        if last is not None and ts < last:
            self.ignored += 1
            return []
        self.readings += 1
        sensor.last_ts = ts
        out: list[Change] = []
        for st in sensor.stale:
            if st.state == FIRING:
                out.append(self._resolve(st, ts))
            if st.queued_at is None:
                self._schedule(st)
        for group in sensor.plan:
            value = measurements.get(group.measurement)
            if value is None or value != value:  # absent or NaN: leave the state alone
                continue
            group.value = value
            if not group.active and group.lo <= value <= group.hi:
                continue  # all inactive and staying so
            for st in group.states:
                rule = st.rule
                state = st.state
                st.value = value
                if state == INACTIVE:
                    if value > rule.hi or value < rule.lo:
                        out.append(self._start(st, ts))
                elif state == PENDING:
                    if value > rule.hi or value < rule.lo:
                        if ts >= st.fire_at:
                            out.append(self._fire(st, ts))
                    else:
                        out.append(self._cancel(st, ts))
                elif rule.res_lo <= value <= rule.res_hi:
                    out.append(self._resolve(st, ts))
        heap = self._heap
        if heap and heap[0][0] <= ts:
            out.extend(self.tick(ts))
        return out

    def tick(self, now: float) -> list[Change]:
        """Evaluate the timers due at `now`: pending alerts whose `for` is over, sensors
        silent for `stale`, firing alerts due a `repeat`. Changes carry `now` as their time."""
        heap = self._heap
        out: list[Change] = []
        while heap and heap[0][0] <= now:
            deadline, _, st = heapq.heappop(heap)
            if st.queued_at != deadline:
                continue  # superseded by an earlier entry
            st.queued_at = None
            due = st.due(self._heard_from)
            if due is not None and now >= due:
                if st.state == PENDING:
                    out.append(self._fire(st, now))
                    continue
                if st.state == FIRING:
                    out.append(self._repeat(st, now))
                else:
                    out.append(self._fire_stale(st, now))
                    continue
            self._schedule(st)
        return out

    def next_due(self) -> float | None:
        """When to tick next: no `tick` before it changes anything (a lower bound: a tick then
        may find nothing to do). None: nothing is waiting."""
        heap = self._heap
        while heap and heap[0][2].queued_at != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def listening_since(self, ts: float) -> None:
        """The hub could hear sensors only from `ts` on (it started then, or its clock could
        be trusted again then): a sensor's silence before it proves nothing, so stale timers
        count from no earlier than `ts`. A sensor that was already reported silent stays so;
        readings' order and threshold rules are not affected."""
        if ts <= self._heard_from:
            return
        self._heard_from = ts
        self._reschedule()

    def prime(self, ts: float, sensor_name: str | None, address: str | None) -> None:
        """Tell the engine when a sensor was last heard (e.g. from the store at start-up), so
        stale timers count from there; never notifies and never resolves anything."""
        sensor = self._sensors.get(address or sensor_name or "")
        if sensor is None:
            sensor = self._sensor(sensor_name, address)
        if sensor.last_ts is None or ts > sensor.last_ts:
            sensor.last_ts = ts
            for st in sensor.stale:
                if st.queued_at is None:
                    self._schedule(st)

    # --- state changes ---------------------------------------------------------------------

    def _start(self, st: _State, ts: float) -> Change:
        if st.group is not None:
            st.group.active += 1
        st.state = PENDING
        st.since = st.started = ts
        st.fire_at = ts + st.rule.for_
        if st.rule.for_ <= 0:
            return self._fire(st, ts)
        self._schedule(st)
        return self._transition(st, ts, "pending")

    def _cancel(self, st: _State, ts: float) -> Change:
        if st.group is not None:
            st.group.active -= 1
        st.state = INACTIVE
        st.since = ts
        return self._transition(st, ts, "inactive")

    def _fire(self, st: _State, ts: float) -> Change:
        st.state = FIRING
        st.since = st.notified = ts
        if st.rule.repeat is not None:
            self._schedule(st)
        return self._transition(st, ts, "firing")

    def _fire_stale(self, st: _State, now: float) -> Change:
        st.state = FIRING
        st.started = st.sensor.last_ts
        st.since = st.notified = now
        st.value = None
        if st.rule.repeat is not None:
            self._schedule(st)
        return self._transition(st, now, "firing")

    def _resolve(self, st: _State, ts: float) -> Change:
        if st.group is not None:
            st.group.active -= 1
        fired = st.since
        st.state = INACTIVE
        st.since = ts
        if st.rule.stale is not None:
            st.value = None
        transition = self._transition(st, ts, "resolved", fired)
        if st.rule.stale is not None:
            self._schedule(st)
        return transition

    def _repeat(self, st: _State, now: float) -> Change:
        st.notified = now
        rule = st.rule
        sensor = st.sensor
        started = st.started if st.started is not None else now
        return Repeat(
            ts=now,
            rule=rule.name,
            sensor=sensor.shown,
            address=sensor.address,
            value=st.value,
            severity=rule.severity,
            notify=rule.notify,
            started=started,
            fired=st.since if st.since is not None else now,
            definition=rule.rule,
        )

    def _transition(
        self, st: _State, ts: float, state: TransitionState, fired: float | None = None
    ) -> Transition:
        rule = st.rule
        sensor = st.sensor
        if state == "firing":
            fired = ts
        return Transition(
            ts=ts,
            rule=rule.name,
            sensor=sensor.shown,
            address=sensor.address,
            state=state,
            value=st.value,
            severity=rule.severity,
            notify=rule.notify,
            started=st.started if st.started is not None else ts,
            fired=fired,
            definition=rule.rule,
        )

    def _schedule(self, st: _State) -> None:
        due = st.due(self._heard_from)
        if due is not None and (st.queued_at is None or due < st.queued_at):
            st.queued_at = due
            heapq.heappush(self._heap, (due, next(self._seq), st))

    # --- sensors and rules -----------------------------------------------------------------

    def _sensor(self, name: str | None, address: str | None) -> _Sensor:
        key = address or name
        if not key:
            raise ValueError("a reading needs a sensor name or an address")
        sensor = _Sensor(key, name, address)
        self._sensors[key] = sensor
        self._bind(sensor)
        return sensor

    def _bind(self, sensor: _Sensor) -> None:
        """(Re)match the sensor against the rules' globs; states of rules still matching
        (by name, same kind) are kept."""
        old = sensor.states
        states: dict[str, _State] = {}
        by_measurement: dict[str, list[_State]] = {}
        stale: list[_State] = []
        for rule in self._rules:
            if not rule.matches(sensor.name, sensor.address):
                continue
            st = old.get(rule.name)
            if st is not None and (st.rule.stale is None) == (rule.stale is None):
                st.rule = rule
                if st.state == PENDING:
                    if rule.stale is not None or st.since is None:
                        st.state = INACTIVE
                    else:
                        st.fire_at = st.since + rule.for_
            else:
                st = _State(rule, sensor)
            states[rule.name] = st
            if rule.stale is not None:
                stale.append(st)
            elif rule.measurement is not None:
                by_measurement.setdefault(rule.measurement, []).append(st)
        for name, st in old.items():
            if states.get(name) is not st:
                st.queued_at = None  # its heap entry, if any, is now dead
        values = {group.measurement: group.value for group in sensor.plan}
        sensor.states = states
        sensor.plan = tuple(_Group(m, group) for m, group in by_measurement.items())
        for group in sensor.plan:
            group.value = values.get(group.measurement)
        sensor.stale = tuple(stale)
        for st in states.values():
            if st.queued_at is None:
                self._schedule(st)

    def replace_rules(self, rules: Iterable[Rule]) -> None:
        """Use new rules; the state of every rule that still exists (by name) is kept."""
        self._rules = tuple(_Rule(r) for r in rules)
        for sensor in self._sensors.values():
            self._bind(sensor)
        self._reschedule()

    def _reschedule(self) -> None:
        self._heap = []
        for sensor in self._sensors.values():
            for st in sensor.states.values():
                st.queued_at = None
                self._schedule(st)

    # --- persistence -----------------------------------------------------------------------

    def snapshot(self) -> list[AlertState]:
        """Every rule × sensor state of every sensor seen, for the store to persist."""
        return [
            self._saved(sensor, st)
            for sensor in self._sensors.values()
            for st in sensor.states.values()
        ]

    def active(self) -> list[AlertState]:
        """The pending and firing alerts (what is saved after every change, so only these
        are built: most states are inactive)."""
        return [
            self._saved(sensor, st)
            for sensor in self._sensors.values()
            for st in sensor.states.values()
            if st.state != INACTIVE
        ]

    @staticmethod
    def _saved(sensor: _Sensor, st: _State) -> AlertState:
        group = st.group
        # An inactive threshold state's value is its measurement's latest (the group skips
        # inactive states while nothing crosses).
        value = st.value if group is None or st.state != INACTIVE else group.value
        return AlertState(
            rule=st.rule.name,
            sensor=sensor.key,
            state=_STATE_NAMES[st.state],
            since=st.since,
            started=st.started,
            last_value=value,
            last_reading_ts=sensor.last_ts,
            last_notified=st.notified,
            name=sensor.name,
            address=sensor.address,
        )

    def restore(self, states: Sequence[AlertState]) -> int:
        """Take back persisted states (after a restart): a firing alert stays firing without
        a new notification, a pending one keeps its start, stale timers count from the last
        reading stored. States of rules that no longer exist or no longer match the sensor
        are dropped; the number taken is returned."""
        taken = 0
        for saved in states:
            sensor = self._sensors.get(saved.sensor)
            if sensor is None:
                # A sensor known by neither name nor address is known by its key.
                name = saved.name if saved.name or saved.address else saved.sensor
                sensor = _Sensor(saved.sensor, name, saved.address)
                self._sensors[saved.sensor] = sensor
                self._bind(sensor)
            ts = saved.last_reading_ts
            if ts is not None and (sensor.last_ts is None or ts > sensor.last_ts):
                sensor.last_ts = ts
            st = sensor.states.get(saved.rule)
            if st is None:
                continue
            code = _STATE_CODES.get(saved.state, INACTIVE)
            if code == PENDING and (st.rule.stale is not None or saved.since is None):
                code = INACTIVE
            if code == FIRING and saved.since is None:
                code = INACTIVE
            st.state = code
            st.since = saved.since
            st.started = saved.started if saved.started is not None else saved.since
            st.value = saved.last_value
            st.notified = saved.last_notified
            if code == FIRING and st.notified is None:
                st.notified = saved.since
            if code == PENDING and saved.since is not None:
                st.fire_at = saved.since + st.rule.for_
            if st.group is not None and st.group.value is None:
                st.group.value = saved.last_value
            taken += 1
        for sensor in self._sensors.values():
            for group in sensor.plan:
                group.count()
        self._reschedule()
        return taken
