"""The source's periodic jobs: on the hub's APScheduler when it runs, on plain tasks otherwise.

`hub scan` and `hub record` run the source without a hub and so without a scheduler; the
same jobs then run as tasks. Either way `close()` removes the jobs and cancels any run in
progress, so nothing of the source outlives it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from loguru import logger

from hub.scheduler import Scheduler

Job = Callable[[], Awaitable[Any]]


class Jobs:
    """Named interval jobs and one-off delayed runs, all stopped by `close()`."""

    def __init__(self, scheduler: Scheduler | None, prefix: str) -> None:
        self._scheduler = scheduler
        self._prefix = prefix
        self._ids: list[str] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def every(self, name: str, func: Job, seconds: float, jitter: float | None = None) -> None:
        """Run `func` every `seconds` (the first run after one interval)."""
        job_id = f"{self._prefix}.{name}"
        if self._scheduler is not None:
            self._ids.append(job_id)
            self._scheduler.add_interval(job_id, self._guarded(func), seconds, jitter=jitter)
            return
        self.spawn(lambda: self._loop(job_id, func, seconds), job_id)

    def later(self, delay: float, func: Job, name: str = "later") -> None:
        """Run `func` once after `delay` seconds."""

        async def run() -> None:
            await asyncio.sleep(delay)
            await func()

        self.spawn(run, f"{self._prefix}.{name}")

    def spawn(self, func: Job, name: str) -> asyncio.Task[Any]:
        """Run `func()` in a task that `close()` cancels; its failure is logged, not lost."""

        async def guarded() -> None:
            # The coroutine is made inside the task, so a task cancelled before it starts
            # leaves no coroutine that was never awaited.
            try:
                await func()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a background task's failure is logged here
                logger.opt(exception=True).error("{} failed", name)

        task = asyncio.get_running_loop().create_task(guarded(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _guarded(self, func: Job) -> Job:
        # The scheduler runs each job in a task of its own: note it, so close() can cancel it.
        async def job() -> None:
            if self._closed:
                return
            task = asyncio.current_task()
            if task is not None:
                self._tasks.add(task)
            try:
                await func()
            finally:
                if task is not None:
                    self._tasks.discard(task)

        return job

    async def _loop(self, job_id: str, func: Job, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await func()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - like the scheduler: log, run again next time
                logger.opt(exception=True).error("Job {} failed; it runs again next time", job_id)

    async def close(self) -> None:
        """Remove the jobs and cancel whatever of them is running."""
        self._closed = True
        if self._scheduler is not None:
            for job_id in self._ids:
                self._scheduler.remove(job_id)
        self._ids.clear()
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
