"""The soak's ledger: every emission the generator made, and what became of it.

The send loop records each batch it writes (one batch per receiver per tick): the simulated
time just before and just after the write, which receivers the radio let hear each
emission and which of those writes went through. Values are kept once per measurement (a
repeat of a payload shares its values), in flat arrays, so a simulated day of a few million
emissions costs a few hundred MB rather than a dict per emission.

`freeze()` turns it into numpy arrays for the verification.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class EmissionLike(Protocol):
    """What the ledger reads of a `soak.world.Emission`."""

    @property
    def sim_ts(self) -> float: ...
    @property
    def address(self) -> str: ...
    @property
    def receivers(self) -> tuple[int, ...]: ...
    @property
    def measurement(self) -> int: ...
    @property
    def values(self) -> Mapping[str, float]: ...


# Receivers as bits of a mask: receiver r is bit 1 << r.
def mask_of(receivers: Iterable[int]) -> int:
    mask = 0
    for r in receivers:
        mask |= 1 << r
    return mask


@dataclass(slots=True)
class _SensorValues:
    """One sensor's measurements: their numbers and their values, flat, in `fields` order."""

    fields: tuple[str, ...]
    numbers: array[int] = field(default_factory=lambda: array("q"))
    flat: array[float] = field(default_factory=lambda: array("d"))
    # Measurements whose keys differ from `fields` (a value the device marked invalid).
    irregular: dict[int, dict[str, float]] = field(default_factory=dict)
    last: int = -1

    def add(self, number: int, values: Mapping[str, float]) -> None:
        self.last = number
        self.numbers.append(number)
        fields = self.fields
        if len(values) == len(fields) and all(f in values for f in fields):
            self.flat.extend([float(values[f]) for f in fields])
        else:
            self.flat.extend([float("nan")] * len(fields))
            self.irregular[number] = {k: float(v) for k, v in values.items()}

    def get(self, number: int) -> dict[str, float] | None:
        irregular = self.irregular.get(number)
        if irregular is not None:
            return irregular
        numbers = np.frombuffer(self.numbers, dtype=np.int64)
        found = np.flatnonzero(numbers == number)
        if not len(found):
            return None
        i = int(found[-1]) * len(self.fields)
        return dict(zip(self.fields, self.flat[i : i + len(self.fields)], strict=True))


@dataclass(slots=True)
class SendStats:
    """How the send loop kept up."""

    ticks: int = 0
    lines: int = 0  # lines written successfully (each receiver's copy counts)
    refused_lines: int = 0  # lines whose write failed: the hub was not listening
    max_lag: float = 0.0  # simulated seconds between an emission and its write
    max_tick_real: float = 0.0  # longest real time one tick took
    malformed_sent: int = 0
    malformed_delivered: int = 0


class Ledger:
    """Append-only record of the emissions and their delivery; see the module docstring."""

    def __init__(self, addresses: Sequence[str], receivers: int = 2) -> None:
        self.addresses = list(addresses)
        self.receivers = receivers
        self._index = {a: i for i, a in enumerate(self.addresses)}
        self.sensor = array("i")
        self.measurement = array("q")
        self.sim_ts = array("d")
        self.batch = array("i")
        self.heard = array("B")  # receivers the radio let hear it (mask)
        self.delivered = array("B")  # receivers whose write went through (mask)
        self.batch_before = array("d")
        self.batch_after = array("d")
        self._values: list[_SensorValues | None] = [None] * len(self.addresses)
        self.stats = SendStats()

    def __len__(self) -> int:
        return len(self.sensor)

    def record(
        self,
        emissions: Sequence[EmissionLike],
        before: float,
        after: float,
        written: int,
    ) -> None:
        """One tick's emissions, written between the simulated times `before` and `after`;
        `written` is the mask of receivers whose write went through."""
        batch = len(self.batch_before)
        self.batch_before.append(before)
        self.batch_after.append(after)
        stats = self.stats
        index, values_of = self._index, self._values
        sensor, measurement, sim_ts = self.sensor, self.measurement, self.sim_ts
        heard_arr, delivered_arr, batch_arr = self.heard, self.delivered, self.batch
        max_lag = stats.max_lag
        for e in emissions:
            heard = 0
            for r in e.receivers:
                heard |= 1 << r
            number = e.measurement
            if number < 0:  # a malformed line: counted, not a measurement
                stats.malformed_sent += bin(heard).count("1")
                stats.malformed_delivered += bin(heard & written).count("1")
                continue
            s = index[e.address]
            sensor.append(s)
            measurement.append(number)
            ts = e.sim_ts
            sim_ts.append(ts)
            batch_arr.append(batch)
            heard_arr.append(heard)
            delivered_arr.append(heard & written)
            if before - ts > max_lag:
                max_lag = before - ts
            known = values_of[s]
            if known is None:
                known = values_of[s] = _SensorValues(tuple(sorted(e.values)))
            if number != known.last:
                known.add(number, e.values)
        stats.max_lag = max_lag

    def values(self, sensor: int, measurement: int) -> dict[str, float] | None:
        """The values of one measurement of one sensor (None if never emitted)."""
        known = self._values[sensor]
        return None if known is None else known.get(measurement)

    def sensor_values(self, sensor: int) -> tuple[tuple[str, ...], IntArray, FloatArray]:
        """(fields, measurement numbers, values as rows) of one sensor; irregular rows NaN."""
        known = self._values[sensor]
        if known is None:
            return (), np.zeros(0, dtype=np.int64), np.zeros((0, 0))
        numbers = np.frombuffer(known.numbers, dtype=np.int64).copy()
        flat = np.frombuffer(known.flat, dtype=np.float64).copy()
        width = max(1, len(known.fields))
        return known.fields, numbers, flat.reshape(-1, width)

    def irregular(self, sensor: int) -> Mapping[int, dict[str, float]]:
        known = self._values[sensor]
        return {} if known is None else known.irregular

    def freeze(self) -> Frozen:
        """The ledger as numpy arrays, for the verification."""
        batch = np.frombuffer(self.batch, dtype=np.int32).astype(np.int64)
        before = np.frombuffer(self.batch_before, dtype=np.float64)
        after = np.frombuffer(self.batch_after, dtype=np.float64)
        return Frozen(
            batch=batch,
            sensor=np.frombuffer(self.sensor, dtype=np.int32).astype(np.int64),
            measurement=np.frombuffer(self.measurement, dtype=np.int64).copy(),
            sim_ts=np.frombuffer(self.sim_ts, dtype=np.float64).copy(),
            before=before[batch] if len(batch) else np.zeros(0),
            after=after[batch] if len(batch) else np.zeros(0),
            heard=np.frombuffer(self.heard, dtype=np.uint8).astype(np.int64),
            delivered=np.frombuffer(self.delivered, dtype=np.uint8).astype(np.int64),
        )


@dataclass(frozen=True, slots=True)
class Frozen:
    """The ledger's emissions as parallel arrays, in the order they were written."""

    batch: IntArray  # the send loop's tick that wrote it
    sensor: IntArray
    measurement: IntArray
    sim_ts: FloatArray
    before: FloatArray  # simulated time just before the write
    after: FloatArray  # simulated time just after it
    heard: IntArray  # receivers mask, after simulated radio loss
    delivered: IntArray  # receivers mask whose write went through

    def __len__(self) -> int:
        return len(self.sensor)
