"""Exporters: parts that deliver committed readings from the store's outbox elsewhere.

An exporter that must not lose data reads the outbox after its own watermark and advances
the watermark only once the other side accepted a batch. While it runs it *holds* the
outbox: the raw-retention purge then keeps every reading it has not delivered yet
(`outbox_floor`), however old. An exporter that is switched off holds nothing, so a
watermark left behind by an exporter no longer in use never stops the purge.

This module stays import-light: the config models import the exporters' config sections.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.store import SqliteStore

# store -> names of the exporters running against it. Weak, so a closed store used in a
# test never stays alive through this table.
_HOLDS: weakref.WeakKeyDictionary[SqliteStore, set[str]] = weakref.WeakKeyDictionary()


def hold_outbox(store: SqliteStore, exporter: str) -> Callable[[], None]:
    """Keep the readings `exporter` has not delivered from being purged; returns the release."""
    _HOLDS.setdefault(store, set()).add(exporter)

    def release() -> None:
        holders = _HOLDS.get(store)
        if holders is not None:
            holders.discard(exporter)

    return release


def outbox_holders(store: SqliteStore) -> frozenset[str]:
    """The exporters currently holding `store`'s outbox."""
    return frozenset(_HOLDS.get(store, ()))


async def outbox_floor(store: SqliteStore) -> int | None:
    """The highest reading id every holding exporter has delivered; None when none holds.

    Readings with a higher id must be kept. An exporter that never delivered anything has
    watermark 0, so it holds every reading.
    """
    holders = outbox_holders(store)
    if not holders:
        return None
    marks = [await store.watermark(name) for name in sorted(holders)]
    return min(marks)
