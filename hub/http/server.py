"""The HTTP component: an aiohttp server on the hub's event loop.

Listens on 127.0.0.1 by default. If the port cannot be bound (taken by another program),
the hub keeps running, reports the HTTP component as failing and tries again every
`_RETRY_S`: recording data matters more than serving it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web
from loguru import logger

from hub.components import ComponentContext
from hub.events import Reading, SensorSeen
from hub.health import HealthStatus
from hub.healthmon.monitor import HealthMonitor, HealthReport
from hub.healthmon.view import HubView
from hub.http.api import Api
from hub.http.dashboard.routes import Dashboard
from hub.http.database import DatabaseUnavailable, ReadOnlyDatabase
from hub.http.live import LiveSensors
from hub.http.metrics import HubCollector, Metrics, RequestCounters

if TYPE_CHECKING:
    from hub.app import Hub
    from hub.http.config import HttpConfig

_DIRECTORY_S = 10.0
_RETRY_S = 30.0
_LISTEN_JOB = "http.listen"
_DIRECTORY_JOB = "http.directory"
# Latest values are a view: under a flood the oldest events may go (counted by the bus).
_QUEUE_SIZE = 10_000


def build(context: ComponentContext) -> HttpServer | None:
    settings = context.config.http
    if not settings.enabled:
        return None
    return HttpServer(context, settings)


class HttpServer:
    """Serves /healthz, /metrics and /api."""

    name = "http"

    def __init__(self, context: ComponentContext, settings: HttpConfig) -> None:
        self._context = context
        self._settings = settings
        self._view = HubView.of_context(context)
        self.live = LiveSensors(
            configured={a: (d.name, d.location) for a, d in context.config.devices.items()}
        )
        self.requests = RequestCounters()
        self._db = ReadOnlyDatabase(context.config.store.path, settings.db_connections)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._own_monitor: HealthMonitor | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self.api: Api | None = None
        self.dashboard: Dashboard | None = None
        self.listen_error = ""
        self.port: int | None = None

    def attach(self, hub: Hub) -> None:
        """Called by the hub before `start`: the API sees its sources and components."""
        self._view = HubView.of_hub(hub)

    @property
    def url(self) -> str:
        host = self._settings.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port if self.port is not None else self._settings.port}"

    def health_report(self) -> HealthReport:
        """Evaluated now: by the health component (which publishes what changed), or by a
        monitor of our own when health is off."""
        component = self._view.component("health")
        check = getattr(component, "check", None)
        if callable(check):
            report = check()
            if isinstance(report, HealthReport):
                return report
        if self._own_monitor is None:
            self._own_monitor = HealthMonitor(self._view, self._context.config.health)
        return self._own_monitor.evaluate()[0]

    async def start(self) -> None:
        context = self._context
        await self._db.open()
        async with self._db.connection() as conn:
            seeded = await self.live.seed(conn)
        bus = context.bus
        self._unsubscribe = [
            bus.subscribe(Reading, self.live.on_reading, name="http:live", queue_size=_QUEUE_SIZE),
            bus.subscribe(
                SensorSeen, self.live.on_seen, name="http:live-seen", queue_size=_QUEUE_SIZE
            ),
        ]
        collector = HubCollector(
            self._view,
            self.live,
            self.health_report,
            self.requests,
            self._settings.metrics_max_age,
        )
        api = self.api = Api(
            self._view,
            self._settings,
            self.live,
            self._db,
            self.health_report,
            Metrics(collector),
            self.requests,
        )
        app = api.application()
        if self._settings.dashboard.enabled:
            self.dashboard = Dashboard(
                context, self._settings, self.live, self._db, self.health_report, self._view.started
            )
            self.dashboard.install(app, api)
            self.dashboard.start()
        # No access log: a scrape every 15 s would drown the hub's own lines.
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=2.0
        )
        await self._runner.setup()
        context.scheduler.add_interval(_DIRECTORY_JOB, self._refresh, _DIRECTORY_S)
        if not await self._listen():
            context.scheduler.add_interval(_LISTEN_JOB, self._retry, _RETRY_S)
        logger.debug("HTTP API knows {} sensors from the database", seeded)

    async def _listen(self) -> bool:
        assert self._runner is not None
        settings = self._settings
        site = web.TCPSite(self._runner, settings.host, settings.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            first = not self.listen_error
            self.listen_error = f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}"
            if first:
                logger.error("HTTP API {}; trying again every {:g}s", self.listen_error, _RETRY_S)
            return False
        self._site = site
        self.listen_error = ""
        addresses = self._runner.addresses
        if addresses:
            self.port = int(addresses[0][1])
        logger.info(
            "HTTP API on {} ({}){}",
            self.url,
            "token required for /api" if settings.token else "no token: loopback only",
            f"; dashboard at {self.url}/" if self.dashboard is not None else "",
        )
        return True

    async def _retry(self) -> None:
        if self._site is None and await self._listen():
            self._context.scheduler.remove(_LISTEN_JOB)

    async def _refresh(self) -> None:
        if self.api is not None:
            self.api.rate.per_minute()  # keeps the rate's window filled between requests
        try:
            async with self._db.connection() as conn:
                await self.live.refresh(conn)
        except DatabaseUnavailable as exc:
            logger.debug("Sensor names not refreshed: {}", exc)

    async def stop(self) -> None:
        scheduler = self._context.scheduler
        scheduler.remove(_LISTEN_JOB)
        scheduler.remove(_DIRECTORY_JOB)
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self.dashboard is not None:
            await self.dashboard.stop()  # ends the live streams: nothing holds the shutdown up
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None
        await self._db.close()

    def health(self) -> HealthStatus:
        requests = self.requests
        details = {
            "requests": requests.requests,
            "client_errors": requests.client_errors,
            "server_errors": requests.server_errors,
            "unauthorized": requests.unauthorized,
            "sensors": len(self.live.sensors),
            **(self.dashboard.details() if self.dashboard is not None else {}),
        }
        if self.listen_error:
            return HealthStatus("failing", self.listen_error, details)
        return HealthStatus("ok", "", details)
