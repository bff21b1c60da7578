"""The event bus: typed publish/subscribe with one bounded mailbox and one worker per subscriber.

Why a mailbox per subscriber: a slow or crashing handler then delays or harms nobody but
itself. Each mailbox is bounded and has its own overflow policy:

- ``drop_oldest``: the newest event always gets in; when the mailbox is full the oldest
  waiting event is discarded and counted. For views where the latest value is what matters.
- ``block``: nothing is discarded while the producer can wait. Producers that can wait use
  ``await bus.publish_wait(event)`` and are held until there is room (back-pressure, e.g. a
  replay at full speed against the store). ``bus.publish(event)`` never waits; if a ``block``
  mailbox is full it refuses the new event and counts it as dropped, so the loss is visible.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from loguru import logger

OverflowPolicy = Literal["drop_oldest", "block"]
E = TypeVar("E")
Handler = Callable[[E], Awaitable[None] | None]

# A worker yields to the loop after this many events in a row, so a flood of events to a
# fast synchronous handler cannot starve the other tasks.
_YIELD_EVERY = 64
# A crashing handler is logged with its traceback at most this often; every crash is counted.
_ERROR_LOG_INTERVAL_S = 60.0


@dataclass(frozen=True, slots=True)
class SubscriberStats:
    """A snapshot of one subscriber's mailbox, for metrics and health."""

    name: str
    event_type: str
    policy: OverflowPolicy
    depth: int
    maxsize: int
    delivered: int
    dropped: int
    errors: int


