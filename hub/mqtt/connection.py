"""One MQTT connection that keeps itself up.

`MqttConnection.run()` connects, announces the client on its status topic (`online`, with
the broker holding `offline` as the last will for an unclean end), subscribes, and then
runs two things side by side until the connection breaks: the receive loop, which hands
each message to a handler, and the owner's session (the publisher's sender). When either
ends in an error the connection is dropped and tried again after an exponential backoff
with jitter, capped at 30 s, so a broker outage costs a handful of attempts, not a storm.
Nothing outside this module ever waits for the broker: the owner keeps what it wants to
send and hands it over when a session runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import ssl
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import aiomqtt
from loguru import logger

from hub.errors import HubError
from hub.health import HealthStatus
from hub.mqtt.config import BrokerSettings

# A connection that stayed up this long was healthy: the next outage backs off from the start.
_STABLE_S = 10.0
# Longest wait between two attempts.
BACKOFF_CAP_S = 30.0
# Down for longer than this, the connection's health is failing rather than degraded.
_FAILING_AFTER_S = 60.0
# A handler that fails is logged at most this often; every failure is counted.
_ERROR_LOG_INTERVAL_S = 60.0
# paho-mqtt warns about more than 10 unacknowledged publishes; the sender keeps many in
# flight on purpose (that is what makes a resync fast).
_PENDING_CALLS_WARNING = 1_000_000
# QoS 1/2 messages paho keeps unacknowledged at once (the publisher's stream window).
_IN_FLIGHT = 64

MessageHandler = Callable[[aiomqtt.Message], None]
Session = Callable[[aiomqtt.Client], Coroutine[Any, Any, None]]


class MqttUnavailable(HubError):
    """The broker cannot be reached right now."""


class Backoff:
    """Exponential backoff with jitter: attempt n waits between half and all of
    min(cap, first * 2**n), so clients that lost the same broker do not return in step."""

    def __init__(
        self, first: float = 1.0, cap: float = BACKOFF_CAP_S, rng: random.Random | None = None
    ) -> None:
        self.first = first
        self.cap = cap
        self.failures = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        ceiling = min(self.cap, self.first * 2.0 ** min(self.failures, 30))
        self.failures += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.failures = 0


@dataclass(slots=True)
class ConnectionCounters:
    """What one connection did so far."""

    attempts: int = 0
    connects: int = 0
    failed_attempts: int = 0
    disconnects: int = 0
    messages_in: int = 0
    incoming_dropped: int = 0
    handler_errors: int = 0
    last_error: str = ""


def _mailbox(counters: ConnectionCounters) -> type[asyncio.Queue[aiomqtt.Message]]:
    """aiomqtt's incoming queue, bounded: when full the oldest message goes, and is counted."""

    class Mailbox(asyncio.Queue[aiomqtt.Message]):
        def put_nowait(self, item: aiomqtt.Message) -> None:
            if self.full():
                self.get_nowait()
                counters.incoming_dropped += 1
            super().put_nowait(item)

    return Mailbox


def describe(exc: BaseException) -> str:
    """A short, one-line reason for a connection error."""
    cause = exc.__cause__ or exc.__context__
    text = str(exc) or type(exc).__name__
    if cause is not None and str(cause) and str(cause) not in text:
        text = f"{text}: {cause}"
    return text.replace("\n", " ")


