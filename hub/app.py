"""The running hub: starts the parts in order, reports what it does, stops them in order."""

from __future__ import annotations

from dataclasses import dataclass

from loguru import logger

from hub.bus import EventBus
from hub.clock import Clock
from hub.components import Component
from hub.config.models import HubConfig
from hub.events import Reading
from hub.integrations import AdvertisementSink, stamps_live
from hub.router import Router
from hub.scheduler import Scheduler
from hub.sources import SourceRunner
from hub.store import SqliteStore
from hub.store.backup import ScheduledBackups
from hub.store.rollups import Maintenance
from hub.timekeeping.guard import ClockGuard

# How often the hub looks for sensors disabled or enabled with `hub sensors`.
_REFRESH_S = 10.0


@dataclass(slots=True)
class _Totals:
    advertisements: int = 0
    readings: int = 0
    committed: int = 0
    errors: int = 0
    unmatched: int = 0
    held_back: int = 0
    older: int = 0


class Hub:
    """Owns the order of start-up and shutdown; the parts themselves come from the container."""

    def __init__(
        self,
        config: HubConfig,
        bus: EventBus,
        router: Router,
        store: SqliteStore,
        scheduler: Scheduler,
        sources: SourceRunner,
        clock: Clock,
        components: list[Component] | None = None,
        clock_guard: ClockGuard | None = None,
    ) -> None:
        self.config = config
        self.bus = bus
        self.router = router
        self.store = store
        self.scheduler = scheduler
        self.sources = sources
        self.clock = clock
        self.components = list(components or [])
        # Between the sources and the router: live timestamps only from a trusted clock.
        self.clock_guard = clock_guard
        self._last = _Totals()
        self._started = False
        self._running: list[Component] = []  # components whose start() succeeded

    async def start(self) -> None:
        config = self.config
        self.router.seed_sequences(await self.store.recent_sequences())
        await self.refresh_sensor_flags()
        # The store must not lose readings: a full mailbox holds producers back rather than
        # dropping anything.
        self.bus.subscribe(Reading, self.store.offer, name="store", policy="block")
        self.bus.start()
        # From here on, a failure below still leaves `stop()` something to stop.
        self._started = True
        self.scheduler.add_interval("store.flush", self.store.flush, config.store.flush_interval)
        self.scheduler.add_interval("hub.summary", self.log_summary, config.hub.summary_interval)
        self.scheduler.add_interval("sensors.refresh", self.refresh_sensor_flags, _REFRESH_S)
        maintenance = Maintenance(self.store, config.retention, self.clock)
        self.scheduler.add_interval(
            "store.rollups", maintenance.rollup_job, config.retention.rollup_interval
        )
        self.scheduler.add_interval(
            "store.retention", maintenance.retention_job, config.retention.purge_interval
        )
        if config.backup.enabled:
            backups = ScheduledBackups(self.store, config.backup.dir, config.backup.keep)
            self.scheduler.add_cron("store.backup", backups.run, config.backup.schedule)
        self.scheduler.start()
        for component in self.components:
            # Components that watch the whole hub (health, HTTP) are handed it first.
            if (attach := getattr(component, "attach", None)) is not None:
                attach(self)
            await component.start()
            self._running.append(component)
        sink: AdvertisementSink = self.router.submit
        if self.clock_guard is not None:
            recorded = [s.name for s in self.sources.sources if not stamps_live(s)]
            sink = self.clock_guard.start(sink, self.scheduler, recorded)
        self.sources.start(sink)
        sources = (
            ", ".join(f"{s.name} ({type(s).__name__})" for s in self.sources.sources)
            or "none (add one under `sources:`)"
        )
        logger.info(
            "Hub {!r} running: sources {}; decoders {}; store {} (batch {}, flush every {:g}s); "
            "components {}; {} scheduled jobs",
            config.hub.name,
            sources,
            ", ".join(self.router.decoder_names) or "none",
            config.store.path,
            config.store.batch_size,
            config.store.flush_interval,
            ", ".join(c.name for c in self.components) or "none",
            len(self.scheduler.jobs),
        )
        if not self.sources.sources:
            logger.warning("No source is enabled: the hub will receive nothing")

    async def stop(self) -> None:
        """Stop sources, drain the bus into the handlers, stop jobs, flush the store."""
        if not self._started:
            return
        self._started = False
        await self.sources.stop()
        if self.clock_guard is not None:
            await self.clock_guard.stop()  # what it holds goes to the router, then the bus
        drained = await self.bus.stop()
        for component in reversed(self._running):
            try:
                await component.stop()
            except Exception:  # noqa: BLE001 - one component must not keep the others running
                logger.opt(exception=True).error("Component {} failed to stop", component.name)
        self.scheduler.shutdown()
        self.store.release_held()
        await self.store.flush()
        counters = self.store.counters
        logger.info(
            "Hub stopped: {} readings committed this run{}",
            counters.committed,
            "" if drained else f", {self.bus.undelivered_at_stop} events undelivered",
        )

    async def reload(self) -> None:
        """SIGHUP: components that can reload (alert rules) do so; the rest is unchanged."""
        for component in self.components:
            reload = getattr(component, "reload", None)
            if reload is not None:
                await reload()

    async def refresh_sensor_flags(self) -> None:
        """Follow `hub sensors disable/enable` made while the hub runs."""
        disabled = self.config.disabled_devices() | await self.store.disabled_addresses()
        if disabled != self.router.disabled:
            logger.info("Disabled sensors now: {}", ", ".join(sorted(disabled)) or "none")
            self.router.set_disabled(disabled)

    async def log_summary(self) -> None:
        """One line on what happened since the last summary."""
        router, store = self.router.counters, self.store.counters
        now = _Totals(
            advertisements=router.advertisements,
            readings=router.readings,
            committed=store.committed,
            errors=sum(c.errors for c in router.by_integration.values()),
            unmatched=router.unmatched,
            held_back=self.store.throttle.throttled,
            older=self.store.throttle.stale,
        )
        last, self._last = self._last, now
        logger.info(
            "Last {:g}s: {} advertisements ({} unmatched, {} undecodable), {} new readings "
            "({} not stored: storage interval{}), {} committed ({} total, {} buffered); "
            "{} sensors known{}; bus drops {}",
            self.config.hub.summary_interval,
            now.advertisements - last.advertisements,
            now.unmatched - last.unmatched,
            now.errors - last.errors,
            now.readings - last.readings,
            now.held_back - last.held_back,
            f", {n} older than stored" if (n := now.older - last.older) else "",
            now.committed - last.committed,
            now.committed,
            self.store.buffered,
            len(self.router.known_sensors),
            f"; {clock}" if self.clock_guard and (clock := self.clock_guard.summary()) else "",
            self.bus.dropped,
        )
