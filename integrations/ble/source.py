"""The ble source: scanners on the configured adapters, the watchdog, scan windows, GATT polls.

`run(sink)` runs until cancelled and never fails because of the radio: an adapter that is
missing, powered off, refused by D-Bus policy or stalled is explained, reported in
`health()`, and retried with backoff while the hub keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

from bleak.args.bluez import OrPattern
from bleak.backends.device import BLEDevice
from loguru import logger

from hub.clock import Clock
from hub.config.models import SourceSettings
from hub.events import Advertisement
from hub.health import HealthStatus
from hub.integrations import AdvertisementSink, IntegrationRegistry, SourceContext
from hub.scheduler import Scheduler
from integrations.ble.bluez import BluezEvent, BluezWatcher
from integrations.ble.devices import DeviceTable
from integrations.ble.gatt import GattPolls
from integrations.ble.handoff import Handoff
from integrations.ble.jobs import Jobs
from integrations.ble.merge import AdapterMerge
from integrations.ble.scanner import AdapterScanner, passive_patterns
from integrations.ble.settings import BleSettings
from integrations.ble.watchdog import Watchdog

_STOP_TIMEOUT_S = 5.0
# At shutdown, advertisements still queued get this long to reach the sink.
_FINAL_DRAIN_S = 1.0
# After bluetoothd comes back, adapters still down are restarted this much later (the
# adapter's own InterfacesAdded usually restarts them first).
_BLUEZ_SETTLE_S = 1.0
_BASE_UUID_SUFFIX = "-0000-1000-8000-00805f9b34fb"


@dataclass(frozen=True, slots=True)
class SensorFreshness:
    """When a device was last heard, and how often it usually is."""

    address: str
    last_seen: float  # wall time of the last callback, whatever it carried
    usual_interval: float | None
    heard: int


class BleSource:
    """BLE advertisements from bleak's BlueZ backend."""

    def __init__(
        self,
        name: str,
        settings: BleSettings,
        context: SourceContext,
        registry: IntegrationRegistry | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self._clock: Clock = context.clock
        self._scheduler: Scheduler | None = context.scheduler
        self._registry = registry
        self.devices = DeviceTable()
        self.handoff = Handoff(settings.queue_size)
        self.merge: AdapterMerge | None = None
        self.scanners: dict[str, AdapterScanner] = {}
        self.watchdog: Watchdog | None = None
        self.gatt: GattPolls | None = None
        self.watcher: BluezWatcher | None = None
        self._jobs: Jobs | None = None
        self.running = False
        self.forgotten = 0

    @classmethod
    def create(cls, name: str, settings: SourceSettings, context: SourceContext) -> BleSource:
        assert isinstance(settings, BleSettings)
        return cls(name, settings, context)

    # -- running -------------------------------------------------------------------------

    async def run(self, sink: AdvertisementSink) -> None:
        settings = self.settings
        loop = asyncio.get_running_loop()
        handoff = self.handoff
        emit: Callable[[Advertisement, str, float], None]
        if len(settings.adapters) > 1:
            merge = self.merge = AdapterMerge(handoff.offer, settings.dedupe_window, loop)
            emit = merge.offer
        else:

            def emit(adv: Advertisement, _adapter: str, _now: float) -> None:
                handoff.offer(adv)

        gatt = None
        if settings.gatt.devices:
            gatt = self.gatt = GattPolls(
                self.name,
                settings.gatt,
                settings.adapters[0],
                self._clock,
                handoff.offer,
                self._ble_device,
            )
        keep = gatt.addresses if gatt is not None else frozenset()
        patterns = self._patterns() if settings.mode == "passive" else []
        self.scanners = {
            adapter: AdapterScanner(
                adapter, self.name, settings.mode, self._clock, self.devices, emit, patterns, keep
            )
            for adapter in settings.adapters
        }
        watchdog = self.watchdog = Watchdog(settings.watchdog, self.scanners, self.devices)
        jobs = self._jobs = Jobs(self._scheduler, f"{self.name}")
        drain = jobs.spawn(lambda: handoff.drain(sink), f"{self.name}.drain")
        if settings.watch_bluez:
            self.watcher = BluezWatcher(self._on_bluez_event)
            jobs.spawn(self.watcher.run, f"{self.name}.bluez")
        try:
            logger.info(
                "BLE source {}: {} scanning on {}{}",
                self.name,
                settings.mode,
                ", ".join(settings.adapters),
                f" for {settings.window.duration:g} s every {settings.window.interval:g} s"
                if settings.scanning == "windowed"
                else "",
            )
            if settings.scanning == "windowed":
                for adapter in settings.adapters:
                    watchdog.wanted[adapter] = False
                jobs.later(0, self._window, "window.first")
                jobs.every("window", self._window, settings.window.interval)
            else:
                for adapter in settings.adapters:
                    await watchdog.start(adapter)
            jobs.every("watchdog", watchdog.check, settings.watchdog.check_interval)
            jobs.every("forget", self._forget, min(settings.forget_after / 4, 600.0))
            if gatt is not None:
                gatt.schedule(jobs)
            self.running = True
            await drain
        finally:
            self.running = False
            await self._shutdown(sink)

    async def _shutdown(self, sink: AdvertisementSink) -> None:
        if self._jobs is not None:
            await self._jobs.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_STOP_TIMEOUT_S):
                for scanner in self.scanners.values():
                    await scanner.stop()
        if self.merge is not None:
            self.merge.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_FINAL_DRAIN_S):
                await self.handoff.deliver_rest(sink)

    async def _window(self) -> None:
        """One scan window on every adapter (the scheduled job of windowed scanning)."""
        watchdog = self.watchdog
        assert watchdog is not None
        for adapter in self.settings.adapters:
            await watchdog.start(adapter)
        await asyncio.sleep(self.settings.window.duration)
        for adapter in self.settings.adapters:
            # Judge this window's silence before it ends, whatever the check interval.
            await watchdog.check_adapter(adapter)
            await watchdog.stop(adapter)

    async def _forget(self) -> None:
        self.forgotten += self.devices.forget(time.monotonic() - self.settings.forget_after)

    def _ble_device(self, adapter: str, address: str) -> BLEDevice | None:
        scanner = self.scanners.get(adapter)
        return scanner.ble_devices.get(address) if scanner is not None else None

    def _patterns(self) -> list[OrPattern]:
        registry = self._registry or IntegrationRegistry.discover()
        uuids16 = [
            int(uuid[4:8], 16)
            for uuid in registry.by_service_data
            if uuid.startswith("0000") and uuid.endswith(_BASE_UUID_SUFFIX)
        ]
        return passive_patterns(sorted(registry.by_manufacturer), uuids16)

    # -- D-Bus events --------------------------------------------------------------------

    def _on_bluez_event(self, event: BluezEvent) -> None:
        watchdog, jobs = self.watchdog, self._jobs
        if watchdog is None or jobs is None:
            return
        if event.kind == "adapter_removed" and event.adapter in self.scanners:
            adapter = event.adapter
            jobs.spawn(
                lambda: watchdog.gone(adapter, f"adapter {adapter} was removed (unplugged?)"),
                f"{self.name}.gone",
            )
        elif event.kind == "adapter_added" and event.adapter in self.scanners:
            adapter = event.adapter
            jobs.spawn(
                lambda: watchdog.back(adapter, f"adapter {adapter} is back"), f"{self.name}.back"
            )
        elif event.kind == "bluez_stopped":
            for adapter in self.scanners:
                jobs.spawn(
                    functools.partial(watchdog.gone, adapter, "bluetoothd stopped"),
                    f"{self.name}.gone",
                )
        elif event.kind == "bluez_started":
            jobs.later(_BLUEZ_SETTLE_S, self._after_bluez_start, "bluez-started")

    async def _after_bluez_start(self) -> None:
        watchdog = self.watchdog
        assert watchdog is not None
        for adapter, ladder in watchdog.ladders.items():
            if ladder.state == "gone":
                await watchdog.back(adapter, "bluetoothd is running again")

    # -- what others may ask -------------------------------------------------------------

    def sensor(self, address: str) -> SensorFreshness | None:
        """When `address` was last heard (any callback counts) and its usual interval."""
        state = self.devices.get(address.upper())
        if state is None:
            return None
        return SensorFreshness(
            address.upper(), state.last_wall, state.usual_interval(), state.heard
        )

    def health(self) -> HealthStatus:
        """ok, degraded (recovering, passive unavailable, a GATT device failing) or failing."""
        now = time.monotonic()
        watchdog = self.watchdog
        details: dict[str, object] = {
            "devices": len(self.devices),
            "queue_depth": self.handoff.depth,
            "queue_dropped": self.handoff.dropped,
            "delivered": self.handoff.delivered,
            "merged_duplicates": self.merge.merged if self.merge is not None else 0,
        }
        if watchdog is None:
            return HealthStatus("degraded", "not started", details)
        adapters: dict[str, object] = {}
        failing: list[str] = []
        degraded: list[str] = []
        for adapter, scanner in self.scanners.items():
            ladder = watchdog.ladders[adapter]
            recovery = ladder.last_recovery
            adapters[adapter] = {
                "state": ladder.state,
                "mode": scanner.mode,
                "scanning": scanner.scanning,
                "heard": scanner.heard,
                "last_advert_age_s": None
                if scanner.last_heard is None
                else round(now - scanner.last_heard, 3),
                "silence_s": round(scanner.silence(now), 3),
                "stall_after_s": round(watchdog.threshold(adapter, now), 3),
                "steps": dict(ladder.steps_taken),
                "event_restarts": ladder.event_restarts,
                "incidents": ladder.incidents,
                "recoveries": ladder.recoveries,
                "failures": ladder.failures,
                "last_recovery": None
                if recovery is None
                else {
                    "steps": list(recovery.steps),
                    "silence_s": round(recovery.silence_s, 3),
                    "after_detection_s": round(recovery.after_detection_s, 3),
                },
                "current": None
                if ladder.incident is None
                else {"reason": ladder.incident.reason, "steps": list(ladder.incident.steps)},
                "problem": ladder.problem,
                "last_error": ladder.last_error,
                "passive_fallback": scanner.fallback_reason,
            }
            if ladder.state in ("failing", "gone"):
                failing.append(f"{adapter}: {ladder.problem or ladder.state}")
            elif ladder.incident is not None:
                degraded.append(f"{adapter}: recovering ({ladder.incident.reason})")
            if scanner.fallback_reason:
                degraded.append(f"{adapter}: {scanner.fallback_reason}")
        details["adapters"] = adapters
        if self.gatt is not None:
            gatt: dict[str, object] = {}
            for address, status in self.gatt.status.items():
                gatt[address] = {
                    "polls": status.polls,
                    "successes": status.successes,
                    "failures": status.failures,
                    "timeouts": status.timeouts,
                    "last_error": status.last_error,
                    "last_success": status.last_success,
                }
                if status.consecutive_failures:
                    degraded.append(f"GATT {address}: {status.last_error}")
            details["gatt"] = gatt
        if failing and len(failing) == len(self.scanners):
            return HealthStatus("failing", "; ".join(failing), details)
        if failing or degraded:
            return HealthStatus("degraded", "; ".join(failing + degraded), details)
        return HealthStatus("ok", "", details)
