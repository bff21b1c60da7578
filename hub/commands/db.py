"""`hub db backup | migrate | info`: the database file, also while a hub is running on it."""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.errors import ConfigError, HubError

EXIT_ERROR = 1
EXIT_USAGE = 2  # as hub.cli.EXIT_CONFIG


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `hub db` and its sub-commands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", "-c", type=Path, help="config file (for store.path)")
    common.add_argument(
        "--database",
        type=Path,
        metavar="PATH",
        help="the database file (default: store.path of the config)",
    )

    db = subparsers.add_parser(
        "db",
        help="the database: backup, migrate, info",
        description="Work on the hub's SQLite database; every command is safe while a hub "
        "is running on the same file.",
    )
    db.set_defaults(func=lambda _args: _usage(db))
    commands = db.add_subparsers(title="commands", metavar="COMMAND")

    backup = commands.add_parser(
        "backup",
        parents=[common],
        help="a consistent copy of the database, also while the hub writes to it",
        description="Copies the database with SQLite's online backup API, checks the copy "
        "with PRAGMA integrity_check, and only then puts it at FILE (replacing it at once). "
        "FILE may be a directory: the copy is then named hub-YYYYmmdd-HHMMSS.db (UTC).",
    )
    backup.add_argument("file", type=Path, metavar="FILE", help="where the copy goes")
    backup.set_defaults(func=_backup)

    migrate = commands.add_parser(
        "migrate",
        parents=[common],
        help="bring the database to this hub's schema (the hub also does it at start-up)",
    )
    migrate.set_defaults(func=_migrate)

    info = commands.add_parser(
        "info",
        parents=[common],
        help="schema version, sensors, readings, size, oldest and newest reading",
    )
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(func=_info)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def _database(args: argparse.Namespace) -> Path | None:
    """The database file: --database, else store.path of the config; None after an error."""
    if args.database is not None:
        return Path(args.database)
    from hub.config.loader import default_config_path, load_config

    try:
        return load_config(args.config).store.path
    except ConfigError as exc:
        shown = args.config or default_config_path()
        sys.stderr.write(f"hub: invalid configuration ({len(exc.problems)} in {shown}):\n")
        for problem in exc.problems:
            sys.stderr.write(f"  {problem}\n")
        return None


def _fail(message: str) -> int:
    sys.stderr.write(f"hub: {message}\n")
    return EXIT_ERROR


# -- backup -------------------------------------------------------------------------------


def _backup(args: argparse.Namespace) -> int:
    from hub.store.backup import ScheduledBackups, backup_to

    path = _database(args)
    if path is None:
        return EXIT_USAGE
    dest = Path(args.file)
    if dest.is_dir():
        dest = ScheduledBackups(path, dest, keep=1).next_path()
    try:
        result = asyncio.run(backup_to(path, dest))
    except HubError as exc:
        return _fail(str(exc))
    _print_fields(
        [
            ("database", str(result.source)),
            ("backup", str(result.path)),
            ("size", _size(result.size)),
            ("integrity", result.integrity),
            ("schema version", str(result.schema_version)),
            ("readings", str(result.readings)),
            ("took", f"{result.seconds:.2f} s"),
        ]
    )
    return 0


# -- migrate ------------------------------------------------------------------------------


def _migrate(args: argparse.Namespace) -> int:
    path = _database(args)
    if path is None:
        return EXIT_USAGE
    if not path.is_file():
        return _fail(f"no database at {path} (the hub creates it when it first starts)")
    try:
        before, after = asyncio.run(migrate_file(path))
    except HubError as exc:
        return _fail(str(exc))
    if before == after:
        _out(f"{path}: schema version {after}, up to date")
    else:
        _out(f"{path}: schema version {before} -> {after}")
    return 0


async def migrate_file(path: Path) -> tuple[int, int]:
    """Run the forward migrations on a database file, as the hub does at start-up."""
    import aiosqlite

    from hub.store.schema import migrate

    try:
        conn = await aiosqlite.connect(path)
    except (OSError, sqlite3.Error) as exc:
        raise HubError(f"cannot open the database {path}: {exc}") from exc
    try:
        await conn.execute("PRAGMA busy_timeout = 5000")
        return await migrate(conn)
    except (OSError, sqlite3.Error) as exc:
        # The failed step's transaction is rolled back: the database keeps its version.
        if conn.in_transaction:
            await conn.rollback()
        raise HubError(
            f"migrating {path} failed, it stays at schema version {_version(path)}: {exc}"
        ) from exc
    finally:
        await conn.close()


