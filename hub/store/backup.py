"""Online backups: a consistent copy of the database while the hub keeps writing to it.

The copy is made with SQLite's online backup API from a connection of its own, in one step:
in WAL mode that is one read transaction, a snapshot of the last commit, which never holds
the writer back (a step-wise backup would start again after every commit of the hub, and
might never finish on a busy database). The copy is written under a temporary name next to
the destination, switched to a self-contained rollback journal, checked with
`PRAGMA integrity_check`, synced, and only then renamed into place, so a destination path
only ever holds a complete, checked backup (or the one it held before).

`ScheduledBackups.run` is the scheduled job: a new `hub-YYYYmmdd-HHMMSS.db` (UTC) in the
backup directory, then all but the newest `keep` of those files are deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
from loguru import logger

from hub.clock import Clock, SystemClock
from hub.errors import HubError
from hub.store.sqlite import SqliteStore

# What can be backed up: a database file, the store, or an open connection to a file.
BackupSource = SqliteStore | aiosqlite.Connection | sqlite3.Connection | str | os.PathLike[str]

BACKUP_NAME = re.compile(r"^hub-(\d{8})-(\d{6})\.db$")
_BACKUP_FORMAT = "hub-%Y%m%d-%H%M%S.db"
# Temporary files of a backup that did not finish (a crash, a full disk) are removed by the
# scheduled job once they are this old: no backup of ours runs that long.
_STALE_TEMP_S = 86_400.0
_BUSY_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class BackupResult:
    """What a backup wrote."""

    source: Path
    path: Path
    size: int  # bytes
    integrity: str  # "ok", or what `PRAGMA integrity_check` reported
    schema_version: int
    readings: int
    seconds: float


async def backup_to(source: BackupSource, dest: Path) -> BackupResult:
    """Copy the database consistently to `dest` (replaced atomically); checks the copy.

    `source` is the database file, the store, or a connection to the file: the copy is
    always read through a read-only connection of its own, in a worker thread. Raises
    HubError when the source cannot be read, the copy cannot be written, or the copy fails
    its integrity check; `dest` then still holds what it held before.
    """
    path = await _source_path(source)
    if path is None:
        raise HubError("an in-memory database cannot be backed up")
    return await asyncio.to_thread(_backup_file, path, Path(dest))


async def _source_path(source: BackupSource) -> Path | None:
    if isinstance(source, SqliteStore):
        return Path(source.path)
    if isinstance(source, aiosqlite.Connection):
        async with source.execute("PRAGMA database_list") as cursor:
            rows = list(await cursor.fetchall())
    elif isinstance(source, sqlite3.Connection):
        rows = source.execute("PRAGMA database_list").fetchall()
    else:
        return Path(source)
    for _, name, file in rows:
        if name == "main":
            return Path(file) if file else None
    return None


def _backup_file(source: Path, dest: Path) -> BackupResult:
    started = time.monotonic()
    if not source.is_file():
        raise HubError(f"no database at {source}")
    _refuse_same_file(source, dest)
    tmp = _temp_name(dest)
    try:
        # Read-only: a wrong path never creates an empty database, and the hub's is safe.
        src = sqlite3.connect(
            f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=_BUSY_TIMEOUT_S
        )
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            target = sqlite3.connect(tmp)
            try:
                # pages=-1: the whole database in one step, one consistent snapshot.
                src.backup(target, pages=-1)
            finally:
                target.close()
        finally:
            src.close()
    except (OSError, sqlite3.Error) as exc:
        _remove(tmp)
        raise HubError(f"cannot back up {source} to {dest}: {exc}") from exc
    return _finish(source, dest, tmp, started)


def _finish(source: Path, dest: Path, tmp: Path, started: float) -> BackupResult:
    """Make the copy self-contained, check it, sync it, and rename it into place."""
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            # A backup is one file: no -wal or -shm beside it, readable from read-only media.
            conn.execute("PRAGMA journal_mode = DELETE")
            rows = conn.execute("PRAGMA integrity_check").fetchall()
            integrity = "; ".join(str(r[0]) for r in rows) or "no result"
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            readings = 0
            if conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'readings'"
            ).fetchone():
                readings = int(conn.execute("SELECT count(*) FROM readings").fetchone()[0])
        finally:
            conn.close()
        if integrity != "ok":
            raise HubError(f"the backup of {source} failed its integrity check: {integrity}")
        _fsync(tmp)
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
        size = dest.stat().st_size
    except (OSError, sqlite3.Error) as exc:
        raise HubError(f"cannot write the backup {dest}: {exc}") from exc
    finally:
        _remove(tmp)
    return BackupResult(
        source=source,
        path=dest,
        size=size,
        integrity=integrity,
        schema_version=version,
        readings=readings,
        seconds=time.monotonic() - started,
    )


def _refuse_same_file(source: Path, dest: Path) -> None:
    """Never replace the database, or its WAL, index or journal, with a copy."""
    live = source.resolve()
    target = dest.resolve()
    same = target in {live, *(Path(f"{live}{s}") for s in ("-wal", "-shm", "-journal"))}
    if not same and dest.exists():
        with contextlib.suppress(OSError):
            same = os.path.samefile(source, dest)
    if same:
        raise HubError(f"the backup would overwrite the database itself ({dest})")


def _temp_name(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.{os.getpid()}-{time.monotonic_ns()}.tmp")


def _remove(path: Path) -> None:
    for leftover in (path, Path(f"{path}-journal"), Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return  # not every platform or file system lets a directory be synced
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


class ScheduledBackups:
    """The backup job: a timestamped copy in `directory`, keeping the newest `keep`."""

    def __init__(
        self,
        source: BackupSource,
        directory: Path,
        keep: int,
        clock: Clock | None = None,
    ) -> None:
        if keep < 1:
            raise ValueError("keep at least one backup")
        self.source = source
        self.directory = Path(directory)
        self.keep = keep
        self._clock = clock or SystemClock()
        self.last: BackupResult | None = None
        self.failures = 0
        self.last_error = ""

    def backups(self) -> list[Path]:
        """The backups this job made (by their name), oldest first."""
        try:
            names = [p.name for p in self.directory.iterdir() if BACKUP_NAME.match(p.name)]
        except FileNotFoundError:
            return []
        return [self.directory / name for name in sorted(names)]

    def next_path(self) -> Path:
        now = datetime.fromtimestamp(self._clock.time(), tz=UTC)
        return self.directory / now.strftime(_BACKUP_FORMAT)

    async def run(self) -> BackupResult:
        """Make one backup, then delete the oldest beyond `keep` (only after a good one)."""
        dest = self.next_path()
        try:
            result = await backup_to(self.source, dest)
        except HubError as exc:
            self.failures += 1
            self.last_error = str(exc)
            logger.error("Backup failed ({} so far): {}", self.failures, exc)
            raise
        self.last = result
        removed = await asyncio.to_thread(self._prune)
        logger.info(
            "Backup {}: {} readings, {} bytes, integrity {}, in {:.1f}s{}",
            result.path,
            result.readings,
            result.size,
            result.integrity,
            result.seconds,
            f"; removed {len(removed)} old" if removed else "",
        )
        return result

    def _prune(self) -> list[Path]:
        backups = self.backups()
        removed = backups[: max(0, len(backups) - self.keep)]
        for path in removed:
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                logger.warning("Cannot remove the old backup {}: {}", path, exc)
        now = time.time()
        for leftover in self.directory.glob(".hub-*.db.*.tmp*"):
            with contextlib.suppress(OSError):
                if now - leftover.stat().st_mtime > _STALE_TEMP_S:
                    leftover.unlink()
        return removed
