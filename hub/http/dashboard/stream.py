"""`GET /api/events`: the dashboard's live updates as server-sent events.

Bus events are folded into one pending batch by cheap synchronous handlers: per sensor only
the latest reading and the latest "seen" are kept. A scheduled job (`http.live`, every
`live_interval`) turns the batch into SSE messages once and hands the same bytes to every
browser. So the cost of a reading does not grow with the number of browsers, and a browser
gets one message per interval however many sensors report.

Every browser has its own bounded backlog and its own writer. One that falls
`client_backlog` messages behind (a phone on a bad link) is disconnected and counted; its
EventSource reconnects and the page reloads its data, so it misses nothing it shows. Nothing
here ever waits on a browser: not the bus, not the job, not the other browsers.

Events (each `data:` is one JSON object):

- `readings`: `{"sensors": {address: {"ts", "measurements", "rssi", "seen"}}}`; a sensor
  that was only heard (a repeated measurement) has just `seen` and `rssi`.
- `alert`: one alert transition, with the sensor's address when the hub knows it.
- `health`: `{"status", "reason", "problems"}` whenever it changes.
- `battery`: a new battery report.
- `sensor`: a sensor's metadata after an edit (`PATCH /api/sensors/{id}`).

A comment line goes out every `_HEARTBEAT_S` when nothing else does, so proxies keep the
connection and a dead browser is noticed; `retry:` tells EventSource to reconnect after 3 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from loguru import logger

from hub.alerts.battery import report_to_dict
from hub.events import AlertChanged, BatteryReport, HealthChanged, Reading, SensorSeen

_HEARTBEAT_S = 15.0
# How often an idle stream looks whether its browser is still there (a closed tab is
# otherwise only noticed at the next write).
_GONE_CHECK_S = 1.0
# Health is evaluated again this often even without a HealthChanged (health may be off).
_HEALTH_EVERY_S = 5.0
_RETRY_MS = 3000
# Bytes the kernel may hold for one browser (Linux doubles it for its bookkeeping).
_SEND_BUFFER = 128 * 1024
# What one batch holds at most: alert transitions (a flapping rule over hundreds of
# sensors), sensors, other events (edits). Beyond that, events are counted and left out,
# and the page is told to reload instead.
_MAX_ALERTS_PER_BATCH = 200
_MAX_SENSORS_PER_BATCH = 10_000
_MAX_EXTRA_PER_BATCH = 100


def sse(event: str, data: object) -> bytes:
    """One server-sent event; orjson never writes a raw newline, so one `data:` line."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


@dataclass(slots=True)
class StreamCounters:
    """What the stream did, for health details and tests."""

    connections: int = 0
    refused: int = 0
    dropped_slow: int = 0
    disconnected: int = 0
    messages: int = 0
    overflow: int = 0


class _Client:
    """One connected browser: its backlog of messages and the signal that wakes its writer."""

    __slots__ = ("backlog", "closed", "request", "wake")

    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.backlog: deque[bytes] = deque()
        self.wake = asyncio.Event()
        self.closed = False

    def close(self) -> None:
        self.closed = True
        self.backlog.clear()
        self.wake.set()


