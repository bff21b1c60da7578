"""`hub history SENSOR`: one sensor's readings, or hourly or daily min/mean/max, from the database.

Reads the database file read-only, so it runs beside a running hub. Times are shown in UTC
(`--local` shows the table in local time); hour and day buckets are UTC hours and days.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from hub.durations import parse_duration

if TYPE_CHECKING:
    from hub.store.history import History

EXIT_ERROR = 1
EXIT_USAGE = 2


@dataclass(frozen=True, slots=True)
class TimeArg:
    """A --since/--until value: a duration ago, or a point in time."""

    text: str
    ago: float | None = None
    at: datetime | None = None

    def resolve(self, now: float, *, local: bool = False) -> float:
        """Seconds since the epoch; a time without an offset is UTC, or local if `local`."""
        if self.ago is not None:
            return now - self.ago
        assert self.at is not None
        at = self.at
        if at.tzinfo is None:
            at = at.astimezone() if local else at.replace(tzinfo=UTC)
        return at.timestamp()


def time_arg(text: str) -> TimeArg:
    """argparse type: `24h`, `7d`, `90m` (ago), `now`, or an ISO 8601 date or time."""
    if text.strip().lower() == "now":
        return TimeArg(text, ago=0.0)
    try:
        return TimeArg(text, ago=parse_duration(text))
    except ValueError:
        pass
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a duration ago (30m, 24h, 7d) nor an ISO time "
            "(2026-03-01, 2026-03-01T12:00, 2026-03-01T12:00+01:00)"
        ) from None
    return TimeArg(text, at=at)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "history",
        help="show a sensor's stored readings, or hourly or daily min/mean/max",
        description="Shows one sensor's history from the database (read-only; works while "
        "the hub runs). --since and --until take a duration ago (30m, 24h, 7d) or an ISO "
        "time (UTC unless it carries an offset, or local with --local). Times are printed in "
        "UTC; hour and day buckets are UTC hours and days, labelled by their start.",
    )
    parser.add_argument("sensor", metavar="SENSOR", help="name, advertised name or address")
    parser.add_argument("--measurement", "-m", help="one measurement (default: all)")
    parser.add_argument(
        "--since", type=time_arg, default=time_arg("24h"), help="start (default: 24h ago)"
    )
    parser.add_argument(
        "--until", type=time_arg, default=time_arg("now"), help="end (default: now)"
    )
    parser.add_argument(
        "--resolution",
        "-r",
        choices=("raw", "hour", "day", "auto"),
        default="auto",
        help="auto: raw up to 48 h within the raw retention, hourly up to 90 days, else daily",
    )
    parser.add_argument(
        "--format",
        "-f",
        choices=("table", "csv", "json"),
        default="table",
        help="table (aligned), csv (with a header) or json (one object per line)",
    )
    parser.add_argument(
        "--local",
        action="store_true",
        help="table times, and --since/--until without an offset, in local time",
    )
    parser.add_argument("--config", "-c", type=Path, help="config file (for the database path)")
    parser.add_argument("--db", type=Path, help="database file (instead of the config's)")
    parser.set_defaults(func=run, _parser=parser)


def run(args: argparse.Namespace) -> int:
    from hub.config.models import RetentionConfig
    from hub.errors import HubError
    from hub.store.history import (
        history_sync,
        measurements_sync,
        open_readonly,
        resolve_sensor_sync,
    )

    parser: argparse.ArgumentParser | None = getattr(args, "_parser", None)
    now = time.time()
    since = args.since.resolve(now, local=args.local)
    until = args.until.resolve(now, local=args.local)
    if not since < until:
        message = f"--since ({args.since.text}) must be before --until ({args.until.text})"
        if parser is not None:
            parser.error(message)  # exits with status 2
        sys.stderr.write(f"hub history: {message}\n")
        return EXIT_USAGE

    retention = RetentionConfig()
    path: Path | None = args.db
    if path is None:
        from hub.cli import _load

        config = _load(args.config)
        if config is None:
            return EXIT_USAGE
        path, retention = config.store.path, config.retention

    try:
        with open_readonly(path) as conn:
            sensor = resolve_sensor_sync(conn, args.sensor)
            result = history_sync(
                conn,
                sensor.id,
                args.measurement,
                since,
                until,
                args.resolution,
                raw_retention=retention.raw,
                now=now,
            )
            known = measurements_sync(conn, sensor.id) if not result.rows else []
    except HubError as exc:  # an unknown or ambiguous sensor, an unusable database
        sys.stderr.write(f"hub history: {exc}\n")
        return EXIT_ERROR

    label = f"{sensor.name} ({sensor.address})" if sensor.name else sensor.address
    if not result.rows:
        if args.measurement is not None and args.measurement not in known:
            has = ", ".join(known) if known else "none yet"
            sys.stderr.write(
                f"hub history: {label} has no measurement {args.measurement!r} (it has: {has})\n"
            )
            return EXIT_ERROR
        sys.stderr.write(
            f"hub history: no {result.resolution} history for {label} between "
            f"{_iso(since)} and {_iso(until)}\n"
        )
        return 0
    try:
        if args.format == "csv":
            write_csv(result, sys.stdout)
        elif args.format == "json":
            write_json(result, sys.stdout)
        else:
            write_table(result, sys.stdout, title=label, local=args.local)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error of ours.
        sys.stderr.close()
    return 0


# -- output --------------------------------------------------------------------------------


def _iso(ts: float) -> str:
    """UTC, ISO 8601 with `Z`, to the second (or the millisecond when it has one)."""
    at = datetime.fromtimestamp(ts, UTC)
    spec = "milliseconds" if at.microsecond else "seconds"
    return at.isoformat(timespec=spec).replace("+00:00", "Z")


def _shown_time(ts: float, local: bool) -> str:
    at = datetime.fromtimestamp(ts, UTC)
    if local:
        at = at.astimezone()
    text = at.strftime("%Y-%m-%d %H:%M:%S")
    if at.microsecond:
        text += f".{at.microsecond // 1000:03d}"
    return text


def _number(value: float | int) -> str:
    """A number for people: integers without `.0`, floats to 10 significant digits (so a
    sum's rounding error such as 0.30000000000000004 shows as 0.3)."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.10g}"
    return str(value)


def _columns(result: History) -> list[str]:
    if result.resolution == "raw":
        return ["measurement", "value"]
    return ["measurement", "min", "mean", "max", "count"]


def _values(row: Any) -> list[float | int | str]:
    from hub.store.history import Sample

    if isinstance(row, Sample):
        return [row.measurement, row.value]
    return [row.measurement, row.min, row.mean, row.max, row.count]


def write_table(result: History, out: TextIO, *, title: str = "", local: bool = False) -> None:
    from hub.store.history import Sample

    zone = f"local time ({datetime.now().astimezone().tzname()})" if local else "UTC"
    bucket = {"raw": "", "hour": ", hourly", "day": ", daily (UTC days)"}[result.resolution]
    count = len(result.rows)
    rows = "1 row" if count == 1 else f"{count} rows"
    out.write(f"{title}{' — ' if title else ''}{rows}{bucket}, times in {zone}\n")
    header = ["time", *_columns(result)]
    lines = []
    for row in result.rows:
        if isinstance(row, Sample):
            numbers = [_number(row.value)]
        else:  # the mean to 4 decimals; min and max are stored values
            numbers = [_number(row.min), _number(round(row.mean, 4)), _number(row.max)]
            numbers.append(str(row.count))
        lines.append([_shown_time(row.ts, local), row.measurement, *numbers])
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]

    def fmt(cells: list[str]) -> str:
        # Text columns to the left, numbers to the right.
        parts = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip() + "\n"

    out.write(fmt(header))
    out.write(fmt(["-" * w for w in widths]))
    for cells in lines:
        out.write(fmt(cells))


def write_csv(result: History, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["time", "ts", *_columns(result)])
    for row in result.rows:
        ts = int(row.ts) if float(row.ts).is_integer() else row.ts
        writer.writerow([_iso(row.ts), ts, *_values(row)])


def write_json(result: History, out: TextIO) -> None:
    import orjson

    columns = ["time", "ts", *_columns(result)]
    for row in result.rows:
        record = dict(zip(columns, [_iso(row.ts), row.ts, *_values(row)], strict=True))
        out.write(orjson.dumps(record).decode() + "\n")
