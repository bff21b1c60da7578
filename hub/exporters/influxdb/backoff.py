"""Exponential backoff with jitter, capped; and a server's `Retry-After` taken as given."""

from __future__ import annotations

import random

from hub.exporters.influxdb.config import RetryConfig

# A server that asks for a longer pause than this is still asked again after it.
RETRY_AFTER_MAX_S = 3600.0


class Backoff:
    """The delay before the next attempt after `failures` failed attempts in a row."""

    def __init__(self, settings: RetryConfig, rng: random.Random | None = None) -> None:
        self._settings = settings
        self._rng = rng or random.Random()
        self.failures = 0

    def reset(self) -> None:
        self.failures = 0

    def next_delay(self, retry_after: float | None = None) -> float:
        """Count one more failure and return how long to wait before trying again.

        A `Retry-After` from the server is honoured as it is (the server knows when it
        will take writes again); otherwise the delay doubles from `initial` up to `max`,
        shortened by up to `jitter` at random.
        """
        self.failures += 1
        if retry_after is not None:
            return min(retry_after, RETRY_AFTER_MAX_S)
        settings = self._settings
        delay = min(
            settings.max, settings.initial * settings.multiplier ** min(self.failures - 1, 64)
        )
        return delay * (1.0 - settings.jitter * self._rng.random())