class EventStream:
    """Fans the bus out to the connected browsers, coalesced per sensor."""

    def __init__(
        self,
        *,
        interval: float,
        max_clients: int,
        backlog: int,
        address_of: Callable[[str], str | None],
        health: Callable[[], Mapping[str, Any]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self._max_clients = max_clients
        self._backlog = backlog
        self._address_of = address_of
        self._health = health
        self._clock = clock
        self._clients: set[_Client] = set()
        self._closing = False
        self._readings: dict[str, dict[str, Any]] = {}
        self._alerts: list[dict[str, Any]] = []
        self._overflowed = False
        self._extra: list[bytes] = []
        self._health_due = True
        self._health_checked = 0.0
        self._health_sent: Mapping[str, Any] | None = None
        self._last_sent = clock()
        self.counters = StreamCounters()

    @property
    def clients(self) -> int:
        return len(self._clients)

    # -- bus handlers (cheap, synchronous; nothing kept while nobody watches) ------------

    def _entry(self, address: str) -> dict[str, Any] | None:
        entry = self._readings.get(address)
        if entry is None:
            if len(self._readings) >= _MAX_SENSORS_PER_BATCH:
                self._overflow()
                return None
            entry = self._readings[address] = {}
        return entry

    def _overflow(self) -> None:
        self.counters.overflow += 1
        self._overflowed = True

    def on_reading(self, reading: Reading) -> None:
        if not self._clients:
            return
        entry = self._entry(reading.address)
        if entry is None:
            return
        if "ts" in entry and reading.ts < entry["ts"]:
            return  # an older reading from a slower receiver
        entry["ts"] = reading.ts
        entry["measurements"] = dict(reading.measurements)
        if reading.rssi is not None:
            entry["rssi"] = reading.rssi
        entry["seen"] = max(reading.ts, entry.get("seen", reading.ts))

    def on_seen(self, seen: SensorSeen) -> None:
        if not self._clients:
            return
        entry = self._entry(seen.address)
        if entry is None:
            return
        if seen.ts >= entry.get("seen", 0.0):
            entry["seen"] = seen.ts
            if seen.rssi is not None:
                entry["rssi"] = seen.rssi

    def on_alert(self, change: AlertChanged) -> None:
        if not self._clients:
            return
        if len(self._alerts) >= _MAX_ALERTS_PER_BATCH:
            self._overflow()
            return
        self._alerts.append(
            {
                "ts": change.ts,
                "rule": change.rule,
                "sensor": change.sensor,
                "address": self._address_of(change.sensor),
                "state": change.state,
                "severity": change.severity,
                "value": change.value,
                "message": change.message,
            }
        )

    def on_health(self, _change: HealthChanged) -> None:
        self._health_due = True

    def on_battery(self, report: BatteryReport) -> None:
        self.send("battery", report_to_dict(report))

    def send(self, event: str, data: object) -> None:
        """Queue an event for the next batch (e.g. `sensor` after an edit)."""
        if not self._clients:
            return
        if len(self._extra) >= _MAX_EXTRA_PER_BATCH:
            self._overflow()
            return
        self._extra.append(sse(event, data))

    # -- the scheduled job ---------------------------------------------------------------

    async def tick(self) -> None:
        """Build this interval's messages once and give them to every browser."""
        if not self._clients:
            self._readings.clear()
            self._alerts.clear()
            self._overflowed = False
            self._extra.clear()
            return
        now = self._clock()
        parts: list[bytes] = []
        # Health first: should evaluating it fail (the scheduler counts that), the readings
        # of this interval stay for the next.
        if self._health_due or now - self._health_checked >= _HEALTH_EVERY_S:
            self._health_due = False
            self._health_checked = now
            health = dict(self._health())
            if health != self._health_sent:
                self._health_sent = health
                parts.append(sse("health", health))
        if self._readings:
            parts.append(sse("readings", {"sensors": self._readings}))
            self._readings = {}
        for alert in self._alerts:
            parts.append(sse("alert", alert))
        self._alerts.clear()
        if self._overflowed:
            # Some events were left out: the page reloads its data instead.
            self._overflowed = False
            parts.append(sse("reload", {"why": "too many changes at once"}))
        parts.extend(self._extra)
        self._extra.clear()
        if parts:
            self.counters.messages += 1
            self._broadcast(b"".join(parts))
        elif now - self._last_sent >= _HEARTBEAT_S:
            self._broadcast(b": ping\n\n")

    def _broadcast(self, chunk: bytes) -> None:
        self._last_sent = self._clock()
        for client in list(self._clients):
            if len(client.backlog) >= self._backlog:
                self._drop(client)
                continue
            client.backlog.append(chunk)
            client.wake.set()

    def _drop(self, client: _Client) -> None:
        """A browser too far behind: cut it off (it reconnects and reloads)."""
        self.counters.dropped_slow += 1
        logger.debug("Live stream: dropped a client {} messages behind", self._backlog)
        client.close()
        self._clients.discard(client)
        transport = client.request.transport
        if transport is not None:
            transport.close()  # its writer may be stuck waiting for the socket to drain

    # -- the endpoint --------------------------------------------------------------------

    def refusal(self) -> str | None:
        """Why a new browser cannot connect now, or None."""
        if self._closing:
            return "the hub is stopping"
        if len(self._clients) >= self._max_clients:
            self.counters.refused += 1
            return (
                f"{self._max_clients} browsers are connected already (http.dashboard.max_clients)"
            )
        return None

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """Stream to one browser until it leaves or the hub stops."""
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache, no-store",
                "X-Accel-Buffering": "no",  # nginx: pass events on at once
            }
        )
        await response.prepare(request)
        _limit_send_buffer(request)
        client = _Client(request)
        self._clients.add(client)
        self.counters.connections += 1
        try:
            # The health as it is now: later only its changes are sent.
            hello = f"retry: {_RETRY_MS}\n: hello\n\n".encode() + sse("health", self._health())
            await response.write(hello)
            while not client.closed:
                if not client.backlog:
                    client.wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(client.wake.wait(), _GONE_CHECK_S)
                    transport = request.transport
                    if transport is None or transport.is_closing():
                        self.counters.disconnected += 1
                        break  # the browser left while there was nothing to send
                    continue
                await response.write(client.backlog.popleft())
        except (ConnectionError, asyncio.CancelledError) as exc:
            # The browser went away (a reset, or aiohttp cancelling the handler).
            self.counters.disconnected += 1
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self._clients.discard(client)
        return response

    async def close(self) -> None:
        """End every stream (at hub stop): the handlers return and aiohttp closes cleanly."""
        self._closing = True
        for client in list(self._clients):
            client.close()
        for _ in range(50):
            if not self._clients:
                return
            await asyncio.sleep(0.01)
        # A writer still waiting for a browser that reads nothing: cut the connection.
        for client in list(self._clients):
            if client.request.transport is not None:
                client.request.transport.close()


def _limit_send_buffer(request: web.Request) -> None:
    """Keep what the kernel holds for one browser small (it would grow to megabytes): a
    browser that stops reading then blocks its writer within a few messages, and its
    backlog, not the kernel, decides when it is cut off."""
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SEND_BUFFER)
