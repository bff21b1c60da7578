"""`hub scan`: what is advertising around here, and which of it the hub understands.

Listens on one adapter for a while, then lists every device heard, strongest signal first:
address, name, RSSI, how often it was heard, the integration that decodes it and its latest
values, or "unknown". A new user sees at once which sensors the hub reads and which
addresses to put in the config.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.durations import parse_duration

if TYPE_CHECKING:
    from hub.events import Advertisement
    from hub.integrations import DecodeContext, IntegrationRegistry

EXIT_ERROR = 1
EXIT_USAGE = 2
UNKNOWN = "unknown"


def duration_arg(text: str) -> float:
    """argparse type: `30s`, `2m`, or seconds."""
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError("the duration must be more than 0 s")
    return seconds


def register(subparsers: Any) -> None:
    scan = subparsers.add_parser(
        "scan",
        help="list the BLE devices around, and which the hub can decode",
        description="Listens for BLE advertisements, then lists every device heard, "
        "strongest signal first, with the integration that decodes it and its values.",
    )
    scan.add_argument(
        "--duration", type=duration_arg, default=30.0, help="how long to listen (default 30s)"
    )
    scan.add_argument("--adapter", default="hci0", help="Bluetooth adapter (default hci0)")
    scan.add_argument("--config", "-c", type=Path, help="take bindkeys from this config")
    scan.add_argument("--format", choices=("table", "json"), default="table")
    scan.set_defaults(func=_scan)


@dataclass(slots=True)
class Heard:
    """One device as the scan saw it."""

    address: str
    name: str | None = None
    best_rssi: int | None = None
    count: int = 0
    integration: str | None = None
    model: str | None = None
    values: dict[str, float | int] = field(default_factory=dict)
    error: str | None = None

    def record(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "name": self.name,
            "rssi": self.best_rssi,
            "count": self.count,
            "integration": self.integration or UNKNOWN,
            "model": self.model,
            "values": self.values,
            **({"error": self.error} if self.error else {}),
        }


class Survey:
    """Decodes each advertisement as it comes and keeps the latest per device."""

    def __init__(self, registry: IntegrationRegistry, context: DecodeContext) -> None:
        self._registry = registry
        self._context = context
        self.devices: dict[str, Heard] = {}

    def add(self, adv: Advertisement) -> None:
        from hub.decoding import canonical_measurements, decode_advertisement
        from hub.integrations import DecodeFailure

        heard = self.devices.get(adv.address)
        if heard is None:
            heard = self.devices[adv.address] = Heard(adv.address)
        heard.count += 1
        heard.name = adv.name or heard.name
        if adv.rssi is not None and (heard.best_rssi is None or adv.rssi > heard.best_rssi):
            heard.best_rssi = adv.rssi
        integration, result = decode_advertisement(self._registry, self._context, adv)
        if integration is None or result is None:
            return
        heard.integration = integration.name
        if isinstance(result, DecodeFailure):
            # A device decoded before keeps its values; the reason shows what went wrong.
            heard.error = result.reason
            return
        measurements = dict(canonical_measurements(result))
        if measurements:
            heard.values = measurements
        heard.model = result.model or heard.model
        heard.error = None

    def ranked(self) -> list[Heard]:
        """Strongest signal first; devices without an RSSI last."""
        return sorted(
            self.devices.values(),
            key=lambda h: (h.best_rssi is None, -(h.best_rssi or 0), h.address),
        )


def quiet_logging() -> None:
    """Only warnings on stderr: the command's own output is the point."""
    from hub.config.models import LoggingConfig
    from hub.logs import setup_logging

    setup_logging(LoggingConfig(level="WARNING"))


def _scan(args: argparse.Namespace) -> int:
    from hub.cli import _load
    from hub.integrations import DecodeContext, IntegrationRegistry
    from integrations.ble.capture import CaptureError, capture

    quiet_logging()
    keys: dict[str, bytes] = {}
    if args.config is not None:
        config = _load(args.config)
        if config is None:
            return EXIT_USAGE
        keys = config.device_keys()
    survey = Survey(IntegrationRegistry.discover(), DecodeContext(keys=keys))
    sys.stderr.write(f"Listening on {args.adapter} for {args.duration:g} s...\n")
    try:
        asyncio.run(capture(args.adapter, survey.add, args.duration))
    except CaptureError as exc:
        sys.stderr.write(f"hub scan: {exc}\n")
        return EXIT_ERROR
    ranked = survey.ranked()
    if args.format == "json":
        for heard in ranked:
            sys.stdout.write(json.dumps(heard.record(), ensure_ascii=False) + "\n")
    else:
        _table(ranked)
    known = sum(1 for h in ranked if h.integration)
    sys.stderr.write(
        f"{len(ranked)} devices heard, {known} understood by the hub. Name them under "
        "`devices:` in the config (by address); encrypted ones need a bindkey there.\n"
    )
    return 0


def _values(heard: Heard) -> str:
    if heard.error:
        return f"({heard.error})"
    return " ".join(f"{name}={value:g}" for name, value in heard.values.items())


def _table(ranked: list[Heard]) -> None:
    header = ("ADDRESS", "NAME", "RSSI", "SEEN", "INTEGRATION", "VALUES")
    rows = [header]
    for heard in ranked:
        rows.append(
            (
                heard.address,
                heard.name or "",
                "" if heard.best_rssi is None else str(heard.best_rssi),
                str(heard.count),
                heard.integration or UNKNOWN,
                _values(heard),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        sys.stdout.write("  ".join([*cells, row[-1]]).rstrip() + "\n")
    if not ranked:
        sys.stdout.write("(nothing heard)\n")
