"""The job table as a timer store, on SQLite and PostgreSQL: a queued job is moved (two
extensions at once both count), cancelled (never claimed; its key freed), listed per kind and
workspace; a job a worker holds can be neither."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.db.jobs import NewJob
from tests.lifecycle.test_jobs import Clock, _store


def timer(key: str, at: float, *, kind: str = "stop_timer", team: str = "T1") -> NewJob:
    return NewJob(kind=kind, key=key, payload={"data": {"k": key}}, team_id=team, run_after=at)


async def test_reschedule_moves_only_a_waiting_job(db_url: str, tmp_path: Any) -> None:
    clock = Clock()
    store = await _store(db_url, tmp_path, clock)
    await store.enqueue([timer("t:a", clock.now + 100)])
    assert await store.reschedule("t:a", clock.now + 50) == clock.now + 50
    both = await asyncio.gather(
        store.reschedule("t:a", later_by=3600), store.reschedule("t:a", later_by=3600)
    )
    assert sorted(both) == [clock.now + 3650, clock.now + 7250]  # both extensions count
    assert await store.claim("w", lease=30, limit=5) == []  # not due yet
    clock.now += 7250
    [held] = await store.claim("w", lease=30, limit=5)
    assert await store.reschedule("t:a", later_by=60) is None  # a worker has it
    assert await store.reschedule("t:missing", later_by=60) is None
    with pytest.raises(ValueError):
        await store.reschedule("t:a")
    assert held.key == "t:a"
    await store.engine.dispose()


async def test_cancel_ends_a_waiting_job_and_frees_its_key(db_url: str, tmp_path: Any) -> None:
    clock = Clock()
    store = await _store(db_url, tmp_path, clock)
    await store.enqueue([timer("t:a", clock.now + 10), timer("t:b", clock.now + 10)])
    assert await store.cancel("t:a", why="cancelled by U1")
    assert not await store.cancel("t:a")  # once
    assert await store.enqueue([timer("t:a", clock.now + 20)]) == [True]  # the key is free
    clock.now += 15
    claimed = await store.claim("w", lease=30, limit=5)
    assert [j.key for j in claimed] == ["t:b"]  # the cancelled one never runs
    assert not await store.cancel("t:b")  # a worker has it
    assert (await store.counts()).get("done") == 1
    await store.engine.dispose()


async def test_scheduled_lists_a_kinds_waiting_jobs_per_workspace(
    db_url: str, tmp_path: Any
) -> None:
    clock = Clock()
    store = await _store(db_url, tmp_path, clock)
    await store.enqueue(
        [
            timer("timer:T1:b", clock.now + 200),
            timer("timer:T1:a", clock.now + 100),
            timer("timer:T2:c", clock.now + 100, team="T2"),
            timer("warn:T1:a:1", clock.now + 50, kind="warning"),
            timer("timer:T1:x_%", clock.now + 300),
        ]
    )
    listed = await store.scheduled("stop_timer", "T1")
    assert [s.key for s in listed] == ["timer:T1:a", "timer:T1:b", "timer:T1:x_%"]
    assert listed[0].payload == {"data": {"k": "timer:T1:a"}}
    assert listed[0].run_after == clock.now + 100
    assert [s.key for s in await store.scheduled("stop_timer", "T1", key_prefix="timer:T1:x_")] == [
        "timer:T1:x_%"
    ]
    assert [s.key for s in await store.scheduled("warning", "T1")] == ["warn:T1:a:1"]
    await store.cancel("timer:T1:a")
    assert [s.key for s in await store.scheduled("stop_timer", "T1")] == [
        "timer:T1:b",
        "timer:T1:x_%",
    ]
    await store.engine.dispose()