class MqttConnection:
    """A client that reconnects by itself; see the module docstring."""

    def __init__(
        self,
        settings: BrokerSettings,
        *,
        name: str,
        client_id: str,
        status_topic: str | None = None,
        subscriptions: Sequence[tuple[str, int]] = (),
        on_message: MessageHandler | None = None,
        session: Session | None = None,
        incoming_queue: int = 10_000,
        backoff: Backoff | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.settings = settings
        self.name = name
        self.client_id = client_id
        self.status_topic = status_topic
        self._subscriptions = tuple(subscriptions)
        self._on_message = on_message
        self._session = session
        self._incoming_queue = incoming_queue
        self._backoff = backoff or Backoff()
        self._timeout = timeout
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._down_since = time.monotonic()
        self._attempts_while_down = 0
        self._up_at: float | None = None
        self._last_handler_log = -_ERROR_LOG_INTERVAL_S
        self.counters = ConnectionCounters()

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    @property
    def connected(self) -> bool:
        return self._client is not None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Run the connection in its own task on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self.run(), name=f"mqtt:{self.name}"
            )

    async def stop(self, grace: float = 3.0) -> None:
        """Say `offline` (a clean disconnect sends no last will), then disconnect."""
        task, self._task = self._task, None
        if task is None:
            return
        client = self._client
        if client is not None and self.status_topic:
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await client.publish(
                    self.status_topic, b"offline", qos=1, retain=True, timeout=grace / 2
                )
        task.cancel()
        _, pending = await asyncio.wait({task}, timeout=grace)
        if pending:  # the broker does not answer the disconnect: stop waiting for it
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def wait_connected(self) -> None:
        """Wait until connected (tests, benchmarks; bound it with asyncio.timeout)."""
        await self._connected.wait()

    async def run(self) -> None:
        """Connect, serve, and reconnect with backoff, until cancelled."""
        while True:
            self.counters.attempts += 1
            self._attempts_while_down += 1
            self._up_at = None
            try:
                async with self._make_client() as client:
                    await self._serve(client)
            except aiomqtt.MqttError as exc:
                self.counters.last_error = describe(exc)
            except Exception as exc:  # noqa: BLE001 - supervised boundary of the connection
                self.counters.last_error = f"{type(exc).__name__}: {exc}"
                logger.opt(exception=exc).error(
                    "MQTT {}: session failed unexpectedly; reconnecting", self.name
                )
            finally:
                self._went_down()
            connected_at = self._connected_at()
            if connected_at is None:
                self.counters.failed_attempts += 1
            elif time.monotonic() - connected_at >= _STABLE_S:
                self._backoff.reset()
            delay = self._backoff.next()
            self._log_down(connected_at is not None, delay)
            await asyncio.sleep(delay)

    def _connected_at(self) -> float | None:
        return self._up_at

    # -- inside one connection -----------------------------------------------------------

    def _make_client(self) -> aiomqtt.Client:
        settings = self.settings
        tls = settings.tls
        tls_params = None
        if tls.enabled:
            tls_params = aiomqtt.TLSParameters(
                ca_certs=str(tls.ca_file) if tls.ca_file else None,
                certfile=str(tls.cert_file) if tls.cert_file else None,
                keyfile=str(tls.key_file) if tls.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        will = (
            aiomqtt.Will(self.status_topic, b"offline", qos=1, retain=True)
            if self.status_topic
            else None
        )
        client = aiomqtt.Client(
            settings.host,
            settings.port,
            username=settings.username,
            password=settings.password.get_secret_value() if settings.password else None,
            identifier=self.client_id,
            will=will,
            clean_session=True,
            keepalive=int(settings.keepalive),
            timeout=self._timeout,
            tls_params=tls_params,
            tls_insecure=tls.insecure if tls.enabled else None,
            max_queued_incoming_messages=self._incoming_queue,
            queue_type=_mailbox(self.counters),
            max_inflight_messages=_IN_FLIGHT,
            # Small packets go out at once rather than waiting for the previous one's ACK.
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
        client.pending_calls_threshold = _PENDING_CALLS_WARNING
        return client

    async def _serve(self, client: aiomqtt.Client) -> None:
        if self.status_topic:
            await client.publish(self.status_topic, b"online", qos=1, retain=True)
        for topic, qos in self._subscriptions:
            await client.subscribe(topic, qos=qos)
        self._went_up(client)
        receive = asyncio.create_task(self._receive(client), name=f"mqtt:{self.name}:receive")
        tasks: set[asyncio.Task[None]] = {receive}
        if self._session is not None:
            tasks.add(asyncio.create_task(self._session(client), name=f"mqtt:{self.name}:send"))
        try:
            while True:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    error = task.exception()
                    if error is not None:
                        raise error
                    tasks.discard(task)
                if receive in done:
                    raise aiomqtt.MqttError("the message stream ended")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _receive(self, client: aiomqtt.Client) -> None:
        # The iterator also notices a lost connection: it raises MqttError then.
        handler = self._on_message
        async for message in client.messages:
            self.counters.messages_in += 1
            if handler is None:
                continue
            try:
                handler(message)
            except Exception:  # noqa: BLE001 - one bad message must not drop the connection
                self.counters.handler_errors += 1
                now = time.monotonic()
                if now - self._last_handler_log >= _ERROR_LOG_INTERVAL_S:
                    self._last_handler_log = now
                    logger.opt(exception=True).error(
                        "MQTT {}: handling a message on {} failed ({} so far)",
                        self.name,
                        message.topic,
                        self.counters.handler_errors,
                    )

    def _went_up(self, client: aiomqtt.Client) -> None:
        counters = self.counters
        counters.connects += 1
        down_for = time.monotonic() - self._down_since
        if counters.connects == 1:
            logger.info("MQTT {}: connected to {} as {}", self.name, self.where, self.client_id)
        else:
            logger.info(
                "MQTT {}: reconnected to {} after {} attempts, {:.1f} s without a connection",
                self.name,
                self.where,
                self._attempts_while_down,
                down_for,
            )
        self._attempts_while_down = 0
        self._up_at = time.monotonic()
        self._client = client
        self._connected.set()

    def _went_down(self) -> None:
        if self._client is not None:
            self.counters.disconnects += 1
            self._down_since = time.monotonic()
        self._client = None
        self._connected.clear()

    def _log_down(self, was_connected: bool, delay: float) -> None:
        error = self.counters.last_error
        if was_connected:
            logger.warning(
                "MQTT {}: connection to {} lost ({}); reconnecting in {:.1f} s",
                self.name,
                self.where,
                error,
                delay,
            )
        elif self._attempts_while_down == 1:
            logger.warning(
                "MQTT {}: cannot connect to {} ({}); retrying in {:.1f} s, backing off to {:.0f} s",
                self.name,
                self.where,
                error,
                delay,
                self._backoff.cap,
            )
        else:
            logger.debug(
                "MQTT {}: attempt {} to reach {} failed ({}); next in {:.1f} s",
                self.name,
                self._attempts_while_down,
                self.where,
                error,
                delay,
            )

    # -- for owners ----------------------------------------------------------------------

    async def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        wait_s: float | None = None,
    ) -> None:
        """Publish now; raises MqttUnavailable when not connected, aiomqtt.MqttError when
        the broker did not acknowledge it within `wait_s` (default: the client's timeout)."""
        client = self._client
        if client is None:
            raise MqttUnavailable(f"not connected to the MQTT broker {self.where}")
        await client.publish(topic, payload, qos=qos, retain=retain, timeout=wait_s)

    def health(self) -> HealthStatus:
        counters = self.counters
        details: dict[str, object] = {
            "broker": self.where,
            "connected": self.connected,
            "attempts": counters.attempts,
            "connects": counters.connects,
            "disconnects": counters.disconnects,
            "incoming_dropped": counters.incoming_dropped,
            "last_error": counters.last_error,
        }
        if self.connected:
            return HealthStatus("ok", "", details)
        down_for = time.monotonic() - self._down_since
        details["down_s"] = round(down_for, 1)
        if down_for < _FAILING_AFTER_S:
            reason = (
                f"connecting to {self.where}"
                if counters.connects == 0 and not counters.last_error
                else f"broker {self.where} unreachable: {counters.last_error}"
            )
            return HealthStatus("degraded", reason, details)
        return HealthStatus(
            "failing",
            f"broker {self.where} unreachable for {down_for:.0f} s: {counters.last_error}",
            details,
        )
