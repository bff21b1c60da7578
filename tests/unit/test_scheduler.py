"""Scheduled jobs: failures are counted and the job runs again; crontab schedules."""

from __future__ import annotations

import asyncio

from loguru import logger

from hub.config.models import SchedulerConfig
from hub.scheduler import Scheduler


async def test_failing_job_is_logged_counted_and_runs_again() -> None:
    scheduler = Scheduler(SchedulerConfig())
    calls = 0
    messages: list[str] = []
    sink = logger.add(lambda m: messages.append(str(m)), level="ERROR")

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("disk on fire")

    scheduler.add_interval("flaky", flaky, 0.05)
    scheduler.start()
    try:
        await asyncio.sleep(0.4)
    finally:
        scheduler.shutdown()
        logger.remove(sink)
    counters = scheduler.jobs["flaky"]
    assert counters.runs >= 3, "a failing job keeps its schedule"
    assert counters.errors == counters.runs
    # A run that ended just as the scheduler stopped may not have been reported yet.
    assert calls - 1 <= counters.runs <= calls
    assert "disk on fire" in counters.last_error
    assert any("Job flaky failed" in m for m in messages)


async def test_jobs_registered_before_start_run_after_it() -> None:
    scheduler = Scheduler(SchedulerConfig())
    ran = asyncio.Event()

    async def job() -> None:
        ran.set()

    scheduler.add_interval("early", job, 0.05)
    assert not ran.is_set()
    scheduler.start()
    try:
        await asyncio.wait_for(ran.wait(), 2)
    finally:
        scheduler.shutdown()
    assert scheduler.jobs["early"].runs >= 1


async def test_one_instance_at_a_time() -> None:
    scheduler = Scheduler(SchedulerConfig())
    running = 0
    most = 0

    async def slow() -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.2)
        running -= 1

    scheduler.add_interval("slow", slow, 0.05)
    scheduler.start()
    try:
        await asyncio.sleep(0.5)
    finally:
        scheduler.shutdown()
    assert most == 1


async def test_cron_job_gets_its_next_run_time() -> None:
    scheduler = Scheduler(SchedulerConfig(timezone="UTC"))

    async def report() -> None:
        return None

    scheduler.add_cron("battery.report", report, "0 9 * * *")
    scheduler.start()
    try:
        when = scheduler.next_run("battery.report")
    finally:
        scheduler.shutdown()
    assert when is not None
    assert when % 86400 == 9 * 3600, "daily at 09:00 UTC"
