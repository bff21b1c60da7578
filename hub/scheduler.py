"""Scheduled jobs on the hub's event loop (APScheduler 3.x), with their failures counted."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from loguru import logger

from hub.config.models import SchedulerConfig

Job = Callable[[], Awaitable[Any]]


@dataclass(slots=True)
class JobCounters:
    """What happened to one job so far."""

    runs: int = 0
    errors: int = 0
    missed: int = 0
    last_error: str = ""


class Scheduler:
    """Components register named jobs here; each job runs at most once at a time.

    Late runs coalesce into one; a run later than the misfire grace time is skipped and
    counted; a failing run is logged, counted, and the job runs again next time.
    """

    def __init__(self, settings: SchedulerConfig) -> None:
        self._settings = settings
        self._scheduler: AsyncIOScheduler | None = None
        self._pending: list[tuple[str, Job, Any]] = []
        self.jobs: dict[str, JobCounters] = {}

    def add_interval(
        self, job_id: str, func: Job, seconds: float, *, jitter: float | None = None
    ) -> None:
        """Run `func` every `seconds` (first run after one interval), with optional jitter."""
        jitter_s = int(jitter) if jitter else None
        trigger = IntervalTrigger(seconds=seconds, jitter=jitter_s)
        self._add(job_id, func, trigger)

    def add_cron(self, job_id: str, func: Job, crontab: str) -> None:
        """Run `func` on a crontab schedule (`m h dom mon dow`)."""
        trigger = CronTrigger.from_crontab(crontab, timezone=self._settings.timezone)
        self._add(job_id, func, trigger)

    def _add(self, job_id: str, func: Job, trigger: Any) -> None:
        self.jobs.setdefault(job_id, JobCounters())
        if self._scheduler is None:
            self._pending.append((job_id, func, trigger))
            return
        self._scheduler.add_job(
            func,
            trigger,
            id=job_id,
            name=job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, int(self._settings.misfire_grace_time)),
        )

    def remove(self, job_id: str) -> None:
        self.jobs.pop(job_id, None)
        if self._scheduler is not None and self._scheduler.get_job(job_id):
            self._scheduler.remove_job(job_id)
        self._pending = [p for p in self._pending if p[0] != job_id]

    def start(self) -> None:
        """Start on the running event loop, with every job registered so far."""
        options: dict[str, Any] = {}
        if self._settings.timezone:
            options["timezone"] = self._settings.timezone
        self._scheduler = AsyncIOScheduler(**options)
        self._scheduler.add_listener(
            self._on_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED
        )
        self._scheduler.start()
        pending, self._pending = self._pending, []
        for job_id, func, trigger in pending:
            self._add(job_id, func, trigger)

    def shutdown(self) -> None:
        """Stop scheduling; running jobs are not waited for (their owners stop them)."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None

    @property
    def running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    def next_run(self, job_id: str) -> float | None:
        job = self._scheduler.get_job(job_id) if self._scheduler else None
        when = getattr(job, "next_run_time", None) if job else None
        return when.timestamp() if when is not None else None

    def _on_event(self, event: JobExecutionEvent) -> None:
        counters = self.jobs.setdefault(event.job_id, JobCounters())
        if event.code == EVENT_JOB_MISSED:
            counters.missed += 1
            logger.warning("Job {} missed its run time; it runs again next time", event.job_id)
            return
        counters.runs += 1
        if event.code == EVENT_JOB_ERROR:
            counters.errors += 1
            counters.last_error = repr(event.exception)
            logger.opt(exception=event.exception).error(
                "Job {} failed ({} failures so far); it runs again next time",
                event.job_id,
                counters.errors,
            )
