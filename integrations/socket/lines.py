"""Split a byte stream into lines, with a bound on how long one line may grow.

A client may send a line without end (a bug, a binary blob); buffering it would let one
client eat the hub's memory. A line longer than the limit is therefore dropped whole: its
start is thrown away as soon as it passes the limit, the rest up to its newline is skipped,
and the line is reported once (as TOO_LONG) in its place in the stream.
"""

from __future__ import annotations

from typing import Final

TOO_LONG: Final = None
"""Stands in the output for a line that exceeded the limit."""


class LineSplitter:
    """Bytes in (any chunking), complete lines out without their newline."""

    __slots__ = ("_limit", "_partial", "_skipping")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._partial = bytearray()
        # True while the rest of a too-long line is being skipped.
        self._skipping = False

    def feed(self, chunk: bytes) -> list[bytes | None]:
        """The lines completed by `chunk`, in order; TOO_LONG where one was too long."""
        limit = self._limit
        pieces = chunk.split(b"\n")
        tail = pieces.pop()  # what follows the last newline: the start of the next line
        out: list[bytes | None] = []
        if pieces:
            first = pieces[0]
            if self._skipping:
                # The too-long line ends here; it was reported when it passed the limit.
                self._skipping = False
                pieces = pieces[1:]
            elif self._partial:
                self._partial += first
                pieces[0] = bytes(self._partial)
                self._partial.clear()
            for line in pieces:
                out.append(line if len(line) <= limit else TOO_LONG)
        if not self._skipping and tail:
            self._partial += tail
            if len(self._partial) > limit:
                self._partial.clear()
                self._skipping = True
                out.append(TOO_LONG)
        return out

    def finish(self) -> bytes | None:
        """At the end of the stream: a last line that had no newline, if any."""
        rest = bytes(self._partial)
        self._partial.clear()
        skipping, self._skipping = self._skipping, False
        return rest if rest and not skipping else None
