"""The hub's configuration, section by section. Defaults run out of the box."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from hub.config.types import ConfigPath, Duration, LogLevel, Section


class HubSection(Section):
    """Identity and the periodic one-line summary."""

    name: str = "hub"
    summary_interval: Duration = Field(default=60.0, gt=0)


class LoggingConfig(Section):
    """Where log lines go and how they look."""

    level: LogLevel = "INFO"
    # auto: readable text, without timestamps when journald (systemd) adds its own.
    format: Literal["auto", "text", "json"] = "auto"
    # Per-module levels, e.g. {"hub.store": "DEBUG", "bleak": "WARNING"}.
    levels: dict[str, LogLevel] = Field(default_factory=dict)


class BusConfig(Section):
    """Event bus mailboxes."""

    queue_size: int = Field(default=10_000, ge=10)
    drain_timeout: Duration = Field(default=5.0, ge=0)


class StoreConfig(Section):
    """The SQLite system of record."""

    path: ConfigPath = Path("../data/hub.db")
    batch_size: int = Field(default=1_000, ge=1, le=100_000)
    flush_interval: Duration = Field(default=5.0, gt=0)
    # NORMAL is safe against a crash of the hub in WAL mode; FULL also against power loss.
    synchronous: Literal["normal", "full"] = "normal"
    # Readings held in memory while SQLite cannot be written; beyond it the oldest are dropped.
    max_buffer: int = Field(default=100_000, ge=1_000)


class SchedulerConfig(Section):
    """APScheduler settings shared by every job."""

    misfire_grace_time: Duration = Field(default=30.0, gt=0)
    timezone: str | None = None


class SourceSettings(Section):
    """What every source entry has; an integration's own model adds its options."""

    type: str
    enabled: bool = True


class HubConfig(Section):
    """The whole configuration."""

    hub: HubSection = Field(default_factory=HubSection)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    bus: BusConfig = Field(default_factory=BusConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    # name -> settings; `type` (default: the name) says which source integration runs it.
    # Validated against that integration's own model by the loader.
    sources: dict[str, Any] = Field(default_factory=dict)

    def enabled_sources(self) -> dict[str, SourceSettings]:
        return {
            name: settings
            for name, settings in self.sources.items()
            if isinstance(settings, SourceSettings) and settings.enabled
        }
