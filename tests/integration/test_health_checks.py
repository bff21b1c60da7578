"""Each health check's transitions on real faults, with the hub's real parts: a store on a
file system that fills up, a bus whose handler is stuck, a scheduler whose loop is blocked
or whose job fails, a source that crashes or goes silent, undecodable advertisements, and a
component whose health changes (with the HealthChanged events and notifications that follow).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hub.alerts.notify import Notifier
from hub.bus import EventBus
from hub.clock import ManualClock
from hub.components import ComponentContext
from hub.config.models import ChannelConfig, HubConfig, SchedulerConfig
from hub.events import Advertisement, HealthChanged, Reading
from hub.health import HealthStatus
from hub.healthmon.component import HealthComponent, build
from hub.healthmon.config import HealthConfig
from hub.healthmon.monitor import HealthMonitor, HealthReport
from hub.healthmon.view import HubView
from hub.integrations import AdvertisementSink, IntegrationRegistry
from hub.router import Router
from hub.scheduler import Scheduler
from hub.sources import SourceRunner
from hub.store import SqliteStore
from integrations.ruuvi.df5 import encode
from tests.e2e.test_disk_failure import fill, small_tmpfs
from tests.integration.test_alert_notify import Server

T0 = 1_795_155_600.0
ADDRESS = "C8:25:2D:8E:AB:4C"

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def ruuvi(sequence: int, *, broken: bool = False, ts: float = T0) -> Advertisement:
    payload = encode(
        temperature=21.5,
        humidity=40,
        pressure=1000,
        acceleration=(0, 0, 1),
        voltage=2.9,
        tx_power=4,
        movement_counter=0,
        sequence=sequence,
        mac=bytes.fromhex(ADDRESS.replace(":", "")),
    )
    return Advertisement(
        ts=ts,
        address=ADDRESS,
        rssi=-60,
        manufacturer_data={1177: payload[:7] if broken else payload},
    )


def reading(n: int) -> Reading:
    return Reading(
        ts=T0 + n,
        address=ADDRESS,
        integration="ruuvi",
        measurements={"temperature": 20 + n * 0.01},
        sequence=n,
    )


def health_config(**sections: Any) -> HealthConfig:
    return HealthConfig.model_validate({"enabled": True, **sections})


@dataclass
class Parts:
    """The hub's core parts, real, started on the test's loop."""

    config: HubConfig
    bus: EventBus
    store: SqliteStore
    scheduler: Scheduler
    router: Router
    runner: SourceRunner
    components: list[object] = field(default_factory=list)

    def view(self) -> HubView:
        return HubView(
            config=self.config,
            bus=self.bus,
            router=self.router,
            store=self.store,
            scheduler=self.scheduler,
            clock=ManualClock(T0),
            sources=self.runner,
            components=self.components,
        )


@pytest.fixture
async def parts_factory(
    tmp_path: Path,
) -> AsyncIterator[Callable[..., Any]]:
    made: list[Parts] = []

    async def make(
        db_dir: Path | None = None, sources: list[Any] | None = None, **config: Any
    ) -> Parts:
        directory = db_dir or tmp_path
        hub_config = HubConfig.model_validate(
            {
                "store": {"path": str(directory / "hub.db"), "min_interval": 0, "max_buffer": 1000},
                "scheduler": {"misfire_grace_time": 1},
                **config,
            }
        )
        bus = EventBus()
        store = SqliteStore(hub_config.store, ManualClock(T0))
        await store.open()
        scheduler = Scheduler(SchedulerConfig(misfire_grace_time=1))
        router = Router(IntegrationRegistry.discover(), bus)
        runner = SourceRunner(sources or [])
        parts = Parts(hub_config, bus, store, scheduler, router, runner)
        bus.subscribe(Reading, store.add, name="store", policy="block")
        bus.start()
        scheduler.start()
        made.append(parts)
        return parts

    try:
        yield make
    finally:
        for parts in made:
            await parts.runner.stop()
            parts.scheduler.shutdown()
            await parts.bus.stop(drain_timeout=0.1)
            await parts.store.close()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    s = Server()
    await s.start()
    try:
        yield s
    finally:
        assert s._runner is not None
        await s._runner.cleanup()


def state_of(report: HealthReport, name: str) -> str:
    return report.checks[name].state


def reason_of(report: HealthReport, name: str) -> str:
    return report.checks[name].status.reason


# -- store ---------------------------------------------------------------------------------


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "small", size="8m") as mountpoint:
        yield mountpoint


async def test_store_degrades_then_fails_on_a_full_disk_and_recovers_when_space_returns(
    parts_factory: Callable[..., Any], tmpfs: Path
) -> None:
    parts = await parts_factory(db_dir=tmpfs)
    settings = health_config(
        store={
            "commit_age_degraded": "0.3s",
            "commit_age_failing": "0.8s",
            "disk_free_degraded": "1MiB",
            "disk_free_failing": "64KiB",
        }
    )
    monitor = HealthMonitor(parts.view(), settings)
    for n in range(5):
        await parts.store.add(reading(n))
    assert await parts.store.flush() == 5
    report, _ = monitor.evaluate()
    assert state_of(report, "store") == "ok", reason_of(report, "store")

    filler = fill(tmpfs)
    for n in range(5, 400):
        await parts.store.add(reading(n))
    assert await parts.store.flush() == 0  # the disk is full: held in memory
    report, changes = monitor.evaluate()
    assert state_of(report, "store") == "failing"  # no free space at all
    reason = reason_of(report, "store")
    assert "free on" in reason, reason
    assert "cannot commit" in reason, reason
    assert [(c.component, c.previous, c.state) for c in changes] == [("store", "ok", "failing")]

    await asyncio.sleep(0.9)
    await parts.store.flush()
    report, changes = monitor.evaluate()
    assert "nothing committed for" in reason_of(report, "store")
    assert changes == []  # still failing: no new event

    filler.unlink()
    assert await parts.store.flush() == 395
    report, changes = monitor.evaluate()
    assert state_of(report, "store") == "ok", reason_of(report, "store")
    assert [(c.component, c.previous, c.state) for c in changes] == [("store", "failing", "ok")]


async def test_store_buffer_filling_up_and_dropping_is_reported(
    parts_factory: Callable[..., Any], tmpfs: Path
) -> None:
    parts = await parts_factory(db_dir=tmpfs)
    monitor = HealthMonitor(parts.view(), health_config(store={"disk_free_failing": 0}))
    filler = fill(tmpfs)
    for n in range(600):  # max_buffer 1000: over half
        await parts.store.add(reading(n))
    await parts.store.flush()
    report, _ = monitor.evaluate()
    assert "buffer 60% full" in reason_of(report, "store")
    for n in range(600, 1100):  # past max_buffer: the oldest are dropped
        await parts.store.add(reading(n))
    report, _ = monitor.evaluate()
    assert state_of(report, "store") == "failing"
    assert "readings dropped" in reason_of(report, "store")
    filler.unlink()


# -- bus -----------------------------------------------------------------------------------


async def test_a_starved_mailbox_degrades_then_fails_and_recovers_when_its_handler_does(
    parts_factory: Callable[..., Any],
) -> None:
    parts = await parts_factory()
    release = asyncio.Event()

    async def stuck(_event: HealthChanged) -> None:
        await release.wait()

    parts.bus.subscribe(HealthChanged, stuck, name="stuck", queue_size=10)
    monitor = HealthMonitor(
        parts.view(),
        health_config(bus={"full_failing_after": "0.3s", "window": "0.5s"}),
    )
    assert state_of(monitor.evaluate()[0], "bus") == "ok"
    for i in range(15):
        parts.bus.publish(HealthChanged(T0 + i, "x", "ok", "ok"))
    await asyncio.sleep(0.05)
    report, _ = monitor.evaluate()
    assert state_of(report, "bus") == "degraded"
    assert "mailbox stuck (HealthChanged) dropped" in reason_of(report, "bus")
    await asyncio.sleep(0.35)
    report, _ = monitor.evaluate()
    assert state_of(report, "bus") == "failing"
    assert "full for" in reason_of(report, "bus")

    release.set()
    await parts.bus.idle()
    await asyncio.sleep(0.55)  # the drops age out of the window
    report, changes = monitor.evaluate()
    assert state_of(report, "bus") == "ok", reason_of(report, "bus")
    assert [(c.previous, c.state) for c in changes if c.component == "bus"] == [("failing", "ok")]


# -- scheduler -----------------------------------------------------------------------------


async def test_a_failing_job_degrades_the_scheduler_until_it_runs_cleanly(
    parts_factory: Callable[..., Any],
) -> None:
    parts = await parts_factory()
    broken = [True]
    ran = asyncio.Event()

    async def job() -> None:
        ran.set()
        if broken[0]:
            raise RuntimeError("backup disk missing")

    monitor = HealthMonitor(parts.view(), health_config())
    parts.scheduler.add_interval("test.job", job, 0.1)
    monitor.evaluate()
    await asyncio.wait_for(ran.wait(), 2)
    await asyncio.sleep(0.15)
    report, _ = monitor.evaluate()
    assert state_of(report, "scheduler") == "degraded"
    assert "job test.job is failing: RuntimeError('backup disk missing')" in reason_of(
        report, "scheduler"
    )
    broken[0] = False
    await asyncio.sleep(0.25)
    report, _ = monitor.evaluate()
    assert state_of(report, "scheduler") == "ok", reason_of(report, "scheduler")


async def test_a_blocked_event_loop_makes_jobs_late_and_missed(
    parts_factory: Callable[..., Any],
) -> None:
    parts = await parts_factory()

    async def job() -> None:
        return None

    monitor = HealthMonitor(
        parts.view(), health_config(scheduler={"late_degraded": "0.3s", "late_failing": "1s"})
    )
    # First run due 1.2 s from now; the loop is stuck until 2.3 s: the run is 1.1 s late,
    # beyond the 1 s misfire grace time, so APScheduler skips it when the loop is back.
    parts.scheduler.add_interval("test.tick", job, 1.2)
    assert state_of(monitor.evaluate()[0], "scheduler") == "ok"
    time.sleep(2.3)  # noqa: ASYNC251 - the loop is stuck on purpose: the job cannot run
    report, _ = monitor.evaluate()
    assert state_of(report, "scheduler") == "failing"
    assert "job test.tick is" in reason_of(report, "scheduler")
    assert "late" in reason_of(report, "scheduler")
    await asyncio.sleep(0.1)  # the loop runs again
    report, _ = monitor.evaluate()
    assert state_of(report, "scheduler") == "degraded"
    assert "job test.tick missed runs" in reason_of(report, "scheduler")


# -- sources and router --------------------------------------------------------------------


class CrashingSource:
    name = "radio"

    async def run(self, sink: AdvertisementSink) -> None:
        raise OSError("adapter hci0 vanished")


class SilentSource:
    """Runs, hears nothing; reports its own health like the BLE source does."""

    name = "quiet"

    def __init__(self) -> None:
        self.status = HealthStatus("ok")

    async def run(self, sink: AdvertisementSink) -> None:
        await asyncio.Event().wait()

    def health(self) -> HealthStatus:
        return self.status


async def test_a_crashing_source_is_failing_with_its_error(
    parts_factory: Callable[..., Any],
) -> None:
    parts = await parts_factory(sources=[CrashingSource()])
    parts.runner.start(parts.router.submit)
    await asyncio.sleep(0.05)
    report, _ = HealthMonitor(parts.view(), health_config()).evaluate()
    assert state_of(report, "sources") == "failing"
    assert "source radio failed 1 times, restarting: OSError: adapter hci0 vanished" in reason_of(
        report, "sources"
    )


async def test_silence_degrades_then_fails_and_a_source_reports_its_own_health(
    parts_factory: Callable[..., Any],
) -> None:
    source = SilentSource()
    parts = await parts_factory(sources=[source])
    parts.runner.start(parts.router.submit)
    monitor = HealthMonitor(
        parts.view(),
        health_config(sources={"silence_degraded": "0.2s", "silence_failing": "0.4s"}),
    )
    report, _ = monitor.evaluate()
    assert state_of(report, "sources") == "ok"
    assert state_of(report, "source:quiet") == "ok"
    await asyncio.sleep(0.25)
    assert "no advertisement for" in reason_of(monitor.evaluate()[0], "sources")
    await asyncio.sleep(0.2)
    source.status = HealthStatus("failing", "adapter hci0 is not powered")
    report, changes = monitor.evaluate()
    assert state_of(report, "sources") == "failing"
    assert reason_of(report, "source:quiet") == "adapter hci0 is not powered"
    assert ("source:quiet", "ok", "failing") in [
        (c.component, c.previous, c.state) for c in changes
    ]
    await parts.router.submit(ruuvi(1))
    assert state_of(monitor.evaluate()[0], "sources") == "ok"


async def test_undecodable_advertisements_degrade_the_router(
    parts_factory: Callable[..., Any],
) -> None:
    parts = await parts_factory()
    monitor = HealthMonitor(parts.view(), health_config(sources={"decode_errors_window": "0.3s"}))
    monitor.evaluate()
    for n in range(20):
        await parts.router.submit(ruuvi(n, broken=n % 4 != 0))  # 15 of 20 broken
    report, _ = monitor.evaluate()
    assert state_of(report, "router") == "degraded"
    reason = reason_of(report, "router")
    assert reason.startswith("75% of recognised advertisements undecodable in the last"), reason
    assert "(ruuvi: 15); latest: " + ADDRESS in reason
    await asyncio.sleep(0.35)  # the failures leave the window
    for n in range(20, 40):
        await parts.router.submit(ruuvi(n))
    assert state_of(monitor.evaluate()[0], "router") == "ok"


# -- components, events and notifications -------------------------------------------------


class FakeExporter:
    """A component reporting health the way the exporters do."""

    name = "influxdb"

    def __init__(self) -> None:
        self.status = HealthStatus("ok", "", {"backlog": 0})

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def health(self) -> HealthStatus:
        return self.status


class BrokenReporter:
    name = "broken"

    def health(self) -> HealthStatus:
        raise KeyError("oops")


def context_of(parts: Parts, **config: Any) -> ComponentContext:
    merged = parts.config.model_copy(update={k: v for k, v in config.items()})
    return ComponentContext(
        config=merged,
        bus=parts.bus,
        store=parts.store,
        scheduler=parts.scheduler,
        router=parts.router,
        clock=ManualClock(T0),
    )


def attach(component: HealthComponent, parts: Parts) -> None:
    hub: Any = SimpleNamespace(
        config=parts.config,
        bus=parts.bus,
        router=parts.router,
        store=parts.store,
        scheduler=parts.scheduler,
        clock=ManualClock(T0),
        sources=parts.runner,
        components=parts.components,
    )
    component.attach(hub)


async def test_component_health_changes_are_published_and_told_to_the_channels(
    parts_factory: Callable[..., Any], server: Server
) -> None:
    exporter = FakeExporter()
    parts = await parts_factory()
    parts.components.extend([exporter, BrokenReporter()])
    settings = health_config(notify=["hook"], notify_after="0.3s", interval=1)
    hook = {"hook": ChannelConfig(type="webhook", url=server.url, retries=0)}
    context = context_of(parts, health=settings, notify=hook)
    component = build(context)
    assert isinstance(component, HealthComponent)
    parts.components.append(component)
    events: list[HealthChanged] = []
    parts.bus.subscribe(HealthChanged, events.append, name="test")
    attach(component, parts)
    await component.start()
    try:
        report = component.check()
        assert state_of(report, "influxdb") == "ok"
        assert "health" not in report.checks  # the monitor does not check itself
        assert state_of(report, "broken") == "failing"
        assert "health() raised KeyError" in reason_of(report, "broken")

        exporter.status = HealthStatus(
            "failing", "writes failing: connection refused", {"backlog": 42}
        )
        component.check()
        await asyncio.sleep(0.35)
        component.check()  # failing for longer than notify_after: told
        component.check()  # told once, not at every evaluation
        for _ in range(100):
            if server.received:
                break
            await asyncio.sleep(0.02)
        exporter.status = HealthStatus("ok", "", {"backlog": 0})
        component.check()
        for _ in range(100):
            if len(server.received) >= 3:
                break
            await asyncio.sleep(0.02)
        await parts.bus.idle()
    finally:
        await component.stop()

    mine = [(e.component, e.previous, e.state) for e in events if e.component == "influxdb"]
    assert mine == [("influxdb", "ok", "failing"), ("influxdb", "failing", "ok")]
    failing = next(e for e in events if e.component == "influxdb" and e.state == "failing")
    assert failing.reason == "writes failing: connection refused"
    bodies = [json.loads(body) for _, body in server.received]
    bodies = [b for b in bodies if b["commonLabels"]["sensor"] == "influxdb"]
    assert [b["status"] for b in bodies] == ["firing", "resolved"]
    firing = bodies[0]["alerts"][0]
    assert firing["labels"]["alertname"] == "hub_health"
    assert firing["labels"]["sensor"] == "influxdb"
    assert firing["labels"]["severity"] == "critical"
    assert firing["annotations"]["summary"].startswith("influxdb failing for ")
    assert "connection refused" in firing["annotations"]["summary"]
    assert bodies[1]["alerts"][0]["annotations"]["summary"].startswith("influxdb is ok again")


async def test_notifications_go_through_the_alert_services_notifier_when_alerts_run(
    parts_factory: Callable[..., Any], server: Server
) -> None:
    exporter = FakeExporter()
    parts = await parts_factory()
    hook = {"hook": ChannelConfig(type="webhook", url=server.url, retries=0)}
    alerts = SimpleNamespace(
        name="alerts", notifier=Notifier(hook), health=lambda: HealthStatus("ok")
    )
    await alerts.notifier.start()
    parts.components.extend([exporter, alerts])
    settings = health_config(notify=["hook"], notify_after=0)
    component = build(context_of(parts, health=settings, notify=hook))
    assert component is not None
    attach(component, parts)
    await component.start()
    try:
        exporter.status = HealthStatus("failing", "token rejected (401)")
        component.check()
        for _ in range(100):
            if server.received:
                break
            await asyncio.sleep(0.02)
        assert alerts.notifier.counters["hook"].sent == 1
    finally:
        await component.stop()
        await alerts.notifier.stop()


def test_unknown_notification_channels_stop_the_hub_with_a_clear_error() -> None:
    config = HubConfig.model_validate({"health": {"enabled": True, "notify": ["pager"]}})
    context: Any = SimpleNamespace(config=config)
    with pytest.raises(
        Exception, match=r"health.notify names channels not defined under notify: \['pager'\]"
    ):
        build(context)


def test_health_is_off_unless_configured() -> None:
    context: Any = SimpleNamespace(config=HubConfig())
    assert build(context) is None
