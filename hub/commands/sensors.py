"""`hub sensors`: list the sensors the hub knows, name them, place them, switch them off.

Works on the database while the hub runs (SQLite in WAL mode lets both write); a running hub
picks up disable/enable within seconds and names at its next summary. Names and flags set in
the config's `devices:` win at the next start, and these commands say so.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from hub.config.models import DeviceConfig, HubConfig
from hub.errors import RecordError
from hub.records import normalise_address

EXIT_CONFIG = 2
_COLUMNS = (
    "address",
    "name",
    "advertised_name",
    "integration",
    "model",
    "location",
    "disabled",
    "first_seen",
    "last_seen",
    "notes",
)


def register(subparsers: Any) -> None:
    sensors = subparsers.add_parser("sensors", help="list, name, place and disable sensors")
    sensors.add_argument("--config", "-c", type=Path, help="config file")
    actions = sensors.add_subparsers(title="actions", metavar="ACTION")

    listing = actions.add_parser("list", help="every sensor the hub has stored readings of")
    listing.add_argument("--format", choices=("table", "json"), default="table")
    listing.set_defaults(func=_list)

    rename = actions.add_parser("rename", help="give a sensor a (unique) name")
    rename.add_argument("sensor", help="address or current name")
    rename.add_argument("name")
    rename.set_defaults(func=_rename)

    setter = actions.add_parser("set", help="set a sensor's location or notes")
    setter.add_argument("sensor", help="address or name")
    setter.add_argument("--location")
    setter.add_argument("--notes")
    setter.set_defaults(func=_set)

    for verb, flag in (("disable", 1), ("enable", 0)):
        action = actions.add_parser(
            verb, help=f"{verb} a sensor ({'its readings are dropped' if flag else 'again'})"
        )
        action.add_argument("sensor", help="address or name")
        action.set_defaults(func=_flag, disabled=flag)
    sensors.set_defaults(func=lambda args: _usage(sensors))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_CONFIG


class _Fail(Exception):
    """A user-facing error: message and exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _run(args: argparse.Namespace, action: Any) -> int:
    from hub.cli import _load

    config = _load(args.config)
    if config is None:
        return EXIT_CONFIG
    path = config.store.path
    if not path.exists():
        sys.stderr.write(f"hub: no database at {path} yet (run the hub first)\n")
        return 1
    try:
        with closing(sqlite3.connect(path, timeout=10)) as conn:
            result: int = action(conn, config, args)
            return result
    except _Fail as exc:
        sys.stderr.write(f"hub: {exc}\n")
        return exc.status
    except sqlite3.Error as exc:
        sys.stderr.write(f"hub: database {path}: {exc}\n")
        return 1


def _resolve(conn: sqlite3.Connection, text: str) -> tuple[int, str]:
    """(id, address) of the sensor named or addressed by `text`."""
    try:
        address = normalise_address(text)
    except RecordError:
        row = conn.execute(
            "SELECT id, address FROM sensors WHERE name = ? OR "
            "(name IS NULL AND advertised_name = ?) ORDER BY name IS NULL LIMIT 1",
            (text, text),
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT id, address FROM sensors WHERE address = ?", (address,)
        ).fetchone()
    if row is None:
        raise _Fail(f"no sensor {text!r} (see `hub sensors list`)")
    return int(row[0]), str(row[1])


def _config_note(config: HubConfig, address: str, key: str) -> None:
    device: DeviceConfig | None = config.devices.get(address)
    value = getattr(device, key, None) if device else None
    if value is not None:
        sys.stderr.write(
            f"note: the config sets {key} of {address} to {value!r}; "
            "the config wins at the hub's next start\n"
        )


def _list(args: argparse.Namespace) -> int:
    def action(conn: sqlite3.Connection, config: HubConfig, args: argparse.Namespace) -> int:
        rows = conn.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM sensors ORDER BY coalesce(name, advertised_name, "
            "address)"
        ).fetchall()
        records = [dict(zip(_COLUMNS, row, strict=True)) for row in rows]
        for record in records:
            record["disabled"] = bool(record["disabled"])
        if args.format == "json":
            for record in records:
                sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
            return 0
        _table(records)
        return 0

    return _run(args, action)


def _table(records: list[dict[str, Any]]) -> None:
    now = time.time()
    header = ("ADDRESS", "NAME", "INTEGRATION", "MODEL", "LOCATION", "LAST SEEN", "STATE")
    lines = [header]
    for r in records:
        name = r["name"] or (f"({r['advertised_name']})" if r["advertised_name"] else "")
        lines.append(
            (
                r["address"],
                name,
                r["integration"] or "",
                r["model"] or "",
                r["location"] or "",
                _ago(now - r["last_seen"]),
                "disabled" if r["disabled"] else "enabled",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        sys.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))
        sys.stdout.write("\n")
    if not records:
        sys.stdout.write("(no sensors yet)\n")


def _ago(seconds: float) -> str:
    if seconds < 0:
        return "in the future"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


def _rename(args: argparse.Namespace) -> int:
    def action(conn: sqlite3.Connection, config: HubConfig, args: argparse.Namespace) -> int:
        sensor_id, address = _resolve(conn, args.sensor)
        name = args.name.strip()
        if not name:
            raise _Fail("a name cannot be empty", EXIT_CONFIG)
        holder = conn.execute(
            "SELECT address FROM sensors WHERE name = ? AND id != ?", (name, sensor_id)
        ).fetchone()
        if holder is not None:
            raise _Fail(f"the name {name!r} is already used by {holder[0]}")
        with conn:
            conn.execute("UPDATE sensors SET name = ? WHERE id = ?", (name, sensor_id))
        sys.stdout.write(f"{address} is now named {name!r}\n")
        _config_note(config, address, "name")
        return 0

    return _run(args, action)


def _set(args: argparse.Namespace) -> int:
    def action(conn: sqlite3.Connection, config: HubConfig, args: argparse.Namespace) -> int:
        changes = {
            k: getattr(args, k) for k in ("location", "notes") if getattr(args, k) is not None
        }
        if not changes:
            raise _Fail("nothing to set: give --location and/or --notes", EXIT_CONFIG)
        sensor_id, address = _resolve(conn, args.sensor)
        with conn:
            for key, value in changes.items():
                conn.execute(
                    f"UPDATE sensors SET {key} = ? WHERE id = ?",  # key is one of ours
                    (value or None, sensor_id),
                )
        for key, value in changes.items():
            sys.stdout.write(f"{address}: {key} = {value!r}\n")
            _config_note(config, address, key)
        return 0

    return _run(args, action)


def _flag(args: argparse.Namespace) -> int:
    def action(conn: sqlite3.Connection, config: HubConfig, args: argparse.Namespace) -> int:
        sensor_id, address = _resolve(conn, args.sensor)
        with conn:
            conn.execute("UPDATE sensors SET disabled = ? WHERE id = ?", (args.disabled, sensor_id))
        state = "disabled: its readings are dropped" if args.disabled else "enabled"
        sys.stdout.write(f"{address} {state}\n")
        _config_note(config, address, "disabled")
        return 0

    return _run(args, action)
