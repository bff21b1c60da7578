"""`PATCH /api/sensors/{id}`: name, place and annotate a sensor from the page.

Writes what `hub sensors rename` and `hub sensors set` write, with the same rules: a name is
unique and not empty, an empty location or notes clears it, and a key the config's
`devices:` sets is written anyway but the answer warns that the config wins at the hub's
next start (the page does not offer those fields at all). The write goes through the hub's
own store connection under its write lock, in one transaction; the API's connections are
read-only.

Who may write:

- with `http.token` set, the middleware already demanded `Authorization: Bearer <token>`;
  a browser never adds that header by itself, so another site cannot forge the request;
- without a token (a loopback hub), the request must come from a page of this hub:
  its Host must be a loopback name (so a DNS-rebinding site, whose Host is its own name,
  is refused), an Origin, if sent, must be this Host, and the body must be JSON (which a
  cross-site form cannot send without a CORS preflight this server never grants).
"""

from __future__ import annotations

import sqlite3
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from aiohttp import web

from hub.http.api import ApiError
from hub.http.config import is_loopback
from hub.http.database import DatabaseUnavailable
from hub.http.params import BadRequest, checked_text
from hub.store import SqliteStore

# The limits of `devices:` in the config (hub.config.models.DeviceConfig).
LIMITS = {"name": 64, "location": 128, "notes": 1024}
_BODY_MAX = 8 * 1024


@dataclass(frozen=True, slots=True)
class Changes:
    """Validated changes: each key is one of LIMITS; None clears the field."""

    values: dict[str, str | None]


def _clean(key: str, value: object) -> str | None:
    if value is None:
        if key == "name":
            raise BadRequest("name cannot be cleared; give a new name")
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{key} must be a string or null, got {type(value).__name__}")
    text = checked_text(value, key).strip()
    # Line breaks and tabs belong in notes; other control characters belong nowhere.
    allowed = "\n\t" if key == "notes" else ""
    for char in text:
        if char not in allowed and unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co"):
            raise BadRequest(f"{key} must not contain control characters ({char!r})")
    if len(text) > LIMITS[key]:
        raise BadRequest(f"{key} is too long ({len(text)} characters; at most {LIMITS[key]})")
    if not text:
        if key == "name":
            raise BadRequest("a name cannot be empty")
        return None
    return text


def parse_changes(body: object) -> Changes:
    """The request body, checked: every mistake is a 400 naming the key."""
    if not isinstance(body, dict):
        raise BadRequest('the body must be a JSON object such as {"name": "Kitchen"}')
    unknown = sorted(set(body) - set(LIMITS))
    if unknown:
        raise BadRequest(f"unknown field {unknown[0]!r} (editable: {', '.join(LIMITS)})")
    if not body:
        raise BadRequest(f"nothing to change: give one of {', '.join(LIMITS)}")
    return Changes({key: _clean(key, body[key]) for key in LIMITS if key in body})


async def read_body(request: web.Request) -> object:
    """The JSON body, or a 4xx naming what is wrong with it."""
    if request.content_type != "application/json":
        raise ApiError(415, "send the changes as JSON (Content-Type: application/json)")
    if request.content_length is not None and request.content_length > _BODY_MAX:
        raise ApiError(413, f"the body is too large (at most {_BODY_MAX} bytes)")
    raw = await request.read()
    if len(raw) > _BODY_MAX:
        raise ApiError(413, f"the body is too large (at most {_BODY_MAX} bytes)")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None


def write_refusal(request: web.Request, token_required: bool) -> str | None:
    """Why this write must be refused (no token configured), or None when it may go on."""
    if token_required:
        return None  # the middleware checked the bearer token
    host = request.headers.get("Host", "")
    hostname = urlsplit(f"//{host}").hostname if host else None
    if not hostname or not is_loopback(hostname):
        return (
            f"without http.token, changes are accepted only on a loopback address "
            f"(this request came for {host or 'no host'!r}); set http.token to edit from "
            "another machine or through a proxy"
        )
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{host}":
        return f"a page of another site ({origin[:100]}) may not change this hub's sensors"
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return f"a {site} request may not change this hub's sensors"
    return None


async def apply_changes(store: SqliteStore, sensor_id: int, changes: Changes) -> list[str]:
    """Write `changes` in one transaction on the store's connection; returns the keys set.

    Raises ApiError(409) when the name belongs to another sensor, DatabaseUnavailable when
    the database cannot be written.
    """
    if not store.is_open:
        raise DatabaseUnavailable("the store is not open")
    conn = store.connection
    async with store.write_lock:
        try:
            name = changes.values.get("name")
            if name is not None:
                holders = list(
                    await conn.execute_fetchall(
                        "SELECT address FROM sensors WHERE name = ? AND id != ?",
                        (name, sensor_id),
                    )
                )
                if holders:
                    raise ApiError(409, f"the name {name!r} is already used by {holders[0][0]}")
            for key, value in changes.values.items():
                await conn.execute(
                    f"UPDATE sensors SET {key} = ? WHERE id = ?",  # key is one of LIMITS
                    (value, sensor_id),
                )
            await conn.commit()
        except sqlite3.Error as exc:
            if conn.in_transaction:
                await conn.rollback()
            raise DatabaseUnavailable(f"cannot write the database: {exc}") from exc
        except BaseException:
            if conn.in_transaction:
                await conn.rollback()
            raise
    return list(changes.values)


def config_warnings(configured: dict[str, Any], address: str, keys: list[str]) -> list[str]:
    """What `hub sensors` says when the config sets a key it just wrote."""
    return [
        f"the config sets {key} of {address} to {configured[key]!r}; "
        "the config wins at the hub's next start"
        for key in keys
        if key in configured
    ]
