#!/usr/bin/env python3
"""State messages per second through a real Mosquitto, and the time until Home Assistant has
everything back after it announces itself (`homeassistant/status` = `online`), 200 sensors.

- states_per_s: the MQTT publisher (real bus, real store connection for its sensor poll)
  gets rounds of 200 new RuuviTag readings, one per sensor, `min_interval` 0, QoS 1; a round
  is handed to the bus as soon as the sender has taken the one before, so the sender never
  waits for work and no reading is replaced by a newer one before it is sent. A subscriber
  in another process, on another core, counts the state messages it receives; the figure is
  states received / wall time.
- reference_states_per_s: the same state payloads on the same topics, published with a bare
  aiomqtt client as fast as it goes (the same window of 64 unacknowledged publishes), to the
  same subscriber: the ceiling of the client library.
- resync_s: after all discovery configs and states are out, `online` is published on
  `homeassistant/status`; the time until the subscriber has received every discovery config
  (13 per RuuviTag: 12 measurements and the signal strength) and every state again.

The hub side is pinned to one core; the subscriber to the other one (the broker floats).
Times are medians of the repeats.

Usage: .venv/bin/python scripts/bench/mqtt.py [--quick] [--rounds N] [--repeats R]
The last line printed is one JSON object (contract 6).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Python puts this script's folder first on the path, where scripts/bench/http.py would
# shadow the standard library's `http` (which aiomqtt needs, through urllib).
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import argparse
import asyncio
import json
import os
import socket
import statistics
import tempfile
import time
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import aiomqtt  # noqa: E402
from loguru import logger  # noqa: E402

from hub.bus import EventBus  # noqa: E402
from hub.clock import SystemClock  # noqa: E402
from hub.config.models import SchedulerConfig, StoreConfig  # noqa: E402
from hub.decoding import canonical_measurements  # noqa: E402
from hub.events import Reading  # noqa: E402
from hub.integrations import Decoded  # noqa: E402
from hub.mqtt.config import MqttConfig  # noqa: E402
from hub.mqtt.publisher import MqttPublisher, state_payload  # noqa: E402
from hub.mqtt.stream import WINDOW  # noqa: E402
from hub.mqtt.testing import Mosquitto  # noqa: E402
from hub.mqtt.topics import sensor_id  # noqa: E402
from hub.scheduler import Scheduler  # noqa: E402
from hub.store import SqliteStore  # noqa: E402
from integrations.ruuvi.df5 import decode  # noqa: E402
from integrations.ruuvi.synthetic import payload as ruuvi_payload  # noqa: E402
from integrations.ruuvi.synthetic import tag_address  # noqa: E402

SENSORS = 200
PREFIX = "bench"
WARM_UP = 4  # rounds; a sensor's interval is known after three
# Mosquitto queues at most 1,000 QoS 1 messages per subscriber by default and drops the
# rest; a resync of 2,800 messages to one subscriber needs more.
BROKER = "max_queued_messages 100000"
START = 1_795_155_600.0


def make_round(number: int) -> list[Reading]:
    """One new RuuviTag format 5 reading for each of the SENSORS tags."""
    readings = []
    for sensor in range(SENSORS):
        i = number * SENSORS + sensor
        payload = ruuvi_payload(i, sensor, number)
        decoded = decode(payload)
        assert isinstance(decoded, Decoded)
        readings.append(
            Reading(
                ts=START + number + sensor / 1000,
                address=tag_address(sensor),
                integration="ruuvi",
                measurements=canonical_measurements(decoded),
                model=decoded.model,
                format=decoded.format,
                rssi=-60 - i % 30,
                sequence=decoded.sequence,
                name=f"Ruuvi {sensor:04X}",
            )
        )
    return readings


# -- the subscriber (a separate process) ----------------------------------------------------


async def subscriber(port: int) -> None:
    """Counts what arrives; answers `reset`, `states N` and `topics N` on stdin with the
    monotonic time at which the count was reached."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    counts = {"states": 0}
    topics: set[str] = set()
    waiters: list[tuple[str, int, asyncio.Future[float]]] = []

    def check() -> None:
        for waiter in list(waiters):
            kind, target, future = waiter
            reached = counts["states"] if kind == "states" else len(topics)
            if reached >= target and not future.done():
                future.set_result(time.monotonic())
                waiters.remove(waiter)

    async def receive(client: aiomqtt.Client) -> None:
        async for message in client.messages:
            if not message.payload:
                continue
            topic = str(message.topic)
            if topic.endswith("/state"):
                counts["states"] += 1
            topics.add(topic)
            if waiters:
                check()

    async with aiomqtt.Client("127.0.0.1", port, max_inflight_messages=100) as client:
        await client.subscribe("homeassistant/#", qos=1)
        await client.subscribe(f"{PREFIX}/sensor/+/state", qos=1)
        task = loop.create_task(receive(client))
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        while line := (await reader.readline()).decode().strip():
            command, _, argument = line.partition(" ")
            if command == "reset":
                counts["states"] = 0
                topics.clear()
                answer = "ok"
            elif command == "count":
                answer = f"{counts['states']} states, {len(topics)} topics"
            else:
                future: asyncio.Future[float] = loop.create_future()
                waiters.append((command, int(argument), future))
                check()
                try:
                    answer = repr(await asyncio.wait_for(future, 30))
                except TimeoutError:
                    answer = "timeout"
            sys.stdout.write(answer + "\n")
            sys.stdout.flush()
        task.cancel()


