"""Notices a scanner that stopped hearing anything, and climbs a recovery ladder.

BlueZ scans can stall silently (after days, after a controller hiccup), a USB dongle can be
unplugged, bluetoothd can be restarted. Per adapter, the watchdog compares the scanning
time since the last advertisement with what the sensors this adapter hears predict (their
usual intervals); when the silence is too long it is a stall, and it climbs the ladder, one
step per check while the silence lasts:

1. restart discovery (stop and start the same scanner);
2. recreate the scanner (a new BleakScanner);
3. power-cycle the adapter over D-Bus (`org.bluez.Adapter1.Powered` off, then on);
4. report failing, and climb again after a backoff that doubles up to `max_backoff`.

It never gives up and never spins. Every step is logged and counted; the time from the last
advertisement before the stall to the first one after it is measured and reported.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from loguru import logger

from integrations.ble.bluez import power_cycle
from integrations.ble.devices import DeviceTable
from integrations.ble.diagnostics import describe_error, diagnose
from integrations.ble.scanner import AdapterScanner
from integrations.ble.settings import WatchdogSettings

STEPS = ("restart_discovery", "recreate_scanner", "power_cycle")
# Not a rung of the ladder: the scanner restarted at once because D-Bus said the adapter (or
# bluetoothd) is back.
EVENT_RESTART = "restart_when_back"
LadderState = Literal["starting", "ok", "recovering", "failing", "gone", "idle"]


@dataclass(slots=True)
class Incident:
    """One stall (or outage) of one adapter, from detection to the first advertisement."""

    reason: str
    detected: float  # monotonic
    silent_since: float  # monotonic time of the last advertisement before it
    steps: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Recovery:
    """How a finished incident ended."""

    reason: str
    steps: tuple[str, ...]
    silence_s: float  # last advertisement before the stall -> first one after
    after_detection_s: float  # detection -> first advertisement


@dataclass(slots=True)
class Ladder:
    """The recovery state of one adapter."""

    state: LadderState = "starting"
    next_step: int = 0
    incident: Incident | None = None
    next_try: float = 0.0
    backoff: float = 0.0
    # Step name -> how often it was taken; plus restarts made at once on a D-Bus event.
    steps_taken: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STEPS, 0))
    event_restarts: int = 0
    incidents: int = 0
    recoveries: int = 0
    failures: int = 0
    errors: int = 0
    last_error: str = ""
    problem: str = ""
    last_recovery: Recovery | None = None


class Watchdog:
    """The ladder for every adapter; its `check` runs as a scheduled job."""

    def __init__(
        self,
        settings: WatchdogSettings,
        scanners: Mapping[str, AdapterScanner],
        devices: DeviceTable,
    ) -> None:
        self._settings = settings
        self._scanners = scanners
        self._devices = devices
        self.ladders = {name: Ladder(backoff=settings.first_backoff) for name in scanners}
        self._locks = {name: asyncio.Lock() for name in scanners}
        # Adapters that should be scanning now (all of them, or those in a scan window).
        self.wanted = dict.fromkeys(scanners, True)

    # -- thresholds ----------------------------------------------------------------------

    def threshold(self, adapter: str, now: float) -> float:
        """Scanning silence after which `adapter` counts as stalled."""
        settings = self._settings
        scanner = self._scanners[adapter]
        reference = scanner.last_heard if scanner.last_heard is not None else now
        quickest = self._devices.quickest_interval(adapter, reference - settings.max_silence)
        if quickest is None:
            return settings.max_silence
        predicted = settings.silence_factor * quickest
        return min(settings.max_silence, max(settings.min_silence, predicted))

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self, adapter: str) -> bool:
        """Start scanning on `adapter`; on failure the ladder takes over. True if started."""
        async with self._locks[adapter]:
            self.wanted[adapter] = True
            return await self._start(adapter)

    async def _start(self, adapter: str) -> bool:
        scanner = self._scanners[adapter]
        ladder = self.ladders[adapter]
        try:
            await scanner.start()
        except Exception as exc:  # noqa: BLE001 - any failure: explain it, then the ladder
            await self._cannot_start(adapter, exc)
            return False
        if ladder.incident is None:
            ladder.state = "ok"
        ladder.problem = ""
        return True

    async def _cannot_start(self, adapter: str, exc: BaseException) -> None:
        ladder = self.ladders[adapter]
        ladder.errors += 1
        ladder.last_error = describe_error(exc)
        diagnosis = await diagnose((adapter,))
        problem = str(diagnosis.problems[0]) if diagnosis.problems else ladder.last_error
        new = problem != ladder.problem
        ladder.problem = problem
        if ladder.incident is None:
            self._open(adapter, f"cannot scan: {problem}", time.monotonic(), "ERROR")
        elif new:
            logger.error("BLE {}: cannot scan: {}", adapter, problem)

    async def stop(self, adapter: str) -> None:
        """Stop scanning on `adapter` (end of a scan window, shutdown)."""
        async with self._locks[adapter]:
            self.wanted[adapter] = False
            await self._scanners[adapter].stop()

    # -- the job -------------------------------------------------------------------------

    async def check(self) -> None:
        """One look at every adapter; takes at most one ladder step per adapter."""
        for adapter in self._scanners:
            await self.check_adapter(adapter)

    async def check_adapter(self, adapter: str) -> None:
        async with self._locks[adapter]:
            await self._check(adapter)

    async def _check(self, adapter: str) -> None:
        if not self.wanted[adapter]:
            return
        scanner = self._scanners[adapter]
        ladder = self.ladders[adapter]
        now = time.monotonic()
        if ladder.incident is not None and scanner.recovered_at is not None:
            self._recovered(adapter, scanner.recovered_at)
        if ladder.incident is None:
            if not scanner.scanning:
                self._open(adapter, ladder.last_error or "not scanning", now)
            elif not self._settings.enabled:
                return
            else:
                threshold = self.threshold(adapter, now)
                silence = scanner.silence(now)
                if silence <= threshold:
                    ladder.state = "ok"
                    return
                self._open(
                    adapter,
                    f"no advertisement for {silence:.1f} s of scanning "
                    f"(the sensors it hears predict one within {threshold:.1f} s)",
                    now,
                )
        elif scanner.scanning and (
            scanner.silence(now) <= self.threshold(adapter, now) or not self._settings.enabled
        ):
            # The last step started scanning again: give it the time a healthy one needs.
            return
        if now < ladder.next_try:
            return
        if ladder.next_step >= len(STEPS):
            # Every step was taken and the silence outlasted the last one too.
            await self._fail(adapter)
            return
        await self._step(adapter)

    def _open(self, adapter: str, reason: str, now: float, level: str = "WARNING") -> None:
        ladder = self.ladders[adapter]
        scanner = self._scanners[adapter]
        if ladder.incident is not None:
            return
        silent_since = scanner.last_heard if scanner.last_heard is not None else now
        ladder.incident = Incident(reason, now, silent_since)
        ladder.incidents += 1
        ladder.next_step = 0
        if ladder.state not in ("gone", "failing"):
            ladder.state = "recovering"
        scanner.recovering = True
        scanner.recovered_at = None
        logger.log(level, "BLE {}: {}", adapter, reason)

    async def _step(self, adapter: str) -> None:
        scanner = self._scanners[adapter]
        ladder = self.ladders[adapter]
        incident = ladder.incident
        assert incident is not None
        step = STEPS[ladder.next_step]
        ladder.next_step += 1
        ladder.steps_taken[step] += 1
        incident.steps.append(step)
        logger.warning(
            "BLE {}: recovery step {}/{}: {} (taken {} times so far)",
            adapter,
            ladder.next_step,
            len(STEPS),
            step,
            ladder.steps_taken[step],
        )
        scanner.recovering = True
        try:
            await scanner.stop()
            if step != "restart_discovery":
                scanner.discard()
            if step == "power_cycle":
                await power_cycle(adapter, self._settings.power_off)
            await scanner.start(recreate=step != "restart_discovery")
        except Exception as exc:  # noqa: BLE001 - a failed step: the next one follows
            ladder.errors += 1
            ladder.last_error = describe_error(exc)
            logger.warning("BLE {}: {} failed: {}", adapter, step, ladder.last_error)
        else:
            scanner.reset_silence()
            ladder.last_error = ""
        if ladder.state not in ("gone", "failing"):
            ladder.state = "recovering"

    async def _fail(self, adapter: str) -> None:
        ladder = self.ladders[adapter]
        ladder.next_step = 0
        ladder.failures += 1
        ladder.next_try = time.monotonic() + ladder.backoff
        if ladder.state != "gone":
            ladder.state = "failing"
        if ladder.last_error:
            diagnosis = await diagnose((adapter,))
            if diagnosis.problems:
                ladder.problem = str(diagnosis.problems[0])
        logger.error(
            "BLE {}: still nothing after every recovery step ({}); failing, next attempt in "
            "{:.0f} s{}",
            adapter,
            ", ".join(STEPS),
            ladder.backoff,
            f": {ladder.problem}" if ladder.problem else "",
        )
        ladder.backoff = min(self._settings.max_backoff, ladder.backoff * 2)

    def _recovered(self, adapter: str, first: float) -> None:
        ladder = self.ladders[adapter]
        incident = ladder.incident
        assert incident is not None
        recovery = Recovery(
            reason=incident.reason,
            steps=tuple(incident.steps),
            silence_s=max(0.0, first - incident.silent_since),
            after_detection_s=max(0.0, first - incident.detected),
        )
        ladder.last_recovery = recovery
        ladder.recoveries += 1
        ladder.incident = None
        ladder.state = "ok"
        ladder.next_step = 0
        ladder.next_try = 0.0
        ladder.backoff = self._settings.first_backoff
        ladder.problem = ""
        ladder.last_error = ""
        logger.info(
            "BLE {} recovered ({}): first advertisement {:.1f} s after the last one before "
            "the outage, {:.1f} s after it was detected",
            adapter,
            "after " + ", ".join(recovery.steps) if recovery.steps else "by itself",
            recovery.silence_s,
            recovery.after_detection_s,
        )

    # -- D-Bus events --------------------------------------------------------------------

    async def gone(self, adapter: str, reason: str) -> None:
        """The adapter (or bluetoothd) went away: stop, and wait for it to come back."""
        async with self._locks[adapter]:
            ladder = self.ladders[adapter]
            scanner = self._scanners[adapter]
            await scanner.stop()
            scanner.discard()
            if ladder.incident is None:
                self._open(adapter, f"{reason}; scanning resumes when it is back", time.monotonic())
            else:
                logger.warning("BLE {}: {}", adapter, reason)
            ladder.state = "gone"
            ladder.problem = reason
            # The ladder cannot help meanwhile; retry now and then in case an event is missed.
            ladder.next_step = 0
            ladder.next_try = time.monotonic() + ladder.backoff

    async def back(self, adapter: str, reason: str) -> None:
        """The adapter (or bluetoothd) is back: start scanning again at once."""
        async with self._locks[adapter]:
            if not self.wanted[adapter]:
                self.ladders[adapter].state = "idle"
                return
            ladder = self.ladders[adapter]
            scanner = self._scanners[adapter]
            logger.info("BLE {}: {}; restarting the scanner", adapter, reason)
            self._open(adapter, reason, time.monotonic())
            ladder.event_restarts += 1
            if ladder.incident is not None:
                ladder.incident.steps.append(EVENT_RESTART)
            scanner.discard()
            # Whether or not this start works, the ladder resumes from its first step.
            ladder.state = "recovering"
            ladder.next_step = 0
            ladder.next_try = 0.0
            if await self._start(adapter):
                scanner.reset_silence()
