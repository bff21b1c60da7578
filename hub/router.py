"""Routes each advertisement to its decoder and puts the result on the bus.

Per advertisement: a dictionary lookup for candidate decoders, the decode, derived values,
and a check that the measurement is new (a sensor repeats each measurement several times;
a repeat keeps the sensor fresh but is not a new reading).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from loguru import logger

from hub.bus import EventBus
from hub.decoding import Correction, canonical_measurements, decode_advertisement
from hub.events import Advertisement, Reading, SensorSeen
from hub.integrations import DecodeContext, Decoded, DecodeFailure, IntegrationRegistry

# How many distinct recent sequence numbers are remembered per sensor. Several receivers may
# deliver the same measurement out of order, one of them seconds late; the window catches
# those repeats.
SEQUENCE_WINDOW = 64
# Decode failures of one sensor are logged at most this often; all are counted.
_FAILURE_LOG_INTERVAL_S = 300.0
_RECENT_ERRORS = 50


@dataclass(slots=True)
class IntegrationCounters:
    """Per-integration counters, read by the summary, metrics and health."""

    decoded: int = 0
    repeats: int = 0
    errors: int = 0


@dataclass(slots=True)
class RouterCounters:
    """Counters for everything the router saw."""

    advertisements: int = 0
    unmatched: int = 0
    disabled: int = 0
    readings: int = 0
    by_integration: dict[str, IntegrationCounters] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RecentError:
    """A decode failure kept for the debug bundle and `/api/status`."""

    ts: float
    address: str
    integration: str
    reason: str


class Router:
    """Advertisement in; Reading (or SensorSeen for a repeat) out on the bus."""

    def __init__(
        self,
        registry: IntegrationRegistry,
        bus: EventBus,
        keys: Mapping[str, bytes] | None = None,
        disabled: Iterable[str] = (),
        calibrations: Mapping[str, Mapping[str, Correction]] | None = None,
    ) -> None:
        self._registry = registry
        self._bus = bus
        self._context = DecodeContext(keys=dict(keys or {}))
        # Sensors the user switched off: decoded (so errors still show) but not published.
        self._disabled = frozenset(disabled)
        self._calibrations = dict(calibrations or {})
        self._recent: dict[str, _RecentMeasurements] = {}
        self._failure_logged: dict[str, float] = {}
        self.counters = RouterCounters(
            by_integration={name: IntegrationCounters() for name in registry.decoders}
        )
        self.recent_errors: deque[RecentError] = deque(maxlen=_RECENT_ERRORS)
        self.known_sensors: set[str] = set()

    @property
    def decoder_names(self) -> list[str]:
        return sorted(self._registry.decoders)

    def set_disabled(self, addresses: Iterable[str]) -> None:
        """Replace the set of disabled sensors (config at start, `hub sensors disable` later)."""
        self._disabled = frozenset(addresses)

    @property
    def disabled(self) -> frozenset[str]:
        return self._disabled

    def seed_sequences(self, last: Mapping[str, Iterable[tuple[int, Mapping[str, float]]]]) -> None:
        """Remember the measurements already stored (at start-up), so a restart stores no
        repeat: `last` is address -> (sequence, canonical measurements), oldest first."""
        for address, stored in last.items():
            recent = self._recent.setdefault(address, _RecentMeasurements())
            for sequence, measurements in stored:
                recent.remember(sequence, _fingerprint(measurements))
            self.known_sensors.add(address)

    def route(self, adv: Advertisement) -> Reading | SensorSeen | DecodeFailure | None:
        """Decode `adv`; returns what should be published (or the failure, or None)."""
        counters = self.counters
        counters.advertisements += 1
        integration, result = decode_advertisement(self._registry, self._context, adv)
        if integration is None or result is None:
            counters.unmatched += 1
            return None
        mine = counters.by_integration[integration.name]
        if isinstance(result, DecodeFailure):
            mine.errors += 1
            self._note_failure(adv, integration.name, result.reason)
            return result
        if adv.address in self._disabled:
            counters.disabled += 1
            return None
        return self._to_event(adv, integration.name, result, mine)

    def _to_event(
        self, adv: Advertisement, integration: str, decoded: Decoded, mine: IntegrationCounters
    ) -> Reading | SensorSeen:
        measurements = canonical_measurements(decoded, self._calibrations.get(adv.address))
        sequence = decoded.sequence
        if sequence is not None:
            recent = self._recent.get(adv.address)
            if recent is None:
                recent = self._recent[adv.address] = _RecentMeasurements()
            if recent.is_repeat(sequence, _fingerprint(measurements)):
                mine.repeats += 1
                return SensorSeen(adv.ts, adv.address, integration, adv.rssi, repeat=True)
        if not (measurements or decoded.states or decoded.events):
            # Heard and understood, but nothing measured (e.g. a capability-only frame).
            return SensorSeen(adv.ts, adv.address, integration, adv.rssi)
        mine.decoded += 1
        self.counters.readings += 1
        if adv.address not in self.known_sensors:
            self.known_sensors.add(adv.address)
            logger.info(
                "New sensor {} ({} {}{})",
                adv.address,
                integration,
                decoded.model or "device",
                f", advertised as {adv.name!r}" if adv.name else "",
            )
        return Reading(
            ts=adv.ts,
            address=adv.address,
            integration=integration,
            measurements=measurements,
            model=decoded.model,
            format=decoded.format,
            rssi=adv.rssi,
            sequence=sequence,
            # One plain dict for every consumer (JSON encoders refuse a mappingproxy).
            states=decoded.states if type(decoded.states) is dict else dict(decoded.states),
            events=decoded.events,
            name=adv.name,
        )

    def _note_failure(self, adv: Advertisement, integration: str, reason: str) -> None:
        self.recent_errors.append(RecentError(adv.ts, adv.address, integration, reason))
        now = time.monotonic()
        if now - self._failure_logged.get(adv.address, -_FAILURE_LOG_INTERVAL_S) >= (
            _FAILURE_LOG_INTERVAL_S
        ):
            self._failure_logged[adv.address] = now
            logger.warning("Cannot decode {} ({}): {}", adv.address, integration, reason)

    # -- sinks for sources ---------------------------------------------------------------

    async def submit(self, adv: Advertisement) -> None:
        """Sink for sources that can wait: back-pressure from `block` subscribers applies."""
        bus = self._bus
        if bus.has_subscribers(Advertisement):
            await bus.publish_wait(adv)
        event = self.route(adv)
        if event is None or isinstance(event, DecodeFailure):
            return
        if bus.must_wait(event):
            await bus.publish_wait(event)
        else:
            bus.publish(event)

    def submit_nowait(self, adv: Advertisement) -> None:
        """Sink for callbacks that must not wait (a radio's detection callback)."""
        bus = self._bus
        bus.publish(adv)
        event = self.route(adv)
        if isinstance(event, Reading | SensorSeen):
            bus.publish(event)


# The quantities whose values tell one measurement from another. Not every field: Ruuvi Air
# sends each sample as format 6 and as E1, with the same climate, CO2 and PM2.5 values but
# other fields in different resolutions, and the two frames are one measurement.
_FINGERPRINT = ("temperature", "humidity", "pressure", "moisture", "co2", "pm2_5")


def _fingerprint(measurements: Mapping[str, float]) -> int:
    get = measurements.get
    return hash(tuple(get(name) for name in _FINGERPRINT))


class _RecentMeasurements:
    """A sensor's recent measurements: sequence number -> fingerprint of its values.

    A frame is a repeat when its sequence was seen recently with the same values (of
    `_FINGERPRINT`). The values matter because counters are short: b-parasite counts 0-15,
    so every sequence number comes back after 16 measurements, and a reboot restarts a
    Ruuvi's count at 0.
    """

    __slots__ = ("_by_sequence", "_order")

    def __init__(self) -> None:
        self._by_sequence: dict[int, int] = {}
        self._order: deque[int] = deque()

    def is_repeat(self, sequence: int, fingerprint: int) -> bool:
        """True for a repeat; otherwise remembers the measurement and returns False."""
        if self._by_sequence.get(sequence) == fingerprint:
            return True
        self.remember(sequence, fingerprint)
        return False

    def remember(self, sequence: int, fingerprint: int) -> None:
        by_sequence = self._by_sequence
        if sequence not in by_sequence:
            self._order.append(sequence)
            if len(self._order) > SEQUENCE_WINDOW:
                del by_sequence[self._order.popleft()]
        by_sequence[sequence] = fingerprint
