"""The hub's configuration, section by section. Defaults run out of the box."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from hub.bindkey import parse_bindkey
from hub.config.types import ConfigPath, Duration, LogLevel, Section
from hub.errors import RecordError
from hub.exporters.influxdb.config import InfluxConfig
from hub.healthmon.config import HealthConfig
from hub.http.config import HttpConfig
from hub.mqtt.config import MqttConfig
from hub.records import normalise_address
from hub.timekeeping.config import ClockConfig


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
    # FULL syncs each batch to disk: a committed reading survives a power cut or the kernel
    # turning the file system read-only. NORMAL saves that fsync and survives only a crash
    # of the hub itself.
    synchronous: Literal["normal", "full"] = "full"
    # Readings held in memory while SQLite cannot be written; beyond it the oldest are dropped.
    max_buffer: int = Field(default=100_000, ge=1_000)
    # At most one reading per sensor per interval is stored: the latest. Alerts and live
    # views still see every reading. 0 stores every new measurement.
    min_interval: Duration = Field(default=10.0, ge=0)


def _checked_crontab(value: str) -> str:
    """A five-field crontab APScheduler accepts, or a ValueError saying why not."""
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value)
    except ValueError as exc:
        raise ValueError(f"not a crontab ({exc}); e.g. '30 3 * * *' is daily at 03:30") from None
    return value


class RetentionConfig(Section):
    """How long raw readings are kept; hourly rollups are kept for ever."""

    raw: Duration = Field(default=30 * 86400.0, ge=3600)
    # Rollups catch up with new readings this often; raw readings are purged this often.
    rollup_interval: Duration = Field(default=300.0, gt=0)
    purge_interval: Duration = Field(default=3600.0, gt=0)
    # Rows deleted per transaction, so a purge never holds writers back for long.
    purge_batch: int = Field(default=5_000, ge=100, le=100_000)


class BackupConfig(Section):
    """Scheduled online backups of the database."""

    enabled: bool = False
    dir: ConfigPath = Path("../data/backups")
    schedule: str = "30 3 * * *"  # crontab: daily at 03:30
    keep: int = Field(default=7, ge=1)

    @field_validator("schedule")
    @classmethod
    def _crontab(cls, value: str) -> str:
        return _checked_crontab(value)


class ChannelConfig(Section):
    """Where alert notifications go. `log` always exists and needs no entry."""

    type: Literal["log", "webhook", "ntfy", "mqtt"]
    url: str | None = None
    # Sent as `Authorization: Bearer <token>`; may be given as `token_file`.
    token: SecretStr | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: Duration = Field(default=10.0, gt=0)
    retries: int = Field(default=3, ge=0, le=20)
    backoff: Duration = Field(default=1.0, gt=0)  # doubles after each failed try
    # Notifications waiting for this channel; beyond it the oldest are dropped and counted.
    queue_size: int = Field(default=1_000, ge=10)

    @model_validator(mode="after")
    def _needs_url(self) -> ChannelConfig:
        if self.type in ("webhook", "ntfy") and not self.url:
            raise ValueError(f"a {self.type} channel needs a url")
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return self


class AlertsConfig(Section):
    """Alert rules and the battery report."""

    enabled: bool = True
    # The rules file (contract 4). Without it the hub runs with no rules.
    rules: ConfigPath = Path("alerts.yaml")
    # How often `for` and `stale` timers are checked between readings.
    tick_interval: Duration = Field(default=5.0, gt=0)
    battery_report: str = "0 9 * * *"  # crontab: daily at 09:00
    battery_notify: list[str] = Field(default_factory=lambda: ["log"])

    @field_validator("battery_report")
    @classmethod
    def _crontab(cls, value: str) -> str:
        return _checked_crontab(value)


class SchedulerConfig(Section):
    """APScheduler settings shared by every job."""

    misfire_grace_time: Duration = Field(default=30.0, gt=0)
    timezone: str | None = None


class SourceSettings(Section):
    """What every source entry has; an integration's own model adds its options."""

    type: str
    enabled: bool = True


