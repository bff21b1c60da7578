"""Sending line protocol to InfluxDB's `/api/v2/write`, through influxdb-client.

influxdb-client adds about 29 MiB to the process, so it is imported here, in `open()`, and
only when the exporter (or `hub export influx`) runs. Lines are built by hand
(`lineprotocol`); the client only carries them: its async API over aiohttp, with the
token, TLS and timeout settings. Gzip is done here at level 1 rather than by the client
(level 9 costs several times the CPU for a few percent less).

Every failure comes out as one `WriteError` carrying the HTTP status (None when no
answer came: connection refused, reset, timeout), the server's message and its
`Retry-After`, so the caller can decide what to do without knowing the client.
"""

from __future__ import annotations

import gzip
import json
import time
from email.utils import parsedate_to_datetime
from typing import Any

from hub.exporters.influxdb.config import InfluxConfig

_CONTENT_TYPE = "text/plain; charset=utf-8"
# A server message is kept to this many characters (in health, logs and the quarantine).
_MESSAGE_MAX = 500


class WriteError(Exception):
    """A write the server did not accept."""

    def __init__(self, status: int | None, message: str, retry_after: float | None = None) -> None:
        self.status = status
        self.message = message[:_MESSAGE_MAX]
        self.retry_after = retry_after
        super().__init__(self.describe())

    def describe(self) -> str:
        if self.status is None:
            return self.message
        return f"HTTP {self.status}: {self.message}"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (seconds or an HTTP date); None if absent."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _server_message(body: object, reason: object) -> str:
    """The `message` of InfluxDB's JSON error body, else the body or the reason as text."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        return str(parsed["message"])
    return " ".join(text.split()) or str(reason or "no message")


class InfluxTransport:
    """One client session to one server; `open()` inside the running event loop."""

    def __init__(self, settings: InfluxConfig) -> None:
        self._settings = settings
        self._client: Any = None
        self._service: Any = None
        self._precision = settings.precision
        self.requests = 0
        self.bytes_sent = 0

    @property
    def url(self) -> str:
        return self._settings.url

    async def open(self) -> None:
        # Imported here and only here: see the module docstring.
        from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync
        from influxdb_client.service.write_service import WriteService

        settings = self._settings
        options: dict[str, Any] = {"verify_ssl": settings.verify_tls}
        if settings.ca_file is not None:
            options["ssl_ca_cert"] = str(settings.ca_file)
        self._client = InfluxDBClientAsync(
            url=settings.url,
            token=settings.auth_token() or "",  # empty: no Authorization header
            org=settings.target_org,
            timeout=int(settings.timeout * 1000),
            enable_gzip=False,  # compressed here, faster (see the module docstring)
            **options,
        )
        self._service = WriteService(self._client.api_client)  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        client, self._client, self._service = self._client, None, None
        if client is not None:
            await client.close()

    async def write(self, lines: list[str]) -> None:
        """Send `lines` as one request; raises WriteError unless the server accepted them."""
        if self._service is None:
            await self.open()
        from aiohttp import ClientError
        from influxdb_client.rest import ApiException

        body = "\n".join(lines).encode()
        headers: dict[str, Any] = {}
        if self._settings.gzip:
            body = gzip.compress(body, compresslevel=1)
            headers["content_encoding"] = "gzip"
        self.requests += 1
        self.bytes_sent += len(body)
        try:
            await self._service.post_write_async(
                org=self._settings.target_org,
                bucket=self._settings.target_bucket,
                body=body,
                precision=self._precision,
                content_type=_CONTENT_TYPE,
                **headers,
            )
        except ApiException as exc:
            status = int(exc.status) if exc.status else None
            message = _server_message(exc.body, exc.reason)
            if status is None:  # the client's own failure to build or send the request
                raise WriteError(None, message) from None
            raise WriteError(
                status, message, parse_retry_after(_header(exc.headers, "Retry-After"))
            ) from None
        except TimeoutError:
            raise WriteError(
                None, f"no answer from {self.url} within {self._settings.timeout:g}s"
            ) from None
        except (ClientError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            raise WriteError(None, f"cannot reach {self.url}: {reason}") from None


def _header(headers: object, name: str) -> str | None:
    if headers is None:
        return None
    getter = getattr(headers, "get", None)
    if getter is None:
        return None
    value = getter(name)
    return str(value) if value is not None else None
