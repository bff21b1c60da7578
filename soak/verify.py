"""The soak's verdict: the ledger against SQLite, InfluxDB, MQTT, the alert history, and the
hub's resources and counters. Every check is one line of the report, PASS or FAIL.

What "the hub should have stored" means (store.min_interval semantics, hub/store/throttle.py):
per sensor, one reading per aligned interval bucket in which the hub received at least one
new reading of it, carrying the values of the latest one. The hub stamps a line when it reads
it, so the ledger knows each emission's timestamp only within a window: from the simulated
time just before the soak wrote it to the time just after, plus an allowance for the wait in
the socket and the hub's reader. A delivery is a new reading unless its sensor counts its
measurements and the measurement was already delivered (a repeat, or the other receiver's
copy); after a restart the hub remembers the last stored sequence numbers, so a repeat of a
measurement delivered before the restart may or may not be new ("uncertain": never expected,
never an invention).

- invented: a stored reading that matches no delivered emission of its sensor with equal
  values (or only one whose window does not contain its timestamp: a wrong timestamp);
- duplicate: two stored readings of a sensor in one bucket;
- lost: a new reading whose possible buckets hold no stored reading; allowed only inside a
  kill window (the uncommitted batch at a kill -9: from the kill minus one flush interval,
  the storage interval and the allowance, to the kill), each such gap listed;
- not the latest: a bucket's stored reading matches only readings older than one certainly
  delivered later in the same bucket.
"""

from __future__ import annotations

import itertools
import json
import math
import sqlite3
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from soak.ledger import FloatArray, Frozen, IntArray, Ledger

RSS_GROWTH_LIMIT = 0.05
# A hub life must last this long (simulated hours) for its RSS growth to mean something.
RSS_MIN_LIFE_H = 3.0
# Hub CPU per 1,000 advertisements: below this one core keeps up with 10,000 a second.
CPU_LIMIT_MS = 100.0
# How far (real seconds) a stamp may stray from the order lines are read in: the hub's
# clock reads and the re-stamping after a clock fault, magnified by the speed.
SPREAD_REAL_S = 0.04
# Real seconds before a kill whose exported points the next hub may write again: the batch
# in flight (the exporter writes every second) and its watermark's commit.
RESEND_REAL_S = 2.0
# Real seconds the store's flush job may run late (the scheduler, a commit taking time).
FLUSH_SLACK_S = 0.1
# Examples of each kind of finding kept for the report.
_EXAMPLES = 5


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report."""

    section: str
    name: str
    figure: str
    limit: str
    ok: bool
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "name": self.name,
            "figure": self.figure,
            "limit": self.limit,
            "result": "PASS" if self.ok else "FAIL",
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Gap:
    """Buckets of one sensor lost at one kill (allowed: they were not committed yet)."""

    address: str
    kill: int  # 1-based number of the kill
    first_sim: float
    last_sim: float
    buckets: int
    deliveries: int

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "kill": self.kill,
            "first_sim": self.first_sim,
            "last_sim": self.last_sim,
            "buckets": self.buckets,
            "deliveries": self.deliveries,
        }


@dataclass(slots=True)
class Verification:
    """Every check, the allowed gaps, and the figures behind them."""

    checks: list[Check] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    series: dict[str, Any] = field(default_factory=dict)  # for the plots

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)

    def add(
        self, section: str, name: str, figure: str, limit: str, ok: bool, detail: str = ""
    ) -> None:
        self.checks.append(Check(section, name, figure, limit, bool(ok), detail))


# -- the store: per sensor ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Kill:
    """One injected kill -9, in simulated time."""

    at: float  # just before the signal
    dead: float  # the process was gone
    ready: float  # the next hub listened again
    # The newest reading the dying hub had committed: what came after it was still in the
    # hub's memory (queues, mailboxes, the storage interval, the batch) when it was killed.
    last_commit: float | None = None

    def loss_from(self, reach: float) -> float:
        """Readings written from here to the kill may have been lost with it."""
        committed = self.at if self.last_commit is None else min(self.at, self.last_commit)
        return committed - reach


@dataclass(frozen=True, slots=True)
class StoreParams:
    """The storage semantics and the time windows the store check needs."""

    interval: float  # store.min_interval, simulated seconds
    allowance: float  # simulated seconds a line may wait before the hub stamps it
    kill_reach: float  # simulated seconds before a kill whose readings may be uncommitted
    kills: tuple[Kill, ...] = ()
    start: float = -math.inf  # the run's simulated start
    stop: float = math.inf  # when the hub was stopped (simulated)
    # How far a stamp may stray from its batch's measured latency (simulated seconds).
    spread: float = 0.0
    # When the hub's clock was stepped (simulated): the guard held readings from there.
    clock_steps: tuple[float, ...] = ()


@dataclass(slots=True)
class StoreOutcome:
    """What the store check found, summed over sensors."""

    stored: int = 0
    expected_buckets: int = 0
    matched: int = 0
    invented: int = 0
    wrong_time: int = 0
    duplicates: int = 0
    lost: int = 0  # lost readings outside every kill window
    lost_buckets: int = 0
    allowed_lost_deliveries: int = 0
    not_latest: int = 0
    # ...where the interval was cut by a kill or a clock step (see `_interrupted`)
    not_latest_explained: int = 0
    outside_run: int = 0
    latencies: list[float] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    # when each matched reading was written (to count those fed during clock faults)
    matched_delivery_times: list[float] = field(default_factory=list)

    def example(self, kind: str, text: str) -> None:
        if len(self.examples[kind]) < _EXAMPLES:
            self.examples[kind].append(text)


npt_bool = Any  # numpy boolean arrays (kept loose: numpy's typing of them is noisy)


@dataclass(frozen=True, slots=True)
class SensorDeliveries:
    """One sensor's delivered emissions, in the order they were written."""

    lo: FloatArray  # simulated time just before the write
    hi: FloatArray  # just after it, plus the allowance
    measurement: IntArray
    reading: npt_bool  # a new reading for certain
    uncertain: npt_bool  # may or may not be a new reading (after a restart)
    batch: IntArray  # the send loop's tick that wrote it
    mask: IntArray  # the receivers it was delivered to


