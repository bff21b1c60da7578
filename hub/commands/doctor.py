"""`hub doctor [--config FILE] [--bundle FILE]`: check this machine and the config, print a
fix for every failure, and optionally write a debug bundle (with no secret in it).

Exit status: 0 when nothing failed (warnings and skipped checks allowed), 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

EXIT_FAILED = 1
_MARK = {"ok": "ok", "warn": "WARN", "fail": "FAIL", "skip": "skip"}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check BlueZ, permissions, config, database, InfluxDB, MQTT and the clock",
        description="Checks what a new installation trips over and prints a fix for each "
        "failure. Exit status 0 when nothing failed. --bundle FILE also writes a debug "
        "bundle (tar.gz) to attach to a bug report; it holds no secret.",
    )
    parser.add_argument("--config", "-c", type=Path, help="config file")
    parser.add_argument(
        "--bundle", type=Path, metavar="FILE", help="also write a debug bundle (tar.gz) here"
    )
    parser.add_argument(
        "--log",
        type=Path,
        metavar="FILE",
        help="the hub's log file for the bundle (default: the journal of hub.service)",
    )
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hub.config.loader import default_config_path
    from hub.doctor.checks import run_checks

    config_path: Path = args.config or default_config_path()
    findings, config = asyncio.run(run_checks(config_path))
    out = sys.stdout
    if args.json:
        out.write(json.dumps([f.to_json() for f in findings], indent=2) + "\n")
    else:
        out.write(f"hub doctor: {config_path}\n")
        width = max(len(f.name) for f in findings)
        for finding in findings:
            out.write(f"  {_MARK[finding.status]:<4}  {finding.name:<{width}}  {finding.detail}\n")
            if finding.status in ("fail", "warn") and finding.fix:
                out.write(f"        {'':<{width}}  fix: {finding.fix}\n")
    failed = [f.name for f in findings if f.status == "fail"]
    if args.bundle is not None:
        from hub.doctor.bundle import write_bundle

        try:
            members = write_bundle(args.bundle, config_path, config, findings, args.log)
        except OSError as exc:
            sys.stderr.write(f"hub doctor: cannot write {args.bundle}: {exc}\n")
            return EXIT_FAILED
        sys.stderr.write(
            f"hub doctor: wrote {args.bundle} ({len(members)} files, secrets masked)\n"
        )
    if not args.json:
        if failed:
            out.write(f"{len(failed)} check(s) failed: {', '.join(failed)}\n")
        else:
            out.write("all checks passed\n")
    return EXIT_FAILED if failed else 0
