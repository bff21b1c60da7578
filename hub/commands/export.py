"""`hub export influx`: backfill a range of stored readings into InfluxDB.

For a new bucket, or to refill a range the database lost. Reads the database read-only, so
it runs beside a live hub; the live exporter's position is not touched. Writing a range
twice is harmless: a point with the same measurement, tags and time overwrites itself.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from hub.commands.history import time_arg

if TYPE_CHECKING:
    from hub.exporters.influxdb.backfill import BackfillResult
    from hub.exporters.influxdb.config import InfluxConfig

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
# Rejected lines listed in the summary (all are counted).
_SHOW_REJECTED = 10


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = subparsers.add_parser(
        "export",
        help="send stored readings elsewhere (backfill)",
        description="Sends stored readings to another database; see `hub export TARGET -h`.",
    )
    targets = export.add_subparsers(title="targets", metavar="TARGET")
    influx = targets.add_parser(
        "influx",
        help="backfill a range of stored readings into InfluxDB",
        description="Sends the stored readings of a time range to the InfluxDB set in the "
        "config's `influxdb:` section (whether or not the live export is enabled), in the "
        "same layout as the live export. --since and --until take a duration ago (30m, "
        "24h, 30d) or an ISO time (UTC unless it carries an offset). Exits 0 when every "
        "reading was written, 1 when the server refused lines or could not be reached.",
    )
    influx.add_argument("--since", type=time_arg, help="start (default: the oldest stored reading)")
    influx.add_argument(
        "--until", type=time_arg, default=time_arg("now"), help="end (default: now)"
    )
    influx.add_argument(
        "--sensor",
        action="append",
        metavar="SENSOR",
        help="only this sensor (name, advertised name or address); repeat for more",
    )
    influx.add_argument(
        "--dry-run", action="store_true", help="print the line protocol instead of sending it"
    )
    influx.add_argument("--batch-size", type=int, help="lines per request (default: the config's)")
    influx.add_argument("--config", "-c", type=Path, help="config file")
    influx.add_argument("--db", type=Path, help="database file (instead of the config's)")
    influx.set_defaults(func=run_influx, _parser=influx)
    export.set_defaults(func=lambda _args: _usage(export))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def run_influx(args: argparse.Namespace) -> int:
    from hub.cli import _load
    from hub.config.loader import default_config_path

    parser: argparse.ArgumentParser | None = getattr(args, "_parser", None)
    now = time.time()
    since = args.since.resolve(now) if args.since is not None else float("-inf")
    until = args.until.resolve(now)
    if not since < until:
        return _usage_error(parser, f"--since ({args.since.text}) must be before --until")
    if args.batch_size is not None and not 1 <= args.batch_size <= 100_000:
        return _usage_error(parser, "--batch-size must be between 1 and 100000")

    config = _load(args.config)
    if config is None:
        return EXIT_USAGE
    settings = config.influxdb
    if args.batch_size is not None:
        settings = settings.model_copy(update={"batch_size": args.batch_size})
    if not args.dry_run and not settings.target_bucket:
        shown = args.config or default_config_path()
        sys.stderr.write(
            f"hub export influx: {shown}: influxdb.bucket (or influxdb.database for "
            "InfluxDB 1.8) is not set\n"
        )
        return EXIT_USAGE
    path: Path = args.db or config.store.path
    try:
        return asyncio.run(_export(settings, path, since, until, args.sensor, args.dry_run))
    except KeyboardInterrupt:
        sys.stderr.write("\nhub export influx: interrupted\n")
        return 130


def _usage_error(parser: argparse.ArgumentParser | None, message: str) -> int:
    if parser is not None:
        parser.error(message)  # exits with status 2
    sys.stderr.write(f"hub export influx: {message}\n")
    return EXIT_USAGE


async def _export(
    settings: InfluxConfig,
    path: Path,
    since: float,
    until: float,
    sensors: Sequence[str] | None,
    dry_run: bool,
) -> int:
    from hub.errors import HubError
    from hub.exporters.influxdb.backfill import backfill, open_database
    from hub.exporters.influxdb.backoff import Backoff
    from hub.exporters.influxdb.delivery import AuthRejected
    from hub.exporters.influxdb.lineprotocol import LineEncoder
    from hub.exporters.influxdb.outbox import Selection, scope
    from hub.store.history import resolve_sensor

    try:
        conn = await open_database(path)
    except HubError as exc:
        sys.stderr.write(f"hub export influx: {exc}\n")
        return EXIT_ERROR
    transport = None
    try:
        ids: tuple[int, ...] | None = None
        if sensors:
            try:
                ids = tuple(sorted({(await resolve_sensor(conn, s)).id for s in sensors}))
            except HubError as exc:
                sys.stderr.write(f"hub export influx: {exc}\n")
                return EXIT_ERROR
        selection = Selection(since, until, ids)
        total = (await scope(conn, selection)).count
        encoder = LineEncoder(settings)
        if dry_run:
            result = await backfill(
                conn,
                selection,
                encoder,
                None,
                batch_size=settings.batch_size,
                backoff=Backoff(settings.retry),
                on_lines=_print_lines,
            )
            sys.stderr.write(
                f"{_count(result.readings, 'reading')} in {_count(result.lines, 'line')} "
                f"(dry run: nothing sent)\n"
            )
            return EXIT_OK

        from hub.exporters.influxdb.transport import InfluxTransport

        transport = InfluxTransport(settings)
        await transport.open()
        bar = ProgressBar(total, sys.stderr)
        try:
            result = await backfill(
                conn,
                selection,
                encoder,
                transport.write,
                batch_size=settings.batch_size,
                backoff=Backoff(settings.retry),
                on_progress=lambda r: bar.update(r.readings),
            )
        except AuthRejected as exc:
            bar.finish()
            sys.stderr.write(f"hub export influx: {settings.url}: {exc}; nothing more sent\n")
            return EXIT_ERROR
        bar.finish()
        _summary(result, settings, sys.stderr)
        return EXIT_ERROR if result.stopped or result.rejected else EXIT_OK
    finally:
        if transport is not None:
            await transport.close()
        await conn.close()


def _print_lines(lines: Sequence[str]) -> None:
    try:
        sys.stdout.write("".join(f"{line}\n" for line in lines))
    except BrokenPipeError:  # the reader went away (e.g. `| head`)
        sys.stderr.close()
        raise SystemExit(EXIT_OK) from None


def _count(number: int, noun: str, plural: str | None = None) -> str:
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


def _iso(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _summary(result: BackfillResult, settings: InfluxConfig, out: TextIO) -> None:
    rate = result.readings / result.seconds if result.seconds > 0 else 0.0
    target = f"{settings.url} bucket {settings.target_bucket!r}"
    span = f" from {_iso(result.first_ts)} to {_iso(result.last_ts)}" if result.readings else ""
    out.write(
        f"Exported {_count(result.readings, 'reading')} ({_count(result.written, 'point')} "
        f"written){span} to {target} in {result.seconds:.1f}s ({rate:,.0f} readings/s; "
        f"{_count(result.requests, 'request')}, {_count(result.retries, 'retry', 'retries')})\n"
    )
    if result.rejected:
        out.write(f"The server refused {_count(len(result.rejected), 'line')}:\n")
        for rejected in result.rejected[:_SHOW_REJECTED]:
            out.write(f"  HTTP {rejected.status}: {rejected.message}\n    {rejected.line}\n")
        if len(result.rejected) > _SHOW_REJECTED:
            out.write(f"  ... and {len(result.rejected) - _SHOW_REJECTED} more\n")
    if result.stopped:
        resume = (
            f"; run again with --since {_iso(result.last_ts)} to go on"
            if result.last_ts is not None
            else ""
        )
        out.write(
            f"Stopped early: {result.stopped}. Everything up to {_iso(result.last_ts)} "
            f"was written{resume}\n"
        )


class ProgressBar:
    """A one-line bar on a terminal; on anything else a line every few seconds."""

    WIDTH = 30
    _TTY_EVERY_S = 0.1
    _PLAIN_EVERY_S = 5.0

    def __init__(self, total: int, out: TextIO) -> None:
        self._total = total
        self._out = out
        self._tty = out.isatty()
        self._started = time.monotonic()
        self._shown = -1.0
        self._done = 0

    def update(self, done: int) -> None:
        self._done = done
        now = time.monotonic()
        every = self._TTY_EVERY_S if self._tty else self._PLAIN_EVERY_S
        if now - self._shown >= every:
            self._shown = now
            self._draw(now)

    def finish(self) -> None:
        if self._tty and self._shown >= 0:
            self._draw(time.monotonic())
            self._out.write("\n")
        self._out.flush()

    def _draw(self, now: float) -> None:
        total = max(self._total, self._done, 1)
        share = self._done / total
        elapsed = now - self._started
        rate = self._done / elapsed if elapsed > 0 else 0.0
        text = f"{share:4.0%} {self._done:,}/{total:,} readings, {rate:,.0f}/s"
        if self._tty:
            filled = int(share * self.WIDTH)
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            self._out.write(f"\r[{bar}] {text}")
        else:
            self._out.write(f"{text}\n")
        self._out.flush()
