"""Publishing as a continuous stream: in order, with a bounded number of messages waiting
for their acknowledgement.

New messages are handed to the client while earlier ones are in flight, so the connection
never idles between batches. That matters with Mosquitto's defaults: it sends its
acknowledgements with Nagle's algorithm, so a client that waits for a whole batch before
sending more pays one delayed-ACK pause (up to 40 ms) per batch; a stream pays it once per
pause in the work.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import aiomqtt

# Publishes waiting for their acknowledgement at any time (paho's in-flight window too).
WINDOW = 64


class StreamCounters(Protocol):
    """Where the stream counts what the broker acknowledged."""

    states: int
    alerts: int


class PublishStream:
    """Publishes in order with a bounded number of messages awaiting acknowledgement."""

    def __init__(
        self, client: aiomqtt.Client, qos: int, counters: StreamCounters, wake: asyncio.Event
    ) -> None:
        self._client = client
        self._qos = qos
        self._counters = counters
        self._wake = wake
        self._window = asyncio.Semaphore(WINDOW)
        self._tasks: set[asyncio.Task[None]] = set()
        # Alerts leave the publisher's queue for good only once acknowledged; these are the
        # ones not (yet) acknowledged, in order.
        self._alerts: dict[asyncio.Task[None], bytes] = {}
        self._failure: BaseException | None = None

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def check(self) -> None:
        """Raise the first failure of a publish (it ends the session)."""
        if self._failure is not None:
            raise self._failure

    async def publish(
        self, topic: str, payload: bytes, retain: bool, is_state: bool, *, alert: bool = False
    ) -> None:
        await self._window.acquire()
        self.check()
        task = asyncio.ensure_future(
            self._client.publish(topic, payload, qos=self._qos, retain=retain)
        )
        self._tasks.add(task)
        if alert:
            self._alerts[task] = payload
        task.add_done_callback(lambda done: self._done(done, is_state))

    def _done(self, task: asyncio.Task[None], is_state: bool) -> None:
        self._tasks.discard(task)
        self._window.release()
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            if self._failure is None:
                self._failure = error
            self._wake.set()
            return
        if is_state:
            self._counters.states += 1
        elif self._alerts.pop(task, None) is not None:
            self._counters.alerts += 1
        if not self._tasks:
            self._wake.set()  # everything acknowledged: the sender may go idle

    async def close(self) -> list[bytes]:
        """Cancel what is still in flight; returns the alerts never acknowledged."""
        pending = list(self._tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return list(self._alerts.values())
