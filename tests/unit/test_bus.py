"""Behaviour of the event bus as its users see it: order, isolation, overflow, shutdown, stats."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from loguru import logger

from hub.bus import EventBus, SubscriberStats


@dataclass(frozen=True, slots=True)
class Ping:
    n: int


@dataclass(frozen=True, slots=True)
class Pong:
    n: int


@dataclass(frozen=True, slots=True)
class LoudPing(Ping):
    """A subclass: the bus routes on the exact type, so Ping subscribers must not see it."""


async def wait_until(predicate: Callable[[], bool], within: float = 1.0) -> None:
    """Let the loop run until `predicate` holds; fail the test after `within` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {within}s")
        await asyncio.sleep(0.001)


def stats_of(bus: EventBus, name: str) -> SubscriberStats:
    (found,) = [s for s in bus.stats() if s.name == name]
    return found


class Recorder:
    """A handler that records what it got and can be held on a gate."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.seen: list[int] = []
        self.gate = gate

    async def __call__(self, event: Ping) -> None:
        self.seen.append(event.n)
        if self.gate is not None:
            await self.gate.wait()


@pytest.fixture
async def bus() -> AsyncIterator[EventBus]:
    b = EventBus(default_queue_size=1_000, drain_timeout=0.2)
    yield b
    # Whatever a test left stuck is cancelled here, so no task outlives the test's loop.
    await b.stop(drain_timeout=0.05)


@pytest.fixture
def log_records() -> Iterator[list[dict[str, Any]]]:
    records: list[dict[str, Any]] = []
    sink_id = logger.add(lambda message: records.append(message.record), level="DEBUG")
    yield records
    logger.remove(sink_id)


# -- order and routing ---------------------------------------------------------------------


async def test_every_subscriber_gets_every_event_in_publish_order(bus: EventBus) -> None:
    sync_seen: list[int] = []
    async_seen: list[int] = []

    async def async_handler(event: Ping) -> None:
        await asyncio.sleep(0)  # let the other worker and the producer interleave
        async_seen.append(event.n)

    bus.subscribe(Ping, lambda e: sync_seen.append(e.n), name="sync")
    bus.subscribe(Ping, async_handler, name="async")
    bus.start()
    late_seen: list[int] = []
    bus.subscribe(Ping, lambda e: late_seen.append(e.n), name="late")  # after start

    # Bursts bigger than the worker's yield interval, with pauses in between, so the
    # workers both drain backlogs and wait for new events.
    n = 0
    for burst in (1, 200, 3, 150):
        for _ in range(burst):
            bus.publish(Ping(n))
            n += 1
        await asyncio.sleep(0)
    for _ in range(50):
        await bus.publish_wait(Ping(n))
        n += 1
    await asyncio.wait_for(bus.idle(), 1.0)

    expected = list(range(n))
    assert sync_seen == expected
    assert async_seen == expected
    assert late_seen == expected
    assert bus.dropped == 0


async def test_events_reach_only_subscribers_of_their_exact_type(bus: EventBus) -> None:
    pings: list[object] = []
    pongs: list[object] = []
    loud: list[object] = []
    bus.subscribe(Ping, pings.append, name="pings")
    bus.subscribe(Pong, pongs.append, name="pongs")
    bus.subscribe(LoudPing, loud.append, name="loud")
    bus.start()

    bus.publish(Ping(1))
    bus.publish(Pong(2))
    bus.publish(LoudPing(3))
    bus.publish("not an event anyone wants")
    await asyncio.wait_for(bus.idle(), 1.0)

    assert pings == [Ping(1)]
    assert pongs == [Pong(2)]
    assert loud == [LoudPing(3)]
    assert [s.delivered for s in bus.stats()] == [1, 1, 1]


async def test_unsubscribe_stops_delivery_to_that_subscriber_only(bus: EventBus) -> None:
    leaving: list[int] = []
    staying: list[int] = []
    unsubscribe = bus.subscribe(Ping, lambda e: leaving.append(e.n), name="leaving")
    bus.subscribe(Ping, lambda e: staying.append(e.n), name="staying")
    bus.start()

    bus.publish(Ping(1))
    await asyncio.wait_for(bus.idle(), 1.0)
    unsubscribe()
    unsubscribe()  # a second call is harmless
    bus.publish(Ping(2))
    await asyncio.wait_for(bus.idle(), 1.0)
    await asyncio.sleep(0.01)

    assert leaving == [1]
    assert staying == [1, 2]
    assert [s.name for s in bus.stats()] == ["staying"]

    unsubscribe_staying = bus.subscribe(Pong, lambda e: None)
    assert bus.has_subscribers(Pong)
    unsubscribe_staying()
    assert not bus.has_subscribers(Pong)


async def test_sync_handler_returning_an_awaitable_has_it_awaited(bus: EventBus) -> None:
    """`Handler` may return an awaitable (e.g. a lambda around a coroutine): it must run."""
    seen: list[int] = []

    async def store(event: Ping) -> None:
        await asyncio.sleep(0)
        seen.append(event.n)

    bus.subscribe(Ping, lambda e: store(e), name="wrapped")
    bus.start()
    for i in range(3):
        bus.publish(Ping(i))
    await asyncio.wait_for(bus.idle(), 1.0)

    assert seen == [0, 1, 2]
    assert bus.handler_errors == 0


# -- isolation -----------------------------------------------------------------------------


async def test_slow_handler_does_not_delay_other_subscribers(bus: EventBus) -> None:
    gate = asyncio.Event()
    slow = Recorder(gate)
    fast: list[int] = []
    bus.subscribe(Ping, slow, name="slow")
    bus.subscribe(Ping, lambda e: fast.append(e.n), name="fast")
    bus.start()

    for i in range(50):
        bus.publish(Ping(i))
    await wait_until(lambda: len(fast) == 50, within=0.5)

    # The fast subscriber is done while the slow one is still stuck on its first event.
    assert fast == list(range(50))
    assert slow.seen == [0]
    assert stats_of(bus, "slow").depth == 49
    assert stats_of(bus, "fast").delivered == 50

    gate.set()
    await asyncio.wait_for(bus.idle(), 1.0)
    assert slow.seen == list(range(50))


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_crashing_handler_is_counted_logged_and_keeps_receiving(
    bus: EventBus, log_records: list[dict[str, Any]], kind: str
) -> None:
    crashy_seen: list[int] = []
    healthy: list[int] = []

    def crash_on_even(event: Ping) -> None:
        crashy_seen.append(event.n)
        if event.n % 2 == 0:
            raise RuntimeError(f"boom {event.n}")

    async def crash_on_even_async(event: Ping) -> None:
        await asyncio.sleep(0)
        crash_on_even(event)

    handler = crash_on_even if kind == "sync" else crash_on_even_async
    bus.subscribe(Ping, handler, name="crashy")
    bus.subscribe(Ping, lambda e: healthy.append(e.n), name="healthy")
    bus.start()

    for i in range(10):
        bus.publish(Ping(i))
    await asyncio.wait_for(bus.idle(), 1.0)

    assert crashy_seen == list(range(10))  # kept receiving after every crash
    assert healthy == list(range(10))
    assert bus.handler_errors == 5
    crashy = stats_of(bus, "crashy")
    # a failed event is an error, not a delivery
    assert (crashy.errors, crashy.delivered, crashy.dropped, crashy.depth) == (5, 5, 0, 0)
    assert stats_of(bus, "healthy").errors == 0

    errors = [r for r in log_records if r["level"].name == "ERROR"]
    assert errors, "a crashing handler must be logged"
    assert "crashy" in errors[0]["message"]
    assert errors[0]["exception"] is not None
    assert isinstance(errors[0]["exception"].value, RuntimeError)

    # And it still works after the crashes.
    bus.publish(Ping(11))
    await asyncio.wait_for(bus.idle(), 1.0)
    assert crashy_seen[-1] == 11
    assert healthy[-1] == 11
    assert bus.handler_errors == 5


async def test_handler_crashing_on_every_event_still_gets_them_all(bus: EventBus) -> None:
    calls: list[int] = []

    def always_fails(event: Ping) -> None:
        calls.append(event.n)
        raise ValueError("never works")

    bus.subscribe(Ping, always_fails, name="broken")
    bus.start()
    for i in range(100):
        bus.publish(Ping(i))
    await asyncio.wait_for(bus.idle(), 1.0)

    assert calls == list(range(100))
    assert bus.handler_errors == 100
    assert stats_of(bus, "broken").errors == 100


# -- overflow ------------------------------------------------------------------------------


async def test_drop_oldest_keeps_the_newest_and_counts_exact_drops(bus: EventBus) -> None:
    size, extra = 4, 3
    gate = asyncio.Event()
    handler = Recorder(gate)
    bus.subscribe(Ping, handler, name="view", policy="drop_oldest", queue_size=size)
    bus.start()

    bus.publish(Ping(0))
    await wait_until(lambda: handler.seen == [0])  # the handler is now stuck on 0
    for i in range(1, size + extra + 1):
        bus.publish(Ping(i))

    view = stats_of(bus, "view")
    assert (view.depth, view.maxsize, view.dropped) == (size, size, extra)
    assert bus.dropped == extra

    gate.set()
    await asyncio.wait_for(bus.idle(), 1.0)
    assert handler.seen == [0, *range(extra + 1, size + extra + 1)]  # [0, 4, 5, 6, 7]
    assert bus.dropped == extra
    assert stats_of(bus, "view").delivered == 1 + size


async def test_block_publish_wait_holds_the_producer_and_loses_nothing(bus: EventBus) -> None:
    gate = asyncio.Event()
    handler = Recorder(gate)
    bus.subscribe(Ping, handler, name="store", policy="block", queue_size=2)
    bus.start()
    produced: list[int] = []

    async def producer() -> None:
        for i in range(10):
            await bus.publish_wait(Ping(i))
            produced.append(i)

    task = asyncio.create_task(producer())
    await wait_until(lambda: handler.seen == [0])
    await asyncio.sleep(0.05)

    # One event in the handler, two in the full mailbox, the producer held on the fourth.
    assert not task.done()
    assert produced == [0, 1, 2]
    assert stats_of(bus, "store").depth == 2
    assert bus.dropped == 0

    gate.set()
    await asyncio.wait_for(task, 1.0)
    await asyncio.wait_for(bus.idle(), 1.0)
    assert handler.seen == list(range(10))
    assert bus.dropped == 0
    assert stats_of(bus, "store").delivered == 10


async def test_sync_publish_into_full_block_mailbox_refuses_and_counts(bus: EventBus) -> None:
    gate = asyncio.Event()
    handler = Recorder(gate)
    bus.subscribe(Ping, handler, name="store", policy="block", queue_size=2)
    bus.start()

    bus.publish(Ping(0))
    await wait_until(lambda: handler.seen == [0])
    for i in range(1, 6):
        bus.publish(Ping(i))  # 1 and 2 fit; 3, 4 and 5 are refused

    assert bus.dropped == 3
    assert stats_of(bus, "store").depth == 2

    gate.set()
    await asyncio.wait_for(bus.idle(), 1.0)
    assert handler.seen == [0, 1, 2]  # unlike drop_oldest, what was queued is kept
    assert stats_of(bus, "store").dropped == 3


# -- shutdown ------------------------------------------------------------------------------


async def test_stop_delivers_everything_queued_before_returning_true(bus: EventBus) -> None:
    sync_seen: list[int] = []
    async_seen: list[int] = []

    async def slowish(event: Ping) -> None:
        await asyncio.sleep(0.001)
        async_seen.append(event.n)

    bus.subscribe(Ping, lambda e: sync_seen.append(e.n), name="sync")
    bus.subscribe(Ping, slowish, name="async")
    bus.start()
    for i in range(30):
        bus.publish(Ping(i))
    assert async_seen == []  # nothing has run yet: all 30 are still queued

    assert await bus.stop(drain_timeout=1.0) is True
    assert sync_seen == list(range(30))
    assert async_seen == list(range(30))
    assert bus.undelivered_at_stop == 0
    assert [s.depth for s in bus.stats()] == [0, 0]


async def test_stop_gives_up_after_drain_timeout_and_counts_what_was_left(
    bus: EventBus, log_records: list[dict[str, Any]]
) -> None:
    stuck = Recorder(asyncio.Event())  # never released
    fine: list[int] = []
    bus.subscribe(Ping, stuck, name="stuck")
    bus.subscribe(Ping, lambda e: fine.append(e.n), name="fine")
    bus.start()
    bus.publish(Ping(0))
    await wait_until(lambda: stuck.seen == [0])
    for i in range(1, 4):
        bus.publish(Ping(i))

    started = time.monotonic()
    drained = await asyncio.wait_for(bus.stop(drain_timeout=0.1), 1.0)
    elapsed = time.monotonic() - started

    assert drained is False
    assert 0.09 <= elapsed < 0.5
    # 0 was cut off inside the stuck handler; 1, 2 and 3 never reached it
    assert bus.undelivered_at_stop == 4
    assert stuck.seen == [0]
    assert fine == [0, 1, 2, 3]
    assert any(r["level"].name == "WARNING" and "undelivered" in r["message"] for r in log_records)


async def test_publish_after_stop_is_rejected_and_counted(bus: EventBus) -> None:
    seen: list[int] = []
    bus.subscribe(Ping, lambda e: seen.append(e.n), name="sub")
    bus.start()
    bus.publish(Ping(1))
    assert await bus.stop() is True

    bus.publish(Ping(2))
    await bus.publish_wait(Ping(3))
    await asyncio.sleep(0.01)

    assert seen == [1]
    assert bus.rejected_after_close == 2
    assert bus.published == 1
    assert stats_of(bus, "sub").depth == 0


async def test_stop_releases_a_producer_held_by_a_stuck_block_mailbox(bus: EventBus) -> None:
    stuck = Recorder(asyncio.Event())  # never released
    bus.subscribe(Ping, stuck, name="store", policy="block", queue_size=1)
    bus.start()
    bus.publish(Ping(0))
    await wait_until(lambda: stuck.seen == [0])
    bus.publish(Ping(1))  # the mailbox is now full
    producer = asyncio.create_task(bus.publish_wait(Ping(2)))
    await asyncio.sleep(0.02)
    assert not producer.done()

    assert await bus.stop(drain_timeout=0.05) is False

    # A producer held by back-pressure must not hang forever once the bus is stopped.
    await asyncio.wait_for(producer, 0.5)
    assert bus.rejected_after_close == 1
    assert bus.undelivered_at_stop == 2  # the one in the stuck handler and the one queued
    assert stuck.seen == [0]


# -- stats ---------------------------------------------------------------------------------


async def test_stats_report_depth_delivered_dropped_and_errors(bus: EventBus) -> None:
    gate = asyncio.Event()
    held = Recorder(gate)

    def picky(event: Ping) -> None:
        if event.n == 2:
            raise KeyError(event.n)

    bus.subscribe(Ping, held, name="held", policy="drop_oldest", queue_size=3)
    bus.subscribe(Ping, picky, name="picky", policy="block", queue_size=10)
    bus.subscribe(Pong, lambda e: None, name="pongs")
    bus.start()

    bus.publish(Ping(0))
    await wait_until(lambda: held.seen == [0])
    for i in range(1, 6):
        bus.publish(Ping(i))
    await wait_until(lambda: stats_of(bus, "picky").delivered == 5)

    assert bus.stats() == [
        SubscriberStats("held", "Ping", "drop_oldest", depth=3, maxsize=3, delivered=0,
                        dropped=2, errors=0),
        SubscriberStats("picky", "Ping", "block", depth=0, maxsize=10, delivered=5,
                        dropped=0, errors=1),
        SubscriberStats("pongs", "Pong", "drop_oldest", depth=0, maxsize=1_000, delivered=0,
                        dropped=0, errors=0),
    ]  # fmt: skip
    assert bus.dropped == 2
    assert bus.handler_errors == 1

    gate.set()
    await asyncio.wait_for(bus.idle(), 1.0)
    held_stats = stats_of(bus, "held")
    assert (held_stats.depth, held_stats.delivered, held_stats.dropped) == (0, 4, 2)
    assert held.seen == [0, 3, 4, 5]


async def test_unsubscribe_releases_a_producer_held_by_that_mailbox(bus: EventBus) -> None:
    stuck = Recorder(asyncio.Event())  # never released
    unsubscribe = bus.subscribe(Ping, stuck, name="store", policy="block", queue_size=1)
    others: list[int] = []
    bus.subscribe(Ping, lambda e: others.append(e.n), name="view")
    bus.start()
    bus.publish(Ping(0))
    await wait_until(lambda: stuck.seen == [0])
    bus.publish(Ping(1))  # the block mailbox is now full
    producer = asyncio.create_task(bus.publish_wait(Ping(2)))
    await asyncio.sleep(0.02)
    assert not producer.done()

    unsubscribe()
    await asyncio.wait_for(producer, 0.5)
    await wait_until(lambda: others == [0, 1, 2])
