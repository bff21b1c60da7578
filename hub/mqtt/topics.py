"""Where the hub publishes what, all under one prefix.

- `<prefix>/status`: `online` / `offline`, retained. The broker publishes `offline` as the
  hub's last will when the hub dies, so this topic holds exactly the two plain words that
  Home Assistant's availability (and any MQTT tool) compares against.
- `<prefix>/status/health`: the hub's health as JSON, retained. Kept apart from the
  last-will topic on purpose: a JSON document there would make every entity unavailable,
  and the broker's `offline` would overwrite the health report. It sits under `status/` so
  that `<prefix>/status/#` shows both.
- `<prefix>/sensor/<sensor id>/state`: a sensor's latest reading (JSON).
- `<prefix>/sensor/<sensor id>/availability`: `online` / `offline`, retained.
- `<prefix>/alerts`: alert transitions and notifications (JSON, not retained).
- `<prefix>/battery`: the latest battery report (JSON, retained).

The sensor id is the address without colons, lower case (`c8252d8eab4c`): it never
changes, so renaming a sensor moves none of its topics.
"""

from __future__ import annotations

from dataclasses import dataclass


def sensor_id(address: str) -> str:
    """`C8:25:2D:8E:AB:4C` -> `c8252d8eab4c`."""
    return address.replace(":", "").lower()


@dataclass(frozen=True, slots=True)
class Topics:
    """The hub's topics under `prefix`, and Home Assistant's under `discovery_prefix`."""

    prefix: str
    discovery_prefix: str = "homeassistant"

    @property
    def status(self) -> str:
        return f"{self.prefix}/status"

    @property
    def health(self) -> str:
        return f"{self.prefix}/status/health"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}/alerts"

    @property
    def battery(self) -> str:
        return f"{self.prefix}/battery"

    def state(self, sid: str) -> str:
        return f"{self.prefix}/sensor/{sid}/state"

    def availability(self, sid: str) -> str:
        return f"{self.prefix}/sensor/{sid}/availability"

    def discovery(self, sid: str, measurement: str) -> str:
        return f"{self.discovery_prefix}/sensor/{sid}/{measurement}/config"
