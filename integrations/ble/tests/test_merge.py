"""Copies of one advertisement from several adapters: one, with the strongest signal."""

from __future__ import annotations

import asyncio

from hub.events import Advertisement
from integrations.ble.merge import AdapterMerge

A = "A4:C1:38:65:27:62"
FRAME = {60552: b"\x00\x03\x0f\xc9\x35\x00"}


def adv(rssi: int, frame: dict[int, bytes] = FRAME, name: str | None = None) -> Advertisement:
    return Advertisement(ts=1.0, address=A, rssi=rssi, manufacturer_data=frame, name=name)


async def test_copies_within_the_hold_merge_into_the_strongest() -> None:
    loop = asyncio.get_running_loop()
    out: list[Advertisement] = []
    merge = AdapterMerge(out.append, window=1.0, loop=loop)
    now = loop.time()
    merge.offer(adv(-85), "hci0", now)
    merge.offer(adv(-58, name="GVH5075_2762"), "hci1", now + 0.01)
    assert out == [], "held for copies"
    await asyncio.sleep(0.3)
    assert [(a.rssi, a.name) for a in out] == [(-58, "GVH5075_2762")]
    assert merge.merged == 1


async def test_a_late_copy_from_another_adapter_is_dropped_a_repeat_from_the_same_is_not() -> None:
    loop = asyncio.get_running_loop()
    out: list[Advertisement] = []
    merge = AdapterMerge(out.append, window=1.0, loop=loop)
    merge.offer(adv(-70), "hci0", loop.time())
    await asyncio.sleep(0.3)
    merge.offer(adv(-60), "hci1", loop.time())  # another adapter, inside the window
    merge.offer(adv(-71), "hci0", loop.time())  # the sensor repeating itself
    await asyncio.sleep(0.05)
    assert [a.rssi for a in out] == [-70, -71]
    assert merge.merged == 1


async def test_different_payloads_are_different_advertisements() -> None:
    loop = asyncio.get_running_loop()
    out: list[Advertisement] = []
    merge = AdapterMerge(out.append, window=1.0, loop=loop)
    merge.offer(adv(-70), "hci0", loop.time())
    merge.offer(adv(-60, {60552: b"\x01"}), "hci1", loop.time())
    await asyncio.sleep(0.3)
    assert sorted(a.rssi for a in out if a.rssi is not None) == [-70, -60]


async def test_close_passes_on_what_is_held() -> None:
    loop = asyncio.get_running_loop()
    out: list[Advertisement] = []
    merge = AdapterMerge(out.append, window=1.0, loop=loop)
    merge.offer(adv(-70), "hci0", loop.time())
    merge.close()
    assert len(out) == 1
