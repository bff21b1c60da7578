"""Replay a capture as if the radio were hearing it now.

`speed: 1` keeps the recorded pacing, `speed: 10` plays ten times faster, `speed: 0` as fast
as the hub can take it (waiting only for back-pressure). `timestamps: recorded` keeps each
record's own time; `timestamps: now` stamps each advertisement when it is played, as a live
radio would. When looping with recorded timestamps, every pass is shifted by the length of
the capture, so a loop never repeats a time already stored.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Literal

from loguru import logger
from pydantic import Field

from hub.config.models import SourceSettings
from hub.config.types import ConfigPath
from hub.errors import RecordError
from hub.integrations import AdvertisementSink, SourceContext
from hub.records import parse_line

# At speed 0 the source yields to the loop this often, so signals and jobs stay prompt.
_YIELD_EVERY = 256
_LOG_BAD_LINES = 5


class ReplaySettings(SourceSettings):
    """Settings of a replay source."""

    type: Literal["replay"] = "replay"
    file: ConfigPath
    speed: float = Field(default=1.0, ge=0)
    loop: bool = False
    timestamps: Literal["recorded", "now"] = "recorded"


class ReplaySource:
    """Plays one JSONL capture into the hub."""

    def __init__(self, name: str, settings: ReplaySettings, context: SourceContext) -> None:
        self.name = name
        self._settings = settings
        self._clock = context.clock
        # Recorded times are the capture's: the hub's clock guard leaves them alone.
        self.live_timestamps = settings.timestamps == "now"
        self.played = 0
        self.bad_lines = 0
        self.passes = 0

    @classmethod
    def create(cls, name: str, settings: SourceSettings, context: SourceContext) -> ReplaySource:
        assert isinstance(settings, ReplaySettings)
        return cls(name, settings, context)

    async def run(self, sink: AdvertisementSink) -> None:
        settings = self._settings
        if not settings.file.is_file():
            raise FileNotFoundError(f"replay file {settings.file} does not exist")
        offset = 0.0
        while True:
            span = await self._play_once(sink, offset)
            self.passes += 1
            if not settings.loop:
                logger.info(
                    "Replay {} finished: {} advertisements played from {}",
                    self.name,
                    self.played,
                    settings.file,
                )
                return
            if span is None:  # nothing playable: do not spin
                await asyncio.sleep(1.0)
            else:
                offset += span

    async def _play_once(self, sink: AdvertisementSink, offset: float) -> float | None:
        """One pass over the file; returns the recorded time span, None if nothing played."""
        settings = self._settings
        speed = settings.speed
        stamp_now = settings.timestamps == "now"
        clock = self._clock
        started = time.monotonic()
        first_ts: float | None = None
        last_ts = 0.0
        gap = 0.0
        since_yield = 0
        # A corrupt byte spoils its line (counted as bad), not the whole replay.
        with settings.file.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    adv = parse_line(line, now=clock.time(), source=self.name)
                except RecordError as exc:
                    self._bad_line(number, exc)
                    continue
                if first_ts is None:
                    first_ts = adv.ts
                elif adv.ts > last_ts and not gap:
                    gap = adv.ts - last_ts
                last_ts = adv.ts
                if speed > 0:
                    delay = started + (adv.ts - first_ts) / speed - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                else:
                    since_yield += 1
                    if since_yield >= _YIELD_EVERY:
                        since_yield = 0
                        await asyncio.sleep(0)
                if stamp_now:
                    adv = replace(adv, ts=clock.time())
                elif offset:
                    adv = replace(adv, ts=adv.ts + offset)
                self.played += 1
                await sink(adv)
        if first_ts is None:
            return None
        return last_ts - first_ts + max(gap, 1.0)

    def _bad_line(self, number: int, exc: RecordError) -> None:
        self.bad_lines += 1
        if self.bad_lines <= _LOG_BAD_LINES:
            logger.warning("{} line {}: {} (skipped)", self._settings.file, number, exc)
        elif self.bad_lines == _LOG_BAD_LINES + 1:
            logger.warning("{}: more bad lines; counting them quietly", self._settings.file)