def _version(path: Path) -> str:
    try:
        with closing(_read_only(path)) as conn:
            return str(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error:
        return "?"


# -- info ---------------------------------------------------------------------------------


def _info(args: argparse.Namespace) -> int:
    path = _database(args)
    if path is None:
        return EXIT_USAGE
    try:
        facts = database_info(path)
    except HubError as exc:
        return _fail(str(exc))
    if args.json:
        _out(json.dumps(facts, ensure_ascii=False))
        return 0
    from hub.store.schema import SCHEMA_VERSION

    version = facts["schema_version"]
    note = "" if version == SCHEMA_VERSION else " (run `hub db migrate`)"
    if version > SCHEMA_VERSION:
        note = " (newer than this hub)"
    wal = facts["wal_size"]
    fields = [
        ("database", facts["path"]),
        ("file size", _size(facts["size"]) + (f", and {_size(wal)} in the WAL" if wal else "")),
        ("schema version", f"{version}, this hub {SCHEMA_VERSION}{note}"),
        ("journal mode", facts["journal_mode"]),
        ("sensors", f"{facts['sensors']} ({facts['disabled_sensors']} disabled)"),
        ("readings", str(facts["readings"])),
        ("oldest reading", _when(facts["oldest_reading"])),
        ("newest reading", _when(facts["newest_reading"])),
    ]
    if facts["watermarks"]:
        marks = ", ".join(f"{name} at {rid}" for name, rid in facts["watermarks"].items())
        fields.append(("exporters", marks))
    _print_fields(fields)
    return 0


def database_info(path: Path) -> dict[str, Any]:
    """What `hub db info` shows, read through a read-only connection."""
    if not path.is_file():
        raise HubError(f"no database at {path}")
    wal = Path(f"{path}-wal")
    try:
        with closing(_read_only(path)) as conn:
            tables = {
                name
                for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            facts: dict[str, Any] = {
                "path": str(path),
                "size": path.stat().st_size,
                "wal_size": wal.stat().st_size if wal.exists() else 0,
                "schema_version": int(conn.execute("PRAGMA user_version").fetchone()[0]),
                "journal_mode": str(conn.execute("PRAGMA journal_mode").fetchone()[0]),
                "sensors": 0,
                "disabled_sensors": 0,
                "readings": 0,
                "oldest_reading": None,
                "newest_reading": None,
                "watermarks": {},
            }
            if "sensors" in tables:
                total, disabled = conn.execute(
                    "SELECT count(*), coalesce(sum(disabled != 0), 0) FROM sensors"
                ).fetchone()
                facts["sensors"], facts["disabled_sensors"] = int(total), int(disabled)
            if "readings" in tables:
                facts["readings"] = int(conn.execute("SELECT count(*) FROM readings").fetchone()[0])
                # Per sensor, the (sensor_id, ts) index answers at once: no scan of the table.
                oldest, newest = conn.execute(
                    "SELECT min(lo), max(hi) FROM (SELECT "
                    "(SELECT min(ts) FROM readings WHERE sensor_id = s.id) AS lo, "
                    "(SELECT max(ts) FROM readings WHERE sensor_id = s.id) AS hi "
                    "FROM sensors s)"
                ).fetchone()
                facts["oldest_reading"], facts["newest_reading"] = oldest, newest
            if "watermarks" in tables:
                facts["watermarks"] = dict(
                    conn.execute("SELECT exporter, reading_id FROM watermarks ORDER BY exporter")
                )
    except (OSError, sqlite3.Error) as exc:
        raise HubError(f"cannot read the database {path}: {exc}") from exc
    return facts


# -- helpers ------------------------------------------------------------------------------


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _print_fields(fields: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in fields) + 1
    for name, value in fields:
        _out(f"{name + ':':<{width}} {value}")


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    value = size / 1024
    for unit in ("KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            break
        value /= 1024
    return f"{value:.1f} {unit} ({size} bytes)"


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
