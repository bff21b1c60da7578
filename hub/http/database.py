"""Read-only connections to the database for the API: never the store's own connection.

On the store's connection a query could run between two statements of a rollup
transaction and would queue behind batch commits (see hub.store.history). A small pool of
read-only connections lets a few requests read at once, each in its own snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from hub.errors import HubError


class DatabaseUnavailable(HubError):
    """The database cannot be read just now (locked, I/O error, gone)."""


class ReadOnlyDatabase:
    """A pool of read-only aiosqlite connections to one database file."""

    def __init__(self, path: Path, size: int = 2, busy_timeout_ms: int = 2_000) -> None:
        self.path = path
        self._size = size
        self._busy_timeout_ms = busy_timeout_ms
        self._idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all: list[aiosqlite.Connection] = []

    async def open(self) -> None:
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        try:
            for _ in range(self._size):
                conn = await aiosqlite.connect(uri, uri=True)
                self._all.append(conn)
                await conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
                self._idle.put_nowait(conn)
        except sqlite3.Error as exc:
            await self.close()
            raise HubError(f"cannot open {self.path} read-only: {exc}") from exc

    async def close(self) -> None:
        conns, self._all = self._all, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):  # closing anyway
                await conn.close()
        self._idle = asyncio.Queue()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[aiosqlite.Connection]:
        """An idle connection; SQLite errors come out as DatabaseUnavailable."""
        if not self._all:
            raise DatabaseUnavailable("the database is not open")
        conn = await self._idle.get()
        try:
            yield conn
        except sqlite3.Error as exc:
            if conn.in_transaction:
                # The connection stays usable for the next request either way.
                with contextlib.suppress(sqlite3.Error):
                    await conn.rollback()
            raise DatabaseUnavailable(f"cannot read the database: {exc}") from exc
        finally:
            if conn in self._all:
                self._idle.put_nowait(conn)
