"""The hub's configuration, section by section. Defaults run out of the box."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from hub.config.types import ConfigPath, Duration, LogLevel, Section
from hub.errors import RecordError
from hub.records import normalise_address


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


class DeviceConfig(Section):
    """Settings for one sensor, by its address."""

    # Readings of a disabled sensor are decoded but neither stored nor published.
    disabled: bool = False
    # AES key of an encrypted device (BTHome, MiBeacon v4/v5): 32 hex characters, or 24 for
    # old MiBeacon. May be given as `bindkey_file`.
    bindkey: SecretStr | None = None

    @field_validator("bindkey")
    @classmethod
    def _hex_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        text = value.get_secret_value().strip().replace(" ", "").replace(":", "").lower()
        try:
            key = bytes.fromhex(text)
        except ValueError:
            raise ValueError("bindkey must be hexadecimal") from None
        if len(key) not in (12, 16):
            raise ValueError(
                f"bindkey must be 32 hex characters (16 bytes), or 24 for old MiBeacon; "
                f"got {len(text)} characters"
            )
        return SecretStr(text)

    def key(self) -> bytes | None:
        return bytes.fromhex(self.bindkey.get_secret_value()) if self.bindkey else None


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
    # Per-sensor settings, keyed by address (any case; `-` or `:` separated).
    devices: dict[str, DeviceConfig] = Field(default_factory=dict)

    @field_validator("devices", mode="before")
    @classmethod
    def _device_addresses(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        devices: dict[str, Any] = {}
        for address, settings in value.items():
            try:
                normal = normalise_address(str(address))
            except RecordError as exc:
                raise ValueError(f"device key {address!r}: {exc}") from None
            if normal in devices:
                raise ValueError(f"device {normal} is configured twice")
            devices[normal] = settings
        return devices

    def device_keys(self) -> dict[str, bytes]:
        """Bindkeys of encrypted devices, by address."""
        return {a: k for a, d in self.devices.items() if (k := d.key()) is not None}

    def disabled_devices(self) -> set[str]:
        return {address for address, device in self.devices.items() if device.disabled}

    def enabled_sources(self) -> dict[str, SourceSettings]:
        return {
            name: settings
            for name, settings in self.sources.items()
            if isinstance(settings, SourceSettings) and settings.enabled
        }
