"""A watcher-only process for the benchmarks: storage, provider pool and poller, nothing else.

``bench/watcher_scale.py`` runs its poll cycles in one of these, and ``bench/watch_replicas.py``
starts several; the sandboxes run in their own process. The process imports only what a
watcher needs (no Bolt, no web server, no create/approval stack, no Alembic: the parent has
migrated the database) and answers messages on a pipe:

* ``("cycle", force, limit, profile)`` → :class:`CycleFigures` of one ``Poller.poll_once``;
* ``("announce",)`` → the replica announces itself (its presence row), answers ``("announced",
  live replicas)``: replicas share a cycle's keys by how many are alive;
* ``("stop",)`` → withdraws the replica's presence and ends the process.

Every answer carries the process's resident set size now and its peak (``VmHWM``), so the
figure reported is the polling process's own.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import logging
import pstats
import resource
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class CycleFigures:
    """One cycle of one watcher process."""

    wall: float
    cpu: float
    #: Keys this process polled, list pages it read, deployments listed, notifications written.
    keys: int
    pages: int
    calls: int
    deployments: int
    notifications: int
    errors: list[str] = field(default_factory=list)
    #: Wall clock (``time.time()``) when the cycle ended.
    ended: float = 0.0
    rss_mb: float = 0.0
    peak_rss_mb: float = 0.0


def memory_mb() -> tuple[float, float]:
    """(resident set size now, its peak) of this process in MB (``/proc/self/status``)."""
    now = peak = 0.0
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    now = int(line.split()[1]) / 1024
                elif line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) / 1024
    except OSError:
        pass
    if not peak:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return now or peak, peak


def watcher_main(conn: Any, settings: dict[str, str], concurrency: int) -> None:
    """Child process: build the watcher for ``settings`` and run cycles on request."""
    logging.basicConfig(level=logging.WARNING)
    if int(settings.get("trace_memory") or 0) > 0:
        tracemalloc.start(int(settings["trace_memory"]))
    asyncio.run(_serve(conn, settings, concurrency))


async def _serve(conn: Any, settings: dict[str, str], concurrency: int) -> None:
    from pydantic import SecretStr

    from bot.config import Settings
    from bot.db.watch.store import WatchStore
    from bot.runtime import open_storage
    from bot.services.pool import ProviderPool
    from bot.watch.poller import Poller

    config = Settings.model_validate(
        {
            "NOSANA_API_URL": settings["nosana"],
            "AKASH_API_URL": settings["akash"],
            "NEURANET_API_URL": settings["neuranet"],
            "DATABASE_URL": SecretStr(settings["database_url"]),
            "DEPLOYBOT_DATA_DIR": Path(settings["data_dir"]),
            "DEPLOYBOT_ENCRYPTION_KEYS": SecretStr(settings["encryption_keys"]),
        }
    )
    storage = await open_storage(config, migrate=False)
    pool = ProviderPool(config, storage.keys)
    poller = Poller(
        WatchStore(storage.engine, reader=storage.writer),
        pool,
        interval=3600,
        concurrency=concurrency,
    )
    loop = asyncio.get_running_loop()
    try:
        conn.send(("ready", *memory_mb()))
        while True:
            message = await loop.run_in_executor(None, conn.recv)
            if message[0] == "announce":
                presence = await poller.announce(refresh=True)
                conn.send(("announced", presence.replicas))
                continue
            if message[0] != "cycle":
                break
            _, force, limit, profile = message
            conn.send(await _cycle(poller, force=force, limit=limit, profile=profile))
        await poller.retire()
    finally:
        await pool.aclose()
        await storage.aclose()


def _print_memory(before: tracemalloc.Snapshot, imported: list[str]) -> None:
    """What the cycle allocated and still holds, and its peak (``--trace-memory``)."""
    after = tracemalloc.take_snapshot()
    current, peak = tracemalloc.get_traced_memory()
    print(
        f"  [watcher] traced {current / 2**20:.1f} MB now, {peak / 2**20:.1f} MB peak; "
        f"modules imported by the cycle: {len(imported)} {imported[:12]}",
        flush=True,
    )
    for stat in after.compare_to(before, "traceback")[:8]:
        print(f"  [watcher] {stat}", flush=True)
        for line in stat.traceback.format()[-6:]:
            print(f"  [watcher]     {line}", flush=True)
    tracemalloc.reset_peak()


async def _cycle(poller: Any, *, force: bool, limit: int | None, profile: bool) -> CycleFigures:
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    cpu, wall = time.process_time(), time.perf_counter()
    modules = set(sys.modules)
    snapshot = tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None
    stats = await poller.poll_once(force=force, limit=limit)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if snapshot is not None:
        _print_memory(snapshot, sorted(set(sys.modules) - modules))
    if profiler is not None:
        profiler.disable()
        out = io.StringIO()
        table = pstats.Stats(profiler, stream=out)
        table.sort_stats("tottime").print_stats(20)
        table.sort_stats("cumulative").print_stats(
            r"watch/|pool.py|keys.py|crypto|list_page|_list_all", 25
        )
        print(out.getvalue(), flush=True)
    rss, peak = memory_mb()
    return CycleFigures(
        wall=wall,
        cpu=cpu,
        keys=len(stats.keys),
        pages=stats.list_calls,
        calls=stats.calls,
        deployments=stats.deployments,
        notifications=stats.notifications,
        errors=[k.error for k in stats.keys if k.error],
        ended=time.time(),
        rss_mb=rss,
        peak_rss_mb=peak,
    )
