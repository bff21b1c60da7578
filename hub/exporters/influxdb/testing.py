"""Real servers for the exporter's tests and benchmark (not used by the hub itself).

- `VictoriaMetrics`: Debian's `victoria-metrics` on a free loopback port. It speaks the
  InfluxDB v2 write API and gives points back exactly (`export`): values, labels and
  timestamps to the millisecond. It does not check line protocol, ignores bucket and org,
  and keeps every sample it is sent (a point written twice shows twice), which is what
  lets a test see duplicates.
- `FakeInflux`: a small aiohttp server answering `/api/v2/write` the way InfluxDB does when
  things go wrong (400 with a JSON message for a bad line, 401, 429 with `Retry-After`,
  503), to test what VictoriaMetrics never does.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class VictoriaMetrics:
    """A VictoriaMetrics process that can be stopped and started again on the same port."""

    def __init__(self, directory: Path | None = None) -> None:
        self._own_dir = directory is None
        self.dir = Path(tempfile.mkdtemp(prefix="vm-test-")) if directory is None else directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        log = (self.dir / "vm.log").open("ab")
        self.proc = subprocess.Popen(
            [
                "victoria-metrics",
                f"-storageDataPath={self.dir / 'data'}",
                f"-httpListenAddr=127.0.0.1:{self.port}",
                "-retentionPeriod=100y",  # fixed historic timestamps stay
                "-search.latencyOffset=0s",  # the newest points are visible at once
                "-loggerLevel=WARN",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/health", timeout=1) as answer,
            ):
                if answer.read() == b"OK":
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"victoria-metrics did not start; see {self.dir / 'vm.log'}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def close(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> VictoriaMetrics:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rss_mib(self) -> float:
        assert self.proc is not None
        return rss_mib(self.proc.pid)

    def export(self, match: str = '{__name__=~".+"}') -> list[dict[str, Any]]:
        """Every stored sample of the series matching `match`, one dict per series."""
        with urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=30) as answer:
            answer.read()
        query = urllib.parse.urlencode(
            {"match[]": match, "start": "0", "end": str(int(time.time()) + 400 * 86400)}
        )
        with urllib.request.urlopen(f"{self.url}/api/v1/export?{query}", timeout=60) as answer:
            body = answer.read().decode()
        return [json.loads(line) for line in body.splitlines() if line.strip()]

    def samples(self, match: str = '{__name__=~".+"}') -> int:
        return sum(len(series["values"]) for series in self.export(match))


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Request:
    """One write request the fake server received."""

    at: float  # time.monotonic()
    lines: list[str]
    status: int
    headers: dict[str, str]
    query: dict[str, str]


Reply = tuple[int, dict[str, str], dict[str, str] | None]  # status, headers, JSON body
Policy = Callable[["FakeInflux", list[str]], Reply]


def accept(_server: FakeInflux, _lines: list[str]) -> Reply:
    return 204, {}, None


@dataclass
class FakeInflux:
    """An aiohttp server on loopback with InfluxDB's write endpoint; `policy` answers."""

    policy: Policy = accept
    requests: list[Request] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    port: int = 0
    tls: ssl.SSLContext | None = None  # serve HTTPS with this context
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_post("/api/v2/write", self._write)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self.port = free_port()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self.tls)
        await site.start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeInflux:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _write(self, request: web.Request) -> web.Response:
        # aiohttp has already undone a `Content-Encoding: gzip` (and would fail on a body
        # that is not what the header says).
        raw = await request.read()
        lines = [line for line in raw.decode().split("\n") if line]
        status, headers, body = self.policy(self, lines)
        self.requests.append(
            Request(time.monotonic(), lines, status, dict(request.headers), dict(request.query))
        )
        if status == 204:
            self.accepted.extend(lines)
            return web.Response(status=204)
        return web.json_response(body or {}, status=status, headers=headers)


def reject_lines(predicate: Callable[[str], bool]) -> Policy:
    """Like InfluxDB OSS: a batch holding a bad line is refused with 400 naming it."""

    def policy(_server: FakeInflux, lines: list[str]) -> Reply:
        for line in lines:
            if predicate(line):
                message = f"unable to parse '{line}': invalid field format"
                return 400, {}, {"code": "invalid", "message": message}
        return 204, {}, None

    return policy


def unauthorized(_server: FakeInflux, _lines: list[str]) -> Reply:
    return 401, {}, {"code": "unauthorized", "message": "unauthorized access"}


def busy_first(times: int, retry_after: str, status: int = 429) -> Policy:
    """Refuse the first `times` requests with `status` and `Retry-After`, then accept."""

    def policy(server: FakeInflux, _lines: list[str]) -> Reply:
        if len(server.requests) < times:
            headers = {"Retry-After": retry_after}
            return status, headers, {"code": "too many requests", "message": "slow down"}
        return 204, {}, None

    return policy


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no system CA vouches for; (certificate, key)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub test InfluxDB")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "influx.crt", directory / "influx.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_tls(certificate: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, key)
    return context
