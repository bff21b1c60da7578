"""`http.dashboard`: the page at `/` and its live stream. On whenever the HTTP API is on."""

from __future__ import annotations

from pydantic import Field

from hub.config.types import Duration, Section


class DashboardConfig(Section):
    """The dashboard served by the HTTP component."""

    enabled: bool = True
    # A sensor not heard for this long shows as stale (the cards, the counts, /api/dashboard).
    stale_after: Duration = Field(default=600.0, gt=0)
    # Live updates go to each browser at most this often: the latest values of every sensor
    # that changed meanwhile, in one message (200 sensors at several readings/s stay one
    # message a second).
    live_interval: Duration = Field(default=1.0, ge=0.2, le=60.0)
    # Browsers connected to the live stream at once; more are refused (503, they retry).
    max_clients: int = Field(default=50, ge=1, le=1000)
    # Messages a browser may fall behind by before it is disconnected (counted); it
    # reconnects and reloads the page's data, so it loses nothing it would show.
    client_backlog: int = Field(default=30, ge=2, le=1000)
