"""The fault schedule of a soak run, and the thread that applies it.

Positions are fractions of the run, so a one-hour run meets the same faults as a day:

| at | fault |
|---|---|
| 0.15 | the hub's wall clock stepped back 2 h, unsynchronised; set right 5 simulated min later |
| 0.20 | MQTT broker restarted (no persistence: it forgets every retained message) |
| 0.30-0.63 | InfluxDB server stopped (same port and data when it comes back) |
| 0.40 | hub killed with kill -9, started again ~1 s later |
| 0.50-0.55 | database directory read-only |
| 0.60 | a burst of malformed advertisements |
| 0.70 | MQTT broker restarted |
| 0.80 | hub killed with kill -9, started again |
| 0.88 | the hub's wall clock stepped forward 3 h, unsynchronised; set right 5 min later |

Each fault is applied by a callable of `Targets`; the runner records when it really
happened (simulated and real time), so the verification works from what was done, not
from what was planned.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal[
    "clock_step", "mqtt_restart", "influxdb_down", "hub_kill", "read_only", "malformed"
]


@dataclass(frozen=True, slots=True)
class Fault:
    """One planned fault: `start` and `end` are fractions of the run (end None: an instant,
    or, for clock steps, `hold_s` simulated seconds later)."""

    kind: FaultKind
    start: float
    end: float | None = None
    step_s: float = 0.0  # clock steps: how far the hub's wall clock jumps
    hold_s: float = 300.0  # clock steps: simulated seconds until the clock is set right
    count: int = 0  # malformed: how many lines

    @property
    def title(self) -> str:
        if self.kind == "clock_step":
            direction = "back" if self.step_s < 0 else "forward"
            hours = abs(self.step_s) / 3600
            return (
                f"hub clock stepped {direction} {hours:g} h, unsynchronised; "
                f"set right {self.hold_s / 60:g} simulated min later"
            )
        return {
            "mqtt_restart": "MQTT broker restarted (retained messages forgotten)",
            "influxdb_down": "InfluxDB server stopped",
            "hub_kill": "hub killed with kill -9 and started again",
            "read_only": "database directory read-only",
            "malformed": f"burst of {self.count:,} malformed advertisements",
        }[self.kind]


def default_schedule(malformed: int = 5_000) -> list[Fault]:
    """The issue's fault schedule (see the module docstring)."""
    return [
        Fault("clock_step", 0.15, step_s=-7200.0),
        Fault("mqtt_restart", 0.20),
        Fault("influxdb_down", 0.30, 0.63),
        Fault("hub_kill", 0.40),
        Fault("read_only", 0.50, 0.55),
        Fault("malformed", 0.60, count=malformed),
        Fault("mqtt_restart", 0.70),
        Fault("hub_kill", 0.80),
        Fault("clock_step", 0.88, step_s=10800.0),
    ]


@dataclass(slots=True)
class Applied:
    """What was really done for one fault."""

    fault: Fault
    start_sim: float | None = None
    end_sim: float | None = None
    start_real: float | None = None
    end_real: float | None = None
    # hub kills: when the process was gone, and when the new hub accepted connections again
    killed_sim: float | None = None
    ready_sim: float | None = None
    note: str = ""
    error: str = ""
    not_run: str = ""  # why the fault could not be applied at all

    @property
    def ok(self) -> bool:
        return not self.error and not self.not_run

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.fault.kind,
            "title": self.fault.title,
            "planned_start": self.fault.start,
            "planned_end": self.fault.end,
            "start_sim": self.start_sim,
            "end_sim": self.end_sim,
            "killed_sim": self.killed_sim,
            "ready_sim": self.ready_sim,
            "note": self.note,
            "error": self.error,
            "not_run": self.not_run,
        }


@dataclass(slots=True)
class Targets:
    """How each fault is applied (the run wires these to the real services)."""

    step_clock: Callable[[float, bool], None]  # (step seconds, synchronised)
    stop_mqtt: Callable[[], None]
    start_mqtt: Callable[[], None]
    stop_influxdb: Callable[[], None]
    start_influxdb: Callable[[], None]
    kill_hub: Callable[[], None]
    start_hub: Callable[[], bool]  # True once it listens again
    read_only: Callable[[], str]  # returns a note (what was frozen)
    writable: Callable[[], None]
    malformed: Callable[[int], None]  # asks the send loop for a burst
    disk_missing: str | None = None  # why read_only cannot run here (e.g. "needs root")
    restart_delay: float = 1.0  # real seconds between a kill and the new hub


@dataclass(slots=True)
class _Action:
    real: float
    order: int
    applied: Applied
    phase: Literal["start", "end"]


