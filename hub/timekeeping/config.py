"""The `clock:` section: what the hub does when the system clock cannot be trusted."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hub.config.types import Duration, Section


class ClockConfig(Section):
    """How the clock guard treats clock steps and an unsynchronised clock."""

    # hold: advertisements heard while the clock cannot be trusted wait (in order), and are
    # stamped from the monotonic clock once it can; store: they are stored as stamped, and
    # the steps and unsynchronised periods are only logged, counted and reported by health.
    unsynchronised: Literal["hold", "store"] = "hold"
    # A change of the wall clock against the monotonic clock larger than this is a step.
    step_tolerance: Duration = Field(default=2.0, gt=0)
    # After a step, the clock is trusted again once it stayed stable (and synchronised,
    # where the system can tell) this long.
    settle: Duration = Field(default=5.0, ge=0)
    # The most that is held, in time and in advertisements; beyond either, what is held is
    # passed on with the best time known, counted and reported as failing health.
    max_hold: Duration = Field(default=900.0, gt=0)
    max_held: int = Field(default=200_000, ge=1)
