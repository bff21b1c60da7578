"""The dashboard's part of the HTTP component: the page, its summary, its live stream, edits.

`Dashboard.install(app)` adds the routes to the API's aiohttp application (so the API's
error and token middlewares apply to them too); `start()` subscribes the live stream to the
bus and schedules its job; `stop()` ends every stream before the server shuts down.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

from hub.components import ComponentContext
from hub.errors import RecordError
from hub.events import AlertChanged, BatteryReport, HealthChanged, Reading, SensorSeen
from hub.healthmon.monitor import HealthReport
from hub.http.api import Api, ApiError
from hub.http.dashboard.assets import Asset, asset_response, load_assets
from hub.http.dashboard.edit import (
    apply_changes,
    config_warnings,
    parse_changes,
    read_body,
    write_refusal,
)
from hub.http.dashboard.stream import EventStream
from hub.http.dashboard.summary import (
    SummaryContext,
    build_summary,
    dumps,
    health_json,
    sensor_json,
)
from hub.http.dashboard.tickets import Tickets
from hub.http.database import ReadOnlyDatabase
from hub.http.live import LiveSensors
from hub.http.params import Params
from hub.records import normalise_address
from hub.store.sensors import configured_fields

if TYPE_CHECKING:
    from hub.http.config import HttpConfig

_LIVE_JOB = "http.live"
# Live-stream mailboxes on the bus: a view, so under a flood the oldest events may go
# (counted by the bus); the stream keeps only the latest per sensor anyway.
_QUEUE_SIZE = 10_000
_SENSOR_ROW = """
    SELECT id, address, name, advertised_name, location, notes, integration, model,
           first_seen, last_seen
    FROM sensors WHERE id = ?"""
_FIRING = "SELECT address FROM alert_states WHERE state = 'firing' AND address = ? LIMIT 1"


class Dashboard:
    """Serves `/`, `/static/*`, `/api/dashboard`, `/api/events` and sensor edits."""

    def __init__(
        self,
        context: ComponentContext,
        settings: HttpConfig,
        live: LiveSensors,
        database: ReadOnlyDatabase,
        health: Callable[[], HealthReport],
        started: float,
    ) -> None:
        self._context = context
        self._settings = settings
        self._options = settings.dashboard
        self._live = live
        self._db = database
        self._health = health
        self._token_required = settings.token is not None
        self._devices = dict(context.config.devices)
        self._summary = SummaryContext(
            hub_name=context.config.hub.name,
            started=started,
            live=live,
            devices=self._devices,
            health=health,
            stale_after=self._options.stale_after,
            live_interval=self._options.live_interval,
            raw_retention=context.config.retention.raw,
            token_required=self._token_required,
            clock=context.clock.time,
        )
        self.assets: dict[str, Asset] = load_assets()
        self.tickets = Tickets()
        self.stream = EventStream(
            interval=self._options.live_interval,
            max_clients=self._options.max_clients,
            backlog=self._options.client_backlog,
            address_of=self.address_of,
            health=lambda: health_json(health()),
        )
        self._unsubscribe: list[Callable[[], None]] = []
        self._api: Api | None = None

    # -- wiring --------------------------------------------------------------------------

    def install(self, app: web.Application, api: Api) -> None:
        """Add the routes to the API's application; `api` accepts tickets on /api/events."""
        self._api = api
        api.ticket_auth = self._ticket_auth
        app.router.add_get("/", self.index)
        app.router.add_get("/static/{name}", self.static)
        app.router.add_get("/api/dashboard", self.summary)
        app.router.add_get("/api/events", self.events, allow_head=False)
        app.router.add_post("/api/events/ticket", self.ticket)
        app.router.add_patch("/api/sensors/{id}", self.edit)

    def start(self) -> None:
        bus, stream = self._context.bus, self.stream
        size = _QUEUE_SIZE
        self._unsubscribe = [
            bus.subscribe(Reading, stream.on_reading, name="http:stream", queue_size=size),
            bus.subscribe(SensorSeen, stream.on_seen, name="http:stream-seen", queue_size=size),
            bus.subscribe(
                AlertChanged, stream.on_alert, name="http:stream-alerts", queue_size=size
            ),
            bus.subscribe(
                HealthChanged, stream.on_health, name="http:stream-health", queue_size=size
            ),
            bus.subscribe(
                BatteryReport, stream.on_battery, name="http:stream-battery", queue_size=size
            ),
        ]
        self._context.scheduler.add_interval(_LIVE_JOB, stream.tick, self._options.live_interval)

    async def stop(self) -> None:
        self._context.scheduler.remove(_LIVE_JOB)
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        await self.stream.close()

    def details(self) -> dict[str, object]:
        """Figures for the HTTP component's health details."""
        counters = self.stream.counters
        return {
            "live_clients": self.stream.clients,
            "live_dropped_slow": counters.dropped_slow,
            "live_refused": counters.refused,
        }

    # -- the page ------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        # Any query string is ignored: a bookmark or a link may carry one.
        return asset_response(request, self.assets["index.html"])

    async def static(self, request: web.Request) -> web.Response:
        asset = self.assets.get(request.match_info["name"])
        if asset is None or asset is self.assets.get("index.html"):
            raise ApiError(404, f"no such file: {request.path[:200]}")
        return asset_response(request, asset)

    # -- /api/dashboard ------------------------------------------------------------------

    async def summary(self, request: web.Request) -> web.Response:
        Params(request.query, ())
        started = time.perf_counter()
        async with self._db.connection() as conn:
            body = await build_summary(conn, self._summary)
        response = web.Response(body=dumps(body), content_type="application/json")
        took_ms = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"summary;dur={took_ms:.1f}"
        response.headers["Cache-Control"] = "no-store"
        response.enable_compression()  # 200 sensors' sparklines: about 250 kB, 50 kB gzipped
        return response

    # -- /api/events ---------------------------------------------------------------------

    def _ticket_auth(self, request: web.Request) -> bool:
        """The token middleware's second way in: a one-time ticket, on /api/events only."""
        if request.path != "/api/events":
            return False
        given = request.query.getall("ticket", [])
        return len(given) == 1 and self.tickets.redeem(given[0])

    async def ticket(self, request: web.Request) -> web.Response:
        Params(request.query, ())
        ticket = self.tickets.issue()
        return web.json_response(
            {"ticket": ticket, "expires_in": self.tickets.ttl},
            headers={"Cache-Control": "no-store"},
        )

    async def events(self, request: web.Request) -> web.StreamResponse:
        Params(request.query, ("ticket",))
        if "text/event-stream" not in request.headers.get("Accept", ""):
            raise ApiError(
                406,
                "this endpoint streams server-sent events: send Accept: text/event-stream "
                "(e.g. with EventSource, or curl -N -H 'Accept: text/event-stream')",
            )
        refusal = self.stream.refusal()
        if refusal is not None:
            raise ApiError(503, refusal)
        return await self.stream.serve(request)

    # -- PATCH /api/sensors/{id} ---------------------------------------------------------

    async def edit(self, request: web.Request) -> web.Response:
        Params(request.query, ())
        refusal = write_refusal(request, self._token_required)
        if refusal is not None:
            raise ApiError(403, refusal)
        changes = parse_changes(await read_body(request))
        assert self._api is not None, "install() wires the API first"
        async with self._db.connection() as conn:
            ref = await self._api.resolve(conn, request)
        changed = await apply_changes(self._context.store, ref.id, changes)
        device = self._devices.get(ref.address)
        warnings = config_warnings(
            configured_fields(device) if device else {}, ref.address, changed
        )
        async with self._db.connection() as conn:
            await self._live.refresh(conn)  # names shown in /metrics and the summary
            rows = list(await conn.execute_fetchall(_SENSOR_ROW, (ref.id,)))
            firing = {
                str(address) for (address,) in await conn.execute_fetchall(_FIRING, (ref.address,))
            }
        if not rows:
            raise ApiError(404, f"unknown sensor {ref.address}")
        sensor = sensor_json(tuple(rows[0]), self._summary, firing, self._summary.clock())
        self.stream.send("sensor", sensor)
        return web.Response(
            body=dumps({"sensor": sensor, "changed": changed, "warnings": warnings}),
            content_type="application/json",
        )

    # -- names of alerts -----------------------------------------------------------------

    def address_of(self, shown: str) -> str | None:
        """The address of the sensor an alert names (the alert engine names it by its
        shown name: the config's name, else the database's, else the advertised one)."""
        for address, device in self._devices.items():
            if device.name == shown:
                return address
        for info in self._live.directory.values():
            if info.name == shown:
                return info.address
        for info in self._live.directory.values():
            if info.name is None and info.advertised_name == shown:
                return info.address
        try:
            address = normalise_address(shown)
        except RecordError:
            return None
        return address if address in self._live.directory else None
