"""Lines a server refused on their own, kept in the database with the server's reason.

The `export_quarantine` table (schema migration 3) holds them, so nothing refused is lost
from sight: `sqlite3 hub.db "SELECT * FROM export_quarantine"` shows each line as it was
sent, with the reading it came from, the HTTP status and the message. A line is recorded
once, however often its batch is sent again (after a crash before the watermark moved).
"""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from hub.exporters.influxdb.delivery import Rejected

TABLE = "export_quarantine"
_INSERT = (
    f"INSERT INTO {TABLE} (exporter, reading_id, line, status, error, created) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (exporter, reading_id, line) DO NOTHING"
)


async def quarantine(
    conn: aiosqlite.Connection, exporter: str, rejected: Sequence[Rejected], now: float
) -> None:
    """Record `rejected` lines and commit; the caller holds the store's write lock."""
    await conn.executemany(
        _INSERT,
        [(exporter, r.reading_id, r.line, r.status, r.message, now) for r in rejected],
    )
    await conn.commit()


async def quarantined_count(conn: aiosqlite.Connection, exporter: str) -> int:
    async with conn.execute(f"SELECT count(*) FROM {TABLE} WHERE exporter = ?", (exporter,)) as c:
        row = await c.fetchone()
    return int(row[0]) if row else 0
