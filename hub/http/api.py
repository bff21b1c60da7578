"""The HTTP endpoints: /healthz, /metrics and the JSON API under /api.

Every answer is JSON (or Prometheus text, or CSV when asked). Every client mistake is a 4xx
with a JSON body `{"error": ..., "status": ...}` naming the parameter; the database being
busy or unreadable is a 503; nothing a client sends can take the server down.
"""

from __future__ import annotations

import asyncio
import hmac
import io
import math
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import aiosqlite
import orjson
from aiohttp import web
from loguru import logger
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from hub import __version__
from hub.commands.history import write_csv
from hub.healthmon.monitor import HealthReport
from hub.healthmon.view import HubView
from hub.http.database import DatabaseUnavailable, ReadOnlyDatabase
from hub.http.live import LiveSensors, SensorState
from hub.http.metrics import ActiveAlert, Metrics, RequestCounters
from hub.http.openapi import openapi_document
from hub.http.params import BadRequest, Params, checked_text
from hub.store.history import (
    Aggregate,
    SensorLookupError,
    SensorRef,
    history,
    measurements,
    resolve_sensor,
)

if TYPE_CHECKING:
    from hub.http.config import HttpConfig

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RESOLUTIONS: tuple[Literal["auto", "raw", "hour", "day"], ...] = ("auto", "raw", "hour", "day")
_RECENT_ERRORS_SHOWN = 20
_SENSOR_COLUMNS = (
    "id, address, name, advertised_name, location, notes, integration, model, disabled, "
    "first_seen, last_seen"
)


class ApiError(Exception):
    """An answer other than 200, with its status and a message for the client."""

    def __init__(self, status: int, message: str, **extra: object) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


def json_response(data: object, status: int = 200, **headers: str) -> web.Response:
    return web.Response(
        body=orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type="application/json",
        headers=headers or None,
    )


def error_response(status: int, message: str, **extra: object) -> web.Response:
    return json_response({"error": message, "status": status, **extra}, status)


class RateMeter:
    """Readings per minute over the last minute, from samples of a growing counter."""

    def __init__(self, read: Callable[[], int], window: float = 60.0) -> None:
        self._read = read
        self._window = window
        self._samples: deque[tuple[float, int]] = deque()

    def per_minute(self) -> float:
        now = time.monotonic()
        samples = self._samples
        samples.append((now, self._read()))
        while len(samples) > 2 and now - samples[1][0] >= self._window:
            samples.popleft()
        (t0, n0), (t1, n1) = samples[0], samples[-1]
        return round((n1 - n0) * 60.0 / (t1 - t0), 1) if t1 > t0 else 0.0