class Calibration(Section):
    """A correction of one measurement: an offset, or a two-point linear correction.

    `points` are two (measured, reference) pairs, e.g. from a salt test of a hygrometer:
    `[[76.1, 75.3], [34.0, 33.0]]` (measured 76.1 where the truth is 75.3, ...).
    """

    offset: float | None = None
    points: tuple[tuple[float, float], tuple[float, float]] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Calibration:
        if (self.offset is None) == (self.points is None):
            raise ValueError("give either offset or points")
        if self.points is not None and self.points[0][0] == self.points[1][0]:
            raise ValueError("the two points need different measured values")
        return self

    def apply(self, value: float) -> float:
        if self.points is not None:
            (m1, r1), (m2, r2) = self.points
            corrected = r1 + (value - m1) * (r2 - r1) / (m2 - m1)
        else:
            corrected = value + (self.offset or 0.0)
        # Calibrated values carry no more digits than a sensor resolves.
        return round(corrected, 4)


class DeviceConfig(Section):
    """Settings for one sensor, by its address. The config wins over `hub sensors` edits."""

    name: str | None = Field(default=None, min_length=1, max_length=64)
    location: str | None = Field(default=None, max_length=128)
    notes: str | None = Field(default=None, max_length=1024)
    # Readings of a disabled sensor are decoded but neither stored nor published.
    disabled: bool | None = None
    # At most one reading per this interval is stored (the store's default when unset).
    min_interval: Duration | None = Field(default=None, ge=0)
    calibration: dict[str, Calibration] = Field(default_factory=dict)
    # AES key of an encrypted device (BTHome, MiBeacon v4/v5): 32 hex characters, or 24 for
    # old MiBeacon. May be given as `bindkey_file`.
    bindkey: SecretStr | None = None

    @field_validator("bindkey")
    @classmethod
    def _hex_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        return SecretStr(parse_bindkey(value.get_secret_value()).hex())

    def key(self) -> bytes | None:
        return bytes.fromhex(self.bindkey.get_secret_value()) if self.bindkey else None


class HubConfig(Section):
    """The whole configuration."""

    hub: HubSection = Field(default_factory=HubSection)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    bus: BusConfig = Field(default_factory=BusConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    # Notification channels by name, used by alert rules' `notify:` lists.
    notify: dict[str, ChannelConfig] = Field(default_factory=dict)
    backup: BackupConfig = Field(default_factory=BackupConfig)
    influxdb: InfluxConfig = Field(default_factory=InfluxConfig)
    mqtt: MqttConfig = Field(default_factory=MqttConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    # What the hub does when the system clock steps or is not synchronised (hold or store).
    clock: ClockConfig = Field(default_factory=ClockConfig)
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

    @model_validator(mode="after")
    def _known_channels(self) -> HubConfig:
        unknown = [c for c in self.alerts.battery_notify if c != "log" and c not in self.notify]
        if unknown:
            raise ValueError(
                f"alerts.battery_notify names channels not defined under notify: {unknown}"
            )
        return self

    def channel_names(self) -> list[str]:
        """Every notification channel a rule may name (`log` always)."""
        return ["log", *(name for name in self.notify if name != "log")]

    def device_keys(self) -> dict[str, bytes]:
        """Bindkeys of encrypted devices, by address."""
        return {a: k for a, d in self.devices.items() if (k := d.key()) is not None}

    def disabled_devices(self) -> set[str]:
        return {address for address, device in self.devices.items() if device.disabled}

    def calibrations(self) -> dict[str, dict[str, Calibration]]:
        """Corrections per address and measurement."""
        return {a: dict(d.calibration) for a, d in self.devices.items() if d.calibration}

    def enabled_sources(self) -> dict[str, SourceSettings]:
        return {
            name: settings
            for name, settings in self.sources.items()
            if isinstance(settings, SourceSettings) and settings.enabled
        }
