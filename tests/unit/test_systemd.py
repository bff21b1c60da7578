"""The notify protocol against real AF_UNIX datagram sockets, as systemd would receive it."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hub.systemd import StatusSummary, SystemdNotifier, socket_address, watchdog_seconds


class Receiver:
    """A bound datagram socket playing systemd; records (monotonic time, message)."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.05)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        # A thread, not the event loop: it must keep receiving while the loop is blocked.
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.messages.append((time.monotonic(), data.decode()))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def texts(self) -> list[str]:
        return [m for _, m in self.messages]

    def times_of(self, text: str) -> list[float]:
        return [t for t, m in self.messages if text in m.split("\n")]


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[str, Receiver]]:
    path = str(tmp_path / "notify.sock")
    r = Receiver(path)
    try:
        yield path, r
    finally:
        r.close()


async def settle(receiver: Receiver, count: int, within: float = 2.0) -> None:
    deadline = time.monotonic() + within
    while len(receiver.messages) < count and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.01)  # the receiver is a thread: poll it


def test_addresses_and_watchdog_settings_from_the_environment() -> None:
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert socket_address("@hub/notify") == "\0hub/notify"
    assert socket_address("vsock:2:1234") is None
    assert watchdog_seconds({"WATCHDOG_USEC": "30000000"}) == 30.0
    assert watchdog_seconds({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    mine = {"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}
    assert watchdog_seconds(mine) == 2.0
    assert watchdog_seconds({"WATCHDOG_USEC": "soon"}) is None
    assert not SystemdNotifier.from_environ({}).enabled
    assert not SystemdNotifier.from_environ({}).notify("READY=1")


async def test_ready_status_and_stopping_reach_a_path_socket(
    receiver: tuple[str, Receiver],
) -> None:
    path, r = receiver
    notifier = SystemdNotifier.from_environ({"NOTIFY_SOCKET": path})
    notifier.started(lambda: "6 sensors seen, 42 readings/min")
    notifier.stopping()
    notifier.close()
    await settle(r, 2)
    assert r.texts() == [
        "READY=1\nSTATUS=6 sensors seen, 42 readings/min",
        "STOPPING=1\nSTATUS=stopping",
    ]


async def test_abstract_socket_names_work() -> None:
    name = f"hub-test-{os.getpid()}-{time.monotonic_ns()}"
    r = Receiver("\0" + name)
    try:
        notifier = SystemdNotifier.from_environ({"NOTIFY_SOCKET": "@" + name})
        notifier.started()
        notifier.close()
        await settle(r, 1)
        assert r.texts() == ["READY=1\nSTATUS=running"]
    finally:
        r.close()


async def test_watchdog_pings_stop_while_the_loop_is_blocked_and_resume_after(
    receiver: tuple[str, Receiver],
) -> None:
    path, r = receiver
    notifier = SystemdNotifier.from_environ({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
    assert notifier.watchdog == 0.4
    notifier.started()
    try:
        await asyncio.sleep(0.5)  # pings every 0.1 s
        before = r.times_of("WATCHDOG=1")
        assert len(before) >= 3
        blocked_at = time.monotonic()
        time.sleep(1.0)  # noqa: ASYNC251 - the event loop is stuck: nothing may reach systemd
        unblocked_at = time.monotonic()
        await asyncio.sleep(0.6)
    finally:
        notifier.close()
    pings = r.times_of("WATCHDOG=1")
    during = [t for t in pings if blocked_at + 0.05 < t < unblocked_at]
    assert during == [], "a ping was sent while the loop was blocked"
    after = [t for t in pings if t > unblocked_at]
    assert len(after) >= 3, "pings resume once the loop is responsive"
    # The first wake-up after the block sees the lag and withholds its ping.
    assert notifier.watchdog_withheld >= 1


async def test_a_starved_loop_gets_no_pings_even_though_the_ping_task_runs(
    receiver: tuple[str, Receiver],
) -> None:
    path, r = receiver
    notifier = SystemdNotifier.from_environ({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
    stop = False

    async def hog() -> None:
        # Alive but starving the loop: 0.25 s of CPU between yields.
        while not stop:
            time.sleep(0.25)  # noqa: ASYNC251 - starving the loop on purpose
            await asyncio.sleep(0)

    notifier.started()
    await asyncio.sleep(0.3)
    task = asyncio.create_task(hog())
    started = time.monotonic()
    await asyncio.sleep(1.5)
    stop = True
    await task
    notifier.close()
    late = [t for t in r.times_of("WATCHDOG=1") if t > started + 0.3]
    assert late == [], "a loop lagging longer than a ping interval must not ping"
    assert notifier.watchdog_withheld >= 3


async def test_a_vanished_systemd_is_logged_once_and_never_raises(tmp_path: Path) -> None:
    notifier = SystemdNotifier(str(tmp_path / "nobody-listens.sock"), watchdog=None)
    assert notifier.enabled
    assert notifier.notify("READY=1") is False
    assert notifier.notify("STATUS=x") is False
    notifier.close()


def test_status_summary_counts_sensors_and_readings_per_minute() -> None:
    clock = [0.0]
    counters = SimpleNamespace(readings=0)
    health = SimpleNamespace(name="health", last_report=SimpleNamespace(state="degraded"))
    hub: Any = SimpleNamespace(
        router=SimpleNamespace(counters=counters, known_sensors={"A", "B", "C"}),
        store=SimpleNamespace(counters=SimpleNamespace(committed=7)),
        components=[health],
    )
    summary = StatusSummary(hub, window=60.0, monotonic=lambda: clock[0])
    assert summary() == "3 sensors seen, 0 readings/min, 7 stored, health degraded"
    clock[0], counters.readings = 30.0, 20
    assert summary().startswith("3 sensors seen, 40 readings/min")
    clock[0], counters.readings = 120.0, 20
    assert summary().startswith("3 sensors seen, 0 readings/min")
