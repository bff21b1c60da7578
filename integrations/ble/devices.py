"""What the source remembers per device: the frames BlueZ last reported, and when it was heard.

BlueZ keeps one object per device and *merges* each advertisement into it: a device that
sent manufacturer data under two company ids (Inkbird, ThermoPro and SensorPush put data in
the company id itself) shows both, old and new, in every later callback, with nothing to
say which is current. So each callback is compared with the device's previous one, and
only the entries that changed are passed on: those are what the device just sent. A
callback in which nothing changed (BlueZ signals an RSSI change, or the same frame again)
passes the frame last passed on, so an unchanged sensor still counts as heard.

The gap between two callbacks of a device feeds a running median: the device's usual
interval, which the watchdog uses to tell silence from a stall.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Iterator, Mapping
from typing import TypeVar

K = TypeVar("K")
# Gaps remembered per device for its usual interval.
_INTERVAL_SAMPLES = 31
# A usual interval needs this many gaps.
_MIN_SAMPLES = 3
# Two adapters hear one advertisement a few milliseconds apart: a gap this short between
# different adapters says nothing about the device's interval.
_CROSS_ADAPTER_GAP_S = 0.25


def changed_entries(current: Mapping[K, bytes], previous: Mapping[K, bytes]) -> dict[K, bytes]:
    """The entries of `current` that are new or differ from `previous`."""
    return {key: value for key, value in current.items() if previous.get(key) != value}


class DeviceState:
    """One device as the source knows it."""

    __slots__ = (
        "adapter",
        "heard",
        "intervals",
        "last_seen",
        "last_wall",
        "mfr_frame",
        "mfr_seen",
        "svc_frame",
        "svc_seen",
    )

    def __init__(self, adapter: str, mono: float, wall: float) -> None:
        self.adapter = adapter
        self.last_seen = mono
        self.last_wall = wall
        self.heard = 1
        self.intervals: deque[float] = deque(maxlen=_INTERVAL_SAMPLES)
        # What bleak last reported (BlueZ's merged view) and what was last passed on.
        self.mfr_seen: Mapping[int, bytes] = {}
        self.mfr_frame: Mapping[int, bytes] = {}
        self.svc_seen: Mapping[str, bytes] = {}
        self.svc_frame: Mapping[str, bytes] = {}

    def usual_interval(self) -> float | None:
        """Median gap between callbacks, once there are a few."""
        if len(self.intervals) < _MIN_SAMPLES:
            return None
        return statistics.median(self.intervals)


class DeviceTable:
    """Every device heard recently, by address."""

    def __init__(self) -> None:
        self._devices: dict[str, DeviceState] = {}

    def __len__(self) -> int:
        return len(self._devices)

    def __iter__(self) -> Iterator[tuple[str, DeviceState]]:
        return iter(self._devices.items())

    def get(self, address: str) -> DeviceState | None:
        return self._devices.get(address)

    def heard(
        self,
        address: str,
        adapter: str,
        mono: float,
        wall: float,
        manufacturer: Mapping[int, bytes],
        service: Mapping[str, bytes],
    ) -> tuple[Mapping[int, bytes], Mapping[str, bytes]]:
        """Note a callback; returns the manufacturer and service data it really carried.

        Called for every callback bleak makes, so it is written for speed: the usual
        callback carries one entry, or the same entries as the last one.
        """
        state = self._devices.get(address)
        if state is None:
            # First time: BlueZ's view may hold older frames too, but there is nothing to
            # compare with; a decoder that cannot tell says so.
            state = self._devices[address] = DeviceState(adapter, mono, wall)
            state.mfr_seen = state.mfr_frame = manufacturer
            state.svc_seen = state.svc_frame = service
            return manufacturer, service

        gap = mono - state.last_seen
        if adapter == state.adapter or gap > _CROSS_ADAPTER_GAP_S:
            state.intervals.append(gap)
        state.adapter = adapter
        state.last_seen = mono
        state.last_wall = wall
        state.heard += 1

        if manufacturer != state.mfr_seen:
            if len(manufacturer) > 1:
                fresh = changed_entries(manufacturer, state.mfr_seen)
                # Only entries removed: nothing new was sent, the last frame stands.
                if fresh:
                    state.mfr_frame = fresh
            else:
                state.mfr_frame = manufacturer
            state.mfr_seen = manufacturer
        if service != state.svc_seen:
            if len(service) > 1:
                fresh_svc = changed_entries(service, state.svc_seen)
                if fresh_svc:
                    state.svc_frame = fresh_svc
            else:
                state.svc_frame = service
            state.svc_seen = service
        return state.mfr_frame, state.svc_frame

    def quickest_interval(self, adapter: str, since: float) -> float | None:
        """The smallest usual interval among devices `adapter` heard after `since`."""
        best: float | None = None
        for state in self._devices.values():
            if state.adapter != adapter or state.last_seen < since:
                continue
            usual = state.usual_interval()
            if usual is not None and (best is None or usual < best):
                best = usual
        return best

    def forget(self, before: float) -> int:
        """Drop devices last heard before `before` (monotonic); returns how many."""
        stale = [address for address, s in self._devices.items() if s.last_seen < before]
        for address in stale:
            del self._devices[address]
        return len(stale)
