"""Optional parts of the hub (exporters, publishers) that the config switches on.

A component module exposes `build(context: ComponentContext) -> Component | None` (None when
its config section leaves it off) and is listed in COMPONENT_MODULES. The hub starts the
components after the bus and the store, and stops them before the store is closed. A
component subscribes to the bus and registers its scheduled jobs in `start()`, and reports
its health through `health()`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from hub.health import HealthStatus

if TYPE_CHECKING:
    from hub.bus import EventBus
    from hub.clock import Clock
    from hub.config.models import HubConfig
    from hub.router import Router
    from hub.scheduler import Scheduler
    from hub.store import SqliteStore

# Modules with a `build(context)`; each adds one line here.
COMPONENT_MODULES: tuple[str, ...] = (
    "hub.alerts.service",
    "hub.exporters.influxdb",
    "hub.mqtt.publisher",
    "hub.healthmon.component",
    "hub.http.server",
)


class Component(Protocol):
    """A part of the hub with a life of its own."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def health(self) -> HealthStatus: ...


@dataclass(frozen=True, slots=True)
class ComponentContext:
    """Everything a component may use, built once by the container."""

    config: HubConfig
    bus: EventBus
    store: SqliteStore
    scheduler: Scheduler
    router: Router
    clock: Clock


def build_components(context: ComponentContext) -> list[Component]:
    """Every component the config switches on, in COMPONENT_MODULES order."""
    built: list[Component] = []
    for name in COMPONENT_MODULES:
        component = importlib.import_module(name).build(context)
        if component is not None:
            built.append(component)
    return built
