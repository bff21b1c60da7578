"""The clock guard: advertisements are stamped with the wall clock only while it can be trusted.

It sits between the sources and the router. For every advertisement a source stamped at
reception (live timestamps), it measures the clock's offset, wall time minus monotonic time.
The monotonic clock never jumps, so that offset only drifts by milliseconds while NTP slews
the clock; a change larger than `clock.step_tolerance` is a clock step. The offset is
measured on the clock itself, at the guard, not from the advertisement: a source's queueing
delay would otherwise look like a step backwards.

The clock is suspect after a step, and while it reports itself unsynchronised before it was
ever trusted (a board without a real-time clock, booted before NTP). In `hold` mode suspect
advertisements wait, in order, with their monotonic reception time; once the clock is
trusted again (stable, and synchronised where the system can tell, for `clock.settle`) each
is stamped `monotonic reception time + the offset now trusted` and passed on, so readings
heard during a wrong-clock period get the right times. Past `max_hold` or `max_held` the
held ones are passed on with the best time known (the timeline before the step, or the
clock as it is) and counted as released unsynchronised. A clock that loses its NTP
synchronisation after it was trusted, without a step, is reported but not held: the
monotonic clock carries the trusted timeline on, so holding would only delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from loguru import logger

from hub.clock import Clock
from hub.events import Advertisement
from hub.integrations import AdvertisementSink
from hub.timekeeping.config import ClockConfig

if TYPE_CHECKING:
    from hub.scheduler import Scheduler

JOB_ID = "clock.guard"
# How often (real seconds) the guard looks at the clock when no advertisement arrives, so
# held advertisements are released, or given up on, in time.
TICK_S = 1.0
# An offset measurement whose two monotonic readings are further apart than this share of
# the step tolerance (the process was descheduled in between) is taken again.
_MEASURE_SHARE = 0.125
_MEASURE_TRIES = 3
_SINK_ERROR_LOG_EVERY = 1000
# A release yields to the loop after this many advertisements passed on in a row.
_RELEASE_YIELD_EVERY = 64

GuardState = Literal["starting", "trusted", "holding", "released_unsynchronised", "unsynchronised"]


def describe_duration(seconds: float) -> str:
    """`2h 0m 3s`, `5m 2s`, `3.5s`: a clock step's size for people."""
    seconds = abs(seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes}m"
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    return f"{minutes}m {secs}s"


def clock_time(wall: float) -> str:
    """`10:02` (local time) for health reasons and logs."""
    return time.strftime("%H:%M", time.localtime(wall))


@dataclass(frozen=True, slots=True)
class ClockStep:
    """A step of the wall clock: its size (positive forward), and when it was noticed."""

    size: float
    mono: float
    wall: float  # on the timeline before the step

    def describe(self) -> str:
        direction = "forward" if self.size > 0 else "back"
        return f"stepped {direction} by {describe_duration(self.size)}"


@dataclass(slots=True)
class GuardCounters:
    """What the guard did so far (summary, health, /api/status, /metrics)."""

    passed: int = 0  # live advertisements passed on as stamped
    not_guarded: int = 0  # from sources with recorded timestamps
    steps: int = 0
    unsynchronised_periods: int = 0
    released_restamped: int = 0
    released_unsynchronised: int = 0
    sink_errors: int = 0


@dataclass(slots=True)
class _Held:
    adv: Advertisement
    mono: float  # reception on the monotonic clock
    trusted: bool  # the clock was trusted at reception: the stamp stands


