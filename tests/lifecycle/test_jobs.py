"""The job table and its workers, on SQLite and PostgreSQL: a key makes a retry one job, a
claim is exclusive, a lease that runs out is taken over, a write by a worker that lost its
lease is refused, and a taken-over job with an unanswered provider call is reconciled."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.config import Settings
from bot.db.jobs import Call, ClaimedJob, JobStore, NewJob
from bot.jobs.journal import CURRENT, JobRun, JournaledProvider
from bot.jobs.queue import JobQueue
from bot.jobs.worker import Worker, drain
from bot.runtime import open_storage


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def _store(url: str, tmp_path: Any, clock: Clock | None = None) -> JobStore:
    settings = Settings(
        DATABASE_URL=url,
        DEPLOYBOT_DATA_DIR=tmp_path,
        DEPLOYBOT_ENCRYPTION_KEYS="Zm9yLXRlc3RzLW9ubHktMzItYnl0ZXMtbG9uZy1rZXk=",
    )
    storage = await open_storage(settings)
    return JobStore(storage.engine, clock=clock or Clock(), writer=storage.writer)


def job(key: str, kind: str = "k", **data: Any) -> NewJob:
    return NewJob(kind=kind, key=key, payload={"data": data}, team_id="T1", user_id="U1")


async def test_a_key_makes_a_retry_one_job(db_url: str, tmp_path: Any) -> None:
    store = await _store(db_url, tmp_path)
    assert await store.enqueue([job("a"), job("b")]) == [True, True]
    assert await store.enqueue([job("a"), job("c")]) == [False, True]
    assert (await store.counts()) == {"queued": 3}
    await store.engine.dispose()


async def test_a_claim_is_exclusive_and_ordered(db_url: str, tmp_path: Any) -> None:
    store = await _store(db_url, tmp_path)
    await store.enqueue([job(f"j{i}") for i in range(10)])
    first, second = await asyncio.gather(
        store.claim("w1", lease=30, limit=6), store.claim("w2", lease=30, limit=6)
    )
    ids = [j.id for j in first] + [j.id for j in second]
    assert len(ids) == len(set(ids)) == 10
    assert [j.id for j in first] == sorted(j.id for j in first)
    assert await store.claim("w3", lease=30, limit=5) == []
    await store.engine.dispose()


async def test_a_claim_takes_lapsed_leases_first_then_the_longest_due(
    db_url: str, tmp_path: Any
) -> None:
    clock = Clock()
    store = await _store(db_url, tmp_path, clock)
    await store.enqueue([job("lapsed")])
    (lapsed,) = await store.claim("dead", lease=5, limit=1)
    now = clock.now
    await store.enqueue(
        [
            NewJob(
                kind="k", key="later", payload={}, team_id="T1", user_id="U1", run_after=now + 3
            ),
            NewJob(
                kind="k", key="sooner", payload={}, team_id="T1", user_id="U1", run_after=now + 1
            ),
            NewJob(
                kind="k", key="future", payload={}, team_id="T1", user_id="U1", run_after=now + 99
            ),
        ]
    )
    clock.now += 10  # the lease ran out; "sooner" and "later" are due, "future" is not
    claimed = await store.claim("alive", lease=5, limit=2)
    assert [j.key for j in claimed] == ["lapsed", "sooner"]
    assert [j.key for j in await store.claim("alive", lease=5, limit=5)] == ["later"]
    assert lapsed.id == claimed[0].id
    await store.engine.dispose()


async def test_a_claim_reads_about_as_many_rows_as_it_takes(tmp_path: Any) -> None:
    """SQLite's own count of the virtual-machine steps a claim runs: as good as flat from 20
    queued jobs to 2,000 queued and 2,000 finished (one pick ordered by id sorted them all)."""
    steps: list[int] = []
    for queued in (20, 2000):
        store = await _store(f"sqlite:///{tmp_path}/claim{queued}.db", tmp_path)
        await store.enqueue([job(f"done{i}") for i in range(queued)])
        done = await store.claim("w", lease=30, limit=queued)
        for j in done:
            await store.finish(j.id, "w")
        await store.enqueue([job(f"q{i}") for i in range(queued)])
        assert store.writer is not None
        with store.writer.engine.connect() as conn:
            counted = [0]

            def step(counted: list[int] = counted) -> int:
                counted[0] += 1
                return 0

            raw = conn.connection.driver_connection
            assert raw is not None
            raw.set_progress_handler(step, 1)
            claimed = await store.claim("w", lease=30, limit=4)
            raw.set_progress_handler(None, 1)
        assert len(claimed) == 4
        steps.append(counted[0])
        await store.engine.dispose()
    assert steps[1] < 2 * steps[0], steps


async def test_an_expired_lease_is_taken_over_and_fences_the_old_owner(
    db_url: str, tmp_path: Any
) -> None:
    clock = Clock()
    store = await _store(db_url, tmp_path, clock)
    await store.enqueue([job("x", n=1)])
    (held,) = await store.claim("dead", lease=10, limit=1)
    assert not held.taken_over
    clock.now += 5
    assert await store.claim("alive", lease=10, limit=1) == []  # the lease still holds
    assert await store.heartbeat("dead", [held.id], lease=10) == {held.id}
    clock.now += 11
    (taken,) = await store.claim("alive", lease=10, limit=1)
    assert taken.id == held.id and taken.taken_over and taken.payload["data"] == {"n": 1}
    # the old owner can no longer write on it
    assert not await store.record_calls(held.id, "dead", [Call(1, "start", "nosana", "d")])
    assert not await store.finish(held.id, "dead")
    assert await store.heartbeat("dead", [held.id], lease=10) == set()
    assert await store.finish(taken.id, "alive")
    assert (await store.counts()) == {"done": 1}
    await store.engine.dispose()


async def test_a_key_freed_when_a_click_job_ends(db_url: str, tmp_path: Any) -> None:
    store = await _store(db_url, tmp_path)
    click = NewJob(kind="k", key="click:1", payload={}, while_running=True)
    assert await store.enqueue([click]) == [True]
    assert await store.enqueue([click]) == [False]  # a double click while it waits
    (held,) = await store.claim("w", lease=10, limit=1)
    await store.finish(held.id, "w")
    assert await store.enqueue([click]) == [True]  # a later click is a new job
    await store.engine.dispose()


async def test_the_worker_runs_each_job_once_across_workers(db_url: str, tmp_path: Any) -> None:
    store = await _store(db_url, tmp_path)
    store.clock = __import__("time").time
    seen: list[int] = []

    async def handler(claimed: ClaimedJob) -> None:
        await asyncio.sleep(0.001)
        seen.append(int(claimed.payload["data"]["n"]))

    workers = [
        Worker(store, {"k": handler}, slots=4, lease=5, poll=0.02, owner=f"w{i}") for i in range(3)
    ]
    queue = JobQueue(store)
    for worker in workers:
        worker.start()
        queue.listeners.append(worker.wake)
    results = await asyncio.gather(*(queue.put(job(f"n{i}", n=i)) for i in range(60)))
    assert all(results)
    assert await drain(store, workers, 20)
    assert sorted(seen) == list(range(60))
    for worker in workers:
        await worker.stop()
    assert (await store.counts()) == {"done": 60}
    await store.engine.dispose()


async def test_a_killed_worker_s_job_is_taken_over_and_finished_once(
    db_url: str, tmp_path: Any
) -> None:
    store = await _store(db_url, tmp_path)
    store.clock = __import__("time").time
    started = asyncio.Event()
    finished: list[str] = []

    async def slow(claimed: ClaimedJob) -> None:
        started.set()
        await asyncio.sleep(30)
        finished.append("slow")

    async def quick(claimed: ClaimedJob) -> None:
        finished.append("quick")

    dying = Worker(store, {"k": slow}, lease=0.5, poll=0.05, owner="dying")
    dying.start()
    await store.enqueue([job("only")])
    dying.wake()
    await asyncio.wait_for(started.wait(), 5)
    await dying.kill()  # what SIGKILL does: no finish, no release
    survivor = Worker(store, {"k": quick}, lease=0.5, poll=0.05, owner="survivor")
    survivor.start()
    assert await drain(store, [survivor], 10)
    await survivor.stop()
    assert finished == ["quick"]
    row = await store.by_key("only")
    assert row is not None and row["state"] == "done" and row["attempts"] == 2
    await store.engine.dispose()


async def test_a_taken_over_job_with_an_unanswered_call_is_resumed_not_rerun(
    db_url: str, tmp_path: Any
) -> None:
    clock = Clock()
    store = await _store(db_url, tmp_path, clock)
    await store.enqueue([job("c")])
    (held,) = await store.claim("dead", lease=1, limit=1)
    run = JobRun(store, "dead", held)
    await run.record("create", "nosana", "my-model", {})  # sent; the worker died
    clock.now += 2
    store.clock = __import__("time").time
    ran: list[str] = []
    resumed: list[tuple[str, ...]] = []

    async def handler(claimed: ClaimedJob) -> None:
        ran.append(claimed.key)

    async def resume(claimed: ClaimedJob, again: JobRun) -> bool:
        resumed.append(tuple(c.method for c in claimed.unconfirmed))
        return True

    worker = Worker(store, {"k": handler}, resume=resume, lease=5, poll=0.02, owner="new")
    worker.start()
    assert await drain(store, [worker], 10)
    await worker.stop()
    assert resumed == [("create",)] and ran == []
    await store.engine.dispose()


class FakeProvider:
    name = "nosana"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def start(self, deployment_id: str) -> str:
        self.sent.append(deployment_id)
        return "started"

    async def get(self, deployment_id: str) -> Any:
        raise AssertionError("not read")


async def test_the_journal_records_before_sending_and_marks_the_answer(
    db_url: str, tmp_path: Any
) -> None:
    store = await _store(db_url, tmp_path)
    await store.enqueue([job("j")])
    (held,) = await store.claim("w", lease=10, limit=1)
    run = JobRun(store, "w", held)
    inner = FakeProvider()
    wrapped = JournaledProvider(inner, run)  # type: ignore[arg-type]
    seen_before_send: list[str] = []
    original = inner.start

    async def start(deployment_id: str) -> str:
        row = await store.get(held.id)
        assert row is not None
        seen_before_send.append(row["calls"])
        return await original(deployment_id)

    inner.start = start  # type: ignore[method-assign]
    token = CURRENT.set(run)
    try:
        assert await wrapped.start("dep-1") == "started"
    finally:
        CURRENT.reset(token)
    assert '"method":"start"' in seen_before_send[0] and '"confirmed":false' in seen_before_send[0]
    row = await store.get(held.id)
    assert row is not None and '"confirmed":true' in row["calls"]
    await store.engine.dispose()


@pytest.mark.parametrize("state", ["down"])
async def test_enqueue_on_a_dead_database_raises_for_the_caller(state: str, tmp_path: Any) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    queue = JobQueue(JobStore(engine))
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises reaches the caller
        await queue.put(job("lost"))
    await engine.dispose()


async def test_waiting_jobs_take_no_slot(db_url: str, tmp_path: Any) -> None:
    """Jobs that mostly wait (bid waits, follow-ups) never hold up the ones behind them."""
    store = await _store(db_url, tmp_path)
    store.clock = __import__("time").time
    release = asyncio.Event()
    done: list[str] = []

    async def waiting(claimed: ClaimedJob) -> None:
        await release.wait()

    async def quick(claimed: ClaimedJob) -> None:
        done.append(claimed.key)

    worker = Worker(
        store,
        {"wait": waiting, "k": quick},
        slots=2,
        lease=5,
        poll=0.02,
        waiting_kinds=frozenset({"wait"}),
    )
    worker.start()
    await store.enqueue([job(f"w{i}", kind="wait") for i in range(4)] + [job("q1"), job("q2")])
    worker.wake()
    for _ in range(200):
        if len(done) == 2:
            break
        await asyncio.sleep(0.02)
    assert sorted(done) == ["q1", "q2"]
    release.set()
    assert await drain(store, [worker], 10)
    await worker.stop()
    await store.engine.dispose()


async def test_concurrent_claims_never_return_more_than_asked(db_url: str, tmp_path: Any) -> None:
    store = await _store(db_url, tmp_path)
    await store.enqueue([job(f"c{i}") for i in range(300)])
    batches = await asyncio.gather(*(store.claim(f"w{i}", lease=30, limit=3) for i in range(40)))
    assert all(len(batch) <= 3 for batch in batches), [len(b) for b in batches]
    ids = [j.id for batch in batches for j in batch]
    assert len(ids) == len(set(ids))
    assert sum(len(b) for b in batches) == 120
    await store.engine.dispose()
