"""Notification channels against a real local HTTP server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from hub.alerts.notify import Notification, Notifier, webhook_payload
from hub.config.models import ChannelConfig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """Answers POSTs with the statuses it is told to, recording what it got."""

    def __init__(self) -> None:
        self.port = free_port()
        self.statuses: list[int] = []
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.delay = 0.0
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status, text="nope" if status >= 300 else "ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/x"


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    s = Server()
    await s.start()
    yield s
    assert s._runner is not None
    await s._runner.cleanup()


def note(kind: str = "firing", severity: str = "critical") -> Notification:
    return Notification(
        kind=kind,  # type: ignore[arg-type]
        ts=1_795_155_660.0,
        rule="freezer_warm",
        sensor="Freezer",
        address="CE:3A:88:14:6F:02",
        severity=severity,
        value=-10.0,
        message="Freezer is at -10.0 °C",
        measurement="temperature",
        started=1_795_155_650.0,
        ended=1_795_155_700.0 if kind == "resolved" else None,
    )


async def until(condition: Any, within: float = 5.0) -> None:
    for _ in range(int(within / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    pytest.fail("not in time")


async def test_webhook_is_retried_with_backoff_until_it_succeeds(server: Server) -> None:
    server.statuses = [500, 503]
    notifier = Notifier({"hook": ChannelConfig(type="webhook", url=server.url, backoff=0.05)})
    await notifier.start()
    notifier.notify(note(), ["hook"])
    await until(lambda: notifier.counters["hook"].sent == 1)
    await notifier.stop()
    counters = notifier.counters["hook"]
    assert (counters.sent, counters.retries, counters.failed) == (1, 2, 0)
    assert len(server.received) == 3


async def test_a_channel_that_keeps_failing_is_counted_and_blocks_nobody(server: Server) -> None:
    dead = f"http://127.0.0.1:{free_port()}/nobody-listens"
    notifier = Notifier(
        {
            "dead": ChannelConfig(type="webhook", url=dead, retries=1, backoff=0.05, timeout=1),
            "hook": ChannelConfig(type="webhook", url=server.url),
        }
    )
    await notifier.start()
    for _ in range(3):
        notifier.notify(note(), ["dead", "hook"])
    await until(lambda: notifier.counters["hook"].sent == 3)
    await until(lambda: notifier.counters["dead"].failed == 3)
    assert notifier.health(now=__import__("time").time()).state == "degraded"
    await notifier.stop()


async def test_a_full_queue_drops_the_oldest_and_counts_it(server: Server) -> None:
    server.delay = 0.3
    notifier = Notifier({"hook": ChannelConfig(type="webhook", url=server.url, queue_size=10)})
    await notifier.start()
    for _ in range(15):
        notifier.notify(note(), ["hook"])
    await notifier.stop(drain_timeout=0.1)
    assert notifier.counters["hook"].dropped == 5


async def test_ntfy_sends_the_message_with_title_and_priority(server: Server) -> None:
    notifier = Notifier({"phone": ChannelConfig(type="ntfy", url=server.url, token="tk")})
    await notifier.start()
    notifier.notify(note(), ["phone"])
    notifier.notify(note("resolved"), ["phone"])
    await until(lambda: notifier.counters["phone"].sent == 2)
    await notifier.stop()
    (firing_headers, firing_body), (resolved_headers, _) = server.received
    assert firing_body.decode() == "Freezer is at -10.0 °C"
    assert firing_headers["Title"] == "[FIRING] freezer_warm: Freezer"
    assert firing_headers["Priority"] == "urgent"
    assert firing_headers["Authorization"] == "Bearer tk"
    assert resolved_headers["Title"] == "[RESOLVED] freezer_warm: Freezer"


def test_webhook_payload_is_shaped_like_alertmanagers() -> None:
    payload = webhook_payload("hook", note("resolved"))
    assert payload["status"] == "resolved"
    assert payload["version"] == "4"
    (alert,) = payload["alerts"]
    assert alert["startsAt"] == "2026-11-20T06:20:50.000Z"
    assert alert["endsAt"] == "2026-11-20T06:21:40.000Z"
    assert alert["labels"]["alertname"] == "freezer_warm"
    assert alert["annotations"] == {"summary": "Freezer is at -10.0 °C", "value": "-10"}
