"""The `health:` section: how often the hub checks itself, the thresholds, who is told."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BeforeValidator, Field, PlainSerializer, model_validator

from hub.config.types import Duration, Section
from hub.healthmon.sizes import format_size, parse_size

ByteSize = Annotated[
    int,
    BeforeValidator(parse_size),
    PlainSerializer(format_size, return_type=str, when_used="json"),
]
"""Bytes; written in the config as `500MB`, `1GiB` or a number of bytes."""

Fraction = Annotated[float, Field(gt=0, le=1)]


class _Pair(Section):
    """Base of threshold groups: each `*_degraded` must come before its `*_failing`."""

    # (degraded, failing, True when a larger value is worse)
    pairs: ClassVar[tuple[tuple[str, str, bool], ...]] = ()

    @model_validator(mode="after")
    def _ordered(self) -> _Pair:
        for degraded, failing, larger_is_worse in self.pairs:
            low, high = getattr(self, degraded), getattr(self, failing)
            if larger_is_worse and low > high:
                raise ValueError(f"{degraded} must not be above {failing}")
            if not larger_is_worse and low < high:
                raise ValueError(f"{degraded} must not be below {failing}")
        return self


class StoreHealth(_Pair):
    """The SQLite store."""

    pairs = (
        ("commit_age_degraded", "commit_age_failing", True),
        ("buffer_degraded", "buffer_failing", True),
        ("disk_free_degraded", "disk_free_failing", False),
    )

    # Readings are waiting and nothing was committed for this long.
    commit_age_degraded: Duration = Field(default=60.0, gt=0)
    commit_age_failing: Duration = Field(default=300.0, gt=0)
    # Share of `store.max_buffer` held in memory.
    buffer_degraded: Fraction = 0.5
    buffer_failing: Fraction = 0.9
    # Free space on the database's file system.
    disk_free_degraded: ByteSize = 500 * 1024**2
    disk_free_failing: ByteSize = 50 * 1024**2


class BusHealth(Section):
    """The event bus mailboxes."""

    # A mailbox this full is degraded.
    queue_degraded: Fraction = 0.8
    # A mailbox that stays that full this long is failing (its handler is stuck or slow).
    full_failing_after: Duration = Field(default=60.0, gt=0)
    # Drops and handler errors keep a mailbox degraded for this long.
    window: Duration = Field(default=300.0, gt=0)


class SchedulerHealth(_Pair):
    """Scheduled jobs."""

    pairs = (("late_degraded", "late_failing", True),)

    # A job this late (its run time passed and it has not run) is degraded, or failing.
    late_degraded: Duration = Field(default=30.0, gt=0)
    late_failing: Duration = Field(default=300.0, gt=0)
    # Missed runs and failed runs keep the scheduler degraded for this long.
    window: Duration = Field(default=900.0, gt=0)


class SourcesHealth(_Pair):
    """Sources of advertisements, and the router that decodes them."""

    pairs = (("silence_degraded", "silence_failing", True),)

    # No advertisement at all for this long while a source runs.
    silence_degraded: Duration = Field(default=600.0, gt=0)
    silence_failing: Duration = Field(default=1800.0, gt=0)
    # Share of recognised advertisements that could not be decoded over the window, when
    # there were at least `decode_errors_min` failures in it.
    decode_errors_degraded: Fraction = 0.5
    decode_errors_min: int = Field(default=10, ge=1)
    decode_errors_window: Duration = Field(default=300.0, gt=0)


class HealthConfig(Section):
    """Health checks of every part; a change goes on the bus as HealthChanged."""

    enabled: bool = False
    interval: Duration = Field(default=15.0, ge=1)
    # Channels (from `notify:`) told when a check stays failing for `notify_after`, and
    # again when it is ok. Empty: changes are only logged and published on the bus.
    notify: list[str] = Field(default_factory=list)
    notify_after: Duration = Field(default=600.0, ge=0)
    # Also tell about checks that stay degraded (not only failing).
    notify_degraded: bool = False
    store: StoreHealth = Field(default_factory=StoreHealth)
    bus: BusHealth = Field(default_factory=BusHealth)
    scheduler: SchedulerHealth = Field(default_factory=SchedulerHealth)
    sources: SourcesHealth = Field(default_factory=SourcesHealth)
