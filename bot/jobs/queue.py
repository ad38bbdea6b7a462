"""Writing jobs before the ack: concurrent enqueues share one transaction (group commit).

Under load, the acks waiting for their job rows are committed together — one transaction for
many rows instead of one per request — so writing the job first costs the ack little. On SQLite
the rows are written on the loop's own thread (:mod:`bot.db.loop_writer`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.db.jobs import JobStore, NewJob

log = logging.getLogger(__name__)

#: At most this many rows per group commit.
BATCH = 200
#: Turns of the event loop a group commit waits before it starts. Requests whose bytes arrived
#: together are parsed over the next turns, so their job rows join this commit instead of each
#: paying for one (a commit costs SQLite ~35 µs and a page write or two, a row ~7 µs). When the
#: loop is idle a turn takes microseconds; under load, 2 turns took rows per commit from 2.5 to
#: 5.7 and the web process's CPU per `/deploy list` ack down by ~10 %.
GATHER_TURNS = 2


class JobQueue:
    def __init__(self, store: JobStore) -> None:
        self.store = store
        self._waiting: list[_Put] = []
        #: The batch being committed now.
        self._writing: list[_Put] = []
        #: The group commit running now (held: the loop keeps only a weak reference); it takes
        #: the puts that arrive while it runs too.
        self._task: asyncio.Task[None] | None = None
        #: One timer for the whole queue (not one per put): it fails the puts whose time ran out.
        self._watchdog: asyncio.TimerHandle | None = None
        #: Called after every commit that wrote a job (the in-process worker's doorbell).
        self.listeners: list[Callable[[], None]] = []

    async def put(self, job: NewJob, *, within: float | None = None) -> bool:
        """Write ``job`` (committed when this returns); False when its key was already taken.
        Raises what the database raised (the caller tells the person), or TimeoutError once
        ``within`` seconds have passed without a commit (the row may still be written)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        deadline = loop.time() + within if within is not None else None
        self._waiting.append(_Put(job, future, deadline))
        if deadline is not None and self._watchdog is None:
            self._watchdog = loop.call_at(deadline, self._expire)
        if self._task is None:
            self._task = loop.create_task(self._flush(), name="job-enqueue")
        return await future

    def _expire(self) -> None:
        """Fail the puts whose time ran out; wait for the next deadline, if any."""
        self._watchdog = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        upcoming: float | None = None
        for put in (*self._writing, *self._waiting):
            if put.deadline is None or put.future.done():
                continue
            if put.deadline <= now:
                put.future.set_exception(TimeoutError())
            elif upcoming is None or put.deadline < upcoming:
                upcoming = put.deadline
        if upcoming is not None:
            self._watchdog = loop.call_at(upcoming, self._expire)

    async def _flush(self) -> None:
        try:
            for _ in range(GATHER_TURNS):  # let the requests already read join this commit
                await asyncio.sleep(0)
            while self._waiting:
                batch, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
                self._writing = batch
                try:
                    fresh = await self.store.enqueue([put.job for put in batch])
                except Exception as exc:
                    for put in batch:
                        if not put.future.done():
                            put.future.set_exception(exc)
                    continue
                finally:
                    self._writing = []
                for put, new in zip(batch, fresh, strict=True):
                    if not put.future.done():
                        put.future.set_result(new)
                if any(fresh):
                    for listener in self.listeners:
                        listener()
        finally:
            self._task = None
            if self._watchdog is not None and not self._waiting:
                self._watchdog.cancel()
                self._watchdog = None


@dataclass(slots=True)
class _Put:
    job: NewJob
    future: asyncio.Future[bool]
    #: The loop's time after which the put fails with TimeoutError (None: never).
    deadline: float | None
