#!/usr/bin/env python3
"""CPU time per advertisement from bleak's callback to the bus, against bleak's own cost.

Measured with bleak's real BlueZ backend against the fake BlueZ of the tests (a private
dbus-daemon and python-dbusmock's bluez5 template). The fake bluetoothd sends, as fast as
it can, the `PropertiesChanged` signal BlueZ sends for every advertisement heard (the
device's advertising data and a new RSSI), for one device per sample of every
integration's samples.jsonl. Only this process's CPU time is counted (`process_time`), so
the fake bluetoothd and the bus daemon cost nothing here.

- bleak (`bleak_us_per_advert`): a BleakScanner whose callback does nothing. Everything this
  process spends per advertisement inside bleak and its D-Bus library: reading the socket,
  unmarshalling, bleak's device cache, AdvertisementData and BLEDevice, the callback call.
- hub (`hub_us_per_advert`): the same signals with the ble source instead, whose
  advertisements go through the router (decode, derived values, repeat check) into the
  bus's mailboxes. The figure is that run's CPU minus bleak's: what the hub adds, from
  bleak's callback to the bus.

Breakdown, measured apart on the same signals handed straight to bleak's message handler
(no socket): bleak's dispatch alone, the hub's callback (BlueZ's merged data filtered to
what changed, the device's interval, the Advertisement, the hand-off queue), and the
routing. The decoders' share depends on the mix (encrypted samples cost most); see
scripts/bench/decode.py for them alone.

Needs what the tests need (dbus-daemon, python-dbusmock from the test extra), as
scripts/test installs. This process is pinned to one core, the fake BlueZ to the others;
medians of several repeats, bleak and hub interleaved.
Usage: .venv/bin/python scripts/bench/ble.py [--quick] [--adverts N] [--repeats R]
The last line printed is one JSON object (contract 6).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# Python put this script's directory first on the path, where other benches' names (http.py)
# would shadow the standard library for every module imported below.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(ROOT))

from bleak import BleakScanner  # noqa: E402
from bleak.backends.bluezdbus.manager import get_global_bluez_manager  # noqa: E402
from dbus_fast import Message, MessageType, Variant  # noqa: E402
from loguru import logger  # noqa: E402

from hub.bus import EventBus  # noqa: E402
from hub.clock import SystemClock  # noqa: E402
from hub.decode import read_keys_file  # noqa: E402
from hub.events import Reading, SensorSeen  # noqa: E402
from hub.integrations import IntegrationRegistry, SourceContext  # noqa: E402
from hub.records import parse_line  # noqa: E402
from hub.router import Router  # noqa: E402
from integrations.ble.settings import BleSettings  # noqa: E402
from integrations.ble.source import BleSource  # noqa: E402
from integrations.ble.tests.fake_bluez import FakeBlueZ, device_path, record_props  # noqa: E402

# Runs in the fake bluetoothd: `count` advertisements, round robin over the devices, each
# one PropertiesChanged with the device's advertising data and a new RSSI, one every
# `gap_us` (as on air: they arrive one by one, not in bursts that share a socket read).
BLAST = """
paths, count, gap_us = args
props = [objects[p].props['org.bluez.Device1'] for p in paths]
due = time.monotonic()
for i in range(count):
    due += gap_us / 1e6
    pause = due - time.monotonic()
    if pause > 0:
        time.sleep(pause)
    k = i % len(paths)
    p = props[k]
    update = {'RSSI': dbus.Int16(-40 - i % 50)}
    if len(p['ManufacturerData']):
        update['ManufacturerData'] = p['ManufacturerData']
    if len(p['ServiceData']):
        update['ServiceData'] = p['ServiceData']
    objects[paths[k]].UpdateProperties('org.bluez.Device1', update)
"""


# 2,000 advertisements a second by default: a busy radio (a hundred sensors and the phones,
# TVs and beacons around them), still far below what makes signals queue up in the socket.
GAP = {"us": 500}


def load_records() -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """Every sample of every integration, one device each (keeping the sample's address
    where it is free: encrypted payloads are bound to it), and the samples' keys."""
    records: list[dict[str, Any]] = []
    keys: dict[str, bytes] = {}
    used: set[str] = set()
    for path in sorted((ROOT / "integrations").glob("*/samples.jsonl")):
        keys_path = path.with_name("samples.keys.json")
        sample_keys = read_keys_file(keys_path) if keys_path.exists() else {}
        for line in path.read_text().splitlines():
            record = json.loads(line)
            address = parse_line(line).address
            if address in used:
                n = len(records)
                address = f"C0:DE:00:00:{n >> 8:02X}:{n & 0xFF:02X}"
            elif address in sample_keys:
                keys[address] = sample_keys[address]
            used.add(address)
            records.append({**record, "address": address})
    return records, keys


