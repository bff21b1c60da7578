"""The socket source: advertisement records (contract 1) from local programs, one per line.

Any number of clients connect to a Unix stream socket or a TCP port and write JSON lines.
Each line is stamped when it is read (with the hub's clock, `timestamps: now`) and queued
for the hub; one task hands the queue to the sink, so advertisements reach the router one
at a time whatever the number of clients. The queue is bounded and never drops: when it is
full the readers wait, the kernel's socket buffers fill, and the clients' writes block.
A slow hub thus slows its clients down instead of losing their lines.

A bad line (not JSON, not a record, too long) is counted and skipped; the connection stays
open. The socket file is created with mode 0660, a stale one left by a crash is replaced at
start, and the file is removed at stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson
from loguru import logger

from hub.clock import Clock
from hub.config.models import SourceSettings
from hub.errors import HubError, RecordError
from hub.events import Advertisement
from hub.health import HealthStatus
from hub.integrations import AdvertisementSink, SourceContext
from hub.records import parse_record
from integrations.socket.lines import TOO_LONG, LineSplitter
from integrations.socket.settings import SocketSettings

SOCKET_MODE = 0o660
_READ_CHUNK = 65_536
# The delivering task yields to the loop after this many advertisements in a row.
_YIELD_EVERY = 64
# At stop, advertisements already read get this long to reach the sink.
_FINAL_DRAIN_S = 2.0
# Bad lines: the first few are logged, then a count at most this often.
_LOG_FIRST = 5
_LOG_INTERVAL_S = 300.0
_SNIPPET = 80


class SocketSourceError(HubError):
    """The socket cannot be set up (a path in the way, an address in use)."""


@dataclass(slots=True)
class SocketCounters:
    """What the source has done since the hub started (shown in health details)."""

    lines: int = 0
    delivered: int = 0
    bad_lines: int = 0
    too_long: int = 0
    # Times a reader found the queue full and had to wait (back-pressure on a client).
    waits: int = 0
    sink_errors: int = 0
    client_errors: int = 0  # connections closed after an unexpected error
    clients: int = 0  # connections accepted
    connected: int = 0  # connections open now
    undelivered_at_stop: int = 0


class SocketSource:
    """See the module docstring."""

    def __init__(self, name: str, settings: SocketSettings, context: SourceContext) -> None:
        self.name = name
        self.settings = settings
        self._clock: Clock = context.clock
        # Stamped at reception from the wall clock: the clock guard may hold and re-stamp
        # these while the clock is not trustworthy. Recorded times are the client's own.
        self.live_timestamps = settings.timestamps == "now"
        self.counters = SocketCounters()
        # Where clients can connect, once listening: the socket path or "host:port".
        self.listening: list[str] = []
        self._queue: asyncio.Queue[Advertisement] = asyncio.Queue(settings.queue_size)
        self._clients: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._socket_inode: int | None = None
        self._last_bad_log = -_LOG_INTERVAL_S
        self._listen_error = ""

    @classmethod
    def create(cls, name: str, settings: SourceSettings, context: SourceContext) -> SocketSource:
        assert isinstance(settings, SocketSettings)
        return cls(name, settings, context)

    # -- running -------------------------------------------------------------------------

    async def run(self, sink: AdvertisementSink) -> None:
        try:
            server = await self._listen()
        except OSError as exc:
            self._listen_error = f"cannot listen on {self.settings.endpoint()}: {exc}"
            raise SocketSourceError(self._listen_error) from exc
        except SocketSourceError as exc:
            self._listen_error = str(exc)
            raise
        self._listen_error = ""
        try:
            await self._deliver(sink)
        finally:
            await self._shutdown(server, sink)

    async def _listen(self) -> asyncio.Server:
        settings = self.settings
        if settings.path is not None:
            path = settings.path
            await _clear_stale(path)
            server = await asyncio.start_unix_server(self._serve, path=str(path))
            try:
                self._socket_inode = _restrict(path)
            except OSError:
                server.close()
                raise
            self.listening = [str(path)]
        else:
            server = await asyncio.start_server(self._serve, host=settings.host, port=settings.port)
            self.listening = [_host_port(s.getsockname()) for s in server.sockets]
            if not settings.is_loopback():
                logger.warning(
                    "Source {}: listening on {} beyond this machine; anyone who can reach it "
                    "can feed the hub",
                    self.name,
                    ", ".join(self.listening),
                )
        logger.info(
            "Source {}: listening on {} (timestamps {})",
            self.name,
            ", ".join(self.listening),
            self.settings.timestamps,
        )
        return server

    async def _deliver(self, sink: AdvertisementSink) -> None:
        queue = self._queue
        counters = self.counters
        since_yield = 0
        while True:
            adv = await queue.get()
            try:
                await sink(adv)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the hub's failure must not drop the clients
                counters.sink_errors += 1
                if counters.sink_errors % 1000 == 1:
                    logger.opt(exception=True).error(
                        "Source {}: the hub failed on an advertisement from {} ({} so far)",
                        self.name,
                        adv.address,
                        counters.sink_errors,
                    )
            else:
                counters.delivered += 1
            since_yield += 1
            if since_yield >= _YIELD_EVERY:
                since_yield = 0
                await asyncio.sleep(0)

    async def _shutdown(self, server: asyncio.Server, sink: AdvertisementSink) -> None:
        """Stop listening and reading, deliver what was read, remove the socket file."""
        server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._clients):
            task.cancel()
        await asyncio.gather(*self._clients, return_exceptions=True)
        queue = self._queue
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_FINAL_DRAIN_S):
                while not queue.empty():
                    adv = queue.get_nowait()
                    await sink(adv)
                    self.counters.delivered += 1
        self.counters.undelivered_at_stop += queue.qsize()
        if queue.qsize():
            logger.warning(
                "Source {}: {} advertisements read but not delivered at stop",
                self.name,
                queue.qsize(),
            )
        self._remove_socket_file()
        self.listening = []

    def _remove_socket_file(self) -> None:
        path = self.settings.path
        if path is None or self._socket_inode is None:
            return
        with contextlib.suppress(FileNotFoundError):
            # Only our own socket: another process may have replaced it meanwhile.
            if path.lstat().st_ino == self._socket_inode:
                path.unlink()
        self._socket_inode = None

    # -- one client ----------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        self._writers.add(writer)
        counters = self.counters
        counters.clients += 1
        counters.connected += 1
        peer = _peer(writer)
        logger.debug("Source {}: client {} connected ({} now)", self.name, peer, counters.connected)
        splitter = LineSplitter(self.settings.max_line)
        try:
            while True:
                chunk = await reader.read(_READ_CHUNK)
                if not chunk:
                    break
                for line in splitter.feed(chunk):
                    if line is TOO_LONG:
                        counters.too_long += 1
                        self._log_bad(peer, f"line longer than {self.settings.max_line} bytes")
                    else:
                        await self._accept(line, peer)
            last = splitter.finish()
            if last is not None:
                await self._accept(last, peer)
        except ConnectionError as exc:
            logger.debug("Source {}: client {} connection lost: {}", self.name, peer, exc)
        except Exception:  # noqa: BLE001 - one client's trouble must not reach the others
            counters.client_errors += 1
            logger.opt(exception=True).error(
                "Source {}: closing client {} after an unexpected error", self.name, peer
            )
        finally:
            counters.connected -= 1
            self._writers.discard(writer)
            self._clients.discard(task)
            writer.close()
            logger.debug(
                "Source {}: client {} disconnected ({} now)", self.name, peer, counters.connected
            )

    async def _accept(self, line: bytes, peer: str) -> None:
        """Parse, stamp and queue one line (waiting while the queue is full)."""
        if not line or line.isspace():
            return  # an empty line is no line
        counters = self.counters
        counters.lines += 1
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            counters.bad_lines += 1
            self._log_bad(peer, f"invalid JSON: {exc.msg} at column {exc.colno}", line)
            return
        if self.live_timestamps and type(record) is dict:
            record.pop("ts", None)
        try:
            adv = parse_record(record, now=self._clock.time(), source=self.name)
        except RecordError as exc:
            counters.bad_lines += 1
            self._log_bad(peer, str(exc), line)
            return
        queue = self._queue
        if queue.full():
            counters.waits += 1
            await queue.put(adv)
        else:
            queue.put_nowait(adv)

    def _log_bad(self, peer: str, reason: str, line: bytes = b"") -> None:
        """Log a bad line (already counted): the first few, then at most every 5 minutes."""
        bad = self.counters.bad_lines + self.counters.too_long
        now = time.monotonic()
        if bad <= _LOG_FIRST or now - self._last_bad_log >= _LOG_INTERVAL_S:
            self._last_bad_log = now
            snippet = line[:_SNIPPET].decode("utf-8", "replace")
            logger.warning(
                "Source {}: bad line from {} ({}){}; {} bad so far{}",
                self.name,
                peer,
                reason,
                f": {snippet!r}" if snippet else "",
                bad,
                "; counting them quietly" if bad == _LOG_FIRST else "",
            )

    # -- what others may ask -------------------------------------------------------------

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    def health(self) -> HealthStatus:
        """ok while listening; failing when it cannot listen. Counters in the details."""
        details: dict[str, object] = {
            **asdict(self.counters),
            "queue_depth": self._queue.qsize(),
            "queue_size": self.settings.queue_size,
            "listening": list(self.listening),
        }
        if self._listen_error:
            return HealthStatus("failing", self._listen_error, details)
        if not self.listening:
            return HealthStatus("degraded", "not listening", details)
        return HealthStatus("ok", "", details)


async def _clear_stale(path: Path) -> None:
    """Remove a socket file left by a process that is gone; refuse anything else."""
    if not _socket_file_exists(path):
        return
    try:
        _, writer = await asyncio.wait_for(asyncio.open_unix_connection(str(path)), 2.0)
    except (ConnectionRefusedError, FileNotFoundError):
        _remove(path)
        logger.info("Replaced the stale socket {} (its process is gone)", path)
        return
    except (OSError, TimeoutError) as exc:
        raise SocketSourceError(f"{path} exists and cannot be checked: {exc}") from exc
    writer.close()
    raise SocketSourceError(f"{path} is in use: another process is listening on it")


def _socket_file_exists(path: Path) -> bool:
    """Whether a socket file is at `path`; raises if something else is there."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return False
    if not stat.S_ISSOCK(mode):
        raise SocketSourceError(f"{path} exists and is not a socket; not replacing it")
    return True


def _restrict(path: Path) -> int:
    """Let only the owner and the group connect; returns the socket file's inode."""
    os.chmod(path, SOCKET_MODE)
    return path.stat().st_ino


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def _host_port(name: object) -> str:
    if isinstance(name, tuple) and len(name) >= 2:
        host, port = name[0], name[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(name)


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if peer:
        return _host_port(peer)
    return f"unix#{id(writer) & 0xFFFF:04x}"