class _Subscriber:
    """One subscriber: its mailbox, its worker, its counters."""

    __slots__ = (
        "_getter",
        "_is_async",
        "_last_error_log",
        "_putters",
        "busy",
        "delivered",
        "dropped",
        "errors",
        "event_type",
        "handler",
        "interrupted",
        "maxsize",
        "name",
        "policy",
        "queue",
        "task",
    )

    def __init__(
        self,
        name: str,
        event_type: type,
        handler: Handler[Any],
        policy: OverflowPolicy,
        maxsize: int,
    ) -> None:
        self.name = name
        self.event_type = event_type
        self.handler = handler
        self.policy = policy
        self.maxsize = maxsize
        self.queue: deque[Any] = deque()
        self.delivered = 0
        self.dropped = 0
        self.errors = 0
        self.interrupted = 0
        self.busy = False
        self.task: asyncio.Task[None] | None = None
        self._is_async = inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
            getattr(handler, "__call__", None)  # noqa: B004 - async callable objects
        )
        self._getter: asyncio.Future[None] | None = None
        self._putters: deque[asyncio.Future[None]] = deque()
        self._last_error_log = -_ERROR_LOG_INTERVAL_S

    # -- producer side -------------------------------------------------------------------

    def offer(self, event: object) -> None:
        """Put an event in the mailbox without waiting, applying the overflow policy."""
        queue = self.queue
        if len(queue) >= self.maxsize:
            self.dropped += 1
            if self.policy == "block":
                return
            queue.popleft()
        queue.append(event)
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)

    def full(self) -> bool:
        return len(self.queue) >= self.maxsize

    async def wait_for_room(self) -> None:
        # Waits for one wake-up only: the caller (`publish_wait`) re-checks both room and
        # closing, so `release_waiters` at stop really releases a held producer.
        if not self.full():
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._putters.append(fut)
        try:
            await fut
        finally:
            with contextlib.suppress(ValueError):
                self._putters.remove(fut)

    def _wake_putter(self) -> None:
        while self._putters:
            fut = self._putters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    def release_waiters(self) -> None:
        for fut in self._putters:
            if not fut.done():
                fut.set_result(None)
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)

    # -- consumer side -------------------------------------------------------------------

    async def work(self, closing: Callable[[], bool], went_idle: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        queue = self.queue
        handler = self.handler
        is_async = self._is_async
        since_yield = 0
        while True:
            if not queue:
                went_idle.set()
                if closing():
                    return
                self._getter = loop.create_future()
                try:
                    await self._getter
                finally:
                    self._getter = None
                since_yield = 0
                continue
            event = queue.popleft()
            if self._putters:
                self._wake_putter()
            self.busy = True
            try:
                result = handler(event)
                # A sync handler may still return an awaitable (a lambda around a coroutine).
                if result is not None and (is_async or inspect.isawaitable(result)):
                    await result
            except asyncio.CancelledError:
                # Cut off mid-event (a stop that timed out): that event was not delivered.
                self.interrupted += 1
                raise
            except Exception:  # noqa: BLE001 - the supervised boundary of every handler
                self._report_error(event)
            else:
                self.delivered += 1
            finally:
                self.busy = False
            since_yield += 1
            if since_yield >= _YIELD_EVERY:
                since_yield = 0
                await asyncio.sleep(0)

    def _report_error(self, event: object) -> None:
        self.errors += 1
        now = time.monotonic()
        if now - self._last_error_log >= _ERROR_LOG_INTERVAL_S:
            self._last_error_log = now
            logger.opt(exception=True).error(
                "Subscriber {} failed on {!r} ({} failures so far; carrying on)",
                self.name,
                event,
                self.errors,
            )

    def stats(self) -> SubscriberStats:
        return SubscriberStats(
            name=self.name,
            event_type=self.event_type.__name__,
            policy=self.policy,
            depth=len(self.queue),
            maxsize=self.maxsize,
            delivered=self.delivered,
            dropped=self.dropped,
            errors=self.errors,
        )


class EventBus:
    """Typed publish/subscribe; see the module docstring for the delivery guarantees."""

    def __init__(self, default_queue_size: int = 10_000, drain_timeout: float = 5.0) -> None:
        self._default_queue_size = default_queue_size
        self._drain_timeout = drain_timeout
        self._by_type: dict[type, tuple[_Subscriber, ...]] = {}
        self._subscribers: list[_Subscriber] = []
        self._running = False
        self._closing = False
        self.published = 0
        self.rejected_after_close = 0
        self.undelivered_at_stop = 0
        # Set by a worker whenever its mailbox runs empty; `idle()` waits on it.
        self._went_idle = asyncio.Event()

    # -- subscription --------------------------------------------------------------------

    def subscribe(
        self,
        event_type: type[E],
        handler: Handler[E],
        *,
        name: str | None = None,
        policy: OverflowPolicy = "drop_oldest",
        queue_size: int | None = None,
    ) -> Callable[[], None]:
        """Deliver every published `event_type` to `handler`; returns the unsubscribe function."""
        maxsize = queue_size or self._default_queue_size
        if maxsize < 1:
            raise ValueError(f"queue_size must be at least 1, got {maxsize}")
        sub = _Subscriber(
            name or str(getattr(handler, "__qualname__", repr(handler))),
            event_type,
            handler,
            policy,
            maxsize,
        )
        self._subscribers.append(sub)
        self._by_type[event_type] = (*self._by_type.get(event_type, ()), sub)
        if self._running:
            self._start_worker(sub)

        def unsubscribe() -> None:
            if sub not in self._subscribers:
                return
            self._subscribers.remove(sub)
            self._by_type[event_type] = tuple(
                s for s in self._by_type.get(event_type, ()) if s is not sub
            )
            if sub.task is not None:
                sub.task.cancel()
            sub.release_waiters()  # producers held by this mailbox must not wait for ever

        return unsubscribe

    def has_subscribers(self, event_type: type) -> bool:
        return bool(self._by_type.get(event_type))

    # -- publishing ----------------------------------------------------------------------

    def publish(self, event: object) -> None:
        """Hand `event` to every subscriber of its type; never waits and never raises."""
        subs = self._by_type.get(type(event))
        if not subs:
            return
        if self._closing:
            self.rejected_after_close += 1
            return
        self.published += 1
        for sub in subs:
            sub.offer(event)

    def must_wait(self, event: object) -> bool:
        """True when `publish` would refuse `event` for a full ``block`` mailbox.

        Lets a producer skip creating a coroutine for `publish_wait` in the usual case.
        """
        subs = self._by_type.get(type(event))
        if not subs:
            return False
        return any(sub.policy == "block" and len(sub.queue) >= sub.maxsize for sub in subs)

    async def publish_wait(self, event: object) -> None:
        """Like `publish`, but waits for room in full ``block`` mailboxes instead of dropping."""
        event_type = type(event)
        if not self._by_type.get(event_type):
            return
        while self._running and not self._closing:
            # Looked up afresh each time: a subscriber may have left while we waited.
            subs = self._by_type.get(event_type, ())
            blocked = next((s for s in subs if s.policy == "block" and s.full()), None)
            if blocked is None:
                break
            await blocked.wait_for_room()
        self.publish(event)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start one worker task per subscriber on the running loop."""
        if self._running:
            return
        self._running = True
        self._closing = False
        for sub in self._subscribers:
            self._start_worker(sub)

    def _start_worker(self, sub: _Subscriber) -> None:
        sub.task = asyncio.get_running_loop().create_task(
            sub.work(self._is_closing, self._went_idle), name=f"bus:{sub.name}"
        )

    def _is_closing(self) -> bool:
        return self._closing

    async def stop(self, drain_timeout: float | None = None) -> bool:
        """Stop accepting events, let every mailbox drain, and stop the workers.

        Returns True when everything was delivered within the timeout; what was left is
        counted in `undelivered_at_stop`.
        """
        if not self._running:
            return True
        self._closing = True
        for sub in self._subscribers:
            sub.release_waiters()
        tasks = [s.task for s in self._subscribers if s.task is not None]
        wait_s = self._drain_timeout if drain_timeout is None else drain_timeout
        done_cleanly = True
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=wait_s)
            if pending:
                done_cleanly = False
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
        left = sum(len(s.queue) + s.interrupted for s in self._subscribers)
        if left:
            done_cleanly = False
            self.undelivered_at_stop += left
            logger.warning(
                "Event bus stopped with {} events undelivered after {:.1f}s", left, wait_s
            )
            for sub in self._subscribers:
                sub.queue.clear()
        for sub in self._subscribers:
            sub.task = None
            sub.interrupted = 0
        self._running = False
        return done_cleanly

    async def idle(self) -> None:
        """Wait until every mailbox is empty and no handler is running (tests, flushes)."""
        while any(s.queue or s.busy for s in self._subscribers):
            self._went_idle.clear()
            await self._went_idle.wait()

    # -- observation ---------------------------------------------------------------------

    def stats(self) -> list[SubscriberStats]:
        return [s.stats() for s in self._subscribers]

    @property
    def dropped(self) -> int:
        return sum(s.dropped for s in self._subscribers)

    @property
    def handler_errors(self) -> int:
        return sum(s.errors for s in self._subscribers)
