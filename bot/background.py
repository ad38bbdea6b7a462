"""Work that runs after Slack has its ack: strongly referenced, drained on shutdown.

Bolt starts listeners as fire-and-forget tasks; asyncio keeps only weak references to those,
so the provider work a listener hands off goes through :class:`BackgroundWork` instead. It
also lets the shell and the tests wait until everything a request started has finished, and
lets the server finish in-flight operations before it exits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.db.jobs import JobStore
    from bot.jobs.worker import Worker

log = logging.getLogger(__name__)


class BackgroundWork:
    def __init__(self, *, limit: int = 16) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._failures = 0
        #: The job table and this process's workers: draining waits for jobs too.
        self._jobs: JobStore | None = None
        self._workers: list[Worker] = []
        #: At most this many pieces of work run at once; the rest wait their turn, so a burst
        #: of commands can't starve the event loop that has to ack the next ones within 3 s.
        self._slots = asyncio.Semaphore(limit)

    def spawn(
        self, coro: Coroutine[Any, Any, Any], *, name: str | None = None
    ) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(self._run(coro), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    async def _run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        async with self._slots:
            return await coro

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._failures += 1
            log.error(
                "background work failed: %s",
                type(task.exception()).__name__,
                exc_info=task.exception(),
            )

    def attach_jobs(self, store: JobStore, worker: Worker) -> None:
        """Count ``worker``'s jobs as this process's work (drain waits for them)."""
        self._jobs = store
        if worker not in self._workers:
            self._workers.append(worker)

    @property
    def failures(self) -> int:
        """Work that ended in an unexpected exception (tasks and jobs)."""
        return self._failures + sum(w.failed for w in self._workers)

    @property
    def pending(self) -> int:
        return len(self._tasks) + sum(w.running for w in self._workers)

    async def drain(self, timeout: float = 30.0) -> bool:
        """Wait (bounded) until no work is left, including work spawned while waiting, and
        (with jobs attached) until no job is due or running in the database."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            while self._tasks:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                await asyncio.wait(set(self._tasks), timeout=remaining)
            if self._jobs is None:
                return True
            from bot.jobs.worker import drain

            if not await drain(self._jobs, self._workers, max(0.0, deadline - loop.time())):
                return False
            if not self._tasks:
                return True

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
