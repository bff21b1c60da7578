"""Home Assistant MQTT discovery: one retained config per sensor and measurement.

Each config names the sensor's state topic and a template that picks one measurement out
of it, the device class and unit (`hub.mqtt.entities`), a device block (so all of a
sensor's entities form one device, named and placed as in `hub sensors`), availability
(the hub's last will *and* the sensor's own topic: both must say `online`), and
`expire_after` learned from how often the sensor really reports. `DiscoveryLedger`
remembers what was published, so only configs that changed are sent again, except on a
resync (Home Assistant restarted, or the hub reconnected), which sends them all.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from hub import __version__
from hub.mqtt.entities import entity_kind
from hub.mqtt.topics import Topics

# Intervals remembered per sensor for the running median, and how many are needed before
# the median is trusted.
_INTERVALS = 15
_MIN_INTERVALS = 3
# A learned expiry is announced again only when it moves by more than this fraction.
EXPIRE_CHANGE = 0.25
EMPTY = b""


@dataclass(frozen=True, slots=True)
class SensorMeta:
    """What Home Assistant shows about a sensor's device."""

    address: str
    name: str
    integration: str
    model: str | None = None
    location: str | None = None


class IntervalTracker:
    """The running median of the intervals between a sensor's readings."""

    __slots__ = ("_intervals", "_last")

    def __init__(self) -> None:
        self._last: float | None = None
        self._intervals: deque[float] = deque(maxlen=_INTERVALS)

    def add(self, ts: float) -> None:
        last = self._last
        if last is not None and ts > last:
            self._intervals.append(ts - last)
        if last is None or ts > last:
            self._last = ts

    @property
    def usual(self) -> float | None:
        """The median interval in seconds, once a few intervals were seen."""
        if len(self._intervals) < _MIN_INTERVALS:
            return None
        return statistics.median(self._intervals)


def expire_after(
    usual: float | None, min_interval: float, intervals: float, minimum: float
) -> int | None:
    """Seconds without a state before Home Assistant marks an entity unavailable.

    A state goes out at most every `min_interval`, so the gap Home Assistant sees is the
    longer of that and the sensor's own interval; `intervals` of those gaps may pass.
    None while the sensor's interval is not known yet (or expiry is switched off).
    """
    if usual is None or intervals <= 0:
        return None
    return max(math.ceil(minimum), math.ceil(intervals * max(usual, min_interval)))


def expire_moved(announced: int | None, now: int | None) -> bool:
    """True when the learned expiry differs enough from the announced one to re-announce."""
    if now is None:
        return False
    if announced is None:
        return True
    return abs(now - announced) > EXPIRE_CHANGE * announced


def manufacturer(integration: str) -> str:
    # The integrations declare no manufacturer yet; their name is the honest fallback.
    return integration[:1].upper() + integration[1:]


def entity_config(
    topics: Topics,
    meta: SensorMeta,
    measurement: str,
    *,
    sid: str,
    qos: int,
    expire: int | None,
) -> dict[str, object]:
    """The discovery config of one measurement of one sensor."""
    kind = entity_kind(measurement)
    device: dict[str, object] = {
        "identifiers": [f"ble_{sid}"],
        "connections": [["bluetooth", meta.address]],
        "name": meta.name,
        "manufacturer": manufacturer(meta.integration),
    }
    if meta.model:
        device["model"] = meta.model
    if meta.location:
        device["suggested_area"] = meta.location
    config: dict[str, object] = {
        "name": kind.label,
        "unique_id": f"ble_{sid}_{measurement}",
        "state_topic": topics.state(sid),
        # A measurement the sensor marked invalid is absent from the state: "None" makes
        # Home Assistant show it as unknown instead of logging a template error.
        "value_template": f"{{{{ value_json.{measurement} | default('None') }}}}",
        "state_class": kind.state_class,
        "availability": [
            {"topic": topics.status},
            {"topic": topics.availability(sid)},
        ],
        "availability_mode": "all",
        "qos": qos,
        "device": device,
        "origin": {"name": "hub", "sw_version": __version__},
    }
    if kind.device_class:
        config["device_class"] = kind.device_class
    if kind.unit:
        config["unit_of_measurement"] = kind.unit
    if kind.diagnostic:
        config["entity_category"] = "diagnostic"
    if not kind.enabled:
        config["enabled_by_default"] = False
    if expire is not None:
        config["expire_after"] = expire
    return config


class DiscoveryLedger:
    """What discovery configs were published, to send only what changed."""

    def __init__(self, topics: Topics, qos: int) -> None:
        self._topics = topics
        self._qos = qos
        # config topic -> hash of the payload last published there
        self._published: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._published)

    def forget_all(self) -> None:
        """Everything is sent again (after a reconnect, or Home Assistant's restart)."""
        self._published.clear()

    def changed(
        self, meta: SensorMeta, sid: str, measurements: Iterable[str], expire: int | None
    ) -> list[tuple[str, bytes]]:
        """(topic, payload) of the configs that differ from what was published; the ledger
        counts them as published (a failed send ends the session, and the next one resyncs
        everything)."""
        out: list[tuple[str, bytes]] = []
        published = self._published
        for measurement in sorted(measurements):
            topic = self._topics.discovery(sid, measurement)
            payload = orjson.dumps(
                entity_config(
                    self._topics, meta, measurement, sid=sid, qos=self._qos, expire=expire
                )
            )
            digest = hash(payload)
            if published.get(topic) != digest:
                published[topic] = digest
                out.append((topic, payload))
        return out

    def removals(self, sid: str, measurements: Iterable[str]) -> list[tuple[str, bytes]]:
        """Empty retained configs that make Home Assistant delete the sensor's entities."""
        topics = {self._topics.discovery(sid, m) for m in measurements}
        prefix = self._topics.discovery(sid, "")[: -len("/config")]
        topics.update(t for t in self._published if t.startswith(prefix))
        for topic in topics:
            self._published.pop(topic, None)
        return [(topic, EMPTY) for topic in sorted(topics)]
