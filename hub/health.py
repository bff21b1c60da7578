"""What every component says about its health: ok, degraded or failing, and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from hub.events import HealthState


@dataclass(frozen=True, slots=True)
class HealthStatus:
    """One component's health at one moment."""

    state: HealthState
    reason: str = ""
    # Figures that explain the state: backlog, age of the last success, last error, ...
    details: Mapping[str, object] = field(default_factory=dict)


OK = HealthStatus("ok")


class HealthReporter(Protocol):
    """Anything that can say how it is doing; `health()` must be cheap and never raise."""

    name: str

    def health(self) -> HealthStatus: ...