class Subscriber:
    """The main process's handle on the subscriber process."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc

    @classmethod
    async def start(cls, port: int, cpu: int | None) -> Subscriber:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--subscriber",
            str(port),
            *(["--cpu", str(cpu)] if cpu is not None else []),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        sub = cls(proc)
        assert await sub._line() == "ready"
        return sub

    async def _line(self) -> str:
        assert self._proc.stdout is not None
        return (await self._proc.stdout.readline()).decode().strip()

    async def ask(self, command: str) -> str:
        assert self._proc.stdin is not None
        self._proc.stdin.write(command.encode() + b"\n")
        await self._proc.stdin.drain()
        answer = await self._line()
        if answer == "timeout":
            raise SystemExit(f"subscriber timed out on {command!r} ({await self.ask('count')})")
        return answer

    async def reached(self, command: str) -> float:
        return float(await self.ask(command))

    async def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        await self._proc.wait()


# -- the hub side ---------------------------------------------------------------------------


async def measure_states(
    publisher: MqttPublisher, bus: EventBus, sub: Subscriber, rounds: list[list[Reading]]
) -> float:
    await sub.ask("reset")
    counters = publisher.counters
    handled = counters.readings
    started = time.monotonic()
    for number, readings in enumerate(rounds):
        # A round goes to the bus once the sender has taken the one before (it may still be
        # waiting for the acknowledgements): the sender is never idle, and no reading is
        # replaced by a newer one before it is sent.
        while counters.readings < handled + SENSORS * number or publisher.waiting_states:
            if time.monotonic() - started > 60:
                raise SystemExit(f"stuck after {counters.readings - handled} readings")
            # Not sleep(0): spinning would take the core from the publisher it measures.
            await asyncio.sleep(0.001)
        for reading in readings:
            bus.publish(reading)
    done = await sub.reached(f"states {SENSORS * len(rounds)}")
    return SENSORS * len(rounds) / (done - started)


async def measure_reference(port: int, sub: Subscriber, rounds: list[list[Reading]]) -> float:
    """The same payloads from a bare aiomqtt client, streamed as the publisher streams them."""
    payloads = [state_payload(r) for readings in rounds for r in readings]
    topics = [f"{PREFIX}/sensor/{sensor_id(tag_address(s))}/state" for s in range(SENSORS)]
    nodelay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
    async with aiomqtt.Client(
        "127.0.0.1", port, max_inflight_messages=WINDOW, socket_options=nodelay
    ) as client:
        client.pending_calls_threshold = 1_000_000
        window = asyncio.Semaphore(WINDOW)

        async def one(i: int) -> None:
            async with window:
                await client.publish(topics[i % SENSORS], payloads[i], qos=1, retain=True)

        await sub.ask("reset")
        started = time.monotonic()
        await asyncio.gather(*(one(i) for i in range(len(payloads))))
        done = await sub.reached(f"states {len(payloads)}")
    return len(payloads) / (done - started)


async def measure_resync(port: int, sub: Subscriber, expected_topics: int) -> float:
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await sub.ask("reset")
        started = time.monotonic()
        await client.publish("homeassistant/status", b"online", qos=1)
        done = await sub.reached(f"topics {expected_topics}")
    return done - started


async def run(args: argparse.Namespace, cpus: list[int]) -> dict[str, Any]:
    with Mosquitto(extra=BROKER) as broker, tempfile.TemporaryDirectory() as tmp:
        sub = await Subscriber.start(broker.port, cpus[1] if len(cpus) > 1 else None)
        settings = MqttConfig(
            enabled=True,
            host="127.0.0.1",
            port=broker.port,
            topic_prefix=PREFIX,
            min_interval=0,
            poll_interval=3600,
        )
        bus = EventBus()
        store = SqliteStore(StoreConfig(path=Path(tmp) / "hub.db"), SystemClock())
        await store.open()
        scheduler = Scheduler(SchedulerConfig())
        publisher = MqttPublisher(
            settings, bus=bus, store=store, scheduler=scheduler, client_id="bench"
        )
        bus.start()
        scheduler.start()
        await publisher.start()
        try:
            async with asyncio.timeout(10):
                await publisher.connection.wait_connected()
            warm_up = [make_round(n) for n in range(WARM_UP)]
            # Warm-up: every sensor announced, its interval learned (which announces it
            # again, with `expire_after`), its first states out.
            await measure_states(publisher, bus, sub, warm_up)
            configs = SENSORS * (len(warm_up[0][0].measurements) + 1)  # and the rssi
            expected_topics = configs + SENSORS
            state_rates, reference_rates, resyncs = [], [], []
            for repeat in range(args.repeats):
                # Newer readings each time: the publisher ignores one older than the last.
                first = WARM_UP + repeat * args.rounds
                rounds = [make_round(n) for n in range(first, first + args.rounds)]
                state_rates.append(await measure_states(publisher, bus, sub, rounds))
                reference_rates.append(await measure_reference(broker.port, sub, rounds))
                resyncs.append(await measure_resync(broker.port, sub, expected_topics))
                print(
                    f"  repeat {repeat + 1}: {state_rates[-1]:,.0f} states/s "
                    f"(reference {reference_rates[-1]:,.0f}), resync {resyncs[-1]:.3f} s"
                )
            superseded = publisher.counters.superseded
        finally:
            await publisher.stop()
            await bus.stop()
            scheduler.shutdown()
            await store.close()
            await sub.close()
    states_per_s = statistics.median(state_rates)
    reference = statistics.median(reference_rates)
    return {
        "states_per_s": round(states_per_s),
        "resync_s": round(statistics.median(resyncs), 3),
        "reference_states_per_s": round(reference),
        "ratio": round(states_per_s / reference, 2),
        "sensors": SENSORS,
        "discovery_configs": configs,
        "resync_messages": expected_topics,
        "superseded": superseded,
        "resync_max_s": round(max(resyncs), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller run, same figures")
    parser.add_argument("--rounds", type=int, help="rounds of 200 readings per repeat")
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--subscriber", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.subscriber:
        if args.cpu is not None:
            os.sched_setaffinity(0, {args.cpu})
        asyncio.run(subscriber(args.subscriber))
        return
    args.rounds = args.rounds or (25 if args.quick else 100)
    args.repeats = args.repeats or (3 if args.quick else 5)

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[0]})
    print(
        f"mqtt: {SENSORS} RuuviTags, {args.rounds} rounds of new readings per repeat, "
        f"median of {args.repeats}; Mosquitto {broker_version()}, QoS 1, retained states"
    )
    print(f"hub side pinned to CPU {cpus[0]}, subscriber to CPU {cpus[-1]}")
    result = asyncio.run(run(args, cpus))
    print(f"states through the broker:       {result['states_per_s']:>10,} /s")
    print(f"reference (bare aiomqtt):        {result['reference_states_per_s']:>10,} /s")
    print(f"ratio publisher/reference:       {result['ratio']:>10.2f}")
    print(
        f"resync after HA online:          {result['resync_s']:>10.3f} s "
        f"({result['resync_messages']:,} configs and states; worst {result['resync_max_s']} s)"
    )
    print(json.dumps(result))


def broker_version() -> str:
    import subprocess

    from hub.mqtt.testing import _binary

    out = subprocess.run([_binary(), "-h"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).splitlines()[:1]
    return first[0].split("version")[-1].strip() if first else "?"


if __name__ == "__main__":
    main()
