"""What the health checks and the HTTP API look at: the hub's parts, without the Hub itself."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.app import Hub
    from hub.bus import EventBus
    from hub.clock import Clock
    from hub.components import ComponentContext
    from hub.config.models import HubConfig
    from hub.router import Router
    from hub.scheduler import Scheduler
    from hub.sources import SourceRunner
    from hub.store import SqliteStore
    from hub.timekeeping.guard import ClockGuard


@dataclass(frozen=True, slots=True)
class HubView:
    """The running hub's parts. `components` is the hub's own list, so it stays current."""

    config: HubConfig
    bus: EventBus
    router: Router
    store: SqliteStore
    scheduler: Scheduler
    clock: Clock
    sources: SourceRunner | None = None
    components: Sequence[object] = ()
    clock_guard: ClockGuard | None = None
    # Wall time when the view was made (the hub's start, near enough).
    started: float = field(default_factory=time.time)

    @classmethod
    def of_hub(cls, hub: Hub) -> HubView:
        return cls(
            config=hub.config,
            bus=hub.bus,
            router=hub.router,
            store=hub.store,
            scheduler=hub.scheduler,
            clock=hub.clock,
            sources=hub.sources,
            components=hub.components,
            clock_guard=getattr(hub, "clock_guard", None),
        )

    @classmethod
    def of_context(cls, context: ComponentContext) -> HubView:
        """A view without sources and sibling components (when no hub attached it)."""
        return cls(
            config=context.config,
            bus=context.bus,
            router=context.router,
            store=context.store,
            scheduler=context.scheduler,
            clock=context.clock,
        )

    def component(self, name: str) -> object | None:
        """The component called `name`, if the config switched it on."""
        return next((c for c in self.components if getattr(c, "name", None) == name), None)
