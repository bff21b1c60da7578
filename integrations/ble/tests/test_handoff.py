"""The hand-off between bleak's callback and the hub: bounded, counted, never stuck."""

from __future__ import annotations

import asyncio

from hub.events import Advertisement
from integrations.ble.handoff import BATCH_S, Handoff


def adv(n: int) -> Advertisement:
    return Advertisement(ts=float(n), address="AA:BB:CC:DD:EE:FF")


async def test_a_full_queue_drops_the_oldest_and_counts_them() -> None:
    handoff = Handoff(maxsize=3)
    for n in range(5):
        handoff.offer(adv(n))
    got: list[float] = []

    async def sink(a: Advertisement) -> None:
        got.append(a.ts)

    task = asyncio.create_task(handoff.drain(sink))
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert got == [2.0, 3.0, 4.0]
    assert (handoff.dropped, handoff.delivered) == (2, 3)


async def test_a_failing_sink_is_counted_and_the_next_advertisement_still_goes_through() -> None:
    handoff = Handoff(maxsize=10)
    got: list[float] = []

    async def sink(a: Advertisement) -> None:
        if a.ts == 0:
            raise RuntimeError("store gone")
        got.append(a.ts)

    task = asyncio.create_task(handoff.drain(sink))
    handoff.offer(adv(0))
    handoff.offer(adv(1))
    await asyncio.sleep(BATCH_S + 0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert got == [1.0]
    assert handoff.sink_errors == 1


async def test_an_advertisement_after_a_quiet_spell_waits_only_a_few_milliseconds() -> None:
    handoff = Handoff(maxsize=10)
    arrived = asyncio.Event()

    async def sink(_a: Advertisement) -> None:
        arrived.set()

    task = asyncio.create_task(handoff.drain(sink))
    await asyncio.sleep(0.05)  # the drain waits, idle
    loop = asyncio.get_running_loop()
    sent = loop.time()
    handoff.offer(adv(1))
    await asyncio.wait_for(arrived.wait(), 1)
    assert loop.time() - sent < BATCH_S + 0.05
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_what_is_left_at_shutdown_is_delivered() -> None:
    handoff = Handoff(maxsize=10)
    for n in range(3):
        handoff.offer(adv(n))
    got: list[float] = []

    async def sink(a: Advertisement) -> None:
        got.append(a.ts)

    await handoff.deliver_rest(sink)
    assert got == [0.0, 1.0, 2.0]
