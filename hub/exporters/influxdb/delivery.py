"""One batch to the server: what a refusal means, and finding the bad lines in a batch.

- 400 (bad line protocol, a field of the wrong type), 422 (InfluxDB 2: points outside the
  retention) and 413 (batch too large): something in the batch cannot be written. The
  batch is split in halves and each half sent again, down to the single lines the server
  refuses; those are returned as rejected, with the server's message. Good lines are sent
  again on the way, which is harmless: a point with the same measurement, tags and time
  overwrites itself.
- 401 and 403: `AuthRejected`. Trying again with the same credentials cannot help.
- Everything else (no answer, timeouts, 5xx, 429, 404 for a bucket not created yet):
  `WriteError` goes up to the caller, which retries the whole batch later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from hub.exporters.influxdb.transport import WriteError

# Statuses that blame the batch's content, not the server or the network.
BAD_BATCH = frozenset({400, 413, 422})
AUTH = frozenset({401, 403})

Write = Callable[[list[str]], Awaitable[None]]
Line = tuple[int, str]  # (reading id, line)


class AuthRejected(Exception):
    """The server refused the credentials (401/403)."""

    def __init__(self, error: WriteError) -> None:
        self.error = error
        super().__init__(f"token rejected ({error.describe()})")


@dataclass(frozen=True, slots=True)
class Rejected:
    """A line the server refuses on its own, and why."""

    reading_id: int
    line: str
    status: int
    message: str


@dataclass(slots=True)
class Outcome:
    """What became of one batch."""

    written: int = 0  # lines the server accepted
    requests: int = 0
    rejected: list[Rejected] = field(default_factory=list)


async def deliver(write: Write, lines: Sequence[Line]) -> Outcome:
    """Send `lines`; bisect a batch the server refuses down to the lines it refuses.

    Raises AuthRejected on 401/403 and WriteError for anything worth retrying later.
    """
    outcome = Outcome()
    await _send(write, list(lines), outcome)
    return outcome


async def _send(write: Write, lines: list[Line], outcome: Outcome) -> None:
    if not lines:
        return
    outcome.requests += 1
    try:
        await write([text for _, text in lines])
    except WriteError as error:
        if error.status in AUTH:
            raise AuthRejected(error) from None
        if error.status not in BAD_BATCH:
            raise
        if len(lines) == 1:
            reading_id, text = lines[0]
            status = error.status or 0
            outcome.rejected.append(Rejected(reading_id, text, status, error.message))
            return
        middle = len(lines) // 2
        await _send(write, lines[:middle], outcome)
        await _send(write, lines[middle:], outcome)
        return
    outcome.written += len(lines)