@dataclass(slots=True)
class FaultRunner:
    """Applies the schedule at its real times in a thread of its own."""

    schedule: list[Fault]
    targets: Targets
    start_real: float  # real time of the run's start
    duration_real: float  # real seconds the run lasts
    sim_now: Callable[[], float]
    speed: float
    say: Callable[[str], None]
    applied: list[Applied] = field(default_factory=list)
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    # Set while a hub listens (a restart runs in a thread of its own), and while the
    # database can be written: a hub is never started on a frozen disk, and the disk is
    # frozen, or the clock stepped, only under a hub that listens, whatever a slow restart
    # did to the timing (a one-hour run restarts in a sixth of its length).
    _hub_up: threading.Event = field(default_factory=threading.Event)
    _disk_writable: threading.Event = field(default_factory=threading.Event)
    _restarts: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.applied = [Applied(f) for f in self.schedule]
        self._hub_up.set()
        self._disk_writable.set()

    def actions(self) -> list[_Action]:
        """The start of every fault at its planned time (ends are planned as each starts)."""
        out = [
            _Action(self.start_real + a.fault.start * self.duration_real, i, a, "start")
            for i, a in enumerate(self.applied)
        ]
        out.sort(key=lambda a: (a.real, a.order))
        return out

    def _end_of(self, action: _Action) -> _Action | None:
        """The end of a fault that lasts: at its planned time, but never shorter than planned
        (a fault that started late, after a slow restart, keeps its length)."""
        fault = action.applied.fault
        if fault.kind == "clock_step":
            length = fault.hold_s / self.speed
        elif fault.end is not None:
            length = (fault.end - fault.start) * self.duration_real
        else:
            return None
        planned = self.start_real + fault.start * self.duration_real + length
        return _Action(max(planned, time.time() + length), action.order, action.applied, "end")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="soak-faults", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=120)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
        for thread in list(self._restarts):
            thread.join(timeout)

    def _run(self) -> None:
        queue = self.actions()
        while queue:
            queue.sort(key=lambda a: (a.real, a.order, a.phase == "start"))
            action = queue.pop(0)
            delay = action.real - time.time()
            if delay > 0 and self._stop.wait(delay):
                return
            if action.phase == "start" and not self._ready_for(action.applied.fault):
                return
            try:
                self._apply(action)
            except Exception as exc:  # noqa: BLE001 - a failed fault is reported, not fatal
                action.applied.error = f"{type(exc).__name__}: {exc}"
                self.say(f"FAULT FAILED: {action.applied.fault.title}: {action.applied.error}")
                self.say(traceback.format_exc().rstrip())
            if action.phase == "start" and (end := self._end_of(action)) is not None:
                queue.append(end)

    def _ready_for(self, fault: Fault) -> bool:
        """Wait until `fault` can be applied as meant; False when the run is stopping."""
        if fault.kind in ("read_only", "clock_step", "hub_kill", "malformed"):
            while not self._hub_up.wait(0.1):
                if self._stop.is_set():
                    return False
        return not self._stop.is_set()

    def _restart(self, applied: Applied) -> None:
        """The hub after a kill: ~1 s later, on a writable disk."""
        t = self.targets
        time.sleep(t.restart_delay)
        while not self._disk_writable.wait(0.1):
            if self._stop.is_set():
                return
        try:
            ok = t.start_hub()
        except Exception as exc:  # noqa: BLE001 - reported with the fault
            applied.error = f"restart failed: {type(exc).__name__}: {exc}"
            self.say(f"FAULT: {applied.error}")
            return
        if ok:
            applied.ready_sim = self.sim_now()
            applied.end_sim, applied.end_real = applied.ready_sim, time.time()
            self._hub_up.set()
            self.say("fault: hub started again and listening")
        else:
            applied.error = "the hub did not come back"
            self.say("FAULT: the hub did not come back after the kill")

    def _apply(self, action: _Action) -> None:
        applied, fault, t = action.applied, action.applied.fault, self.targets
        if action.phase == "start":
            applied.start_sim, applied.start_real = self.sim_now(), time.time()
        kind = fault.kind
        if kind == "clock_step":
            if action.phase == "start":
                t.step_clock(fault.step_s, False)
                self.say(f"fault: {fault.title.split(';')[0]}")
            else:
                t.step_clock(0.0, True)
                self.say("fault: hub clock set right (synchronised again)")
        elif kind == "mqtt_restart":
            t.stop_mqtt()
            t.start_mqtt()
            self.say("fault: MQTT broker restarted")
        elif kind == "influxdb_down":
            if action.phase == "start":
                t.stop_influxdb()
                self.say("fault: InfluxDB server stopped")
            else:
                t.start_influxdb()
                self.say("fault: InfluxDB server started again")
        elif kind == "hub_kill":
            self._hub_up.clear()
            t.kill_hub()
            applied.killed_sim = self.sim_now()
            self.say("fault: hub killed with kill -9")
            restart = threading.Thread(
                target=self._restart, args=(applied,), name="soak-restart", daemon=True
            )
            self._restarts.append(restart)
            restart.start()
            return
        elif kind == "read_only":
            if t.disk_missing is not None:
                applied.not_run = t.disk_missing
                if action.phase == "start":
                    self.say(f"fault NOT RUN: database read-only ({t.disk_missing})")
                return
            if action.phase == "start":
                self._disk_writable.clear()
                applied.note = t.read_only()
                self.say("fault: database directory made read-only")
            else:
                t.writable()
                self._disk_writable.set()
                self.say("fault: database directory writable again")
        elif kind == "malformed":
            t.malformed(fault.count)
            self.say(f"fault: {fault.title}")
        if action.phase == "end" or (fault.end is None and kind != "clock_step"):
            applied.end_sim, applied.end_real = self.sim_now(), time.time()
