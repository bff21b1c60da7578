"""From bleak's synchronous callback to the hub's asynchronous sink, without waiting.

bleak calls the detection callback from its D-Bus reader, so the callback must not block and
cannot await. It puts the advertisement in a bounded queue; one task drains the queue into
the sink (`Router.submit`, which may wait for back-pressure from the store). When the queue
is full the oldest advertisement is dropped and counted: the newest is worth more.

Advertisements arriving one by one would wake the draining task once each, which costs
more than routing one. So the task is woken a few milliseconds after the first
advertisement of a quiet spell, and then drains whatever came meanwhile in one go.
"""

from __future__ import annotations

import asyncio
from collections import deque

from loguru import logger

from hub.events import Advertisement
from hub.integrations import AdvertisementSink

_DROP_LOG_EVERY = 1000
# The drain yields to the loop after this many advertisements in a row, so a burst cannot
# starve the other tasks (the sink rarely has to wait).
_YIELD_EVERY = 64
# How long the first advertisement after a quiet spell waits for others to share the drain's
# wake-up with: far below anything a sensor reading cares about.
BATCH_S = 0.005


class Handoff:
    """A bounded queue of advertisements with one draining task."""

    __slots__ = (
        "_batch",
        "_queue",
        "_waiter",
        "_wake",
        "delivered",
        "dropped",
        "maxsize",
        "sink_errors",
    )

    def __init__(self, maxsize: int, batch: float = BATCH_S) -> None:
        self.maxsize = maxsize
        self._batch = batch
        self._queue: deque[Advertisement] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._wake: asyncio.TimerHandle | None = None
        self.delivered = 0
        self.dropped = 0
        self.sink_errors = 0

    @property
    def depth(self) -> int:
        return len(self._queue)

    def offer(self, adv: Advertisement) -> None:
        """Queue `adv` for the sink; never waits, never raises."""
        queue = self._queue
        if len(queue) >= self.maxsize:
            queue.popleft()
            self.dropped += 1
            if self.dropped % _DROP_LOG_EVERY == 1:
                logger.warning(
                    "BLE hand-off queue full ({}): dropping the oldest advertisements "
                    "({} dropped so far); the hub cannot keep up",
                    self.maxsize,
                    self.dropped,
                )
        queue.append(adv)
        waiter = self._waiter
        if waiter is not None and self._wake is None and not waiter.done():
            self._wake = waiter.get_loop().call_later(self._batch, self._release)

    def _release(self) -> None:
        self._wake = None
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def drain(self, sink: AdvertisementSink) -> None:
        """Deliver queued advertisements to `sink` until cancelled."""
        loop = asyncio.get_running_loop()
        queue = self._queue
        since_yield = 0
        while True:
            if not queue:
                self._waiter = loop.create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None
                    if self._wake is not None:
                        self._wake.cancel()
                        self._wake = None
                since_yield = 0
                continue
            since_yield += 1
            if since_yield >= _YIELD_EVERY:
                since_yield = 0
                await asyncio.sleep(0)
            adv = queue.popleft()
            try:
                await sink(adv)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the sink's failure must not stop the radio
                self.sink_errors += 1
                if self.sink_errors % _DROP_LOG_EVERY == 1:
                    logger.opt(exception=True).error(
                        "Sink failed on an advertisement from {} ({} failures so far)",
                        adv.address,
                        self.sink_errors,
                    )
            else:
                self.delivered += 1

    async def deliver_rest(self, sink: AdvertisementSink) -> None:
        """Deliver what is still queued (at shutdown, under the caller's time limit)."""
        queue = self._queue
        while queue:
            adv = queue.popleft()
            try:
                await sink(adv)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - counted like any sink failure
                self.sink_errors += 1
            else:
                self.delivered += 1
