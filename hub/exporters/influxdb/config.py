"""The `influxdb:` section of the hub config. Off unless `enabled: true`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from hub.config.types import ConfigPath, Duration, Section

Precision = Literal["s", "ms", "us", "ns"]
TagName = Literal["address", "name", "location", "integration", "model"]

DEFAULT_TAGS: tuple[TagName, ...] = ("address", "name", "location", "integration", "model")
# Counts and dBm are whole numbers by definition, so they are written as integers (`12i`).
# Everything else is written as a float even when a decoder gives a whole number (a
# humidity of 45): InfluxDB fixes a field's type at its first write and rejects later
# points of the other type, and several decoders give the same quantity as int or float.
DEFAULT_INTEGER_FIELDS: tuple[str, ...] = (
    "movement_counter",
    "measurement_sequence",
    "tx_power",
    "rssi",
)


class RetryConfig(Section):
    """Exponential backoff between attempts while the server is unreachable or failing."""

    initial: Duration = Field(default=1.0, gt=0)
    max: Duration = Field(default=60.0, gt=0)
    multiplier: float = Field(default=2.0, ge=1.0, le=10.0)
    # Each delay is shortened by up to this fraction at random, so many hubs that lost the
    # same server do not come back in step.
    jitter: float = Field(default=0.2, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> RetryConfig:
        if self.max < self.initial:
            raise ValueError("max must be at least initial")
        return self


class InfluxConfig(Section):
    """Export of every committed reading to InfluxDB 2.x/3.x, or 1.8+ through its v2 API."""

    enabled: bool = False
    url: str = "http://localhost:8086"
    # InfluxDB 2.x/3.x: organisation, bucket and an API token (or `token_file`).
    org: str = ""
    bucket: str = ""
    token: SecretStr | None = None
    # InfluxDB 1.8+: database and retention policy instead of the bucket, and a user
    # instead of the token (or neither, for a server without authentication).
    database: str | None = Field(default=None, min_length=1)
    retention_policy: str | None = Field(default=None, min_length=1)
    username: str | None = Field(default=None, min_length=1)
    password: SecretStr | None = None
    # TLS: the server's certificate is checked unless this is false; `ca_file` adds a CA.
    verify_tls: bool = True
    ca_file: ConfigPath | None = None
    gzip: bool = False
    timeout: Duration = Field(default=10.0, gt=0, le=600)

    batch_size: int = Field(default=5_000, ge=1, le=100_000)
    flush_interval: Duration = Field(default=10.0, gt=0)
    precision: Precision = "ms"
    # reading: one point per reading, measurement `measurement`, a field per quantity.
    # quantity: one point per quantity, measurement named after it, one field `value`.
    layout: Literal["reading", "quantity"] = "reading"
    measurement: str = Field(default="ble", min_length=1)
    tags: tuple[TagName, ...] = DEFAULT_TAGS
    # Tags added to every point, e.g. {hub: cellar} when several hubs share a bucket.
    static_tags: dict[str, str] = Field(default_factory=dict)
    # The radio's signal strength as a field (an integer, dBm).
    rssi: bool = True
    integer_fields: tuple[str, ...] = DEFAULT_INTEGER_FIELDS

    retry: RetryConfig = Field(default_factory=RetryConfig)
    # After 401/403 the exporter stops writing and tries again this often (and on SIGHUP).
    auth_recheck: Duration = Field(default=300.0, gt=0)
    # Health turns from degraded to failing when writes have failed this long.
    failing_after: Duration = Field(default=300.0, gt=0)
    # all: on its very first start, export every reading already stored; new: only those
    # stored from then on (use `hub export influx` for the rest).
    first_run: Literal["all", "new"] = "all"

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("measurement")
    @classmethod
    def _measurement_name(cls, value: str) -> str:
        if value.startswith("#"):
            raise ValueError("a measurement name must not start with '#' (a comment line)")
        if any(c in value for c in "\r\n"):
            raise ValueError("a measurement name must be one line")
        return value

    @field_validator("static_tags")
    @classmethod
    def _tag_pairs(cls, value: dict[str, str]) -> dict[str, str]:
        for key, tag in value.items():
            if not key or not tag:
                raise ValueError("static tag keys and values must not be empty")
            if key.startswith("_"):
                raise ValueError(f"static tag {key!r}: keys starting with '_' are reserved")
            if any(c in key + tag for c in "\r\n"):
                raise ValueError(f"static tag {key!r}: must be one line")
        return value

    @field_validator("ca_file")
    @classmethod
    def _readable_ca(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> InfluxConfig:
        if self.token is not None and self.username is not None:
            raise ValueError("give either token (InfluxDB 2.x/3.x) or username (1.8+), not both")
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if self.database is not None and self.bucket:
            raise ValueError("give either bucket (InfluxDB 2.x/3.x) or database (1.8+), not both")
        if self.retention_policy is not None and self.database is None:
            raise ValueError("retention_policy needs database")
        clash = set(self.static_tags) & set(self.tags)
        if clash:
            raise ValueError(f"static_tags repeat tags the exporter sets: {sorted(clash)}")
        if len(set(self.tags)) != len(self.tags):
            raise ValueError("tags lists a tag twice")
        if self.enabled and not self.target_bucket:
            raise ValueError("an enabled InfluxDB export needs bucket (or database for 1.8+)")
        return self

    @property
    def target_bucket(self) -> str:
        """The bucket to write to; 1.8+ takes `database/retention_policy` in its place."""
        if self.database is not None:
            rp = self.retention_policy or ""
            return f"{self.database}/{rp}" if rp else self.database
        return self.bucket

    @property
    def target_org(self) -> str:
        """The organisation; 1.8+ ignores it, and the client needs one: `-`."""
        return self.org or "-"

    def auth_token(self) -> str | None:
        """What goes after `Authorization: Token`: the token, or `user:password` for 1.8+."""
        if self.token is not None:
            return self.token.get_secret_value()
        if self.username is not None and self.password is not None:
            return f"{self.username}:{self.password.get_secret_value()}"
        return None
