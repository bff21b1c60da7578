"""Query parameters, checked: every mistake is a BadRequest with a message naming the parameter."""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterable
from typing import TypeVar

from multidict import MultiMapping

from hub.commands.history import time_arg

T = TypeVar("T", bound=str)
# Times the API accepts: from the epoch to the end of year 9999 (what ISO dates can say).
MAX_TS = 253_402_300_799.0


class BadRequest(Exception):
    """A request the API refuses (400), with the reason for the client."""


class Params:
    """The query string of one request."""

    def __init__(self, query: MultiMapping[str], allowed: Iterable[str]) -> None:
        self._query = query
        allowed = tuple(allowed)
        for key in query:
            if key not in allowed:
                known = ", ".join(allowed) if allowed else "none"
                raise BadRequest(f"unknown parameter {key!r} (known: {known})")

    def text(self, name: str, *, max_length: int = 200) -> str | None:
        values = self._query.getall(name, [])
        if not values:
            return None
        if len(values) > 1:
            raise BadRequest(f"give {name} once, not {len(values)} times")
        value = values[0]
        if not value.strip():
            raise BadRequest(f"{name} must not be empty")
        if len(value) > max_length:
            raise BadRequest(f"{name} is too long (at most {max_length} characters)")
        return checked_text(value, name)

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        text = self.text(name, max_length=20)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            raise BadRequest(f"{name} must be a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise BadRequest(f"{name} must be between {low} and {high}, got {value}")
        return value

    def choice(self, name: str, choices: tuple[T, ...], default: T) -> T:
        text = self.text(name, max_length=50)
        if text is None:
            return default
        for choice in choices:
            if text == choice:
                return choice
        raise BadRequest(f"{name} must be one of {', '.join(choices)}, got {text!r}")

    def time(self, name: str, default: str, now: float) -> float:
        """`24h`/`30m` (ago), `now`, or an ISO 8601 time (UTC unless it has an offset)."""
        text = self.text(name, max_length=64) or default
        try:
            ts = time_arg(text).resolve(now)
        except (argparse.ArgumentTypeError, ValueError, OverflowError, OSError) as exc:
            raise BadRequest(f"{name}: {exc}") from None
        if not math.isfinite(ts) or not 0 <= ts <= MAX_TS:
            raise BadRequest(f"{name} must lie between 1970 and 9999, got {text!r}")
        return ts


def checked_text(value: str, name: str) -> str:
    """`value` if it is text SQLite can take (valid UTF-8, no NUL)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{name} is not valid UTF-8") from None
    if "\x00" in value:
        raise BadRequest(f"{name} must not contain NUL characters")
    return value
