"""`hub battery`: every sensor's battery, voltage, last seen and days left, from the database.

The same report the scheduled job makes (hub.alerts.battery), built on demand from a
read-only connection, so it runs beside a running hub.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from hub.durations import parse_duration

EXIT_ERROR = 1
EXIT_USAGE = 2


def _window(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds < 86400:
        raise argparse.ArgumentTypeError(f"{text!r} is too short: the trend needs at least 1d")
    return seconds


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "battery",
        help="every sensor's battery and voltage, and the days left from the trend",
        description="Prints every enabled sensor's battery % and voltage, when it was last "
        "seen, and the days its battery has left: a least-squares line through the hourly "
        "battery means of the last 30 days (unknown when the data is too short, too flat or "
        "too noisy to tell). Most urgent first. Reads the database read-only; works while "
        "the hub runs.",
    )
    parser.add_argument("--config", "-c", type=Path, help="config file (for the database path)")
    parser.add_argument("--db", type=Path, help="database file (instead of the config's)")
    parser.add_argument(
        "--format",
        "-f",
        choices=("table", "json"),
        default="table",
        help="table (aligned), or json (the report as the hub stores it)",
    )
    parser.add_argument(
        "--window",
        type=_window,
        default=_window("30d"),
        metavar="DURATION",
        help="how far back the trend looks (default: 30d)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import orjson

    from hub.alerts.battery import build_report_sync, format_report, report_to_dict
    from hub.errors import HubError
    from hub.store.history import open_readonly

    path: Path | None = args.db
    if path is None:
        from hub.cli import _load

        config = _load(args.config)
        if config is None:
            return EXIT_USAGE
        path = config.store.path
    try:
        with open_readonly(path) as conn:
            report = build_report_sync(conn, time.time(), args.window)
    except HubError as exc:  # no database, an old schema, an unreadable file
        sys.stderr.write(f"hub battery: {exc}\n")
        return EXIT_ERROR
    try:
        if args.format == "json":
            sys.stdout.write(orjson.dumps(report_to_dict(report)).decode() + "\n")
        else:
            sys.stdout.write(format_report(report) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error of ours.
        sys.stderr.close()
    return 0
