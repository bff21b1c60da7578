"""InfluxDB export: every committed reading, from the store's outbox, exactly once.

`build(context)` is the component hook (see `hub.components`). This package imports
nothing heavy when the export is off: influxdb-client is imported only by the transport,
when the exporter starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# hub.config.models imports this package's `config` module. Loading hub.config first means
# that importing any module of this package first never meets a half-built hub.config.
import hub.config  # noqa: F401

if TYPE_CHECKING:
    from hub.components import ComponentContext
    from hub.exporters.influxdb.exporter import InfluxExporter


def build(context: ComponentContext) -> InfluxExporter | None:
    """The exporter when `influxdb.enabled` is true, else None."""
    settings = context.config.influxdb
    if not settings.enabled:
        return None
    from hub.exporters.influxdb.exporter import InfluxExporter

    return InfluxExporter(settings, context.store, context.scheduler, context.bus, context.clock)
