"""The one place where the hub's parts are built from the configuration and wired.

Tests build `Container(config=...)` and override what cannot run here, e.g.
`container.clock.override(providers.Object(ManualClock()))`.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from hub.app import Hub
from hub.bus import EventBus
from hub.clock import clock_from_environment
from hub.components import ComponentContext, build_components
from hub.config.models import HubConfig
from hub.integrations import IntegrationRegistry, SourceContext
from hub.router import Router
from hub.scheduler import Scheduler
from hub.sources import SourceRunner, build_sources
from hub.store import open_store
from hub.timekeeping.guard import ClockGuard


class Container(containers.DeclarativeContainer):
    """Declares every part; `Hub` is the root that starts and stops them in order."""

    config = providers.Dependency(instance_of=HubConfig)
    # The machine's clock; HUB_CLOCK_FILE swaps in a simulated one (tests, soak runs).
    clock = providers.Singleton(clock_from_environment)
    registry = providers.Singleton(IntegrationRegistry.discover)

    bus = providers.Singleton(
        EventBus,
        default_queue_size=config.provided.bus.queue_size,
        drain_timeout=config.provided.bus.drain_timeout,
    )
    scheduler = providers.Singleton(Scheduler, settings=config.provided.scheduler)
    router = providers.Singleton(
        Router,
        registry=registry,
        bus=bus,
        keys=config.provided.device_keys.call(),
        disabled=config.provided.disabled_devices.call(),
        calibrations=config.provided.calibrations.call(),
    )
    store = providers.Resource(
        open_store,
        settings=config.provided.store,
        clock=clock,
        devices=config.provided.devices,
        bus=bus,
    )

    source_context = providers.Factory(SourceContext, clock=clock, scheduler=scheduler)
    sources = providers.Singleton(
        SourceRunner,
        sources=providers.Callable(
            build_sources, config=config, registry=registry, context=source_context
        ),
    )

    component_context = providers.Factory(
        ComponentContext,
        config=config,
        bus=bus,
        store=store,
        scheduler=scheduler,
        router=router,
        clock=clock,
    )
    components = providers.Singleton(build_components, context=component_context)
    clock_guard = providers.Singleton(ClockGuard, settings=config.provided.clock, clock=clock)

    hub = providers.Singleton(
        Hub,
        config=config,
        bus=bus,
        router=router,
        store=store,
        scheduler=scheduler,
        sources=sources,
        clock=clock,
        components=components,
        clock_guard=clock_guard,
    )
