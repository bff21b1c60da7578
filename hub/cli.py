"""The `hub` command line."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from hub import __version__
from hub.config.loader import default_config_path, effective_config, load_config
from hub.config.models import HubConfig
from hub.errors import ConfigError, HubError, IntegrationError

if TYPE_CHECKING:
    from hub.integrations import IntegrationRegistry

EXIT_CONFIG = 2
# Modules under hub/commands/ that add sub-commands, in the order `hub --help` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "sensors",
    "history",
    "db",
    "alerts",
    "export",
    "battery",
    "doctor",
    "scan",
    "record",
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help(sys.stderr)
        return EXIT_CONFIG
    try:
        return int(args.func(args))
    except IntegrationError as exc:
        sys.stderr.write(f"hub: broken integration: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`hub sensors list | head`): not an error, and no traceback.
        # Point stdout at /dev/null so the interpreter's final flush stays quiet too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hub", description="BLE environmental sensors turned into trustworthy data."
    )
    parser.add_argument("--version", action="version", version=f"hub {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = commands.add_parser("run", help="run the hub until SIGINT or SIGTERM")
    run.add_argument("--config", "-c", type=Path, help="config file (default: %(default)s)")
    run.set_defaults(func=_run)

    decode = commands.add_parser(
        "decode",
        help="decode advertisement records from stdin: one JSON line out per line in",
        description="Reads advertisement records (JSON lines) from standard input and writes "
        "exactly one JSON line per input line, in order; never stops on a bad line.",
    )
    decode.add_argument("--config", "-c", type=Path, help="take bindkeys from this config")
    decode.add_argument("--keys", type=Path, help='JSON file {"AA:BB:..": "<bindkey hex>"}')
    decode.set_defaults(func=_decode)

    check = commands.add_parser(
        "check-config", help="validate a config and print it with secrets masked"
    )
    check.add_argument("file", nargs="?", type=Path, help="config file")
    check.set_defaults(func=_check_config)

    for name in COMMAND_MODULES:
        importlib.import_module(f"hub.commands.{name}").register(commands)
    return parser


def _load(path: Path | None, registry: IntegrationRegistry | None = None) -> HubConfig | None:
    try:
        return load_config(path, registry=registry)
    except ConfigError as exc:
        shown = path or default_config_path()
        count = len(exc.problems)
        noun = "problem" if count == 1 else "problems"
        sys.stderr.write(f"hub: invalid configuration ({count} {noun} in {shown}):\n")
        for problem in exc.problems:
            sys.stderr.write(f"  {problem}\n")
        return None


def _check_config(args: argparse.Namespace) -> int:
    from hub.integrations import IntegrationRegistry

    registry = IntegrationRegistry.discover()
    config = _load(args.file, registry)
    if config is None:
        return EXIT_CONFIG
    if registry.problems:
        sys.stderr.write("hub: integrations that cannot be loaded:\n")
        for problem in registry.problems:
            sys.stderr.write(f"  {problem}\n")
        return EXIT_CONFIG
    sys.stdout.write(yaml.safe_dump(effective_config(config), sort_keys=False, allow_unicode=True))
    sys.stderr.write(f"{args.file or default_config_path()}: configuration is valid\n")
    return 0


def _run(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return EXIT_CONFIG
    from hub.logs import setup_logging
    from hub.runtime import serve

    setup_logging(config.logging)
    try:
        return asyncio.run(serve(config))
    except HubError as exc:
        sys.stderr.write(f"hub: {exc}\n")
        return 1


def _decode(args: argparse.Namespace) -> int:
    from hub.decode import decode_lines, read_keys_file, write_lines
    from hub.integrations import IntegrationRegistry

    keys: dict[str, bytes] = {}
    if args.config is not None:
        config = _load(args.config)
        if config is None:
            return EXIT_CONFIG
        keys.update(config.device_keys())
    if args.keys is not None:
        try:
            keys.update(read_keys_file(args.keys))
        except HubError as exc:
            sys.stderr.write(f"hub: {exc}\n")
            return EXIT_CONFIG
    registry = IntegrationRegistry.discover()
    lines = (raw.decode("utf-8", errors="replace") for raw in sys.stdin.buffer)
    try:
        write_lines(decode_lines(lines, registry, keys), sys.stdout.buffer)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error of ours.
        sys.stderr.close()
    return 0
