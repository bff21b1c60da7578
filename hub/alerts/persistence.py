"""Alert state and history in SQLite, through the store's connection and write lock."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterable, Sequence

import aiosqlite

from hub.alerts.engine import AlertState, Transition

_STATE_COLUMNS = (
    "rule, sensor, state, since, started, last_value, last_reading_ts, last_notified, name, address"
)
HISTORY_KEEP = 10_000


async def load_states(conn: aiosqlite.Connection) -> list[AlertState]:
    """The pending and firing alerts saved before the last stop."""
    async with conn.execute(f"SELECT {_STATE_COLUMNS} FROM alert_states") as cursor:
        rows = await cursor.fetchall()
    return [AlertState(*row) for row in rows]


async def save(
    conn: aiosqlite.Connection,
    lock: asyncio.Lock,
    states: Sequence[AlertState],
    transitions: Iterable[Transition],
) -> None:
    """Replace the saved states with `states` and append `transitions`, in one transaction."""
    history = [
        (t.ts, t.rule, t.sensor, t.address, t.state, t.value, t.severity, t.message)
        for t in transitions
    ]
    async with lock:
        try:
            await _write(conn, states, history)
        except BaseException:
            # Nothing half-done may stay in the shared connection's transaction: the
            # store's next commit would make it permanent (and the retry would add the
            # same history again).
            with contextlib.suppress(sqlite3.Error, ValueError):
                await conn.rollback()
            raise


async def _write(
    conn: aiosqlite.Connection,
    states: Sequence[AlertState],
    history: Sequence[tuple[object, ...]],
) -> None:
    """The statements of `save`, in the open transaction."""
    await conn.execute("DELETE FROM alert_states")
    await conn.executemany(
        f"INSERT INTO alert_states ({_STATE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                s.rule,
                s.sensor,
                s.state,
                s.since,
                s.started,
                s.last_value,
                s.last_reading_ts,
                s.last_notified,
                s.name,
                s.address,
            )
            for s in states
        ],
    )
    if history:
        await conn.executemany(
            "INSERT INTO alert_history "
            "(ts, rule, sensor, address, state, value, severity, message) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            history,
        )
        await conn.execute(
            "DELETE FROM alert_history WHERE id <= (SELECT max(id) FROM alert_history) - ?",
            (HISTORY_KEEP,),
        )
    await conn.commit()


async def sensor_directory(
    conn: aiosqlite.Connection,
) -> tuple[dict[str, str], dict[str, float]]:
    """Display names (the user's name, else the advertised one) and last stored reading times."""
    names: dict[str, str] = {}
    last_seen: dict[str, float] = {}
    async with conn.execute(
        "SELECT address, coalesce(name, advertised_name), last_seen FROM sensors"
    ) as cursor:
        async for address, name, seen in cursor:
            if name:
                names[address] = name
            last_seen[address] = seen
    return names, last_seen
