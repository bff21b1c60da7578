"""/metrics: the sensors' latest values and the hub's own counters, in Prometheus' text format.

Everything is read at scrape time from the parts that own it (router, bus, store, scheduler,
sources, components, the live sensor view): there is no second set of counters to keep in
step. One gauge family per measurement, named with its unit, labelled by sensor, address
and location, e.g. `hub_sensor_temperature_celsius{sensor="Kitchen",...}`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from hub import __version__
from hub.healthmon.checks import RANK
from hub.healthmon.monitor import HealthReport
from hub.healthmon.view import HubView
from hub.http.live import LiveSensors

# Canonical measurements (contract 2) and the unit suffix of their metric names.
UNITS: dict[str, str] = {
    "temperature": "celsius",
    "dew_point": "celsius",
    "humidity": "percent",
    "moisture": "percent",
    "battery": "percent",
    "pressure": "hectopascals",
    "voltage": "volts",
    "acceleration_x": "standard_gravity",
    "acceleration_y": "standard_gravity",
    "acceleration_z": "standard_gravity",
    "co2": "ppm",
    "pm1_0": "micrograms_per_cubic_meter",
    "pm2_5": "micrograms_per_cubic_meter",
    "pm4_0": "micrograms_per_cubic_meter",
    "pm10": "micrograms_per_cubic_meter",
    "illuminance": "lux",
    "conductivity": "microsiemens_per_centimeter",
    "tx_power": "dbm",
}
_NUMBERED = re.compile(r"^(.*)_(\d+)$")
_INVALID = re.compile(r"[^a-zA-Z0-9_]")
_SENSOR_LABELS = ("sensor", "address", "location")
_name_cache: dict[str, str] = {}


def metric_name(measurement: str) -> str:
    """`temperature` -> `hub_sensor_temperature_celsius`; `temperature_2` keeps its number."""
    cached = _name_cache.get(measurement)
    if cached is not None:
        return cached
    base = measurement
    numbered = _NUMBERED.match(measurement)
    if measurement not in UNITS and numbered and numbered.group(1) in UNITS:
        base = numbered.group(1)
    safe = _INVALID.sub("_", measurement).strip("_").lower() or "unnamed"
    unit = UNITS.get(base)
    name = f"hub_sensor_{safe}_{unit}" if unit else f"hub_sensor_{safe}"
    if len(_name_cache) < 10_000:
        _name_cache[measurement] = name
    return name


@dataclass(frozen=True, slots=True)
class ActiveAlert:
    """A pending or firing alert, as the alert_states table has it."""

    rule: str
    sensor: str
    name: str | None
    address: str | None
    state: str


@dataclass(slots=True)
class RequestCounters:
    """What the HTTP server answered, by status class."""

    requests: int = 0
    client_errors: int = 0
    server_errors: int = 0
    unauthorized: int = 0


class HubCollector(Collector):
    """Builds every metric family from the live parts at each scrape."""

    def __init__(
        self,
        view: HubView,
        live: LiveSensors,
        health: Callable[[], HealthReport],
        requests: RequestCounters,
        max_age: float,
        wall: Callable[[], float] | None = None,
    ) -> None:
        self._view = view
        self._live = live
        self._health = health
        self._requests = requests
        self._max_age = max_age
        # Sensor ages compare with readings' times: the hub's clock (simulated in a soak run).
        self._wall = wall or view.clock.time
        # Set by the handler before each scrape (read from the database, asynchronously).
        self.alerts: Sequence[ActiveAlert] = ()

    def collect(self) -> Iterator[Metric]:
        yield from self._hub()
        yield from self._sensors()
        yield from self._router()
        yield from self._bus()
        yield from self._store()
        yield from self._scheduler()
        yield from self._clock()
        yield from self._sources()
        yield from self._health_metrics()
        yield from self._alerts()

    def _hub(self) -> Iterator[Metric]:
        info = InfoMetricFamily("hub", "The hub's version and name.", labels=("version", "name"))
        info.add_metric((__version__, self._view.config.hub.name), {})
        yield info
        yield GaugeMetricFamily(
            "hub_start_time_seconds", "When the hub started (Unix time).", self._view.started
        )
        requests = self._requests
        served = CounterMetricFamily(
            "hub_http_responses", "HTTP responses by class.", labels=("class",)
        )
        served.add_metric(
            ("2xx_3xx",), requests.requests - requests.client_errors - requests.server_errors
        )
        served.add_metric(("4xx",), requests.client_errors)
        served.add_metric(("5xx",), requests.server_errors)
        yield served

    def _sensors(self) -> Iterator[Metric]:
        now = self._wall()
        families: dict[str, GaugeMetricFamily] = {}
        rssi = GaugeMetricFamily(
            "hub_sensor_rssi_dbm",
            "Signal strength of the last advertisement.",
            labels=_SENSOR_LABELS,
        )
        seen = GaugeMetricFamily(
            "hub_sensor_last_seen_timestamp_seconds",
            "When the sensor was last heard (Unix time).",
            labels=_SENSOR_LABELS,
        )
        last_reading = GaugeMetricFamily(
            "hub_sensor_last_reading_timestamp_seconds",
            "When the sensor last sent a new measurement (Unix time).",
            labels=_SENSOR_LABELS,
        )
        count = 0
        for state, name, location in self._live.labelled():
            count += 1
            labels = (name, state.address, location)
            if state.seen_ts is not None:
                seen.add_metric(labels, state.seen_ts)
            if state.reading_ts is not None:
                last_reading.add_metric(labels, state.reading_ts)
            fresh = state.seen_ts is not None and now - state.seen_ts <= self._max_age
            if not fresh:
                continue  # a silent sensor's old value must not look current
            if state.rssi is not None:
                rssi.add_metric(labels, state.rssi)
            for measurement, value in state.measurements.items():
                metric = metric_name(measurement)
                family = families.get(metric)
                if family is None:
                    family = families[metric] = GaugeMetricFamily(
                        metric, f"Latest {measurement} of each sensor.", labels=_SENSOR_LABELS
                    )
                family.add_metric(labels, value)
        yield from families.values()
        yield rssi
        yield seen
        yield last_reading
        yield GaugeMetricFamily("hub_sensors", "Sensors the hub knows (enabled).", count)

    def _router(self) -> Iterator[Metric]:
        counters = self._view.router.counters
        yield CounterMetricFamily(
            "hub_advertisements",
            "Advertisements received from every source.",
            counters.advertisements,
        )
        yield CounterMetricFamily(
            "hub_advertisements_unmatched",
            "Advertisements no integration recognised.",
            counters.unmatched,
        )
        yield CounterMetricFamily(
            "hub_readings", "New readings decoded and published.", counters.readings
        )
        by_integration = CounterMetricFamily(
            "hub_integration_advertisements",
            "Recognised advertisements by integration and outcome.",
            labels=("integration", "outcome"),
        )
        errors = CounterMetricFamily(
            "hub_decode_errors",
            "Advertisements an integration recognised but could not decode.",
            labels=("integration",),
        )
        for name, c in sorted(counters.by_integration.items()):
            by_integration.add_metric((name, "reading"), c.decoded)
            by_integration.add_metric((name, "repeat"), c.repeats)
            by_integration.add_metric((name, "error"), c.errors)
            errors.add_metric((name,), c.errors)
        yield by_integration
        yield errors

    def _bus(self) -> Iterator[Metric]:
        bus = self._view.bus
        labels = ("subscriber", "event")
        depth = GaugeMetricFamily(
            "hub_bus_queue_depth", "Events waiting in a mailbox.", labels=labels
        )
        capacity = GaugeMetricFamily("hub_bus_queue_capacity", "Size of a mailbox.", labels=labels)
        delivered = CounterMetricFamily(
            "hub_bus_delivered", "Events handled by a subscriber.", labels=labels
        )
        dropped = CounterMetricFamily(
            "hub_bus_dropped", "Events a full mailbox dropped or refused.", labels=labels
        )
        errors = CounterMetricFamily(
            "hub_bus_handler_errors", "Events whose handler raised.", labels=labels
        )
        for stats in bus.stats():
            key = (stats.name, stats.event_type)
            depth.add_metric(key, stats.depth)
            capacity.add_metric(key, stats.maxsize)
            delivered.add_metric(key, stats.delivered)
            dropped.add_metric(key, stats.dropped)
            errors.add_metric(key, stats.errors)
        yield CounterMetricFamily("hub_bus_published", "Events published.", bus.published)
        yield from (depth, capacity, delivered, dropped, errors)

    def _store(self) -> Iterator[Metric]:
        store = self._view.store
        c = store.counters
        yield CounterMetricFamily("hub_store_received", "Readings handed to the store.", c.received)
        yield CounterMetricFamily(
            "hub_store_committed", "Readings committed to SQLite.", c.committed
        )
        yield CounterMetricFamily("hub_store_batches", "Transactions committed.", c.batches)
        yield CounterMetricFamily("hub_store_failures", "Commits that failed.", c.failures)
        yield CounterMetricFamily(
            "hub_store_dropped", "Readings dropped because the buffer was full.", c.dropped
        )
        yield CounterMetricFamily(
            "hub_store_rejected", "Readings that could not be encoded.", c.rejected
        )
        yield GaugeMetricFamily(
            "hub_store_buffered", "Readings held in memory, not yet committed.", store.buffered
        )
        if c.last_commit is not None:
            yield GaugeMetricFamily(
                "hub_store_last_commit_timestamp_seconds",
                "When the last batch was committed (Unix time).",
                c.last_commit,
            )

    def _clock(self) -> Iterator[Metric]:
        guard = self._view.clock_guard
        if guard is not None:
            c = guard.counters
            how = CounterMetricFamily(
                "hub_clock_advertisements",
                "Live advertisements passed on, by how.",
                labels=("how",),
            )
            how.add_metric(("as_stamped",), c.passed)
            how.add_metric(("restamped",), c.released_restamped)
            how.add_metric(("unsynchronised",), c.released_unsynchronised)
            yield how
            yield CounterMetricFamily("hub_clock_steps", "Steps of the system clock.", c.steps)
            yield GaugeMetricFamily("hub_clock_held", "Advertisements held.", guard.held)
            sync = {True: 1.0, False: 0.0, None: -1.0}[guard.synchronised]
            yield GaugeMetricFamily("hub_clock_synchronised", "1 yes, 0 no, -1 unknown.", sync)
        yield CounterMetricFamily(
            "hub_store_refused_older",
            "Readings not stored: older than their sensor's stored ones.",
            self._view.store.throttle.stale,
        )

    def _scheduler(self) -> Iterator[Metric]:
        labels = ("job",)
        runs = CounterMetricFamily("hub_scheduler_job_runs", "Runs of a job.", labels=labels)
        errors = CounterMetricFamily("hub_scheduler_job_errors", "Failed runs.", labels=labels)
        missed = CounterMetricFamily(
            "hub_scheduler_job_missed", "Skipped late runs.", labels=labels
        )
        for job_id, c in sorted(self._view.scheduler.jobs.items()):
            runs.add_metric((job_id,), c.runs)
            errors.add_metric((job_id,), c.errors)
            missed.add_metric((job_id,), c.missed)
        yield from (runs, errors, missed)

    def _sources(self) -> Iterator[Metric]:
        runner = self._view.sources
        if runner is None:
            return
        up = GaugeMetricFamily(
            "hub_source_running", "1 while a source runs.", labels=("source", "state")
        )
        restarts = CounterMetricFamily(
            "hub_source_restarts", "Times a source failed and was restarted.", labels=("source",)
        )
        for name, status in sorted(runner.status.items()):
            up.add_metric((name, status.state), 1.0 if status.state == "running" else 0.0)
            restarts.add_metric((name,), status.restarts)
        yield up
        yield restarts

    def _health_metrics(self) -> Iterator[Metric]:
        report = self._health()
        state = GaugeMetricFamily(
            "hub_health", "Health of each check: 0 ok, 1 degraded, 2 failing.", labels=("check",)
        )
        backlog = GaugeMetricFamily(
            "hub_export_backlog", "Readings an exporter has yet to deliver.", labels=("component",)
        )
        details = GaugeMetricFamily(
            "hub_component_detail",
            "Numeric details a component reports with its health.",
            labels=("component", "detail"),
        )
        for name, result in sorted(report.checks.items()):
            state.add_metric((name,), RANK[result.state])
            for key, value in result.status.details.items():
                if isinstance(value, bool) or not isinstance(value, int | float):
                    continue
                if key == "backlog":
                    backlog.add_metric((name,), value)
                details.add_metric((name, str(key)), value)
        yield state
        yield GaugeMetricFamily(
            "hub_health_overall", "Worst check: 0 ok, 1 degraded, 2 failing.", RANK[report.state]
        )
        yield backlog
        yield details

    def _alerts(self) -> Iterator[Metric]:
        active = GaugeMetricFamily(
            "hub_alert_active",
            "1 for each pending or firing alert.",
            labels=("rule", "sensor", "address", "state"),
        )
        firing = pending = 0
        for alert in self.alerts:
            labels = (alert.rule, alert.name or alert.sensor, alert.address or "", alert.state)
            active.add_metric(labels, 1.0)
            firing += alert.state == "firing"
            pending += alert.state == "pending"
        yield GaugeMetricFamily("hub_alerts_firing", "Alerts firing.", firing)
        yield GaugeMetricFamily(
            "hub_alerts_pending", "Alerts pending (waiting for `for`).", pending
        )
        yield active


class Metrics:
    """A registry of its own (not the process-wide default) around one HubCollector."""

    def __init__(self, collector: HubCollector) -> None:
        self.collector = collector
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(collector)

    def render(self) -> bytes:
        return generate_latest(self._registry)
