"""The `http:` section: where the HTTP API listens and who may use it. Off unless enabled."""

from __future__ import annotations

import ipaddress

from pydantic import Field, SecretStr, field_validator, model_validator

from hub.config.types import Duration, Section
from hub.http.dashboard.config import DashboardConfig

MIN_TOKEN_LENGTH = 16


def is_loopback(host: str) -> bool:
    """True when `host` can only be reached from this machine."""
    if host.lower() in ("localhost", "localhost.", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


class HttpConfig(Section):
    """The HTTP API: /healthz, /metrics and /api."""

    enabled: bool = False
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8780, ge=0, le=65535)
    # `Authorization: Bearer <token>` for /api (may be given as `token_file`). Optional on
    # a loopback address; required on any other, so the API is never open to a network.
    token: SecretStr | None = None
    # Sensors not heard for this long are left out of /metrics (only their last-seen time
    # stays), so a dead sensor's last value does not look current.
    metrics_max_age: Duration = Field(default=3600.0, gt=0)
    # Rows of one /history answer; more are cut off (and the answer says so).
    max_history_rows: int = Field(default=100_000, ge=100, le=5_000_000)
    # Read-only database connections for the API (queries run in parallel up to this).
    db_connections: int = Field(default=2, ge=1, le=16)
    # The page at `/` and its live stream (hub/http/dashboard/README.md).
    dashboard: DashboardConfig = Field(default_factory=DashboardConfig)

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < MIN_TOKEN_LENGTH:
            raise ValueError(
                f"token must be at least {MIN_TOKEN_LENGTH} characters "
                "(e.g. `openssl rand -hex 24`)"
            )
        return SecretStr(value.get_secret_value().strip()) if value is not None else None

    @model_validator(mode="after")
    def _token_off_loopback(self) -> HttpConfig:
        if self.enabled and self.token is None and not is_loopback(self.host):
            raise ValueError(
                f"listening on {self.host} (not a loopback address) needs a token: "
                "set http.token or http.token_file, or listen on 127.0.0.1"
            )
        return self
