"""Cycle time with several watcher replicas: each replica is its own process with its own
:class:`bot.watch.poller.Poller` on the same database; they share a cycle's keys through the
database's poll leases. Every key is made due at once, the replicas are told to go, and the
cycle time is until the last replica found nothing more to poll.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text


def _replica_main(conn: Any, settings: dict[str, str], concurrency: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    from pydantic import SecretStr

    from bot.config import Settings
    from bot.db.watch.store import WatchStore
    from bot.runtime import open_storage
    from bot.services.pool import ProviderPool
    from bot.watch.poller import Poller

    async def main() -> None:
        config = Settings(
            NOSANA_API_URL=settings["nosana"],
            AKASH_API_URL=settings["akash"],
            NEURANET_API_URL=settings["neuranet"],
            DATABASE_URL=SecretStr(settings["database_url"]),
            DEPLOYBOT_DATA_DIR=Path(settings["data_dir"]),
            DEPLOYBOT_ENCRYPTION_KEYS=SecretStr(settings["encryption_keys"]),
        )
        storage = await open_storage(config)
        pool = ProviderPool(config, storage.keys)
        poller = Poller(WatchStore(storage.engine), pool, interval=3600, concurrency=concurrency)
        loop = asyncio.get_running_loop()
        try:
            conn.send("ready")
            while (await loop.run_in_executor(None, conn.recv)) == "go":
                cpu = time.process_time()
                stats = await poller.poll_once()
                conn.send((time.time(), len(stats.keys), time.process_time() - cpu))
        finally:
            await pool.aclose()
            await storage.aclose()

    asyncio.run(main())


async def cycle_times(
    engine: Any, settings: dict[str, str], counts: list[int], concurrency: int, rounds: int = 2
) -> list[tuple[int, float, float, list[int]]]:
    """(replicas, best cycle wall seconds, CPU seconds summed over replicas, keys polled by
    each replica)."""
    results = []
    context = multiprocessing.get_context("spawn")
    loop = asyncio.get_running_loop()
    for count in counts:
        pipes = []
        processes = []
        for _ in range(count):
            parent, child = context.Pipe()
            process = context.Process(
                target=_replica_main, args=(child, settings, concurrency), daemon=True
            )
            process.start()
            pipes.append(parent)
            processes.append(process)
        try:
            for pipe in pipes:
                assert await loop.run_in_executor(None, pipe.recv) == "ready"
            best: tuple[float, float, list[int]] | None = None
            for _ in range(rounds):
                async with engine.begin() as conn:
                    await conn.execute(text("UPDATE poll_leases SET next_due = 0"))
                started = time.time()
                for pipe in pipes:
                    pipe.send("go")
                answers = [await loop.run_in_executor(None, pipe.recv) for pipe in pipes]
                wall = max(a[0] for a in answers) - started
                figures = (wall, sum(a[2] for a in answers), [a[1] for a in answers])
                if best is None or figures[0] < best[0]:
                    best = figures
            assert best is not None
            results.append((count, *best))
        finally:
            for pipe in pipes:
                pipe.send("stop")
            for process in processes:
                process.join(timeout=30)
                if process.is_alive():
                    process.terminate()
    return results
