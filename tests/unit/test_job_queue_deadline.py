"""The job queue's deadline: one timer for the queue fails the puts whose time ran out, the
rest are answered as their commit lands (the slow write is not abandoned)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.db.jobs import NewJob
from bot.jobs.queue import JobQueue


class SlowStore:
    """Commits when told to: ``release`` lets the write in flight finish."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.written: list[str] = []

    async def enqueue(self, jobs: list[NewJob]) -> list[bool]:
        await self.release.wait()
        self.written += [j.key for j in jobs]
        return [True] * len(jobs)


def job(key: str) -> NewJob:
    return NewJob(kind="k", key=key, payload={}, team_id="T1", user_id="U1")


async def test_a_put_past_its_deadline_fails_and_its_row_is_still_written() -> None:
    store = SlowStore()
    queue = JobQueue(store)  # type: ignore[arg-type]
    hurried = asyncio.create_task(queue.put(job("hurried"), within=0.05))
    patient = asyncio.create_task(queue.put(job("patient")))
    with pytest.raises(TimeoutError):
        await hurried
    assert not patient.done()
    store.release.set()
    assert await patient is True
    assert store.written == ["hurried", "patient"]  # the slow commit was not abandoned
    assert queue._watchdog is None  # nothing left to time


async def test_one_timer_serves_every_waiting_put_and_later_deadlines_still_fire() -> None:
    store = SlowStore()
    queue = JobQueue(store)  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    scheduled: list[Any] = []
    original = loop.call_at

    def counting_call_at(when: float, callback: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(callback, "__self__", None) is queue:
            scheduled.append(when)
        return original(when, callback, *args, **kwargs)

    loop.call_at = counting_call_at  # type: ignore[method-assign]
    try:
        puts = [asyncio.create_task(queue.put(job(f"j{i}"), within=0.05)) for i in range(20)]
        await asyncio.sleep(0.02)
        late = asyncio.create_task(queue.put(job("late"), within=0.1))
        results = await asyncio.gather(*puts, late, return_exceptions=True)
    finally:
        loop.call_at = original  # type: ignore[method-assign]
    assert all(isinstance(r, TimeoutError) for r in results)
    assert len(scheduled) == 2  # the first deadline, then the late put's: not 21 timers
    store.release.set()
    await asyncio.sleep(0.01)
    assert len(store.written) == 21


async def test_a_put_answered_in_time_leaves_no_timer_behind() -> None:
    store = SlowStore()
    store.release.set()
    queue = JobQueue(store)  # type: ignore[arg-type]
    assert await queue.put(job("quick"), within=2.0) is True
    await asyncio.sleep(0)
    assert queue._watchdog is None
