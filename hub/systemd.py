"""systemd's notify protocol: READY=1, WATCHDOG=1, STATUS=..., STOPPING=1.

The protocol is one datagram of `KEY=value` lines to the AF_UNIX socket named by
`$NOTIFY_SOCKET` (a path, or `@name` for an abstract socket); a few lines of our own do it.
Without `$NOTIFY_SOCKET` (not started by systemd as Type=notify) everything here is a no-op.

The watchdog ping comes from a task on the hub's event loop, so it stops when the loop is
blocked; it is also withheld when the loop was late to wake it (lag), so a loop that is
alive but starved is restarted by systemd too.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from loguru import logger

if TYPE_CHECKING:
    from hub.app import Hub

# Pings per watchdog period: systemd's advice is at least two.
_PINGS_PER_PERIOD = 4
_STATUS_INTERVAL_S = 10.0


def socket_address(value: str) -> str | None:
    """The address to send to for a `$NOTIFY_SOCKET` value (None when unusable)."""
    if value.startswith("@"):
        return "\0" + value[1:]  # abstract namespace
    if value.startswith("/"):
        return value
    return None  # e.g. vsock: addresses, which the hub does not need


def watchdog_seconds(environ: Mapping[str, str]) -> float | None:
    """The watchdog period systemd asks this process to keep, if any."""
    usec, pid = environ.get("WATCHDOG_USEC"), environ.get("WATCHDOG_PID")
    try:
        period = int(usec) / 1e6 if usec else None
        if pid and int(pid) != os.getpid():
            return None  # meant for another process (e.g. our parent)
    except ValueError:
        return None
    return period if period and period > 0 else None


class SystemdNotifier:
    """Sends notifications to systemd; never raises, never blocks."""

    def __init__(self, address: str | None, watchdog: float | None = None) -> None:
        self._address = socket_address(address) if address else None
        if address and self._address is None:
            logger.warning("NOTIFY_SOCKET={!r} is not a unix socket: not notifying", address)
        self.watchdog = watchdog if self._address else None
        self._socket: socket.socket | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._status: Callable[[], str] | None = None
        self._failed_logged = False
        self.sent = 0
        self.watchdog_pings = 0
        self.watchdog_withheld = 0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> SystemdNotifier:
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET") or None, watchdog_seconds(env))

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, *fields: str) -> bool:
        """Send one datagram of `KEY=value` lines; False when it could not be sent."""
        if self._address is None:
            return False
        try:
            if self._socket is None:
                self._socket = socket.socket(
                    socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                )
                self._socket.setblocking(False)
            self._socket.sendto("\n".join(fields).encode(), self._address)
        except OSError as exc:
            if not self._failed_logged:  # once: systemd may simply be gone
                self._failed_logged = True
                logger.warning("Cannot notify systemd at {!r}: {}", self._address, exc)
            return False
        self.sent += 1
        return True

    # -- the hub's life ------------------------------------------------------------------

    def started(self, status: Callable[[], str] | None = None) -> None:
        """The hub runs: READY=1, then the watchdog pings and STATUS updates."""
        if not self.enabled:
            return
        self._status = status
        self.notify("READY=1", f"STATUS={self._status_line() or 'running'}")
        loop = asyncio.get_running_loop()
        if self.watchdog:
            self._tasks.append(loop.create_task(self._ping(), name="systemd:watchdog"))
        if status is not None:
            self._tasks.append(loop.create_task(self._report(), name="systemd:status"))
        logger.debug("Told systemd we are ready (watchdog every {}s)", self.watchdog)

    def stopping(self) -> None:
        """The hub is stopping: STOPPING=1, and no more pings."""
        for task in self._tasks:
            task.cancel()
        self._tasks = []
        if self.enabled:
            self.notify("STOPPING=1", "STATUS=stopping")

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks = []
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _status_line(self) -> str:
        if self._status is None:
            return ""
        try:
            return self._status().replace("\n", " ")
        except Exception as exc:  # noqa: BLE001 - a status line is never worth a crash
            return f"running (status unavailable: {exc!r})"

    async def _ping(self) -> None:
        assert self.watchdog is not None
        interval = self.watchdog / _PINGS_PER_PERIOD
        loop = asyncio.get_running_loop()
        self.notify("WATCHDOG=1")
        last = loop.time()
        while True:
            await asyncio.sleep(interval)
            now = loop.time()
            lag, last = now - last - interval, now
            if lag > interval:
                # The loop was blocked or starved this long: withheld once; if it stays
                # that slow, systemd restarts us, which is the point of the watchdog.
                self.watchdog_withheld += 1
                logger.warning("Event loop lagged {:.1f}s: watchdog ping withheld", lag)
                continue
            if self.notify("WATCHDOG=1"):
                self.watchdog_pings += 1

    async def _report(self) -> None:
        while True:
            await asyncio.sleep(_STATUS_INTERVAL_S)
            self.notify(f"STATUS={self._status_line()}")


class StatusSummary:
    """The STATUS= line: sensors seen, readings per minute, committed, health."""

    def __init__(
        self, hub: Hub, window: float = 60.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._hub = hub
        self._window = window
        self._monotonic = monotonic
        self._samples: deque[tuple[float, int]] = deque()

    def readings_per_minute(self) -> float:
        now = self._monotonic()
        samples = self._samples
        samples.append((now, self._hub.router.counters.readings))
        while len(samples) > 2 and now - samples[1][0] >= self._window:
            samples.popleft()
        (first_t, first_n), (last_t, last_n) = samples[0], samples[-1]
        return (last_n - first_n) * 60.0 / (last_t - first_t) if last_t > first_t else 0.0

    def __call__(self) -> str:
        hub = self._hub
        line = (
            f"{len(hub.router.known_sensors)} sensors seen, "
            f"{self.readings_per_minute():.0f} readings/min, "
            f"{hub.store.counters.committed} stored"
        )
        health = next((c for c in hub.components if getattr(c, "name", "") == "health"), None)
        report = getattr(health, "last_report", None)
        state = getattr(report, "state", None)
        if state is not None:
            line += f", health {state}"
        return line