def signal_of(record: dict[str, Any], rssi: int) -> Message:
    """The PropertiesChanged BlueZ sends when this advertisement is heard."""
    changed: dict[str, Variant] = {"RSSI": Variant("n", rssi)}
    props = record_props(record)
    if "mfr" in props:
        changed["ManufacturerData"] = Variant(
            "a{qv}", {k: Variant("ay", v) for k, v in props["mfr"].items()}
        )
    if "svc" in props:
        changed["ServiceData"] = Variant(
            "a{sv}", {k: Variant("ay", v) for k, v in props["svc"].items()}
        )
    return Message(
        message_type=MessageType.SIGNAL,
        path=device_path("hci0", record["address"]),
        interface="org.freedesktop.DBus.Properties",
        member="PropertiesChanged",
        signature="sa{sv}as",
        body=["org.bluez.Device1", changed, []],
    )


class Hub:
    """The ble source into a router into a bus whose mailboxes hold what was published."""

    def __init__(self, registry: IntegrationRegistry, keys: dict[str, bytes], n: int) -> None:
        # Workers not started: a publish ends in the mailbox, which is where "to the bus" ends.
        self.bus = EventBus(default_queue_size=n + 10)
        self.bus.subscribe(Reading, lambda _: None, name="readings")
        self.bus.subscribe(SensorSeen, lambda _: None, name="seen")
        self.router = Router(registry, self.bus, keys=keys)
        settings = BleSettings.model_validate(
            {"adapters": ["hci0"], "watch_bluez": False, "queue_size": n + 10}
        )
        self.source = BleSource("bench", settings, SourceContext(clock=SystemClock()), registry)
        self.gate = asyncio.Event()
        self.gate.set()
        self.task: asyncio.Task[None] | None = None

    async def _sink(self, adv: Any) -> None:
        if not self.gate.is_set():
            await self.gate.wait()
        await self.router.submit(adv)

    async def __aenter__(self) -> Hub:
        self.task = asyncio.create_task(self.source.run(self._sink))
        while not self.source.running:  # noqa: ASYNC110 - a bench polls, simply
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # the start-up signals pass
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    @property
    def delivered(self) -> int:
        return self.source.handoff.delivered

    @property
    def published(self) -> int:
        return sum(s.depth for s in self.bus.stats())