class BatchLatency:
    """Bounds on when the hub stamped each delivery, from the stored readings whose stamp is
    known: those matching exactly one delivery, to one receiver.

    Each receiver is one socket read by one task in order, and every line is stamped as it
    is read, so a line is stamped no earlier than any line of an earlier tick and no later
    than any line of a later tick on the same receiver. A delivery's window thus narrows
    from [written, written + allowance] to the stamps measured on the nearest ticks before
    and after it (give or take `spread`: the hub's clock reads, re-stamping after a clock
    fault). Deliveries to both receivers take the union of both windows."""

    def __init__(self, samples: Iterable[tuple[int, int, float]] = ()) -> None:
        low: dict[tuple[int, int], float] = {}
        high: dict[tuple[int, int], float] = {}
        for batch, receiver, stamp in samples:
            key = (receiver, batch)
            low[key] = min(low.get(key, stamp), stamp)
            high[key] = max(high.get(key, stamp), stamp)
        self._by_receiver: dict[int, tuple[IntArray, FloatArray, FloatArray]] = {}
        for receiver in {r for r, _ in low}:
            keys = sorted(k for k in low if k[0] == receiver)
            self._by_receiver[receiver] = (
                np.array([b for _, b in keys], dtype=np.int64),
                np.array([low[k] for k in keys], dtype=np.float64),
                np.array([high[k] for k in keys], dtype=np.float64),
            )

    @property
    def measured(self) -> int:
        return sum(len(b) for b, _, _ in self._by_receiver.values())

    def windows(self, d: SensorDeliveries, spread: float) -> tuple[FloatArray, FloatArray]:
        """(earliest, latest) stamp of each delivery."""
        n = len(d.lo)
        if not n or not self._by_receiver:
            return d.lo, d.hi
        early = np.full(n, np.inf)
        late = np.full(n, -np.inf)
        for receiver in range(8):
            mine = (d.mask >> receiver) & 1 == 1
            if not mine.any():
                continue
            lo, hi = d.lo.copy(), d.hi.copy()
            table = self._by_receiver.get(receiver)
            if table is not None:
                batches, first, last = table
                before = np.searchsorted(batches, d.batch, side="left") - 1
                after = np.searchsorted(batches, d.batch, side="right")
                has_before = before >= 0
                has_after = after < len(batches)
                lo[has_before] = np.maximum(lo[has_before], last[before[has_before]] - spread)
                hi[has_after] = np.minimum(hi[has_after], first[after[has_after]] + spread)
            early[mine] = np.minimum(early[mine], lo[mine])
            late[mine] = np.maximum(late[mine], hi[mine])
        early = np.where(np.isfinite(early), early, d.lo)
        late = np.where(np.isfinite(late), np.maximum(late, early), d.hi)
        return early, late


