"""The `mqtt:` section: the broker, what is published where, and Home Assistant discovery.

`BrokerSettings` (host, credentials, TLS, client id) is shared with the `mqtt_gateway`
source, which may listen on another broker than the one the hub publishes to.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from hub.config.types import ConfigPath, Duration, Section


def check_topic(value: str, what: str = "topic") -> str:
    """A topic the hub publishes under: no wildcards, no empty level, no leading `/`."""
    if not value:
        raise ValueError(f"{what} must not be empty")
    if any(c in value for c in "+#\x00"):
        raise ValueError(f"{what} {value!r} must not contain +, # or NUL")
    if value.startswith("/") or value.endswith("/") or "//" in value:
        raise ValueError(f"{what} {value!r} must not start or end with / or have empty levels")
    if len(value.encode()) > 200:
        raise ValueError(f"{what} is too long (at most 200 bytes)")
    return value


def check_filter(value: str) -> str:
    """A subscription filter: `#` only as the whole last level, `+` only as a whole level."""
    if not value or "\x00" in value:
        raise ValueError("a topic filter must not be empty")
    levels = value.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise ValueError(f"topic filter {value!r}: # must be the whole last level")
        if "+" in level and level != "+":
            raise ValueError(f"topic filter {value!r}: + must be a whole level")
    return value


class TlsConfig(Section):
    """TLS to the broker; without `ca_file` the system's trusted CAs are used."""

    enabled: bool = False
    ca_file: ConfigPath | None = None
    # A client certificate and its key, for brokers that require one (mutual TLS).
    cert_file: ConfigPath | None = None
    key_file: ConfigPath | None = None
    # Skips the check that the certificate names the host; for test brokers only.
    insecure: bool = False

    @model_validator(mode="after")
    def _files(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("give cert_file and key_file together")
        for key in ("ca_file", "cert_file", "key_file"):
            path = getattr(self, key)
            if path is not None and not path.is_file():
                raise ValueError(f"{key}: no such file: {path}")
        return self


class BrokerSettings(Section):
    """How to reach an MQTT broker."""

    host: str = "localhost"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    # May be given as `password_file`.
    password: SecretStr | None = None
    # Default: `hub-<name>-<host name>`, so that two hubs never take each other's session.
    client_id: str | None = Field(default=None, min_length=1, max_length=128)
    keepalive: Duration = Field(default=60.0, ge=5, le=3600)
    # How long the broker may take to accept a connection or acknowledge a message.
    timeout: Duration = Field(default=10.0, ge=0.5, le=300)
    tls: TlsConfig = Field(default_factory=TlsConfig)

    @model_validator(mode="after")
    def _password_needs_user(self) -> BrokerSettings:
        if self.password is not None and self.username is None:
            raise ValueError("password given without username")
        return self


class HomeAssistantConfig(Section):
    """MQTT discovery: every sensor and measurement appears in Home Assistant by itself."""

    enabled: bool = True
    discovery_prefix: str = "homeassistant"
    # Home Assistant announces itself here; `online` makes the hub publish everything again.
    status_topic: str = "homeassistant/status"
    # An entity becomes unavailable after this many of its sensor's usual intervals without
    # a state (learned per sensor; 0: never), and never sooner than `expire_min`.
    expire_intervals: float = Field(default=5.0, ge=0)
    expire_min: Duration = Field(default=60.0, ge=1)

    @field_validator("discovery_prefix", "status_topic")
    @classmethod
    def _topic(cls, value: str) -> str:
        return check_topic(value)


class MqttConfig(BrokerSettings):
    """The MQTT publisher: states, discovery, alerts, health, battery reports."""

    enabled: bool = False
    # Everything the hub publishes lives under this prefix; give each hub its own.
    topic_prefix: str = "hub"
    qos: Literal[0, 1, 2] = 1
    # Retained states let a new subscriber (or Home Assistant after a restart) see the
    # latest value at once.
    retain: bool = True
    # At most one state per sensor per interval: the latest reading wins.
    min_interval: Duration = Field(default=10.0, ge=0)
    # How often the sensors table is read for renames, moves and disabled sensors.
    poll_interval: Duration = Field(default=5.0, ge=0.2, le=3600)
    # Publish firing/resolved alert transitions to `<prefix>/alerts`.
    alerts: bool = True
    # Alert messages kept while the broker is unreachable; beyond it the oldest are dropped.
    alert_queue: int = Field(default=1_000, ge=1)
    # Mailbox of each bus subscription (readings, alerts, health, battery).
    queue_size: int = Field(default=10_000, ge=10)
    # Sensors kept (latest state, discovery); readings of further sensors are counted.
    max_sensors: int = Field(default=10_000, ge=1)
    home_assistant: HomeAssistantConfig = Field(default_factory=HomeAssistantConfig)

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return check_topic(value, "topic_prefix")
