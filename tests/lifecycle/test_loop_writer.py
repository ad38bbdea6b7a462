"""Job rows on SQLite are written on the event loop's thread (``bot.db.loop_writer``): they
commit, a taken key is still refused, a write lock held elsewhere never blocks the loop (the
write is tried again every millisecond, then waits through the async engine), an unreachable
file reads as an outage, and the WAL is still checkpointed."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.config import Settings
from bot.db import jobs, loop_writer
from bot.db.engine import is_database_outage
from bot.db.jobs import JobStore, NewJob
from bot.db.loop_writer import LoopWriter, WriteLocked
from bot.jobs.queue import JobQueue
from bot.runtime import Storage, open_storage


async def _storage(tmp_path: Path) -> Storage:
    settings = Settings(
        DATABASE_URL=f"sqlite:///{tmp_path}/deploybot.db",
        DEPLOYBOT_DATA_DIR=tmp_path,
        DEPLOYBOT_ENCRYPTION_KEYS="Zm9yLXRlc3RzLW9ubHktMzItYnl0ZXMtbG9uZy1rZXk=",
    )
    return await open_storage(settings)


def job(key: str) -> NewJob:
    return NewJob(kind="k", key=key, payload={"data": {"n": key}}, team_id="T1", user_id="U1")


def _hold_write_lock(tmp_path: Path) -> sqlite3.Connection:
    """Another connection in a write transaction (``COMMIT`` on it releases the lock)."""
    other = sqlite3.connect(tmp_path / "deploybot.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


async def _keys(storage: Storage) -> list[str]:
    async with storage.engine.connect() as conn:
        return [str(k) for k in (await conn.execute(text("SELECT key FROM jobs"))).scalars()]


async def test_a_file_database_gets_a_writer_and_rows_commit_through_it(tmp_path: Path) -> None:
    storage = await _storage(tmp_path)
    assert storage.writer is not None
    calls: list[int] = []
    original = storage.writer.try_write

    def counted(work: Any) -> Any:
        calls.append(1)
        return original(work)

    storage.writer.try_write = counted  # type: ignore[method-assign]
    store = JobStore(storage.engine, writer=storage.writer)
    assert await store.enqueue([job("a"), job("b")]) == [True, True]
    assert await store.enqueue([job("a"), job("c")]) == [False, True]
    assert len(calls) == 2
    assert sorted(await _keys(storage)) == ["a", "b", "c"]  # seen by the async engine
    await storage.aclose()


async def test_a_held_write_lock_never_blocks_the_loop(tmp_path: Path) -> None:
    storage = await _storage(tmp_path)
    assert storage.writer is not None
    store = JobStore(storage.engine, writer=storage.writer)
    other = _hold_write_lock(tmp_path)  # another process's worker, mid-write
    try:
        started = time.perf_counter()
        with pytest.raises(WriteLocked):
            storage.writer.try_write(lambda conn: conn.execute("DELETE FROM jobs"))
        assert time.perf_counter() - started < 0.05

        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticking = asyncio.create_task(ticker())
        loop = asyncio.get_running_loop()
        released: list[float] = []

        def release() -> None:
            other.execute("COMMIT")
            released.append(time.perf_counter())

        loop.call_later(0.3, release)
        written = await asyncio.wait_for(store.enqueue([job("waited")]), 5)
        done = time.perf_counter()
        ticking.cancel()
        assert written == [True]
        assert ticks >= 10  # the loop kept turning while the write waited for the lock
        assert done - released[0] < 0.05  # taken as soon as it was free (polled, not slept)
    finally:
        other.close()
    assert await _keys(storage) == ["waited"]
    await storage.aclose()


async def test_a_lock_held_longer_is_waited_for_off_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "LOCK_WAIT", 0.05)
    storage = await _storage(tmp_path)
    store = JobStore(storage.engine, writer=storage.writer)
    other = _hold_write_lock(tmp_path)
    try:
        asyncio.get_running_loop().call_later(0.4, other.execute, "COMMIT")
        started = time.perf_counter()
        assert await asyncio.wait_for(store.enqueue([job("late")]), 5) == [True]
        assert time.perf_counter() - started >= 0.35  # it did wait for the lock
    finally:
        other.close()
    assert await _keys(storage) == ["late"]
    await storage.aclose()


async def test_an_unreachable_file_is_an_outage_and_nothing_is_written(tmp_path: Path) -> None:
    storage = await _storage(tmp_path)
    assert storage.writer is not None
    queue = JobQueue(JobStore(storage.engine, writer=storage.writer))
    (tmp_path / "deploybot.db").rename(tmp_path / "elsewhere.db")
    (tmp_path / "deploybot.db").mkdir()  # the path is now a directory: SQLite can't open it
    storage.writer.engine.dispose()
    with pytest.raises(Exception) as caught:
        await queue.put(job("lost"))
    assert is_database_outage(caught.value)
    await storage.aclose()


async def test_the_wal_is_checkpointed_although_the_writer_never_does_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loop_writer, "CHECKPOINT_EVERY", 3)
    storage = await _storage(tmp_path)
    assert storage.writer is not None
    store = JobStore(storage.engine, writer=storage.writer)
    database = tmp_path / "deploybot.db"

    def in_the_database_file() -> int:
        """Rows in the database file itself (``immutable``: the WAL is not read)."""
        reader = sqlite3.connect(f"file:{database}?immutable=1", uri=True)
        try:
            return int(reader.execute("SELECT count(*) FROM jobs").fetchone()[0])
        finally:
            reader.close()

    for n in range(2):
        await store.enqueue([job(f"j{n}")])
    assert storage.writer._checkpoint is None
    assert in_the_database_file() == 0  # the writer's commits are in the WAL only
    await store.enqueue([job("j2")])  # the 3rd commit asks for a passive checkpoint
    checkpoint = storage.writer._checkpoint
    assert checkpoint is not None
    await checkpoint
    assert in_the_database_file() == 3
    await storage.aclose()


async def test_a_memory_database_has_no_writer() -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine("sqlite+aiosqlite://")
    assert not LoopWriter.usable(engine)
    await engine.dispose()


async def test_provider_keys_are_read_on_the_loop_and_the_usual_way_when_busy(
    tmp_path: Path,
) -> None:
    from pydantic import SecretStr

    storage = await _storage(tmp_path)
    assert storage.writer is not None
    await storage.keys.put(
        team_id="T1", provider="nosana", api_key=SecretStr("nos-secret-1"), connected_by="U1"
    )
    reads: list[str] = []
    original = storage.writer.try_read

    def counted(work: Any) -> Any:
        reads.append("loop")
        return original(work)

    storage.writer.try_read = counted  # type: ignore[method-assign]
    key = await storage.keys.get(team_id="T1", provider="nosana")
    assert key is not None and key.get_secret_value() == "nos-secret-1"
    assert await storage.keys.get(team_id="T1", provider="akash") is None
    assert reads == ["loop", "loop"]

    def busy(work: Any) -> Any:
        raise WriteLocked

    storage.writer.try_read = busy  # type: ignore[method-assign]
    key = await storage.keys.get(team_id="T1", provider="nosana")
    assert key is not None and key.get_secret_value() == "nos-secret-1"
    await storage.aclose()
