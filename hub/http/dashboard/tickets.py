"""One-time tickets that let a browser's EventSource open /api/events when /api needs a token.

EventSource cannot send an Authorization header. Rather than putting the long-lived token in
a URL (where proxies and browser tools keep it), the page asks `POST /api/events/ticket`
with its bearer token and opens `/api/events?ticket=...`. A ticket works once and only for
a short while, so a URL that leaks is worthless by the time anyone reads it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

TICKET_TTL_S = 30.0
# Unredeemed tickets kept at most; beyond it the oldest are forgotten (and counted).
MAX_TICKETS = 1_000


class Tickets:
    """Issues and redeems tickets; everything in memory, bounded."""

    def __init__(
        self,
        ttl: float = TICKET_TTL_S,
        max_tickets: int = MAX_TICKETS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._max = max_tickets
        self._clock = clock
        # ticket -> expiry; insertion order is issue order, so the oldest come first.
        self._live: dict[str, float] = {}
        self.issued = 0
        self.redeemed = 0
        self.refused = 0
        self.evicted = 0

    @property
    def ttl(self) -> float:
        return self._ttl

    def issue(self) -> str:
        now = self._clock()
        self._prune(now)
        while len(self._live) >= self._max:
            del self._live[next(iter(self._live))]
            self.evicted += 1
        ticket = secrets.token_urlsafe(24)
        self._live[ticket] = now + self._ttl
        self.issued += 1
        return ticket

    def redeem(self, ticket: str) -> bool:
        """True once for a ticket issued less than `ttl` ago; it is spent either way."""
        now = self._clock()
        # A dictionary lookup is not constant-time, but there is nothing to learn from its
        # timing: tickets are 192 random bits, work once and die within seconds.
        expiry = self._live.pop(ticket, None)
        if expiry is None or expiry < now:
            self.refused += 1
            return False
        self.redeemed += 1
        return True

    def _prune(self, now: float) -> None:
        expired = [t for t, expiry in self._live.items() if expiry < now]
        for ticket in expired:
            del self._live[ticket]

    def __len__(self) -> int:
        return len(self._live)
