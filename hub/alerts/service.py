"""The live alert engine: readings from the bus and ticks from the scheduler drive the same
pure engine `hub alerts test` uses; transitions go on the bus, into SQLite and to the
notification channels.

State survives a restart: pending and firing alerts are saved after every change and taken
back at start-up (a firing alert stays firing and is not notified again; a pending one keeps
its start), and stale timers count from the last reading stored, but never from before the
hub started: a hub that was down cannot tell that a sensor was silent meanwhile. Likewise,
while the clock guard holds advertisements (the clock stepped, or is not synchronised) no
timer is evaluated, and afterwards stale timers count from the moment the clock was trusted
again. Transitions that cannot be saved (a read-only disk) are kept and saved with the next
change. SIGHUP reloads the rules file; an invalid file is rejected with its problems logged
and the old rules kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from loguru import logger

from hub.alerts.battery import BatteryReporter, summary
from hub.alerts.engine import AlertEngine, Change, Repeat, Transition
from hub.alerts.notify import Notification, Notifier
from hub.alerts.persistence import load_states, save, sensor_directory
from hub.alerts.rules import Rule, check_rules
from hub.components import ComponentContext
from hub.config.models import AlertsConfig
from hub.errors import HubError
from hub.events import BatteryReport, Reading, SensorSeen
from hub.health import HealthStatus

if TYPE_CHECKING:
    from hub.app import Hub
    from hub.timekeeping.guard import ClockGuard

# How often display names are re-read from the database (renames by `hub sensors`).
_NAMES_REFRESH_S = 30.0
# Transitions kept while they cannot be saved; beyond it the oldest are dropped and counted.
_UNSAVED_MAX = 10_000


def build(context: ComponentContext) -> AlertService | None:
    settings = context.config.alerts
    if not settings.enabled:
        return None
    if not settings.rules.exists() and "rules" in settings.model_fields_set:
        raise HubError(f"alerts.rules: the rules file {settings.rules} does not exist")
    return AlertService(context, settings)


class AlertService:
    """Owns the engine, its persistence, the notifier and the reload."""

    name = "alerts"

    def __init__(self, context: ComponentContext, settings: AlertsConfig) -> None:
        self._context = context
        self._settings = settings
        self._channels = context.config.channel_names()
        self.engine = AlertEngine()
        self.notifier = Notifier(context.config.notify)
        # Names the config gives win (as in the store); then names set with `hub sensors`.
        self._config_names = {a: d.name for a, d in context.config.devices.items() if d.name}
        self._names: dict[str, str] = {}
        self._names_read = 0.0
        self._unsubscribe: list[object] = []
        self._guard: ClockGuard | None = None
        self._clock_held = False
        # Transitions not saved yet, in order; a task saves them (with the states) as soon as
        # it can, so evaluating readings never waits for the database.
        self._unsaved: list[Transition] = []
        self._save_wanted = asyncio.Event()
        self._save_lock = asyncio.Lock()
        self._saver: asyncio.Task[None] | None = None
        self._save_failing = False
        self._in_flight = 0
        self.unsaved_dropped = 0
        self.skipped_ticks = 0
        self.reloads = 0
        self.rejected_reloads = 0
        self.last_reload_error = ""

    @property
    def rules_path(self) -> Path:
        return self._settings.rules

    # -- lifecycle -----------------------------------------------------------------------

    def attach(self, hub: Hub) -> None:
        """Called by the hub before `start`: the clock guard says when time can be trusted."""
        self._guard = hub.clock_guard

    async def start(self) -> None:
        rules = self._load_rules()
        self.engine.replace_rules(rules)
        store = self._context.store
        conn = store.connection
        saved = await load_states(conn)
        taken = self.engine.restore(saved)
        self._names, last_seen = await sensor_directory(conn)
        self._names_read = time.monotonic()
        for address, seen in last_seen.items():
            self.engine.prime(seen, self._names.get(address), address)
        # Sensors were not listened to while the hub was down: silence counts from now.
        self.engine.listening_since(self._context.clock.time())
        self._saver = asyncio.get_running_loop().create_task(self._save_loop(), name="alerts:save")
        bus = self._context.bus
        # Alerts must see every reading: the engine is far faster than any source, so the
        # block policy never holds a producer back for long.
        self._unsubscribe = [
            bus.subscribe(Reading, self._on_reading, name="alerts", policy="block"),
            bus.subscribe(SensorSeen, self._on_seen, name="alerts:seen"),
        ]
        self._plug_mqtt_channels()
        await self.notifier.start()
        scheduler = self._context.scheduler
        scheduler.add_interval("alerts.tick", self.tick, self._settings.tick_interval)
        self.battery_reporter = BatteryReporter(
            store, self._context.bus, self._context.clock, notify=self._send_battery_report
        )
        scheduler.add_cron(
            "alerts.battery_report", self.battery_reporter.run, self._settings.battery_report
        )
        firing = sum(1 for s in saved if s.state == "firing")
        logger.info(
            "Alerts: {} rules from {}; {} alerts taken back ({} firing)",
            len(rules),
            self._settings.rules,
            taken,
            firing,
        )

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()  # type: ignore[operator]
        if self._saver is not None:
            self._saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._saver
            self._saver = None
        await self._save()
        await self.notifier.stop()

    def _plug_mqtt_channels(self) -> None:
        """`type: mqtt` channels publish through the MQTT publisher's own connection."""
        from hub.mqtt.channel import alert_channel

        for name, settings in self._context.config.notify.items():
            if settings.type != "mqtt":
                continue
            channel = alert_channel(self._context.bus, name, timeout=settings.timeout)
            if channel is None:
                logger.warning("Channel {}: the mqtt section is not enabled; it cannot send", name)
                continue
            self.notifier.add_channel(channel, settings)

    def _load_rules(self) -> list[Rule]:
        if not self._settings.rules.exists():
            logger.info("No alert rules ({} does not exist)", self._settings.rules)
            return []
        rules, problems = check_rules(self._settings.rules, self._channels)
        if problems:
            raise HubError(
                f"invalid alert rules in {self._settings.rules}:\n  "
                + "\n  ".join(str(p) for p in problems)
            )
        return rules

    async def reload(self) -> bool:
        """Load the rules file again; keep the old rules if the new file is invalid."""
        rules, problems = check_rules(self._settings.rules, self._channels)
        if problems:
            self.rejected_reloads += 1
            self.last_reload_error = "; ".join(str(p) for p in problems)
            for problem in problems:
                logger.error("Alert rules not reloaded: {}", problem)
            logger.error("Keeping the {} rules in force", len(self.engine.rules))
            return False
        self.engine.replace_rules(rules)
        self.reloads += 1
        self.last_reload_error = ""
        logger.info("Alert rules reloaded: {} rules from {}", len(rules), self._settings.rules)
        await self._save()
        return True

    # -- evaluation ----------------------------------------------------------------------

    async def _on_reading(self, reading: Reading) -> None:
        measurements = reading.measurements
        if reading.rssi is not None:
            measurements = {**measurements, "rssi": reading.rssi}
        changes = self.engine.on_reading(
            reading.ts,
            self._display_name(reading.address, reading.name),
            reading.address,
            measurements,
        )
        if changes:
            await self._handle(changes)

    async def _on_seen(self, seen: SensorSeen) -> None:
        # A repeat of a measurement is not a new value, but the sensor is alive: it counts
        # for stale rules (and leaves threshold alerts alone: no measurements).
        changes = self.engine.on_reading(
            seen.ts, self._display_name(seen.address, None), seen.address, {}
        )
        if changes:
            await self._handle(changes)

    async def tick(self) -> None:
        """Scheduled: fire `for` and `stale` timers that are due."""
        if self._unsaved:
            self._save_wanted.set()  # a save failed: try again now and then
        if not await self._clock_trusted():
            self.skipped_ticks += 1
            return
        if time.monotonic() - self._names_read >= _NAMES_REFRESH_S:
            self._names, _ = await sensor_directory(self._context.store.connection)
            self._names_read = time.monotonic()
        changes = self.engine.tick(self._context.clock.time())
        if changes:
            await self._handle(changes)

    async def _clock_trusted(self) -> bool:
        """Whether timers may be evaluated now: not while the clock guard holds readings (a
        stepped clock would fire or delay them all at once). When it lets go, stale timers
        count from then: the readings it held are on their way, with their true times."""
        guard = self._guard
        if guard is None:
            return True
        await guard.tick()  # looks at the clock now, so a fresh step is noticed first
        if guard.suspect and not guard.given_up:
            self._clock_held = True
            return False
        if self._clock_held:
            self._clock_held = False
            self.engine.listening_since(self._context.clock.time())
        return True

    def _display_name(self, address: str, advertised: str | None) -> str | None:
        return self._config_names.get(address) or self._names.get(address) or advertised

    async def _handle(self, changes: Sequence[Change]) -> None:
        bus = self._context.bus
        transitions: list[Transition] = []
        for change in changes:
            if isinstance(change, Transition):
                transitions.append(change)
                bus.publish(change.to_event())
                if change.notifies:
                    self.notifier.notify(_note(change), change.notify)
            elif isinstance(change, Repeat):
                self.notifier.notify(_note(change), change.notify)
        if transitions:
            self._unsaved.extend(transitions)
            self._save_wanted.set()

    def _send_battery_report(self, report: BatteryReport, text: str) -> None:
        # The reporter logs the table itself, so `log` is not sent to twice.
        channels = [c for c in self._settings.battery_notify if c != "log"]
        if not channels:
            return
        self.notifier.notify(
            Notification(
                kind="firing",
                ts=report.ts,
                rule="battery_report",
                sensor="all",
                address=None,
                severity="info",
                value=None,
                message=text,
                measurement="battery",
                started=report.ts,
                title=summary(report),
            ),
            channels,
        )

    async def _save_loop(self) -> None:
        """Save states and transitions whenever something changed (several changes that come
        while a save runs go in the next one)."""
        while True:
            await self._save_wanted.wait()
            self._save_wanted.clear()
            await self._save()

    async def _save(self) -> None:
        store = self._context.store
        if not store.is_open:
            return
        async with self._save_lock:
            pending, self._unsaved = self._unsaved, []
            self._in_flight = len(pending)
            try:
                await save(store.connection, store.write_lock, self.engine.active(), pending)
            except asyncio.CancelledError:
                self._unsaved[:0] = pending  # stopped meanwhile: saved by the final save
                raise
            except Exception as exc:  # noqa: BLE001 - a full disk must not stop alerting
                # Kept for the next save: the history must not lose what happened meanwhile.
                pending.extend(self._unsaved)
                excess = len(pending) - _UNSAVED_MAX
                if excess > 0:
                    self.unsaved_dropped += excess
                    del pending[:excess]
                self._unsaved = pending
                if not self._save_failing:
                    self._save_failing = True
                    logger.warning(
                        "Could not save alert state ({}); transitions are kept to save later",
                        exc,
                    )
                return
            finally:
                self._in_flight = 0
            if self._save_failing:
                self._save_failing = False
                logger.info("Alert state saved again, with {} held transitions", len(pending))

    # -- observation ---------------------------------------------------------------------

    def health(self) -> HealthStatus:
        status = self.notifier.health(time.time())
        details = {
            "rules": len(self.engine.rules),
            "firing": sum(1 for s in self.engine.active() if s.state == "firing"),
            "rejected_reloads": self.rejected_reloads,
            "unsaved_transitions": len(self._unsaved) + self._in_flight,
            "unsaved_dropped": self.unsaved_dropped,
            "ticks_skipped_clock": self.skipped_ticks,
        }
        if self.last_reload_error and status.state == "ok":
            return HealthStatus(
                "degraded", f"rules file invalid: {self.last_reload_error}", details
            )
        return HealthStatus(status.state, status.reason, details)


def _note(change: Transition | Repeat) -> Notification:
    rule = change.definition
    if isinstance(change, Repeat):
        kind: str = "repeat"
        ended = None
    else:
        kind = change.state
        ended = change.ts if change.state == "resolved" else None
    return Notification(
        kind=kind,  # type: ignore[arg-type]
        ts=change.ts,
        rule=change.rule,
        sensor=change.sensor,
        address=change.address,
        severity=change.severity,
        value=change.value,
        message=change.message,
        measurement=rule.measurement,
        started=change.started,
        ended=ended,
    )
