"""`hub record FILE`: every advertisement heard, as advertisement records (contract 1).

The file replays with the replay source and decodes with `hub decode`: to test a decoder
against a real sensor, to reproduce a problem, or to attach to a bug report. Without
`--duration` it records until Ctrl-C (or SIGTERM). `-` writes to standard output.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from hub.commands.scan import EXIT_ERROR, duration_arg, quiet_logging

if TYPE_CHECKING:
    from hub.events import Advertisement


def register(subparsers: Any) -> None:
    record = subparsers.add_parser(
        "record",
        help="write every BLE advertisement heard to a JSONL file (to replay or decode)",
        description="Writes each advertisement as one JSON line (the advertisement record "
        "format), flushed as it comes, until --duration is over or Ctrl-C.",
    )
    record.add_argument("file", help="output file, or - for standard output")
    record.add_argument("--duration", type=duration_arg, help="how long (default: until Ctrl-C)")
    record.add_argument("--adapter", default="hci0", help="Bluetooth adapter (default hci0)")
    record.set_defaults(func=_record)


class Recorder:
    """Writes advertisement records, one flushed line each."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self.count = 0
        self.addresses: set[str] = set()

    def add(self, adv: Advertisement) -> None:
        import orjson

        from hub.records import to_record

        self._out.write(orjson.dumps(to_record(adv)) + b"\n")
        self._out.flush()
        self.count += 1
        self.addresses.add(adv.address)


async def _run(args: argparse.Namespace, recorder: Recorder) -> None:
    from integrations.ble.capture import capture

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await capture(args.adapter, recorder.add, args.duration, stop)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def _record(args: argparse.Namespace) -> int:
    from integrations.ble.capture import CaptureError

    quiet_logging()
    to_stdout = args.file == "-"
    try:
        out: IO[bytes] = sys.stdout.buffer if to_stdout else Path(args.file).open("wb")  # noqa: SIM115
    except OSError as exc:
        sys.stderr.write(f"hub record: cannot write {args.file}: {exc.strerror}\n")
        return EXIT_ERROR
    recorder = Recorder(out)
    until = f"for {args.duration:g} s" if args.duration else "until Ctrl-C"
    sys.stderr.write(f"Recording on {args.adapter} {until}...\n")
    started = time.monotonic()
    try:
        asyncio.run(_run(args, recorder))
    except CaptureError as exc:
        sys.stderr.write(f"hub record: {exc}\n")
        return EXIT_ERROR
    except BrokenPipeError:
        return 0
    finally:
        if not to_stdout:
            with contextlib.suppress(OSError):
                out.close()
    sys.stderr.write(
        f"Recorded {recorder.count} advertisements from {len(recorder.addresses)} devices in "
        f"{time.monotonic() - started:.0f} s to {args.file}\n"
    )
    return 0
