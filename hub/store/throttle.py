"""Which readings get stored: at most one per sensor per storage interval, the latest.

Intervals are aligned buckets of `min_interval` seconds (e.g. 10:00:00-10:00:10). The newest
reading of the current bucket is held ("staged"); it is stored when a reading of a later
bucket arrives, when it has been held for a whole interval (a sensor gone quiet), or at
shutdown. Once a bucket has been stored, later readings of it are not stored again, so at
most one reading per interval reaches the database, across restarts too (the store seeds the
last stored time per sensor). Alerts and live views are not affected: they see every reading
on the bus.

With no interval (0), every new measurement is stored, but never one older than the last
stored for its sensor: after a restart, a sensor (or a replay) repeating the past does not
write it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from hub.events import Reading


@dataclass(slots=True)
class _Staged:
    reading: Reading
    bucket: int
    since: float  # monotonic time the bucket's first reading was staged


class StorageThrottle:
    """Decides, reading by reading, what the store writes."""

    def __init__(
        self,
        default_interval: float,
        per_sensor: Mapping[str, float] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._default = default_interval
        self._per_sensor = dict(per_sensor or {})
        self._monotonic = monotonic
        self._staged: dict[str, _Staged] = {}
        self._stored_bucket: dict[str, int] = {}
        self._last_stored_ts: dict[str, float] = {}  # for sensors without an interval
        self.throttled = 0
        # Refused as older than what is stored for the sensor (a clock behind the stored
        # data): counted apart from the storage interval, so it is never silent.
        self.stale = 0

    def interval(self, address: str) -> float:
        return self._per_sensor.get(address, self._default)

    def seed(self, last_stored: Mapping[str, float]) -> None:
        """The time of the last stored reading per sensor (at start-up)."""
        for address, ts in last_stored.items():
            interval = self.interval(address)
            if interval > 0:
                self._stored_bucket[address] = int(ts // interval)
            else:
                self._last_stored_ts[address] = ts

    def offer(self, reading: Reading) -> Reading | None:
        """The reading to store now (a previously staged one), or None."""
        address = reading.address
        interval = self.interval(address)
        if interval <= 0:
            last = self._last_stored_ts.get(address)
            if last is not None and reading.ts <= last:
                self.stale += 1
                return None
            self._last_stored_ts[address] = reading.ts
            return reading
        bucket = int(reading.ts // interval)
        stored = self._stored_bucket.get(address)
        if stored is not None and bucket <= stored:
            if bucket < stored:
                self.stale += 1
            else:
                self.throttled += 1
            return None
        staged = self._staged.get(address)
        if staged is None:
            self._staged[address] = _Staged(reading, bucket, self._monotonic())
            return None
        if bucket == staged.bucket:
            staged.reading = reading  # the latest of the interval wins
            self.throttled += 1
            return None
        if bucket < staged.bucket:  # late, from an interval already superseded
            self.throttled += 1
            return None
        self._stored_bucket[address] = staged.bucket
        self._staged[address] = _Staged(reading, bucket, self._monotonic())
        return staged.reading

    def due(self) -> list[Reading]:
        """Staged readings held for a whole interval: their sensor went quiet."""
        now = self._monotonic()
        released = []
        for address, staged in list(self._staged.items()):
            if now - staged.since >= self.interval(address):
                released.append(self._release(address, staged))
        return released

    def drain(self) -> list[Reading]:
        """Everything staged (at shutdown)."""
        return [self._release(address, staged) for address, staged in list(self._staged.items())]

    @property
    def staged(self) -> int:
        return len(self._staged)

    def _release(self, address: str, staged: _Staged) -> Reading:
        del self._staged[address]
        self._stored_bucket[address] = staged.bucket
        return staged.reading
