"""Several adapters hear the same advertisement: pass it on once, with the strongest signal.

With one adapter nothing is held. With several, a new advertisement waits a moment
(`hold`) for copies from the other adapters; a copy raises its RSSI to the strongest heard.
A copy arriving from another adapter after it was passed on, but within the dedupe window,
is dropped. Identical payloads from the *same* adapter are not copies: a sensor repeating
itself is still alive, and the router decides whether it measured anything new.
Devices with a measurement counter would be deduplicated by the router anyway; this is what
catches the ones without.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace

from hub.events import Advertisement

Emit = Callable[[Advertisement], None]
_Key = tuple[str, frozenset[tuple[int, bytes]], frozenset[tuple[str, bytes]]]
# Longest time an advertisement is held for copies from other adapters.
MAX_HOLD_S = 0.25


class _Entry:
    __slots__ = ("adapter", "adapters", "adv", "due", "first", "sent")

    def __init__(self, adv: Advertisement, adapter: str, now: float, hold: float) -> None:
        self.adv = adv
        self.adapter = adapter
        self.adapters = {adapter}
        self.first = now
        self.due = now + hold
        self.sent = False


class AdapterMerge:
    """Merges copies of one advertisement heard by several adapters."""

    def __init__(self, emit: Emit, window: float, loop: asyncio.AbstractEventLoop) -> None:
        self._emit = emit
        self._window = window
        self._hold = min(window, MAX_HOLD_S)
        self._loop = loop
        self._entries: OrderedDict[_Key, _Entry] = OrderedDict()
        self._timer: asyncio.TimerHandle | None = None
        self.merged = 0

    def offer(self, adv: Advertisement, adapter: str, now: float) -> None:
        """An advertisement `adapter` heard at `now` (monotonic)."""
        if self._window <= 0:
            self._emit(adv)
            return
        key: _Key = (
            adv.address,
            frozenset(adv.manufacturer_data.items()),
            frozenset(adv.service_data.items()),
        )
        entry = self._entries.get(key)
        if entry is not None and now - entry.first > self._window:
            del self._entries[key]
            entry = None
        if entry is None:
            self._entries[key] = _Entry(adv, adapter, now, self._hold)
            self._arm()
            return
        if entry.sent:
            if adapter in entry.adapters:
                # The same adapter again: the sensor repeated itself; a new advertisement.
                self._entries[key] = _Entry(adv, adapter, now, 0.0)
                self._entries.move_to_end(key)
                self._arm()
                return
            entry.adapters.add(adapter)
            self.merged += 1
            return
        entry.adapters.add(adapter)
        self.merged += 1
        held = entry.adv
        if adv.rssi is not None and (held.rssi is None or adv.rssi > held.rssi):
            entry.adv = replace(held, rssi=adv.rssi, name=held.name or adv.name)
        elif held.name is None and adv.name is not None:
            entry.adv = replace(held, name=adv.name)

    def flush(self, now: float | None = None) -> None:
        """Pass on what is due; forget what is past the window."""
        self._timer = None
        now = self._loop.time() if now is None else now
        entries = self._entries
        for key in list(entries):
            entry = entries[key]
            if not entry.sent and entry.due <= now:
                entry.sent = True
                self._emit(entry.adv)
            if entry.sent and now - entry.first > self._window:
                del entries[key]
        self._arm()

    def _arm(self) -> None:
        if not self._entries:
            return
        due = min((e.due for e in self._entries.values() if not e.sent), default=None)
        if due is None:
            # Only sent entries left: look again when the oldest leaves the window.
            oldest = next(iter(self._entries.values()))
            due = oldest.first + self._window
        timer = self._timer
        if timer is not None:
            if timer.when() <= due:
                return
            timer.cancel()
        self._timer = self._loop.call_at(max(due, self._loop.time()), self.flush)

    def close(self) -> None:
        """Pass on everything held (at shutdown) and stop the timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for entry in self._entries.values():
            if not entry.sent:
                entry.sent = True
                self._emit(entry.adv)
        self._entries.clear()