class Api:
    """The handlers; one instance per server, sharing the hub's view."""

    def __init__(
        self,
        view: HubView,
        settings: HttpConfig,
        live: LiveSensors,
        database: ReadOnlyDatabase,
        health: Callable[[], HealthReport],
        metrics: Metrics,
        requests: RequestCounters,
    ) -> None:
        self._view = view
        self._settings = settings
        self._live = live
        self._db = database
        self._health = health
        self._metrics = metrics
        self._requests = requests
        self._token = settings.token.get_secret_value().encode() if settings.token else None
        self.rate = RateMeter(lambda: view.router.counters.readings)
        self._openapi = orjson.dumps(
            openapi_document(secured=self._token is not None, dashboard=settings.dashboard.enabled)
        )
        # A second way past the token for requests that cannot send a header (the
        # dashboard's EventSource presents a one-time ticket instead; hub.http.dashboard).
        self.ticket_auth: Callable[[web.Request], bool] = lambda _request: False

    # -- the application -----------------------------------------------------------------

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._errors, self._auth], client_max_size=64 * 1024)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics)
        app.router.add_get("/api/openapi.json", self.openapi)
        app.router.add_get("/api/status", self.status)
        app.router.add_get("/api/sensors", self.sensors)
        app.router.add_get("/api/sensors/{id}", self.sensor)
        app.router.add_get("/api/sensors/{id}/history", self.history)
        app.router.add_get("/api/alerts", self.alerts)
        return app

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        counters = self._requests
        counters.requests += 1
        try:
            response = await handler(request)
        except ApiError as exc:
            response = error_response(exc.status, str(exc), **exc.extra)
        except BadRequest as exc:
            response = error_response(400, str(exc))
        except DatabaseUnavailable as exc:
            response = error_response(503, str(exc))
            response.headers["Retry-After"] = "5"
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = error_response(exc.status, _routing_message(request, exc))
            if "Allow" in exc.headers:
                response.headers["Allow"] = exc.headers["Allow"]
            if "WWW-Authenticate" in exc.headers:
                response.headers["WWW-Authenticate"] = exc.headers["WWW-Authenticate"]
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the boundary of every request: log, answer 500
            logger.opt(exception=True).error("HTTP {} {} failed", request.method, request.path)
            response = error_response(500, "internal error (logged by the hub)")
        if response.status >= 500:
            counters.server_errors += 1
        elif response.status >= 400:
            counters.client_errors += 1
        return response

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if (
            self._token is not None
            and (path == "/api" or path.startswith("/api/"))
            and path != "/api/openapi.json"
        ):
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            if (
                scheme.lower() != "bearer"
                or not hmac.compare_digest(given.strip().encode("utf-8", "replace"), self._token)
            ) and not self.ticket_auth(request):
                self._requests.unauthorized += 1
                raise web.HTTPUnauthorized(
                    headers={"WWW-Authenticate": 'Bearer realm="hub"'},
                    reason="a valid bearer token is required",
                )
        return await handler(request)

    # -- /healthz, /metrics, /api/openapi.json -------------------------------------------

    async def healthz(self, request: web.Request) -> web.Response:
        Params(request.query, ())
        report = self._health()
        return json_response(report.to_json(), 503 if report.state == "failing" else 200)

    async def metrics(self, request: web.Request) -> web.Response:
        Params(request.query, ())
        try:
            self._metrics.collector.alerts = await self._active_alerts()
        except DatabaseUnavailable as exc:
            logger.debug("Metrics without fresh alert states: {}", exc)
        return web.Response(
            body=self._metrics.render(), headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4}
        )

    async def openapi(self, request: web.Request) -> web.Response:
        Params(request.query, ())
        return web.Response(body=self._openapi, content_type="application/json")

    # -- /api/status ---------------------------------------------------------------------

    async def status(self, request: web.Request) -> web.Response:
        Params(request.query, ())
        view = self._view
        now = time.time()
        clock_now = view.clock.time()  # readings carry the hub clock's time (simulated in a soak)
        report = self._health()
        router, store = view.router.counters, view.store.counters
        sources = {}
        if view.sources is not None:
            sources = {
                name: {"state": s.state, "restarts": s.restarts, "last_error": s.last_error}
                for name, s in view.sources.status.items()
            }
        heard = sum(
            1
            for state in self._live.sensors.values()
            if state.seen_ts is not None and clock_now - state.seen_ts <= 600
        )
        errors = list(view.router.recent_errors)[-_RECENT_ERRORS_SHOWN:]
        return json_response(
            {
                "hub": {
                    "name": view.config.hub.name,
                    "version": __version__,
                    "started": view.started,
                    "uptime_s": round(now - view.started, 3),
                    "pid": os.getpid(),
                },
                "health": {
                    "status": report.state,
                    "problems": {r.name: r.status.reason for r in report.problems()},
                },
                "counters": {
                    "advertisements": router.advertisements,
                    "unmatched": router.unmatched,
                    "readings": router.readings,
                    "decode_errors": sum(c.errors for c in router.by_integration.values()),
                    "committed": store.committed,
                    "buffered": view.store.buffered,
                    "store_failures": store.failures,
                    "bus_dropped": view.bus.dropped,
                },
                "readings_per_minute": self.rate.per_minute(),
                "sensors": {"known": len(self._live.sensors), "heard_last_10_min": heard},
                "sources": sources,
                "components": [str(getattr(c, "name", "?")) for c in view.components],
                # The clock guard: state, steps, held and re-stamped advertisements.
                "clock": view.clock_guard.status() if view.clock_guard is not None else None,
                "recent_decode_errors": [
                    {
                        "ts": e.ts,
                        "time": _iso(e.ts),
                        "address": e.address,
                        "integration": e.integration,
                        "reason": e.reason,
                    }
                    for e in reversed(errors)
                ],
            }
        )

    # -- /api/sensors --------------------------------------------------------------------

    def _sensor_json(self, row: tuple[Any, ...]) -> dict[str, Any]:
        (sensor_id, address, name, advertised, location, notes, integration, model) = row[:8]
        disabled, first_seen, last_seen = row[8:11]
        live = self._live.sensors.get(address)
        return {
            "id": sensor_id,
            "address": address,
            "name": name or advertised or address,
            "given_name": name,
            "advertised_name": advertised,
            "location": location,
            "notes": notes,
            "integration": integration,
            "model": model,
            "disabled": bool(disabled),
            "first_seen": first_seen,
            "last_seen": max(last_seen, live.seen_ts or 0) if live else last_seen,
            "latest": _latest(live),
        }

    async def sensors(self, request: web.Request) -> web.Response:
        Params(request.query, ())
        async with self._db.connection() as conn:
            rows = await conn.execute_fetchall(f"SELECT {_SENSOR_COLUMNS} FROM sensors ORDER BY id")
        return json_response({"sensors": [self._sensor_json(tuple(r)) for r in rows]})

    async def resolve(self, conn: aiosqlite.Connection, request: web.Request) -> SensorRef:
        """The sensor the path's `{id}` names; 404 when none, 409 when several."""
        wanted = checked_text(request.match_info["id"], "sensor")
        if not wanted.strip() or len(wanted) > 200:
            raise ApiError(404, f"unknown sensor {wanted[:200]!r}")
        try:
            return await resolve_sensor(conn, wanted)
        except SensorLookupError as exc:
            if str(exc).startswith("unknown sensor"):
                raise ApiError(404, str(exc), candidates=exc.candidates) from None
            raise ApiError(409, str(exc), candidates=exc.candidates) from None

    async def sensor(self, request: web.Request) -> web.Response:
        Params(request.query, ())
        async with self._db.connection() as conn:
            ref = await self.resolve(conn, request)
            rows = await conn.execute_fetchall(
                f"SELECT {_SENSOR_COLUMNS} FROM sensors WHERE id = ?", (ref.id,)
            )
            known = await measurements(conn, ref.id)
        if not rows:
            raise ApiError(404, f"unknown sensor {ref.address}")
        body = self._sensor_json(tuple(next(iter(rows))))
        body["measurements"] = known
        return json_response(body)

    async def history(self, request: web.Request) -> web.StreamResponse:
        params = Params(
            request.query, ("measurement", "since", "until", "resolution", "limit", "format")
        )
        settings = self._settings
        now = self._view.clock.time()  # `since`/`until` are compared with readings' times
        measurement = params.text("measurement", max_length=100)
        since = params.time("since", "24h", now)
        until = params.time("until", "now", now)
        if not since < until:
            raise BadRequest("since must be before until")
        resolution = params.choice("resolution", RESOLUTIONS, "auto")
        limit = params.integer("limit", settings.max_history_rows, 1, settings.max_history_rows)
        form = params.choice("format", ("json", "csv"), "json")
        async with self._db.connection() as conn:
            ref = await self.resolve(conn, request)
            result = await history(
                conn,
                ref.id,
                measurement,
                since,
                until,
                resolution,
                raw_retention=self._view.config.retention.raw,
                now=now,
            )
            known = await measurements(conn, ref.id) if not result.rows and measurement else []
        if not result.rows and measurement is not None and measurement not in known:
            has = ", ".join(known) if known else "none yet"
            raise ApiError(
                404,
                f"{ref.name or ref.address} has no measurement {measurement!r} (it has: {has})",
                measurements=known,
            )
        rows = result.rows[:limit]
        truncated = len(result.rows) > limit
        if form == "csv":
            out = io.StringIO()
            write_csv(replace(result, rows=rows), out)
            return web.Response(
                text=out.getvalue(),
                content_type="text/csv",
                headers={"X-Truncated": "true"} if truncated else None,
            )
        if result.resolution == "raw":
            columns = ["time", "ts", "measurement", "value"]
            data: list[dict[str, Any]] = [
                {"time": _iso(r.ts), "ts": r.ts, "measurement": r.measurement, "value": r.value}
                for r in rows
                if not isinstance(r, Aggregate)
            ]
        else:
            columns = ["time", "ts", "measurement", "min", "mean", "max", "count"]
            data = [
                {
                    "time": _iso(r.ts),
                    "ts": r.ts,
                    "measurement": r.measurement,
                    "min": r.min,
                    "mean": r.mean,
                    "max": r.max,
                    "count": r.count,
                }
                for r in rows
                if isinstance(r, Aggregate)
            ]
        return json_response(
            {
                "sensor": {"id": ref.id, "address": ref.address, "name": ref.name},
                "measurement": measurement,
                "since": since,
                "until": until,
                "resolution": result.resolution,
                "columns": columns,
                "rows": data,
                "truncated": truncated,
            }
        )

    # -- /api/alerts ---------------------------------------------------------------------

    async def _active_alerts(self) -> list[ActiveAlert]:
        async with self._db.connection() as conn:
            rows = await conn.execute_fetchall(
                "SELECT rule, sensor, name, address, state FROM alert_states ORDER BY rule, sensor"
            )
        return [ActiveAlert(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def alerts(self, request: web.Request) -> web.Response:
        params = Params(request.query, ("limit",))
        limit = params.integer("limit", 50, 1, 1000)
        async with self._db.connection() as conn:
            active = await conn.execute_fetchall(
                "SELECT rule, sensor, name, address, state, since, started, last_value "
                "FROM alert_states ORDER BY rule, sensor"
            )
            recent = await conn.execute_fetchall(
                "SELECT id, ts, rule, sensor, address, state, value, severity, message "
                "FROM alert_history ORDER BY id DESC LIMIT ?",
                (limit,),
            )
        return json_response(
            {
                "active": [
                    {
                        "rule": r[0],
                        "sensor": r[2] or r[1],
                        "address": r[3],
                        "state": r[4],
                        "since": r[5],
                        "started": r[6],
                        "value": r[7],
                    }
                    for r in active
                ],
                "history": [
                    {
                        "id": r[0],
                        "ts": r[1],
                        "time": _iso(r[1]),
                        "rule": r[2],
                        "sensor": r[3],
                        "address": r[4],
                        "state": r[5],
                        "value": r[6],
                        "severity": r[7],
                        "message": r[8],
                    }
                    for r in recent
                ],
            }
        )


def _latest(state: SensorState | None) -> dict[str, Any] | None:
    if state is None or state.reading_ts is None:
        return None
    return {
        "ts": state.reading_ts,
        "time": _iso(state.reading_ts),
        "measurements": state.measurements,
        "rssi": state.rssi,
    }


def _iso(ts: float) -> str:
    """UTC, ISO 8601 with `Z`, to the millisecond when it has one (as `hub history` writes it).

    Thousands of rows per answer: the hour's prefix is formatted once and cached, the rest is
    arithmetic (several times faster than datetime per row).
    """
    whole = math.floor(ts)
    micros = round((ts - whole) * 1_000_000)  # as datetime.fromtimestamp rounds
    if micros == 1_000_000:
        whole, micros = whole + 1, 0
    hour = whole - whole % 3600
    prefix = _HOURS.get(hour)
    if prefix is None:
        prefix = datetime.fromtimestamp(hour, UTC).strftime("%Y-%m-%dT%H:")
        if len(_HOURS) >= 4096:
            _HOURS.clear()
        _HOURS[hour] = prefix
    minute, second = divmod(whole - hour, 60)
    # Table lookups and concatenation: an f-string with format specs costs several times more.
    if micros:
        return prefix + _TWO[minute] + ":" + _TWO[second] + "." + _THREE[micros // 1000] + "Z"
    return prefix + _TWO[minute] + ":" + _TWO[second] + "Z"


_HOURS: dict[int, str] = {}
_TWO = [f"{n:02d}" for n in range(60)]
_THREE = [f"{n:03d}" for n in range(1000)]


def _routing_message(request: web.Request, exc: web.HTTPException) -> str:
    if exc.status == 404:
        return f"no such endpoint: {request.path[:200]} (see /api/openapi.json)"
    if exc.status == 405:
        allowed = exc.headers.get("Allow", "GET")
        return f"method {request.method} is not allowed here (allowed: {allowed})"
    if exc.status == 401:
        return "a valid bearer token is required (Authorization: Bearer <token>)"
    return exc.reason or "request refused"