class ClockGuard:
    """Checks live timestamps against the monotonic clock; holds and re-stamps when needed."""

    def __init__(self, settings: ClockConfig, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.counters = GuardCounters()
        self._hold = settings.unsynchronised == "hold"
        self._tolerance = settings.step_tolerance
        self._recorded: frozenset[str] = frozenset()
        self._sink: AdvertisementSink | None = None
        self._scheduler: Scheduler | None = None
        # The offset (wall - monotonic) trusted now; None until the clock was first trusted.
        self._trusted: float | None = None
        # The trusted offset before the clock became suspect: the best time while it is.
        self._before: float | None = None
        self.suspect = False
        self.suspect_since: float | None = None  # monotonic
        self.given_up = False
        self._candidate_since: float | None = None
        # The last offset seen, when, and when its epoch (no step since) began.
        self._observed: float | None = None
        self._observed_at = 0.0
        self._epoch_start = 0.0
        # (offset, last seen) of the epoch before the last step: an advertisement stamped
        # just before a step may reach the guard just after it.
        self._previous: tuple[float, float] | None = None
        self.synchronised: bool | None = None
        self.unsynchronised_since: float | None = None  # monotonic; only while not held
        self.last_step: ClockStep | None = None
        self.last_unsynchronised_release: float | None = None  # monotonic
        self._held: deque[_Held] = deque()
        self._restamped_batch = 0
        self._trusted_why = ""
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._drain_lock = asyncio.Lock()
        self._worker: asyncio.Task[None] | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(
        self,
        sink: AdvertisementSink,
        scheduler: Scheduler | None = None,
        recorded: Iterable[str] = (),
    ) -> AdvertisementSink:
        """Guard `sink`; returns the sink to hand the sources. `recorded`: names of sources
        whose timestamps are recorded ones, not stamped at reception (passed on untouched)."""
        self._sink = sink
        self._recorded = frozenset(recorded)
        self._worker = asyncio.get_running_loop().create_task(self._work(), name=JOB_ID)
        if scheduler is not None:
            self._scheduler = scheduler
            scheduler.add_interval(JOB_ID, self.tick, TICK_S)
        return self.submit

    async def stop(self) -> None:
        """Pass on what is still held (the sources have stopped), then stop."""
        if self._scheduler is not None:
            self._scheduler.remove(JOB_ID)
        if self._held and self.suspect and not self.given_up:
            logger.warning(
                "Stopping while the clock is not trusted: {:,} held advertisements passed on "
                "with the best time known ({})",
                len(self._held),
                self._best_basis(),
            )
            self.given_up = True
        if self._sink is not None:
            async with self._drain_lock:
                await self._drain()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    # -- the sink --------------------------------------------------------------------------

    async def submit(self, adv: Advertisement) -> None:
        """Sink for the sources: pass on, or hold, one advertisement."""
        sink = self._sink
        assert sink is not None, "start() the guard first"
        if adv.source in self._recorded:
            self.counters.not_guarded += 1
            await sink(adv)
            return
        now, offset = self._measure()
        self._observe(now, offset, self.clock.synchronised())
        held = self._held
        if not held and not self.suspect:
            self.counters.passed += 1
            await sink(adv)
            return
        stamped_with = self._stamp_offset(adv.ts, now, offset)
        trusted = not self.suspect and abs(stamped_with - offset) <= self._tolerance
        item = _Held(adv, adv.ts - stamped_with, trusted)
        if self.suspect and not self.given_up:
            held.append(item)
            self._check_limits(now)
            return
        # A release is under way (or the guard gave up): queue behind it, in order.
        while len(held) >= self.settings.max_held:
            self._room.clear()
            await self._room.wait()
        held.append(item)
        self._wake.set()

    async def tick(self) -> None:
        """Scheduled: look at the clock even when nothing arrives."""
        now, offset = self._measure()
        self._observe(now, offset, self.clock.synchronised())
        self._check_limits(now)
        if self._held and (not self.suspect or self.given_up or self._held[0].trusted):
            self._wake.set()

    # -- what the clock does -----------------------------------------------------------------

    def _measure(self) -> tuple[float, float]:
        """(monotonic now, wall - monotonic), from readings taken close together."""
        clock = self.clock
        limit = self._tolerance * _MEASURE_SHARE
        before = clock.monotonic()
        wall = clock.time()
        after = clock.monotonic()
        tries = 1
        while after - before > limit and tries < _MEASURE_TRIES:
            # Descheduled between the readings: the wall reading is not pinned down.
            before = clock.monotonic()
            wall = clock.time()
            after = clock.monotonic()
            tries += 1
        return after, wall - (before + after) / 2

    def _observe(self, now: float, offset: float, sync: bool | None) -> None:
        self.synchronised = sync
        observed = self._observed
        if (
            observed is not None
            and not self.suspect
            and sync is not False
            and self.unsynchronised_since is None
            and self._trusted is not None
            and -self._tolerance <= offset - observed <= self._tolerance
        ):
            # The usual case, on every advertisement: trusted, and no step.
            self._observed = self._trusted = offset
            self._observed_at = now
            return
        if observed is None:
            self._epoch_start = now
        elif abs(offset - observed) > self._tolerance:
            self._previous = (observed, self._observed_at)
            self._epoch_start = now
            self._stepped(offset - observed, now, offset)
        self._observed, self._observed_at = offset, now
        self._assess(now, offset, sync)

    def _stepped(self, size: float, now: float, offset: float) -> None:
        basis = self._trusted if self._trusted is not None else offset - size
        step = self.last_step = ClockStep(size, now, now + basis)
        self.counters.steps += 1
        self._candidate_since = None
        if self._hold and not self.suspect and self._trusted is not None:
            self._before = self._trusted
            self.suspect = True
            self.suspect_since = now
        logger.warning(
            "System clock {}{}",
            step.describe(),
            "; holding advertisements until it is trusted again"
            if self.suspect and not self.given_up
            else "",
        )

    def _assess(self, now: float, offset: float, sync: bool | None) -> None:
        if not self._hold:
            self._trusted = offset  # store mode: readings are stored as stamped
            self._note_synchronisation(now, sync)
            return
        if not self.suspect:
            if self._trusted is None and sync is False:
                # Never trusted, and not synchronised: the clock may be anything yet.
                self.suspect = True
                self.suspect_since = now
                logger.warning(
                    "System clock not synchronised: holding advertisements until it is "
                    "(at most {} or {:,} advertisements)",
                    describe_duration(self.settings.max_hold),
                    self.settings.max_held,
                )
                return
            self._trusted = offset  # follows NTP's slewing
            self._note_synchronisation(now, sync)
            return
        if sync is False:
            self._candidate_since = None
            return
        if self._candidate_since is None:
            self._candidate_since = now
        if now - self._candidate_since >= self.settings.settle:
            self._trust(offset, sync)

    def _trust(self, offset: float, sync: bool | None) -> None:
        self.suspect = False
        self.suspect_since = None
        self._candidate_since = None
        self._before = None
        self._trusted = offset
        if self.given_up:
            self.given_up = False
        self._trusted_why = (
            "Clock synchronised"
            if sync
            else f"Clock stable again for {describe_duration(self.settings.settle)}"
        )
        if self._held:
            self._wake.set()
        else:
            logger.info("{}: nothing was held", self._trusted_why)

    def _note_synchronisation(self, now: float, sync: bool | None) -> None:
        if sync is False and self.unsynchronised_since is None:
            self.unsynchronised_since = now
            self.counters.unsynchronised_periods += 1
            logger.warning(
                "System clock not synchronised{}",
                " (clock.unsynchronised: store: readings are stored as stamped)"
                if not self._hold
                else "; it runs on without a step, so stamps continue the trusted timeline",
            )
        elif sync is not False and self.unsynchronised_since is not None:
            self.unsynchronised_since = None
            logger.info("System clock synchronised again")

    def _stamp_offset(self, ts: float, now: float, offset: float) -> float:
        """The offset that stamped `ts`: the current one, unless it was stamped before the
        last step (it would then seem to come from the future, or from before the epoch)."""
        previous = self._previous
        if previous is None:
            return offset
        tolerance = self._tolerance
        before_offset, before_seen = previous
        if before_seen - tolerance <= ts - offset <= now + tolerance:
            return offset
        if ts - before_offset <= self._epoch_start + tolerance:
            return before_offset
        return offset

    def _check_limits(self, now: float) -> None:
        held = self._held
        if not (self.suspect and not self.given_up and held):
            return
        if len(held) >= self.settings.max_held:
            self._give_up(f"{len(held):,} advertisements held (clock.max_held)")
        elif now - held[0].mono >= self.settings.max_hold:
            self._give_up(f"held for {describe_duration(now - held[0].mono)} (clock.max_hold)")

    def _give_up(self, why: str) -> None:
        self.given_up = True
        logger.error(
            "Clock still not trusted, {}: passing {:,} held advertisements on with the best "
            "time known ({}), and the next ones too until it is trusted",
            why,
            len(self._held),
            self._best_basis(),
        )
        self._wake.set()

    def _best_basis(self) -> str:
        return "the timeline before the step" if self._before is not None else "the clock as it is"

    # -- releasing -----------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            async with self._drain_lock:
                await self._drain()

    async def _drain(self) -> None:
        """Pass on held advertisements, in order, as far as the clock's state allows."""
        held = self._held
        counters = self.counters
        released = 0
        while held:
            item = held[0]
            if item.trusted:
                adv = item.adv
                counters.passed += 1
            elif not self.suspect and self._trusted is not None:
                adv = replace(item.adv, ts=item.mono + self._trusted)
                counters.released_restamped += 1
                self._restamped_batch += 1
            elif self.given_up:
                basis = self._before
                adv = item.adv if basis is None else replace(item.adv, ts=item.mono + basis)
                counters.released_unsynchronised += 1
                self.last_unsynchronised_release = self.clock.monotonic()
            else:
                break  # suspect again: the rest waits
            held.popleft()
            self._room.set()
            await self._deliver(adv)
            released += 1
            if released % _RELEASE_YIELD_EVERY == 0:
                # A release of minutes of readings must not hold the loop: the sources go on
                # reading (and stamping) meanwhile, and the bus's workers take them.
                await asyncio.sleep(0)
        if not held and self._restamped_batch and not self.suspect:
            logger.info(
                "{}: {:,} held advertisements stamped and stored",
                self._trusted_why or "Clock trusted",
                self._restamped_batch,
            )
            self._restamped_batch = 0

    async def _deliver(self, adv: Advertisement) -> None:
        assert self._sink is not None
        try:
            await self._sink(adv)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the sink's failure must not stop the guard
            self.counters.sink_errors += 1
            if self.counters.sink_errors % _SINK_ERROR_LOG_EVERY == 1:
                logger.opt(exception=True).error(
                    "Sink failed on a held advertisement from {} ({} failures so far)",
                    adv.address,
                    self.counters.sink_errors,
                )

    # -- what it tells -------------------------------------------------------------------

    @property
    def held(self) -> int:
        return len(self._held)

    @property
    def state(self) -> GuardState:
        if self._observed is None:
            return "starting"
        if self.given_up:
            return "released_unsynchronised"
        if self.suspect:
            return "holding"
        if self.synchronised is False:
            return "unsynchronised"
        return "trusted"

    def wall(self, mono: float) -> float:
        """The best wall time for a monotonic time (on the trusted timeline if there is one)."""
        for offset in (self._before, self._trusted, self._observed):
            if offset is not None:
                return mono + offset
        return self.clock.time() - self.clock.monotonic() + mono

    def status(self) -> dict[str, object]:
        """Counters and state, for /api/status, /metrics and health details."""
        counters = self.counters
        step = self.last_step
        return {
            "mode": self.settings.unsynchronised,
            "state": self.state,
            "synchronised": self.synchronised,
            "held": len(self._held),
            "held_since": self.wall(self._held[0].mono) if self._held else None,
            "steps": counters.steps,
            "last_step_s": round(step.size, 3) if step else None,
            "last_step_at": step.wall if step else None,
            "released_restamped": counters.released_restamped,
            "released_unsynchronised": counters.released_unsynchronised,
            "passed": counters.passed,
            "not_guarded": counters.not_guarded,
        }

    def summary(self) -> str:
        """A few words for the hub's summary line; empty while nothing happened."""
        counters = self.counters
        if (
            self.state in ("starting", "trusted")
            and not counters.steps
            and not counters.released_restamped
            and not counters.released_unsynchronised
        ):
            return ""
        return (
            f"clock {self.state}: {len(self._held):,} held, {counters.steps} steps, "
            f"{counters.released_restamped:,} re-stamped, "
            f"{counters.released_unsynchronised:,} released unsynchronised"
        )