async def blast(paths: list[str], count: int) -> asyncio.subprocess.Process:
    """Ask the fake bluetoothd (from another process) to send `count` advertisements."""
    return await asyncio.create_subprocess_exec(
        "dbus-send", "--system", "--print-reply", "--reply-timeout=600000", "--dest=org.bluez",
        "/", "org.bluez.Mock.Blast", "array:string:" + ",".join(paths), f"int32:{count}",
        f"int32:{GAP['us']}", stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def cpu_until(done: Callable[[], bool], start: Callable[[], Any]) -> float:
    """CPU seconds of this process from `start()` until `done()`."""
    gc.collect()
    began = time.process_time()
    proc = await start()
    while not done():  # noqa: ASYNC110 - polling costs the same in both runs
        await asyncio.sleep(0.005)
    spent = time.process_time() - began
    await proc.wait()
    return spent


async def over_dbus(
    paths: list[str], n: int, registry: IntegrationRegistry, keys: dict[str, bytes]
) -> tuple[float, float, int]:
    """(bleak, bleak + hub) CPU seconds for `n` advertisements from the fake bluetoothd."""
    calls = 0

    def nothing(_device: object, _data: object) -> None:
        nonlocal calls
        calls += 1

    scanner = BleakScanner(nothing, bluez={"adapter": "hci0"})
    await scanner.start()
    await asyncio.sleep(0.1)
    calls = 0
    try:
        bleak = await cpu_until(lambda: calls >= n, lambda: blast(paths, n))
    finally:
        await scanner.stop()
    async with Hub(registry, keys, n) as hub:
        before = hub.delivered
        both = await cpu_until(lambda: hub.delivered - before >= n, lambda: blast(paths, n))
        published = hub.published
    return bleak, both, published


async def in_process(
    signals: list[Message], registry: IntegrationRegistry, keys: dict[str, bytes]
) -> tuple[float, float, float]:
    """Signals handed straight to bleak's handler: (bleak, bleak + callback, routing) CPU s."""
    manager = await get_global_bluez_manager()
    handle = manager._parse_msg
    scanner = BleakScanner(lambda _d, _a: None, bluez={"adapter": "hci0"})
    await scanner.start()
    await asyncio.sleep(0.05)
    try:
        gc.collect()
        began = time.process_time()
        for signal in signals:
            handle(signal)
        bleak = time.process_time() - began
    finally:
        await scanner.stop()
    async with Hub(registry, keys, len(signals)) as hub:
        hub.gate.clear()  # the advertisements wait in the hand-off until the callbacks are timed
        before = hub.delivered
        gc.collect()
        began = time.process_time()
        for signal in signals:
            handle(signal)
        callbacks = time.process_time() - began
        gc.collect()
        began = time.process_time()
        hub.gate.set()
        while hub.delivered - before < len(signals):  # noqa: ASYNC110
            await asyncio.sleep(0)
        routing = time.process_time() - began
    return bleak, callbacks, routing


async def run(args: argparse.Namespace, paths: list[str]) -> dict[str, float]:
    registry = IntegrationRegistry.discover()
    records, keys = load_records()
    n = args.adverts
    signals = [signal_of(records[i % len(records)], -40 - i % 50) for i in range(min(n, 20_000))]
    integrations = len(list((ROOT / "integrations").glob("*/samples.jsonl")))
    print(
        f"{n} advertisements per run from {len(records)} devices (every sample of "
        f"{integrations} integrations), one every {GAP['us']} µs, median of {args.repeats} "
        "repeats"
    )
    e2e: list[tuple[float, float]] = []
    parts: list[tuple[float, float, float]] = []
    published = 0
    for _ in range(args.repeats):
        bleak, both, published = await over_dbus(paths, n, registry, keys)
        e2e.append((bleak, both))
        parts.append(await in_process(signals, registry, keys))
    bleak_us = statistics.median(b for b, _ in e2e) / n * 1e6
    hub_us = statistics.median(both - b for b, both in e2e) / n * 1e6
    m = len(signals)
    dispatch_us = statistics.median(p[0] for p in parts) / m * 1e6
    callback_us = statistics.median(p[1] - p[0] for p in parts) / m * 1e6
    routing_us = statistics.median(p[2] for p in parts) / m * 1e6

    print("\nover D-Bus, CPU of this process per advertisement:")
    print(f"  bleak (socket -> its callback):             {bleak_us:6.2f} µs")
    print(f"  hub added (callback -> bus mailboxes):      {hub_us:6.2f} µs")
    print(f"  hub / bleak:                                {hub_us / bleak_us:6.2f}")
    print("breakdown, signals handed straight to bleak's handler:")
    print(f"  bleak's dispatch (cache, AdvertisementData) {dispatch_us:6.2f} µs")
    print(f"  hub callback (filter, Advertisement, queue) {callback_us:6.2f} µs")
    print(f"  hub routing (decode, checks, bus publish)   {routing_us:6.2f} µs")
    print(f"published per run: {published} Readings and SensorSeen for {n} advertisements")
    return {
        "hub_us_per_advert": round(hub_us, 2),
        "bleak_us_per_advert": round(bleak_us, 2),
        "ratio": round(hub_us / bleak_us, 3),
        "bleak_dispatch_us": round(dispatch_us, 2),
        "hub_callback_us": round(callback_us, 2),
        "hub_routing_us": round(routing_us, 2),
        "adverts": n,
        "gap_us": GAP["us"],
        "repeats": args.repeats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller run, same figures")
    parser.add_argument("--adverts", type=int)
    parser.add_argument("--repeats", type=int)
    parser.add_argument(
        "--gap-us", type=int, default=500, help="µs between two advertisements (0: flat out)"
    )
    args = parser.parse_args()
    GAP["us"] = args.gap_us
    args.adverts = args.adverts or (4_000 if args.quick else 20_000)
    args.repeats = args.repeats or (3 if args.quick else 5)

    logger.remove()
    logger.add(sys.stderr, level="ERROR")
    cpus = sorted(os.sched_getaffinity(0))
    cpu = cpus[-1]
    with tempfile.TemporaryDirectory() as tmp, FakeBlueZ(Path(tmp)) as fake:
        # This process on one core; the fake bluetoothd and the bus daemon, whose CPU is
        # not counted, on the others (when there are others), so they do not take turns.
        os.sched_setaffinity(0, {cpu})
        others = set(cpus[:-1]) or {cpu}
        for pid in fake.pids():
            os.sched_setaffinity(pid, others)
        print(
            f"ble: pinned to CPU {cpu} (fake BlueZ on {sorted(others)}); "
            f"Python {sys.version.split()[0]}"
        )
        paths = []
        for record in load_records()[0]:
            props = record_props(record)
            paths.append(fake.add_device("hci0", record["address"], emit=False, **props))
        fake.add_mock_method("Blast", "asii", "", BLAST)
        result = asyncio.run(run(args, paths))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
