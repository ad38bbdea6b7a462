"""The worker: claims due jobs, runs each with its call journal, keeps their leases alive, and
takes over the jobs of workers that died (their leases ran out).

A job taken over with a provider call recorded but never answered is handed to ``resume``
(which reconciles against the provider) instead of being run again blindly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping

from bot import logs, metrics
from bot.db.engine import is_database_outage
from bot.db.jobs import ClaimedJob, JobStore
from bot.jobs.journal import CURRENT, JobRun

log = logging.getLogger(__name__)

Handler = Callable[[ClaimedJob], Awaitable[None]]
#: Given a job taken over with unanswered provider calls: True when it finished the job
#: (told the person what happened), False when nothing reached the provider (run it).
Resume = Callable[[ClaimedJob, JobRun], Awaitable[bool]]
#: Tell the person a job could not be done (it failed too often, or its kind is unknown).
GiveUp = Callable[[ClaimedJob, str], Awaitable[None]]

#: A job taken over this many times is given up (the person is told).
MAX_ATTEMPTS = 5


def worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker:
    def __init__(
        self,
        store: JobStore,
        handlers: Mapping[str, Handler],
        *,
        resume: Resume | None = None,
        give_up: GiveUp | None = None,
        slots: int = 16,
        lease: float = 30.0,
        poll: float = 0.25,
        owner: str | None = None,
        waiting_kinds: frozenset[str] = frozenset(),
    ) -> None:
        self.store = store
        self.handlers = handlers
        self.resume = resume
        self.give_up = give_up
        self.slots = slots
        self.lease = lease
        self.poll = poll
        self.owner = owner or worker_name()
        #: Kinds that mostly wait (a bid wait, following a new deployment for minutes): they
        #: don't take a slot, so a burst of them never holds up commands.
        self.waiting_kinds = waiting_kinds
        self._running: dict[int, asyncio.Task[None]] = {}
        self._waiting: set[int] = set()
        self._bell = asyncio.Event()
        self._stopping = False
        self._loops: list[asyncio.Task[None]] = []
        self.finished = 0
        self.failed = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._loops:
            return
        loop = asyncio.get_running_loop()
        self._stopping = False
        self._loops = [
            loop.create_task(self._claim_forever(), name="jobs-claim"),
            loop.create_task(self._heartbeat_forever(), name="jobs-heartbeat"),
        ]

    @property
    def started(self) -> bool:
        return bool(self._loops)

    def wake(self) -> None:
        """A job was written (in this process): claim now rather than at the next poll."""
        self._bell.set()

    @property
    def running(self) -> int:
        return len(self._running)

    async def stop(self, timeout: float = 20.0) -> bool:
        """Stop claiming, let the jobs in hand finish (bounded); what is still running then is
        cancelled and left to another worker (its lease runs out). True when all finished."""
        self._stopping = True
        self._bell.set()
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        self._loops = []
        tasks = list(self._running.values())
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        left = [t for t in self._running.values() if not t.done()]
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
        return not left

    async def kill(self) -> None:
        """Stop at once, finishing nothing (what a SIGKILL does; for tests)."""
        self._stopping = True
        for task in [*self._loops, *self._running.values()]:
            task.cancel()
        await asyncio.gather(*self._loops, *self._running.values(), return_exceptions=True)
        self._loops = []
        self._running.clear()
        self._waiting.clear()

    # -- claiming ----------------------------------------------------------------------------

    async def _claim_forever(self) -> None:
        while not self._stopping:
            self._bell.clear()
            claimed = 0
            free = self.slots - (len(self._running) - len(self._waiting))
            if free > 0:
                try:
                    jobs = await self.store.claim(self.owner, lease=self.lease, limit=free)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    jobs = []
                    if is_database_outage(exc):
                        log.warning("jobs: the database is unreachable; trying again")
                    else:
                        log.exception("jobs: claiming failed; trying again")
                for job in jobs:
                    if job.kind in self.waiting_kinds:
                        self._waiting.add(job.id)
                    self._running[job.id] = asyncio.get_running_loop().create_task(
                        self._run(job), name=f"job:{job.kind}:{job.id}"
                    )
                claimed = len(jobs)
            if claimed and claimed == free:
                await asyncio.sleep(0)  # more may be due: claim again when a slot frees
                if len(self._running) - len(self._waiting) >= self.slots:
                    await self._wait(self.poll)
                continue
            await self._wait(self.poll)

    async def _wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._bell.wait(), seconds)

    async def _heartbeat_forever(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.lease / 3)
            ids = list(self._running)
            if not ids:
                continue
            try:
                held = await self.store.heartbeat(self.owner, ids, lease=self.lease)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("jobs: heartbeat failed (%s)", type(exc).__name__)
                continue
            for lost in (set(ids) - held) & set(self._running):  # (not those that just ended)
                log.warning("jobs: lost the lease of job %s to another worker", lost)

    # -- running -----------------------------------------------------------------------------

    async def _run(self, job: ClaimedJob) -> None:
        run = JobRun(self.store, self.owner, job)
        token = CURRENT.set(run)
        with logs.bound(job=str(job.id), team=job.team_id, user=job.user_id):
            try:
                outcome = await self._attempt(job, run)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                outcome = "failed"
                if is_database_outage(exc):
                    # leave it held: its lease runs out and a worker takes it over
                    log.warning("job %s (%s): the database is unreachable", job.id, job.kind)
                    outcome = "abandoned"
                else:
                    log.error("job %s (%s) failed", job.id, job.kind, exc_info=exc)
                    metrics.JOBS_RUN.labels(job.kind, "failed").inc()
                    await self._end(job, failed=True, error=type(exc).__name__)
            finally:
                CURRENT.reset(token)
                self._running.pop(job.id, None)
                self._waiting.discard(job.id)
                self._bell.set()
        if outcome == "done":
            self.finished += 1
        elif outcome == "failed":
            self.failed += 1

    async def _attempt(self, job: ClaimedJob, run: JobRun) -> str:
        if job.taken_over:
            metrics.JOBS_TAKEN_OVER.inc()
            log.info("job %s (%s): taken over (attempt %d)", job.id, job.kind, job.attempts)
        handler = self.handlers.get(job.kind)
        if handler is None or job.attempts > MAX_ATTEMPTS:
            why = "unknown kind" if handler is None else f"{job.attempts - 1} tries"
            log.error("job %s (%s): giving up (%s)", job.id, job.kind, why)
            if self.give_up is not None:
                await self.give_up(job, why)
            await self._end(job, failed=True, error=why)
            metrics.JOBS_RUN.labels(job.kind, "failed").inc()
            return "failed"
        if job.unconfirmed and self.resume is not None:
            if await self.resume(job, run):
                await self._end(job)
                metrics.JOBS_RUN.labels(job.kind, "resumed").inc()
                return "done"
            await run.forget_unanswered()
        await handler(job)
        await self._end(job)
        metrics.JOBS_RUN.labels(job.kind, "done").inc()
        return "done"

    async def _end(
        self, job: ClaimedJob, *, failed: bool = False, error: str | None = None
    ) -> None:
        if not await self.store.finish(job.id, self.owner, failed=failed, error=error):
            log.warning("job %s ended here but another worker holds it now", job.id)


async def _busy(store: JobStore) -> int:
    """Jobs due or running; 0 while the database is unreachable (nothing can run then)."""
    try:
        return await store.busy()
    except Exception as exc:
        if not is_database_outage(exc):
            raise
        return 0


async def drain(store: JobStore, workers: list[Worker], timeout: float) -> bool:
    """Wait (bounded) until no job is due or running (in any worker sharing the database).

    Quiet means quiet twice in a row: a job a running one writes while the count is being
    read is due at its write time, after the ``now`` the count compares with, so one count
    can miss it (and the job that wrote it may have ended meanwhile); the next count, with a
    later ``now``, sees it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    quiet = 0
    while loop.time() < deadline:
        if not any(w.running for w in workers) and await _busy(store) == 0:
            quiet += 1
            if quiet == 2:
                return True
            continue
        quiet = 0
        for worker in workers:
            worker.wake()
        await asyncio.sleep(0.01)
    return False