def value_key(values: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    """Values as a hashable key: equal keys, equal values (exactly, as floats)."""
    return tuple(sorted((k, float(v)) for k, v in values.items()))


def sensor_deliveries(
    frozen: Frozen,
    rows: IntArray,
    has_sequence: bool,
    allowance: float,
    kills: Sequence[Kill],
) -> SensorDeliveries:
    """The delivered emissions among `rows` (indices into `frozen`, in write order)."""
    delivered = rows[frozen.delivered[rows] != 0]
    lo = frozen.before[delivered]
    hi = frozen.after[delivered] + allowance
    measurement = frozen.measurement[delivered]
    batch = frozen.batch[delivered]
    mask = frozen.delivered[delivered]
    n = len(delivered)
    if not has_sequence:
        return SensorDeliveries(
            lo, hi, measurement, np.ones(n, bool), np.zeros(n, bool), batch, mask
        )
    # Which hub life heard each delivery: lives are separated by the kills.
    dead = np.array([k.dead for k in kills], dtype=np.float64)
    life = np.searchsorted(dead, lo, side="right")
    reading = np.zeros(n, bool)
    uncertain = np.zeros(n, bool)
    seen_life: dict[int, int] = {}  # measurement -> life of its latest first delivery
    for i in range(n):
        m = int(measurement[i])
        first = seen_life.get(m)
        this_life = int(life[i])
        if first is None:
            seen_life[m] = this_life
            reading[i] = True
        elif first != this_life:
            # Delivered to an earlier life: new to this one unless that one stored it.
            seen_life[m] = this_life
            uncertain[i] = True
    return SensorDeliveries(lo, hi, measurement, reading, uncertain, batch, mask)


class _Keys:
    """Value keys of one sensor's measurements, computed once each."""

    def __init__(self, values_of: Callable[[int], Mapping[str, float] | None]) -> None:
        self._values_of = values_of
        self._keys: dict[int, tuple[tuple[str, float], ...] | None] = {}

    def __call__(self, m: int) -> tuple[tuple[str, float], ...] | None:
        keys = self._keys
        if m not in keys:
            values = self._values_of(m)
            keys[m] = None if values is None else value_key(values)
        return keys[m]


def _matches(
    d: SensorDeliveries,
    ts: FloatArray,
    keys: Sequence[Any],
    key_of: _Keys,
    early: float = 0.0,
) -> list[list[int]]:
    """For each stored reading, the deliveries with equal values whose window holds it
    (a window may start `early`: the hub's clock read jitter, magnified by the speed)."""
    candidates_ok = d.reading | d.uncertain
    first = np.searchsorted(d.hi, ts, side="left")  # hi >= ts (hi never decreases)
    last = np.searchsorted(d.lo - early, ts, side="right")  # lo - early <= ts
    out: list[list[int]] = []
    for r, key in enumerate(keys):
        out.append(
            [
                i
                for i in range(int(first[r]), int(last[r]))
                if candidates_ok[i] and key_of(int(d.measurement[i])) == key
            ]
        )
    return out


def latency_samples(
    d: SensorDeliveries,
    stored: Sequence[tuple[float, Mapping[str, float]]],
    values_of: Callable[[int], Mapping[str, float] | None],
    early: float = 0.0,
) -> list[tuple[int, int, float]]:
    """(tick, receiver, stamp) of the stored readings that match exactly one delivery, to
    one receiver."""
    if not stored or not len(d.lo):
        return []
    ts = np.array([t for t, _ in stored], dtype=np.float64)
    order = np.argsort(ts, kind="stable")
    ts = ts[order]
    keys = [value_key(stored[i][1]) for i in order.tolist()]
    out = []
    for r, found in enumerate(_matches(d, ts, keys, _Keys(values_of), early)):
        if len(found) == 1:
            i = found[0]
            mask = int(d.mask[i])
            if mask & (mask - 1) == 0:  # one receiver: its stamp, for certain
                out.append((int(d.batch[i]), mask.bit_length() - 1, float(ts[r])))
    return out


def check_sensor_store(
    address: str,
    deliveries: SensorDeliveries,
    stored: Sequence[tuple[float, Mapping[str, float]]],
    values_of: Callable[[int], Mapping[str, float] | None],
    params: StoreParams,
    out: StoreOutcome,
    latency: BatchLatency | None = None,
) -> None:
    """Compare one sensor's stored readings with its deliveries (see the module docstring)."""
    interval = params.interval
    d = deliveries
    n = len(d.lo)
    key_of = _Keys(values_of)
    ts = np.array([t for t, _ in stored], dtype=np.float64)
    order = np.argsort(ts, kind="stable")
    ts = ts[order]
    stored_sorted = [stored[i] for i in order.tolist()]
    keys = [value_key(values) for _, values in stored_sorted]
    out.stored += len(ts)
    buckets = np.floor(ts / interval).astype(np.int64)
    # The narrow windows: each tick's measured latency (the allowance where unmeasured).
    if latency is not None:
        early, late = latency.windows(d, params.spread)
    else:
        early, late = d.lo, d.hi

    # Duplicates: two stored readings in one bucket.
    if len(buckets):
        for bucket, count in Counter(buckets.tolist()).items():
            if count > 1:
                out.duplicates += count - 1
                out.example(
                    "duplicate",
                    f"{address}: {count} readings in the bucket at {bucket * interval:.0f}",
                )
    # Readings outside the run.
    outside = (ts < params.start) | (ts > params.stop + params.allowance)
    out.outside_run += int(outside.sum())
    for t in ts[outside][:2].tolist():
        out.example("outside the run", f"{address}: stored at {t:.3f}")

    # Each stored reading against the deliveries whose window holds its timestamp.
    definite = d.reading & (np.floor(early / interval) == np.floor(late / interval))
    definite_bucket = np.floor(early / interval).astype(np.int64)
    last_definite: dict[int, int] = {}
    for i in np.flatnonzero(definite).tolist():
        last_definite[int(definite_bucket[i])] = i
    by_key: dict[tuple[tuple[str, float], ...], list[int]] | None = None
    matches = _matches(d, ts, keys, key_of, params.spread)
    for r, found in enumerate(matches):
        t, key = float(ts[r]), keys[r]
        if not found:
            if by_key is None:
                by_key = defaultdict(list)
                for i in range(n):
                    k = key_of(int(d.measurement[i]))
                    if k is not None:
                        by_key[k].append(i)
            same = by_key.get(key, [])
            if same:
                out.wrong_time += 1
                nearest = min(same, key=lambda i: min(abs(t - d.lo[i]), abs(t - d.hi[i])))
                out.example(
                    "wrong timestamp",
                    f"{address}: stored at {t:.3f}, its values were written between "
                    f"{d.lo[nearest]:.3f} and {d.hi[nearest] - params.allowance:.3f}",
                )
            else:
                out.invented += 1
                out.example("invented", f"{address}: at {t:.3f} {dict(stored_sorted[r][1])}")
            continue
        out.matched += 1
        match = found[-1]
        out.latencies.append(t - float(d.lo[match]))
        out.matched_delivery_times.append(float(d.lo[match]))
        bucket = int(buckets[r])
        latest = last_definite.get(bucket)
        if latest is not None and all(i < latest for i in found):
            # Equal values written at or after the bucket's last certain reading will do.
            later = any(
                (d.reading[i] or d.uncertain[i])
                and key_of(int(d.measurement[i])) == key
                and early[i] < (bucket + 1) * interval
                and late[i] >= bucket * interval
                for i in range(latest, n)
                if d.lo[i] < (bucket + 1) * interval
            )
            if not later and _interrupted(bucket, interval, float(d.lo[latest]), params):
                out.not_latest_explained += 1
            elif not later:
                out.not_latest += 1
                out.example(
                    "not the latest",
                    f"{address}: bucket at {bucket * interval:.0f} stored values written at "
                    f"{d.lo[match]:.3f}, newer ones were written at {d.lo[latest]:.3f}",
                )

    # Lost: a certain new reading none of whose possible buckets holds a stored reading.
    stored_buckets = np.unique(buckets)
    b_lo = np.floor(early / interval).astype(np.int64)
    b_hi = np.floor(late / interval).astype(np.int64)
    at = np.searchsorted(stored_buckets, b_lo, side="left")
    covered = np.zeros(n, bool)
    inside = at < len(stored_buckets)
    covered[inside] = stored_buckets[at[inside]] <= b_hi[inside]
    out.expected_buckets += len(np.unique(b_lo[d.reading]))
    lost = np.flatnonzero(d.reading & ~covered)
    if not len(lost):
        return
    allowed_by: dict[int, list[int]] = defaultdict(list)
    lost_outside: set[int] = set()
    for i in lost.tolist():
        kill = kill_window(float(d.lo[i]), params)
        if kill is None:
            out.lost += 1
            lost_outside.add(int(b_lo[i]))
            out.example(
                "lost",
                f"{address}: written at {d.lo[i]:.3f} (measurement {int(d.measurement[i])}), "
                "no reading stored for it",
            )
        else:
            allowed_by[kill].append(i)
    out.lost_buckets += len(lost_outside)
    for kill, items in sorted(allowed_by.items()):
        out.allowed_lost_deliveries += len(items)
        out.gaps.append(
            Gap(
                address=address,
                kill=kill + 1,
                first_sim=float(d.lo[items[0]]),
                last_sim=float(d.lo[items[-1]]),
                buckets=len({int(b_lo[i]) for i in items}),
                deliveries=len(items),
            )
        )


def _interrupted(bucket: int, interval: float, newer: float, params: StoreParams) -> bool:
    """Whether a bucket's stored reading may rightly be older than a newer one written in
    it: the newer one was still uncommitted at a kill, or the clock stepped within the
    bucket (the reading before the step was passed on and stored when its interval passed;
    those held after the step, released minutes later, find the interval stored: one per
    interval, never two)."""
    if kill_window(newer, params) is not None:
        return True
    start, end = bucket * interval, (bucket + 1) * interval
    return any(start - params.allowance <= step < end for step in params.clock_steps)


def kill_window(t: float, params: StoreParams) -> int | None:
    """The index of the kill whose uncommitted readings may have held one written at `t`:
    from `kill_reach` before the kill (or before the dying hub's last commit, when it was
    behind) until the process was gone."""
    for k, kill in enumerate(params.kills):
        if kill.loss_from(params.kill_reach) <= t <= kill.dead:
            return k
    return None


def load_stored(db_path: Path) -> dict[str, list[tuple[float, dict[str, float], int | None]]]:
    """Every stored reading by sensor address: (ts, measurements, rssi), read-only."""
    out: dict[str, list[tuple[float, dict[str, float], int | None]]] = defaultdict(list)
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        cursor = conn.execute(
            "SELECT s.address, r.ts, r.measurements, r.rssi FROM readings r "
            "JOIN sensors s ON s.id = r.sensor_id"
        )
        for address, ts, measurements, rssi in cursor:
            out[address].append((float(ts), json.loads(measurements), rssi))
    finally:
        conn.close()
    return out


def load_alert_history(db_path: Path) -> list[tuple[float, str, str, str | None, str]]:
    """(ts, rule, sensor, address, state) of every transition the hub recorded."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT ts, rule, sensor, address, state FROM alert_history ORDER BY id"
        ).fetchall()
    finally:
        conn.close()
    return [(float(r[0]), str(r[1]), str(r[2]), r[3], str(r[4])) for r in rows]


# -- InfluxDB ----------------------------------------------------------------------------------


def influx_ms(ts: float) -> int:
    """The exporter's millisecond timestamp of `ts` (rounded down, as it writes them)."""
    return round(ts * 1_000_000) // 1000


@dataclass(slots=True)
class InfluxComparison:
    """One sensor's points in InfluxDB against its stored readings."""

    expected: int = 0
    missing: int = 0
    resent: int = 0  # identical copies of points written in the last moments before a kill
    extra: int = 0  # anything else InfluxDB has: a duplicate, an invention, a wrong value


def compare_influx(
    stored: Sequence[tuple[float, Mapping[str, float], int | None]],
    series: Iterable[Mapping[str, Any]],
    resend_windows: Sequence[tuple[float, float]] = (),
    measurement: str = "ble",
) -> InfluxComparison:
    """Every stored field and the rssi at its millisecond, exactly once, with its value.

    A point the exporter wrote just before a kill -9 may be written again by the next hub
    (the server had it, the kill came before the watermark moved): InfluxDB keeps one point
    per series and time, so such an identical copy is harmless there. VictoriaMetrics keeps
    both; they are counted as `resent`, and only inside `resend_windows` (simulated times).
    """
    expected: Counter[tuple[str, int, float]] = Counter()
    for ts, values, rssi in stored:
        ms = influx_ms(ts)
        for name, value in values.items():
            expected[(name, ms, float(value))] += 1
        if rssi is not None:
            expected[("rssi", ms, float(rssi))] += 1
    got: Counter[tuple[str, int, float]] = Counter()
    prefix = f"{measurement}_"
    for one in series:
        name = str(one.get("metric", {}).get("__name__", ""))
        if not name.startswith(prefix):
            continue
        field_name = name[len(prefix) :]
        for value, stamp in zip(one.get("values", []), one.get("timestamps", []), strict=False):
            got[(field_name, int(stamp), float(value))] += 1
    out = InfluxComparison(expected=sum(expected.values()))
    out.missing = sum((expected - got).values())
    for point, count in (got - expected).items():
        seconds = point[1] / 1000
        if expected[point] and any(lo <= seconds <= hi for lo, hi in resend_windows):
            out.resent += count
        else:
            out.extra += count
    return out


# -- the whole verification --------------------------------------------------------------------


def verify(
    result: Any,
    world: Any,
    ledger: Ledger,
    fetch_influx: Callable[[str], list[dict[str, Any]]] | None,
) -> Verification:
    """Every check of the report (see the module docstring)."""
    v = Verification()
    plan = result.plan
    frozen = ledger.freeze()
    kills = tuple(
        Kill(
            at=a.start_sim,
            dead=a.killed_sim if a.killed_sim is not None else a.start_sim,
            ready=a.ready_sim if a.ready_sim is not None else a.start_sim,
        )
        for a in result.applied
        if a.fault.kind == "hub_kill" and a.start_sim is not None
    )
    stored = load_stored(result.db_path) if result.db_path.exists() else {}
    all_ts = np.sort(np.array([t for rows in stored.values() for t, _, _ in rows]))
    kills = tuple(_with_last_commit(kill, all_ts) for kill in kills)
    params = StoreParams(
        interval=result.min_interval_s,
        allowance=plan.allowance_s,
        kill_reach=(result.flush_interval_s + FLUSH_SLACK_S) * plan.speed
        + result.min_interval_s
        + plan.allowance_s,
        kills=kills,
        start=result.start_sim,
        stop=result.stopped_sim or result.end_sim,
        spread=SPREAD_REAL_S * plan.speed,
        clock_steps=tuple(
            a.start_sim
            for a in result.applied
            if a.fault.kind == "clock_step" and a.start_sim is not None
        ),
    )
    v.figures["allowance_s"] = params.allowance
    v.figures["kill_reach_s"] = params.kill_reach
    v.figures["behind_at_kills_s"] = [
        None if k.last_commit is None else k.at - k.last_commit for k in kills
    ]
    check_send(v, result, ledger, frozen)
    outcome = store_checks(v, result, world, ledger, frozen, stored, params)
    influx_checks(v, result, world, stored, fetch_influx)
    check_mqtt(v, result, world, ledger, frozen, stored, params)
    check_alerts(v, result, world, ledger, frozen, params)
    check_resources(v, result, ledger)
    check_counters(v, result, ledger)
    v.gaps = outcome.gaps
    v.series["stored_ts"] = np.sort(
        np.array([t for rows in stored.values() for t, _, _ in rows], dtype=np.float64)
    )
    return v


def store_checks(
    v: Verification,
    result: Any,
    world: Any,
    ledger: Ledger,
    frozen: Frozen,
    stored: Mapping[str, Sequence[tuple[float, dict[str, float], int | None]]],
    params: StoreParams,
) -> StoreOutcome:
    """The SQLite lines of the report."""
    outcome = StoreOutcome()
    order = np.lexsort((np.arange(len(frozen)), frozen.sensor))
    sensors_sorted = frozen.sensor[order]
    starts = np.searchsorted(sensors_sorted, np.arange(len(ledger.addresses) + 1))
    known = set(ledger.addresses)
    prepared = []
    samples: list[tuple[int, int, float]] = []
    for s, sim in enumerate(world.sensors):
        rows = order[starts[s] : starts[s + 1]]
        deliveries = sensor_deliveries(
            frozen, rows, bool(sim.has_sequence), params.allowance, params.kills
        )
        values_of = _values_lookup(ledger, s)
        rows_stored = [(t, values) for t, values, _ in stored.get(sim.address, [])]
        samples += latency_samples(deliveries, rows_stored, values_of, params.spread)
        prepared.append((sim.address, deliveries, rows_stored, values_of))
    latency = BatchLatency(samples)
    v.figures["latency_measured_ticks"] = latency.measured
    for address, deliveries, rows_stored, values_of in prepared:
        check_sensor_store(address, deliveries, rows_stored, values_of, params, outcome, latency)
    strangers = sorted(set(stored) - known)
    for address in strangers:
        outcome.invented += len(stored[address])
        outcome.example("invented", f"{address}: a sensor the world does not have")

    lat = np.array(outcome.latencies) if outcome.latencies else np.zeros(1)
    p99 = float(np.percentile(lat, 99))
    v.figures["latency_max_s"] = float(lat.max())
    v.figures["latency_p99_s"] = p99
    v.figures["stored"] = outcome.stored
    section = "SQLite"
    v.add(
        section,
        "readings stored / buckets expected",
        f"{outcome.stored:,} / {outcome.expected_buckets:,}",
        "one per sensor per 10 s bucket heard",
        outcome.stored > 0,
    )
    v.add(section, "invented readings", f"{outcome.invented:,}", "0", outcome.invented == 0)
    v.add(
        section,
        "duplicates (two readings in one bucket)",
        f"{outcome.duplicates:,}",
        "0",
        outcome.duplicates == 0,
    )
    v.add(
        section,
        "lost outside a kill window",
        f"{outcome.lost:,} readings in {outcome.lost_buckets:,} buckets",
        "0",
        outcome.lost == 0,
    )
    behind = ", ".join(
        f"kill {n}: {k.at - k.last_commit:.0f} s"
        for n, k in enumerate(params.kills, 1)
        if k.last_commit is not None
    )
    v.add(
        section,
        "lost inside kill windows (uncommitted at kill -9)",
        f"{outcome.allowed_lost_deliveries:,} readings, {len(outcome.gaps)} gaps",
        f"only from {params.kill_reach:.0f} s before the last commit to the kill",
        True,
        f"newest commit before each kill: {behind or '-'} earlier; each gap is listed below",
    )
    v.add(
        section,
        "not the latest reading of its bucket",
        f"{outcome.not_latest:,}",
        "0",
        outcome.not_latest == 0,
        f"{outcome.not_latest_explained:,} more in intervals cut by a kill or a clock step"
        if outcome.not_latest_explained
        else "",
    )
    v.add(
        "Timestamps",
        "stored timestamp outside its emission's window",
        f"{outcome.wrong_time:,}",
        "0",
        outcome.wrong_time == 0,
    )
    v.add(
        "Timestamps",
        "latency write → stamp (simulated s)",
        f"max {lat.max():.2f}, p99 {p99:.2f}",
        f"≤ allowance {params.allowance:.1f}",
        float(lat.max()) <= params.allowance,
    )
    v.add(
        "Timestamps",
        "readings in the future or before the run",
        f"{outcome.outside_run:,}",
        "0",
        outcome.outside_run == 0,
    )
    # Readings fed while the hub's clock was stepped: stored at their true times.
    windows = [
        (a.start_sim, a.end_sim)
        for a in result.applied
        if a.fault.kind == "clock_step" and a.start_sim is not None and a.end_sim is not None
    ]
    during = [t for t in outcome.matched_delivery_times if any(lo <= t <= hi for lo, hi in windows)]
    delivered_during = int(
        sum(
            ((frozen.before >= lo) & (frozen.before <= hi) & (frozen.delivered != 0)).sum()
            for lo, hi in windows
        )
    )
    v.figures["clock_fault_readings_stored"] = len(during)
    v.add(
        "Timestamps",
        "readings fed during the clock faults, stored at their true times",
        f"{len(during):,} stored (of {delivered_during:,} deliveries)",
        "> 0, each inside its window",
        len(during) > 0 or not windows,
        "counted among the matched readings above: none had a wrong timestamp"
        if outcome.wrong_time == 0
        else "",
    )
    v.examples.update({k: list(x) for k, x in outcome.examples.items()})
    return outcome


def _with_last_commit(kill: Kill, stored_ts: FloatArray) -> Kill:
    i = int(np.searchsorted(stored_ts, kill.dead, side="right"))
    last = float(stored_ts[i - 1]) if i > 0 else None
    return Kill(kill.at, kill.dead, kill.ready, last)


def _values_lookup(ledger: Ledger, sensor: int) -> Callable[[int], Mapping[str, float] | None]:
    """Measurement number -> values of one sensor, from the ledger's flat arrays."""
    fields, numbers, table = ledger.sensor_values(sensor)
    position = {int(m): i for i, m in enumerate(numbers.tolist())}
    irregular = ledger.irregular(sensor)

    def values_of(m: int) -> Mapping[str, float] | None:
        if m in irregular:
            return irregular[m]
        i = position.get(m)
        return None if i is None else dict(zip(fields, table[i].tolist(), strict=True))

    return values_of


def influx_checks(
    v: Verification,
    result: Any,
    world: Any,
    stored: Mapping[str, Sequence[tuple[float, dict[str, float], int | None]]],
    fetch: Callable[[str], list[dict[str, Any]]] | None,
) -> None:
    """Per sensor, InfluxDB holds exactly what SQLite holds."""
    if fetch is None:
        v.add("InfluxDB", "points equal to SQLite", "not checked", "every point once", False)
        return
    plan = result.plan
    reach = RESEND_REAL_S * plan.speed
    windows = [
        (a.start_sim - reach, a.killed_sim if a.killed_sim is not None else a.start_sim)
        for a in result.applied
        if a.fault.kind == "hub_kill" and a.start_sim is not None
    ]
    total = InfluxComparison()
    bad: list[str] = []
    for sim in world.sensors:
        one = compare_influx(stored.get(sim.address, []), fetch(sim.address), windows)
        total.expected += one.expected
        total.missing += one.missing
        total.resent += one.resent
        total.extra += one.extra
        if (one.missing or one.extra) and len(bad) < _EXAMPLES:
            bad.append(f"{sim.address}: {one.missing} missing, {one.extra} extra of {one.expected}")
    v.examples["influx"] = bad
    v.figures["influx_points"] = total.expected
    v.figures["influx_resent"] = total.resent
    v.add(
        "InfluxDB",
        "points missing (stored in SQLite, not in InfluxDB)",
        f"{total.missing:,} of {total.expected:,}",
        "0",
        total.missing == 0 and total.expected > 0,
    )
    v.add(
        "InfluxDB",
        "points extra (duplicated, invented or different)",
        f"{total.extra:,}",
        "0",
        total.extra == 0,
    )
    v.add(
        "InfluxDB",
        "identical points written again after a kill -9",
        f"{total.resent:,}",
        f"only within {reach:.0f} s before a kill",
        True,
        "InfluxDB keeps one point per series and time; VictoriaMetrics counts both",
    )
    v.add(
        "InfluxDB",
        "export backlog drained at the end",
        f"{'yes' if result.drained else 'no'} ({result.drain_s:.1f} s)",
        "0 left",
        bool(result.drained),
    )


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


# -- the send loop -----------------------------------------------------------------------------


def check_send(v: Verification, result: Any, ledger: Ledger, frozen: Frozen) -> None:
    """Did the soak itself do what it says: every emission written on time?"""
    plan = result.plan
    stats = ledger.stats
    heard_copies = int(np.sum([(frozen.heard >> r) & 1 for r in range(ledger.receivers)]))
    delivered_copies = int(np.sum([(frozen.delivered >> r) & 1 for r in range(ledger.receivers)]))
    lost_on_air = int((frozen.heard == 0).sum())
    not_heard = heard_copies - delivered_copies
    lag_limit = 0.5 * plan.speed
    v.figures.update(
        emissions=len(frozen),
        lost_on_air=lost_on_air,
        lines_delivered=stats.lines,
        copies_not_heard=not_heard,
        max_lag_s=stats.max_lag,
        lines_per_real_s=stats.lines / max(1e-9, plan.duration_real_s),
    )
    section = "Generator"
    v.add(
        section,
        "emissions (lost on air by simulated radio loss)",
        f"{len(frozen):,} ({lost_on_air:,})",
        "-",
        len(frozen) > 0,
    )
    v.add(
        section,
        "copies delivered to the hub's receivers",
        f"{delivered_copies:,} ({stats.lines / max(1e-9, plan.duration_real_s):,.0f} per real s)",
        "-",
        delivered_copies > 0,
    )
    v.add(
        section,
        "copies not heard (hub down: connection refused)",
        f"{not_heard:,}",
        "only while the hub was down",
        True,
    )
    v.add(
        section,
        "send lag behind simulated time",
        f"max {stats.max_lag:.1f} simulated s ({stats.max_lag / plan.speed * 1000:.0f} ms real)",
        f"≤ {lag_limit:.0f} s (0.5 s real)",
        stats.max_lag <= lag_limit,
    )
    v.add(
        section,
        "writes that hung (hub not reading for 15 s)",
        f"{result.receivers_timeouts}",
        "0",
        result.receivers_timeouts == 0,
    )


# -- MQTT --------------------------------------------------------------------------------------


def check_mqtt(
    v: Verification,
    result: Any,
    world: Any,
    ledger: Ledger,
    frozen: Frozen,
    stored: Mapping[str, Sequence[tuple[float, dict[str, float], int | None]]],
    params: StoreParams,
) -> None:
    """Each sensor's retained state is its last stored reading, which is its last delivered
    measurement (unless that one went with a kill); discovery is there for every sensor and
    measurement."""
    retained = result.mqtt_retained
    delivered = np.flatnonzero(frozen.delivered != 0)
    last_index: dict[int, int] = {}
    for i in delivered.tolist():
        last_index[int(frozen.sensor[i])] = i
    wrong_state = missing_state = not_last = missing_discovery = sensors = 0
    examples: list[str] = []

    def example(text: str) -> None:
        if len(examples) < _EXAMPLES:
            examples.append(text)

    for s, sim in enumerate(world.sensors):
        last = last_index.get(s)
        rows = stored.get(sim.address)
        if last is None or not rows:
            continue
        sensors += 1
        sid = sim.address.replace(":", "").lower()
        last_ts, last_values, _ = max(rows, key=lambda r: r[0])
        delivered_values = ledger.values(s, int(frozen.measurement[last])) or {}
        if value_key(last_values) != value_key(delivered_values) and (
            kill_window(float(frozen.before[last]), params) is None
        ):
            not_last += 1
            example(
                f"{sim.address}: last stored {last_values} != last delivered {delivered_values}"
            )
        payload = retained.get(f"hub/sensor/{sid}/state")
        if not payload:
            missing_state += 1
            example(f"{sim.address}: no retained state")
            continue
        state = json.loads(payload)
        values = {
            k: float(x)
            for k, x in state.items()
            if k not in ("ts", "rssi", "states") and isinstance(x, int | float)
        }
        # Copies of one measurement (a repeat, the other receiver) carry the same values a
        # moment apart: the store keeps one per interval, MQTT the newest.
        same_time = abs(last_ts - float(state.get("ts", 0))) <= params.interval
        if value_key(values) != value_key(last_values) or not same_time:
            wrong_state += 1
            example(
                f"{sim.address}: state {values} at {state.get('ts')} != last stored "
                f"{last_values} at {last_ts}"
            )
        for name in values:
            if not retained.get(f"homeassistant/sensor/{sid}/{name}/config"):
                missing_discovery += 1
                example(f"{sim.address}: no discovery config for {name}")
    v.examples["mqtt"] = examples
    section = "MQTT"
    v.add(
        section,
        "retained state = last stored reading (values and time)",
        f"{sensors - missing_state - wrong_state:,} of {sensors:,} sensors",
        "all",
        missing_state == 0 and wrong_state == 0 and sensors > 0,
        f"{missing_state} missing, {wrong_state} different" if missing_state or wrong_state else "",
    )
    v.add(
        section,
        "last stored reading = last delivered measurement",
        f"{not_last:,} differ",
        "0 (but for a kill's uncommitted readings)",
        not_last == 0,
    )
    v.add(
        section,
        "Home Assistant discovery configs missing",
        f"{missing_discovery:,}",
        "0",
        missing_discovery == 0,
    )
    connects = _life_maxima(result.samples, "mqtt_connects")
    reconnects = sum(max(0, c - 1) for c in connects.values())
    restarts = sum(1 for a in result.applied if a.fault.kind == "mqtt_restart" and a.ok)
    v.figures["mqtt_reconnects"] = reconnects
    v.add(
        section,
        "reconnects after the broker restarts",
        f"{reconnects} (broker restarted {restarts}x)",
        f"≥ {restarts}",
        reconnects >= restarts,
    )


def _life_maxima(samples: Sequence[Mapping[str, Any]], key: str) -> dict[int, int]:
    out: dict[int, int] = {}
    for sample in samples:
        life, value = sample.get("life", 0), sample.get(key)
        if life and isinstance(value, int):
            out[life] = max(out.get(life, value), value)
    return out


def _life_counter(samples: Sequence[Mapping[str, Any]], group: str, key: str) -> dict[int, int]:
    out: dict[int, int] = {}
    for sample in samples:
        life = sample.get("life", 0)
        value = sample.get(group, {}).get(key)
        if life and isinstance(value, int):
            out[life] = max(out.get(life, value), value)
    return out


# -- alerts ------------------------------------------------------------------------------------


@dataclass(slots=True)
class AlertOutcome:
    expected: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    actual: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    fuzzy: set[tuple[str, str]] = field(default_factory=set)  # (rule, address) near a fault


def expected_alerts(
    result: Any,
    world: Any,
    ledger: Ledger,
    frozen: Frozen,
    tick: float,
    quiet: Sequence[tuple[float, float]],
    restarts: Sequence[tuple[float, float]] = (),
) -> list[Any]:
    """The transitions the hub's own engine gives over the delivered readings, ticking every
    `tick` simulated seconds except in `quiet` windows (the hub down, or its clock held),
    after each of which stale timers count from the window's end (the hub could not hear
    before it)."""
    from hub.alerts.engine import AlertEngine
    from hub.alerts.rules import parse_rules
    from hub.records import normalise_address

    rules, problems = parse_rules(world.alert_rules(), "alerts.yaml")
    if problems:
        raise ValueError(f"the world's alert rules are invalid: {problems}")
    engine = AlertEngine(rules)
    names: dict[str, str | None] = {}
    for address, settings in world.devices_config().items():
        names[normalise_address(address)] = settings.get("name")
    addresses = ledger.addresses
    out: list[Any] = []
    windows = sorted(quiet)
    w = 0
    next_tick = result.start_sim + tick
    delivered = np.flatnonzero(frozen.delivered != 0)
    values_cache: dict[tuple[int, int], dict[str, float]] = {}

    def advance(until: float, inclusive: bool) -> None:
        nonlocal next_tick, w
        while next_tick < until or (inclusive and next_tick <= until):
            while w < len(windows) and windows[w][1] <= next_tick:
                listening_since(engine, windows[w][1])
                w += 1
            if w < len(windows) and windows[w][0] <= next_tick < windows[w][1]:
                next_tick += tick
                continue
            out.extend(engine.tick(next_tick))
            next_tick += tick

    for i in delivered.tolist():
        ts = float(frozen.before[i])
        advance(ts, inclusive=False)
        while w < len(windows) and windows[w][1] <= ts:
            listening_since(engine, windows[w][1])
            w += 1
        if w < len(windows) and windows[w][0] <= ts and windows[w] in restarts:
            # Heard before the restart was noticed as done: the new hub listened by then.
            listening_since(engine, ts)
        s, m = int(frozen.sensor[i]), int(frozen.measurement[i])
        values = values_cache.get((s, m))
        if values is None:
            values = values_cache[(s, m)] = ledger.values(s, m) or {}
        address = addresses[s]
        out.extend(engine.on_reading(ts, names.get(address), address, values))
    advance(result.end_sim, inclusive=True)
    return out


def listening_since(engine: Any, ts: float) -> None:
    """The engine's floor for stale timers, where the hub's engine has it."""
    method = getattr(engine, "listening_since", None)
    if method is not None:
        method(ts)


def check_alerts(
    v: Verification,
    result: Any,
    world: Any,
    ledger: Ledger,
    frozen: Frozen,
    params: StoreParams,
) -> None:
    """Transitions per rule × sensor against the hub's alert history; no storms; silent
    sensors found in time, lossy and constant ones never called silent."""
    from hub.alerts.engine import Transition

    plan = result.plan
    tick = result.alert_tick_s * plan.speed
    quiet = [(k.at, k.ready) for k in params.kills]
    clock_windows = [
        (a.start_sim, a.end_sim)
        for a in result.applied
        if a.fault.kind == "clock_step" and a.start_sim is not None and a.end_sim is not None
    ]
    quiet += clock_windows
    try:
        changes = expected_alerts(
            result, world, ledger, frozen, tick, quiet, [(k.at, k.ready) for k in params.kills]
        )
    except ValueError as exc:
        v.add("Alerts", "expected transitions", str(exc), "-", False)
        return
    history = load_alert_history(result.db_path) if result.db_path.exists() else []
    by_name = {sim.address: sim for sim in world.sensors}
    stale_rules = {r["name"] for r in world.alert_rules().get("rules", []) if r.get("stale")}
    # Faults make timing ambiguous near them: kills (from the uncommitted window to a tick
    # after the hub listens again) and clock steps (until a tick after the clock is right).
    fuzzy_windows = [(k.at - params.kill_reach, k.ready + 2 * tick) for k in params.kills] + [
        (a, b + 2 * tick) for a, b in clock_windows
    ]

    def near_fault(ts: float) -> bool:
        return any(lo <= ts <= hi for lo, hi in fuzzy_windows)

    outcome = AlertOutcome()
    end = result.end_sim
    for change in changes:
        if not isinstance(change, Transition) or change.state not in ("firing", "resolved"):
            continue
        if change.ts > end:
            continue
        key = change.address or change.sensor
        outcome.expected[(change.rule, key, change.state)] += 1
        if near_fault(change.ts):
            outcome.fuzzy.add((change.rule, key))
    for ts, rule, sensor, address, state in history:
        if state not in ("firing", "resolved") or ts > end:
            continue
        key = address or sensor
        outcome.actual[(rule, key, state)] += 1
        if near_fault(ts):
            outcome.fuzzy.add((rule, key))
    pairs = {(r, k) for r, k, _ in outcome.expected} | {(r, k) for r, k, _ in outcome.actual}
    exact = tolerated = wrong = 0
    examples: list[str] = []
    for rule, key in sorted(pairs):
        diffs = [
            outcome.actual[(rule, key, st)] - outcome.expected[(rule, key, st)]
            for st in ("firing", "resolved")
        ]
        if not any(diffs):
            exact += 1
        elif (rule, key) in outcome.fuzzy and all(abs(d) <= 1 for d in diffs):
            tolerated += 1
        else:
            wrong += 1
            if len(examples) < _EXAMPLES:
                examples.append(
                    f"{rule} × {key}: firing {outcome.actual[(rule, key, 'firing')]} "
                    f"(expected {outcome.expected[(rule, key, 'firing')]}), resolved "
                    f"{outcome.actual[(rule, key, 'resolved')]} "
                    f"(expected {outcome.expected[(rule, key, 'resolved')]})"
                )
    v.examples["alerts"] = examples
    fired_expected = sum(n for (_, _, st), n in outcome.expected.items() if st == "firing")
    fired_actual = sum(n for (_, _, st), n in outcome.actual.items() if st == "firing")
    resolved_expected = sum(n for (_, _, st), n in outcome.expected.items() if st == "resolved")
    resolved_actual = sum(n for (_, _, st), n in outcome.actual.items() if st == "resolved")
    v.figures.update(
        alerts_fired=fired_actual,
        alerts_fired_expected=fired_expected,
        alerts_resolved=resolved_actual,
        alerts_resolved_expected=resolved_expected,
    )
    section = "Alerts"
    v.add(
        section,
        "firing / resolved transitions (expected)",
        f"{fired_actual:,} / {resolved_actual:,} ({fired_expected:,} / {resolved_expected:,})",
        "as the engine computes offline",
        fired_expected > 0,
    )
    v.add(
        section,
        "rule × sensor pairs whose counts differ",
        f"{wrong} of {len(pairs)} ({exact} exact, {tolerated} within ±1 near a fault)",
        "0",
        wrong == 0,
    )
    storm_limit = fired_expected + resolved_expected + max(5, len(outcome.fuzzy))
    v.add(
        section,
        "notifications (firing + resolved): no storm",
        f"{fired_actual + resolved_actual:,}",
        f"≤ {storm_limit:,}",
        fired_actual + resolved_actual <= storm_limit,
    )
    # Stale rules never fire for sensors that only repeat or lose half their adverts.
    false_silent = 0
    for ts, rule, _sensor, address, state in history:
        sim = by_name.get(address or "")
        if state != "firing" or rule not in stale_rules or sim is None or ts > end:
            continue
        if (sim.loss >= 0.5 or sim.constant) and not sim.silent:
            false_silent += 1
            if len(examples) < 2 * _EXAMPLES:
                examples.append(f"{rule} fired for {address} (lossy or constant) at {ts:.0f}")
    v.add(
        section,
        "'silent' fired for lossy or constant sensors",
        f"{false_silent}",
        "0",
        false_silent == 0,
    )
    # A really silent sensor fires within three of its intervals.
    late = checked = 0
    worst = 0.0
    firings: dict[str, list[float]] = defaultdict(list)
    for ts, rule, _sensor, address, state in history:
        if state == "firing" and rule in stale_rules and address:
            firings[address].append(ts)
    last_delivery = _last_delivery_before(frozen, ledger)
    for s, sim in enumerate(world.sensors):
        for start, stop in sim.silent:
            if stop > end or start < result.start_sim:
                continue
            last = last_delivery(s, start)
            if last is None or any(
                k.at - params.kill_reach <= start <= k.ready for k in params.kills
            ):
                continue
            checked += 1
            fired = [t for t in firings.get(sim.address, []) if last < t <= stop]
            delay = (min(fired) - last) if fired else math.inf
            worst = max(worst, delay / sim.interval_s)
            if delay > 3 * sim.interval_s:
                late += 1
                if len(examples) < 3 * _EXAMPLES:
                    examples.append(
                        f"{sim.address} silent from {start:.0f}: fired "
                        f"{'never' if not fired else f'{delay:.0f} s after its last advert'} "
                        f"(interval {sim.interval_s:g} s)"
                    )
    v.add(
        section,
        "silent sensors that fired within 3 intervals",
        f"{checked - late} of {checked} (slowest {worst:.1f} intervals)",
        "all",
        late == 0,
    )


def _last_delivery_before(frozen: Frozen, ledger: Ledger) -> Callable[[int, float], float | None]:
    delivered = frozen.delivered != 0
    by_sensor: dict[int, FloatArray] = {}
    for s in range(len(ledger.addresses)):
        by_sensor[s] = frozen.before[(frozen.sensor == s) & delivered]

    def last(sensor: int, before: float) -> float | None:
        times = by_sensor[sensor]
        i = int(np.searchsorted(times, before, side="left"))
        return float(times[i - 1]) if i > 0 else None

    return last


# -- resources ---------------------------------------------------------------------------------


def rss_growth(
    samples: Sequence[Mapping[str, Any]],
    life: int,
    hour: float = 3600.0,
    faults: Sequence[float] = (),
    settle: float = 600.0,
) -> tuple[float, float, float] | None:
    """(early median, late median, growth) of one hub life's RSS: the median of its last
    simulated hour against the median of the hour after its first hour, or, when a fault
    hit the life later, of the hour after the last fault settled (a fault leaves a
    high-water mark: memory the hub used to ride it out, which is not a leak). Shorter
    lives: a third of the life for warming up, windows of half the rest."""
    points = [
        (s["sim"], s["rss_kib"])
        for s in samples
        if s.get("life") == life and isinstance(s.get("rss_kib"), int)
    ]
    if len(points) < 10:
        return None
    start, end = points[0][0], points[-1][0]
    length = end - start
    warm = min(hour, length / 3)
    window = min(hour, (length - warm) / 2)
    base = start + warm
    later = [t + settle for t in faults if start < t < end]
    if later and max(later) + window <= end - window:
        base = max(base, max(later))
    early = [r for t, r in points if base <= t <= base + window]
    late = [r for t, r in points if end - window <= t <= end]
    if len(early) < 3 or len(late) < 3:
        return None
    a, b = median(early), median(late)
    return a, b, b / a - 1


def steady_cpu(samples: Sequence[Mapping[str, Any]], warm_real_s: float = 5.0) -> tuple[float, int]:
    """(CPU seconds, advertisements) of the hub in steady state: the sums of what each
    sample added, leaving out each life's first `warm_real_s` (imports, start-up)."""
    cpu = 0.0
    adverts = 0
    by_life: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for s in samples:
        if s.get("life") and s.get("cpu_s") is not None:
            by_life[s["life"]].append(s)
    for mine in by_life.values():
        start = mine[0]["real"]
        steady = [s for s in mine if s["real"] - start >= warm_real_s]
        for a, b in itertools.pairwise(steady):
            n_a = a.get("counters", {}).get("advertisements")
            n_b = b.get("counters", {}).get("advertisements")
            if isinstance(n_a, int) and isinstance(n_b, int) and n_b >= n_a:
                cpu += b["cpu_s"] - a["cpu_s"]
                adverts += n_b - n_a
    return cpu, adverts


def check_resources(v: Verification, result: Any, ledger: Ledger) -> None:
    """RSS flat after warming up; CPU per 1,000 advertisements."""
    samples = result.samples
    section = "Resources"
    lives = sorted({s["life"] for s in samples if s.get("life")})
    long_lives = [life for life in lives if _life_length(samples, life) >= RSS_MIN_LIFE_H * 3600]
    faults: list[float] = []
    for a in result.applied:
        faults += [t for t in (a.start_sim, a.end_sim) if t is not None]
    growths: list[tuple[int, float, float, float]] = []
    plain: list[str] = []
    for life in long_lives:
        g = rss_growth(samples, life, faults=faults)
        if g is not None:
            growths.append((life, *g))
        p = rss_growth(samples, life)
        if p is not None:
            plain.append(f"life {life}: {p[2]:+.1%}")
    if not long_lives:
        v.add(
            section,
            "RSS growth after the first simulated hour, per hub life",
            f"not measured: no hub life lasted {RSS_MIN_LIFE_H:g} simulated hours",
            "< +5 % (runs of 8 h or more)",
            True,
        )
    elif not growths:
        v.add(section, "RSS growth after the first simulated hour", "no samples", "< 5 %", False)
    else:
        worst = max(growths, key=lambda g: g[3])
        text = "; ".join(
            f"life {life}: {a / 1024:.1f} → {b / 1024:.1f} MiB ({g:+.1%})"
            for life, a, b, g in growths
        )
        text += (
            "; from the hour after the last fault settled. Second hour against the last, "
            "fault high-water marks included: " + ", ".join(plain)
        )
        v.figures["rss_growth"] = {str(life): g for life, _, _, g in growths}
        v.add(
            section,
            "RSS growth after the first simulated hour (and the faults), per hub life",
            f"worst {worst[3]:+.1%}",
            "< +5 %",
            worst[3] < RSS_GROWTH_LIMIT,
            text,
        )
    cpu, adverts = steady_cpu(samples)
    per_1k = cpu * 1000 / max(1, adverts) * 1000
    rss_peak = max((s["rss_kib"] for s in samples if isinstance(s.get("rss_kib"), int)), default=0)
    v.figures.update(cpu_s=cpu, adverts_processed=adverts, cpu_ms_per_1k=per_1k)
    v.figures["rss_peak_mib"] = rss_peak / 1024
    v.add(
        section,
        "hub CPU per 1,000 advertisements (steady state)",
        f"{per_1k:.0f} ms ({cpu:.0f} s CPU for {adverts:,} adverts)",
        f"< {CPU_LIMIT_MS:g} ms (one core keeps up with 10,000/s)",
        0 < per_1k < CPU_LIMIT_MS,
    )
    v.add(section, "hub peak RSS", f"{rss_peak / 1024:.0f} MiB", "-", rss_peak > 0)


def _life_length(samples: Sequence[Mapping[str, Any]], life: int) -> float:
    times = [s["sim"] for s in samples if s.get("life") == life]
    return max(times) - min(times) if times else 0.0


# -- the hub's own counters --------------------------------------------------------------------


def check_counters(v: Verification, result: Any, ledger: Ledger) -> None:
    """Decode errors for the malformed burst, clock steps noticed and readings re-stamped,
    exit statuses: only the injected kills."""
    samples = result.samples
    section = "Hub"
    stats = ledger.stats
    errors = _life_counter(samples, "counters", "decode_errors")
    bad = _life_counter(samples, "extra", "bad_lines")
    unmatched = _life_counter(samples, "counters", "unmatched")
    rejected = sum(errors.values()) + sum(bad.values()) + sum(unmatched.values())
    v.add(
        section,
        "malformed advertisements rejected (decode errors, bad lines, unmatched)",
        f"{rejected:,} ({sum(errors.values()):,} undecodable, {sum(bad.values()):,} not "
        f"records, {sum(unmatched.values()):,} unmatched)",
        f"≥ {stats.malformed_delivered:,} delivered",
        rejected >= stats.malformed_delivered > 0,
    )
    steps = _life_counter(samples, "extra", "clock_steps")
    restamped = _life_counter(samples, "extra", "restamped")
    unsync = _life_counter(samples, "extra", "released_unsynchronised")
    faults = [a for a in result.applied if a.fault.kind == "clock_step"]
    v.add(
        section,
        "clock steps noticed (each fault: the step and its correction)",
        f"{sum(steps.values())}",
        f"= {2 * len(faults)}",
        sum(steps.values()) == 2 * len(faults),
    )
    v.add(
        section,
        "advertisements held and re-stamped / released unsynchronised",
        f"{sum(restamped.values()):,} / {sum(unsync.values()):,}",
        "> 0 / 0",
        sum(restamped.values()) > 0 and sum(unsync.values()) == 0,
    )
    failures = _life_counter(samples, "counters", "store_failures")
    read_only = [a for a in result.applied if a.fault.kind == "read_only"]
    not_run = next((a.not_run for a in read_only if a.not_run), "")
    v.add(
        section,
        "database read-only: commits refused, then caught up",
        f"not run: {not_run}" if not_run else f"{sum(failures.values())} failed commits",
        "> 0",
        not not_run and sum(failures.values()) > 0,
    )
    statuses = [(life["number"], life["exit_status"], life["killed"]) for life in result.lives]
    killed = sum(1 for _, _, k in statuses if k)
    kills = sum(1 for a in result.applied if a.fault.kind == "hub_kill")
    clean = all((status == -9) if k else (status == 0) for _, status, k in statuses)
    v.add(
        section,
        "exit statuses: only the injected kills",
        ", ".join(f"life {n}: {s}" for n, s, _ in statuses),
        f"{kills}× -9 (kill), then 0",
        clean and killed == kills,
    )
    faults_failed = [a for a in result.applied if a.error]
    v.add(
        section,
        "faults applied as planned",
        f"{len(result.applied) - len(faults_failed)} of {len(result.applied)}",
        "all",
        not faults_failed and all(not a.not_run for a in result.applied),
        "; ".join(f"{a.fault.kind}: {a.error}" for a in faults_failed),
    )
    dropped = _life_counter(samples, "counters", "bus_dropped")
    v.figures["bus_dropped"] = sum(dropped.values())
