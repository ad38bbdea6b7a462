"""Cycle time with several watcher replicas: each replica is its own watcher-only process
(:mod:`bench.watcher_proc`) on the same database; they share a cycle's keys through the
database's poll leases. Every key is made due at once, the replicas announce themselves (their
presence rows) and are told to go; each claims at most its share of the keys (``ceil(keys /
replicas)``); the cycle time is until the last replica found nothing more to poll.

Each round also reports, per replica, the keys and pages it polled, its CPU seconds and its
wall time, and (when given a way to read it) the CPU the sandbox process spent serving the
pages: on a machine with few CPUs the replicas and the sandbox share them, and the CPU
figures show when that, not the watcher, is the limit.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from bench.watcher_proc import CycleFigures, watcher_main


@dataclass
class ReplicaRound:
    """The best round (shortest wall) for one replica count."""

    replicas: int
    wall: float
    #: Per replica, in start order.
    figures: list[CycleFigures] = field(default_factory=list)
    #: CPU seconds the sandbox process spent during the round (None: not measured).
    sandbox_cpu: float | None = None
    #: How busy the whole machine's CPUs were during the round (0..1, every process on it,
    #: PostgreSQL and other people's work included; None where ``/proc/stat`` is missing).
    machine_busy: float | None = None

    @property
    def cpu(self) -> float:
        return sum(f.cpu for f in self.figures)


async def cycle_times(
    engine: Any,
    settings: dict[str, str],
    counts: list[int],
    concurrency: int,
    *,
    rounds: int = 2,
    sandbox_cpu: Callable[[], Awaitable[float]] | None = None,
) -> list[ReplicaRound]:
    """The best of ``rounds`` cycles for each replica count in ``counts``."""
    results = []
    for count in counts:
        results.append(
            await _rounds(
                engine, settings, count, concurrency, rounds=rounds, sandbox_cpu=sandbox_cpu
            )
        )
    return results


async def _rounds(
    engine: Any,
    settings: dict[str, str],
    count: int,
    concurrency: int,
    *,
    rounds: int,
    sandbox_cpu: Callable[[], Awaitable[float]] | None,
) -> ReplicaRound:
    context = multiprocessing.get_context("spawn")
    loop = asyncio.get_running_loop()
    pipes = []
    processes = []
    for _ in range(count):
        parent, child = context.Pipe()
        process = context.Process(
            target=watcher_main, args=(child, settings, concurrency), daemon=True
        )
        process.start()
        pipes.append(parent)
        processes.append(process)
    try:
        for pipe in pipes:
            ready = await loop.run_in_executor(None, pipe.recv)
            assert ready[0] == "ready", ready
        best: ReplicaRound | None = None
        for _ in range(rounds):
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE poll_leases SET next_due = 0"))
            # Every replica announces itself before the round (as running replicas do while
            # they poll), so each claims its share: ceil(keys / replicas).
            # Twice: the first to announce cannot have seen the others yet.
            for _ in range(2):
                for pipe in pipes:
                    pipe.send(("announce",))
                heard = [await loop.run_in_executor(None, pipe.recv) for pipe in pipes]
            assert heard == [("announced", count)] * count, heard
            box = await sandbox_cpu() if sandbox_cpu is not None else None
            ticks = machine_ticks()
            started = time.time()
            for pipe in pipes:
                pipe.send(("cycle", False, None, False))
            answers: list[CycleFigures] = [
                await loop.run_in_executor(None, pipe.recv) for pipe in pipes
            ]
            wall = max(a.ended for a in answers) - started
            spent = (
                (await sandbox_cpu()) - box if sandbox_cpu is not None and box is not None else None
            )
            result = ReplicaRound(count, wall, answers, spent, busy_between(ticks, machine_ticks()))
            if best is None or result.wall < best.wall:
                best = result
        assert best is not None
        return best
    finally:
        for pipe in pipes:
            pipe.send(("stop",))
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()


def machine_ticks() -> tuple[int, int] | None:
    """(busy, total) CPU ticks of the whole machine since boot (``/proc/stat``)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_between(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    if before is None or after is None or after[1] == before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def report(rows: list[ReplicaRound]) -> None:
    """Print each replica count's cycle, speed-up and per-replica breakdown."""
    one = rows[0].wall if rows else 0.0
    cpus = os.cpu_count() or 1
    for row in rows:
        speedup = one / row.wall if row.wall else float("inf")
        box = (
            f"; sandbox process {row.sandbox_cpu:.2f} s CPU "
            f"({row.sandbox_cpu / row.wall:.0%} of a core)"
            if row.sandbox_cpu is not None and row.wall
            else ""
        )
        busy = (row.cpu + (row.sandbox_cpu or 0.0)) / row.wall if row.wall else 0.0
        print(
            f"{row.replicas} replica(s) on PostgreSQL: steady cycle {row.wall:.2f} s wall "
            f"({speedup:.2f}× one replica); {row.cpu:.2f} s CPU over replicas{box}; "
            f"{busy:.2f} of {cpus} CPUs busy with these processes"
            + (
                f", {row.machine_busy:.0%} of the machine's CPU busy overall"
                if row.machine_busy is not None
                else ""
            )
        )
        busiest = max((f.cpu for f in row.figures), default=0.0)
        first = max((f.cpu for f in rows[0].figures), default=0.0) if rows else 0.0
        less = first / busiest if busiest else 0.0
        print(
            f"    the busiest replica's CPU {busiest:.2f} s ({less:.2f}× less than one "
            f"replica's): the cycle each replica's own work allows given a core "
            f"of its own; {row.cpu - first:+.2f} s CPU over one replica (each replica's own "
            f"cycle reads: claims, context, fingerprints)"
        )
        for i, f in enumerate(row.figures, 1):
            print(
                f"    replica {i}: {f.keys:3} keys, {f.pages:5,} pages, {f.deployments:7,} "
                f"deployments, {f.cpu:6.2f} s CPU, {f.wall:6.2f} s wall "
                f"({f.cpu / f.wall if f.wall else 0:.0%} of a core), "
                f"peak RSS {f.peak_rss_mb:.0f} MB"
            )
