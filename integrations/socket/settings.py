"""Settings of a `socket` source: where it listens, how it stamps, how much it holds."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, model_validator

from hub.config.models import SourceSettings
from hub.config.types import ConfigPath

# sun_path of struct sockaddr_un holds 108 bytes including the terminating NUL (Linux).
MAX_UNIX_PATH = 107


class SocketSettings(SourceSettings):
    """A Unix stream socket (`path`) or a TCP port (`host`, `port`) taking contract-1 lines."""

    type: Literal["socket"] = "socket"
    path: ConfigPath | None = None
    # TCP instead of a Unix socket. Anyone who can reach the port can feed the hub, so keep
    # it on loopback unless the network is trusted. Port 0 picks a free port (tests).
    host: str | None = None
    port: int | None = Field(default=None, ge=0, le=65535)
    # now: stamped when the line is received, as a radio would (a line's own `ts` is
    # ignored); recorded: the line's `ts` is kept (a line without one is stamped now).
    timestamps: Literal["now", "recorded"] = "now"
    # Longest accepted line in bytes; a longer one is skipped whole and counted, and the
    # connection stays open.
    max_line: int = Field(default=65_536, ge=256, le=16 * 1024 * 1024)
    # Advertisements read but not yet handed to the hub. When it is full the source stops
    # reading, so the clients' writes wait: a slow hub slows its clients, it loses nothing.
    queue_size: int = Field(default=1_000, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _one_endpoint(self) -> SocketSettings:
        tcp = self.host is not None or self.port is not None
        if self.path is not None and tcp:
            raise ValueError("give either path (a Unix socket) or host and port (TCP), not both")
        if self.path is None and not tcp:
            raise ValueError("give path (a Unix socket) or host and port (TCP)")
        if self.path is not None and len(str(self.path).encode()) > MAX_UNIX_PATH:
            raise ValueError(
                f"path {str(self.path)!r} is {len(str(self.path).encode())} bytes long; "
                f"a Unix socket path may have at most {MAX_UNIX_PATH}"
            )
        if tcp and (self.host is None or self.port is None):
            raise ValueError("TCP needs both host and port")
        return self

    def endpoint(self) -> str:
        """What a log line calls it: the socket path, or host:port."""
        if self.path is not None:
            return str(self.path)
        return f"{self.host}:{self.port}"

    def is_loopback(self) -> bool:
        """Whether only this machine can connect (a Unix socket, or TCP on loopback)."""
        if self.path is not None or self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host or "").is_loopback
        except ValueError:
            return False
