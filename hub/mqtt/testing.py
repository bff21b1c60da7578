"""A real Mosquitto broker on a loopback port, for the tests and the benchmark.

Started from the Debian package's binary with a temporary config; `stop()` and `start()`
again bring it back on the same port (with `persistence false` it forgets every retained
message, as a restarted broker without a database would).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import aiomqtt

from hub.bus import EventBus
from hub.events import Reading
from hub.integrations import IntegrationRegistry
from hub.records import parse_line
from hub.router import Router


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def latest_readings(lines: list[str]) -> dict[str, Reading]:
    """The last new reading of every sensor in a capture, as the hub's router makes them."""
    router = Router(IntegrationRegistry.discover(), EventBus())
    latest: dict[str, Reading] = {}
    for line in lines:
        event = router.route(parse_line(line))
        if isinstance(event, Reading):
            latest[event.address] = event
    return latest


def _binary() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None
    )
    if found is None:
        raise RuntimeError("mosquitto is not installed (scripts/lib/test-services.sh installs it)")
    return found


class Mosquitto:
    """One broker process; a context manager that always stops it and removes its files."""

    def __init__(
        self,
        *,
        port: int | None = None,
        extra: str = "",
        verbose: bool = False,
        anonymous: bool = True,
    ) -> None:
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.dir = Path(tempfile.mkdtemp(prefix="mqtt-test-"))
        # Mosquitto drops to its own user when started as root: it must be able to read here.
        self.dir.chmod(0o755)
        self.extra = extra
        self._verbose = verbose
        self._anonymous = anonymous
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = self.dir / "mosquitto.log"

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def log(self) -> str:
        return self._log.read_text(errors="replace") if self._log.exists() else ""

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            return
        conf = self.dir / "mosquitto.conf"
        lines = [
            f"listener {self.port} {self.host}",
            f"allow_anonymous {'true' if self._anonymous else 'false'}",
            "persistence false",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
        ]
        if self._verbose:
            lines += ["log_type notice", "log_type information"]
        conf.write_text("\n".join(lines) + "\n" + self.extra + "\n")
        conf.chmod(0o644)
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen([_binary(), "-c", str(conf)], stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited at start:\n{self.log[-2000:]}")
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"mosquitto not listening on {self.port} after {timeout} s")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class Seen:
    """One message a Collector received."""

    topic: str
    payload: bytes
    retain: bool
    at: float  # loop time


class Collector:
    """A subscriber that keeps every message, and the latest payload per topic."""

    def __init__(
        self, port: int, topics: tuple[str, ...] = ("#",), host: str = "127.0.0.1", **client: Any
    ) -> None:
        self._client = aiomqtt.Client(host, port, **client)
        self._topics = topics
        self._task: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()
        self.messages: list[Seen] = []
        self.latest: dict[str, bytes] = {}

    async def __aenter__(self) -> Collector:
        await self._client.__aenter__()
        for topic in self._topics:
            await self._client.subscribe(topic, qos=1)
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._client.__aexit__(exc_type, exc, tb)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        async for message in self._client.messages:
            payload = message.payload
            data = bytes(payload) if isinstance(payload, bytes | bytearray) else b""
            topic = str(message.topic)
            self.messages.append(Seen(topic, data, message.retain, loop.time()))
            self.latest[topic] = data
            self._arrived.set()

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> None:
        await self._client.publish(topic, payload, qos=qos, retain=retain)

    def clear(self) -> None:
        self.messages.clear()
        self.latest.clear()

    async def wait_until(
        self, condition: Callable[[], bool], within: float, what: str = "messages"
    ) -> float:
        """Seconds until `condition()` held; raises TimeoutError naming `what`."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + within
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{what} not seen within {within} s")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(remaining, 0.1))
        return loop.time() - started
