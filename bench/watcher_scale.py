"""How the watcher scales: one poll cycle over K workspaces × M watched deployments.

The sandbox emulators run in a child process (so their CPU does not count), seeded directly
with ``seed_bulk``: K workspaces, each with one provider key (Nosana, Akash, NeuraNET in turn)
holding M deployments, every workspace watching ``all`` in one channel. This process runs
deploybot's real :class:`bot.watch.poller.Poller` (SQLite in a temporary directory unless
``--database-url``), and reports for each size:

* cycle 1 (the baseline: every deployment recorded) and cycle 2 (steady state, nothing
  changed) and cycle 3 (``--changes`` deployments changed status in between): wall time, CPU
  time of this process, provider HTTP calls, list pages, notifications written;
* the same deployments polled the naive way — one ``GET`` per deployment, compared with an
  in-memory status map, 16 at a time — as the baseline, in the same run (above
  ``--naive-limit`` deployments it times a sample and extrapolates, and says so);
* the floor: the same list pages read with a bare HTTP client and ``json.loads`` (the least
  a cycle can cost), and the steady cycle's CPU as a multiple of it (best of ``--repeat``);
* notification latency p50/p99 with a 5 s poll interval (``bench/watch_latency.py``) and, on
  PostgreSQL, the cycle time with 1, 2 and 3 replica processes (``bench/watch_replicas.py``);
* RSS after each measurement, and the peak (``VmHWM``) of the watcher's own process: the
  cycles run in a watcher-only process (:mod:`bench.watcher_proc`), not in this one, which
  reads the floor and runs the naive poller (its RSS is printed apart).

    .venv/bin/python bench/watcher_scale.py                      # 1k, 10k, 100k
    .venv/bin/python bench/watcher_scale.py --sizes 1000 --workspaces 3
    .venv/bin/python bench/watcher_scale.py --database-url postgresql://postgres@127.0.0.1/bench

Targets printed with the figures: 100k watched deployments per cycle in ≤ 10 s of CPU on one
core and ≤ 1.5× the floor; ≤ 100 MB RSS at 100k; provider calls per cycle equal to the list
pages (≥ 50× fewer than the baseline); notification latency p99 ≤ poll interval + 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402

PROVIDERS = ("nosana", "akash", "neuranet")
TARGET_CPU_100K = 10.0
TARGET_CALL_RATIO = 50.0
TARGET_FLOOR_RATIO = 1.5
TARGET_RSS_MB_100K = 100.0
NAIVE_CONCURRENCY = 16
ENCRYPTION_KEYS = "Zm9yLXRlc3RzLW9ubHktMzItYnl0ZXMtbG9uZy1rZXk="


# -- the sandbox process ---------------------------------------------------------------------


def _sandbox_main(conn: Any, workspaces: int, per_workspace: int) -> None:
    """Child process: seed, serve, answer ``("change", n)`` and ``("stop",)`` messages."""
    logging.basicConfig(level=logging.WARNING)
    from sandbox.clock import ManualClock
    from sandbox.common import RunningSandbox
    from sandbox.server import build_sandboxes

    async def main() -> None:
        clock = ManualClock()
        apis = {api.name: api for api in build_sandboxes(clock, seed=False)}
        keys: list[tuple[str, str]] = []
        seeded: dict[str, list[str]] = {}
        started = time.perf_counter()
        for provider, key, ids in _seed_keys(apis, workspaces, per_workspace):
            keys.append((provider, key))
            seeded[key] = ids
        seed_seconds = time.perf_counter() - started
        servers = {name: RunningSandbox(api) for name, api in apis.items()}
        for server in servers.values():
            await server.start()
        conn.send(
            {
                "urls": {name: s.base_url for name, s in servers.items()},
                "keys": keys,
                "ids": seeded,
                "seed_seconds": seed_seconds,
            }
        )
        loop = asyncio.get_running_loop()
        while True:
            message = await loop.run_in_executor(None, conn.recv)
            if message[0] == "stop":
                break
            if message[0] == "change":
                changed = 0
                for provider, key in keys:
                    for dep_id in seeded[key][: message[1]]:
                        _change(apis[provider], dep_id)
                        changed += 1
                conn.send(changed)
            if message[0] == "cpu":
                conn.send(time.process_time())
            if message[0] == "seed":
                # More keys for the replica rounds: ``count`` keys of ``per_key`` deployments.
                added = [(p, k) for p, k, _ in _seed_keys(apis, message[1], message[2])]
                keys.extend(added)
                conn.send(added)
            if message[0] == "change_one":
                _, key, dep_id = message
                _change(apis[dict((k, p) for p, k in keys)[key]], dep_id)
                conn.send(time.time())
        for server in servers.values():
            await server.stop()

    asyncio.run(main())


def _seed_keys(apis: dict[str, Any], count: int, per_key: int) -> list[tuple[str, str, list[str]]]:
    """``count`` new API keys (Nosana, Akash, NeuraNET in turn) of ``per_key`` deployments
    each: (provider, key, deployment ids)."""
    made = []
    for i in range(count):
        provider = PROVIDERS[i % len(PROVIDERS)]
        api = apis[provider]
        if provider == "nosana":
            key = api.add_api_key(credits_usd=1000).api_key
        else:
            key = api.add_api_key()
        made.append((provider, key, api.seed_bulk(key, per_key)))
    return made


def _change(api: Any, dep_id: str) -> None:
    """Change one deployment's status the way its provider would by itself."""
    provider = api.name
    if provider == "nosana":
        api.force_status(dep_id, "ERROR")
    elif provider == "neuranet":
        api.force_status(dep_id, "stopping")
    else:
        api.force_close(dep_id)


# -- measuring -------------------------------------------------------------------------------


@dataclass
class Figures:
    label: str
    wall: float
    cpu: float
    calls: int
    pages: int = 0
    notifications: int = 0
    note: str = ""
    #: Resident set size right after the measurement, and the peak so far, of the process
    #: that did it (the watcher's own process for the cycles).
    rss: float = 0.0
    peak_rss: float = 0.0
    #: The steady cycle's CPU ÷ the floor's, per back-to-back pair of ``--repeat``.
    pairs: list[float] = field(default_factory=list)


class CallCounter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, provider: str, seconds: float, error: str | None) -> None:
        self.calls += 1


async def measure(
    label: str, counter: CallCounter, work: Callable[[], Awaitable[Any]]
) -> tuple[Figures, Any]:
    calls = counter.calls
    cpu, wall = time.process_time(), time.perf_counter()
    result = await work()
    figures = Figures(
        label, time.perf_counter() - wall, time.process_time() - cpu, counter.calls - calls
    )
    figures.rss = current_rss_mb()
    return figures, result


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """Resident set size now (Linux ``/proc``; the peak where that is unavailable)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return peak_rss_mb()
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def run_size(args: argparse.Namespace, total: int) -> list[Figures]:
    from bot.config import Settings
    from bot.db.keys import KeyStore
    from bot.db.watch.store import WatchStore
    from bot.providers import http as provider_http
    from bot.runtime import open_storage
    from bot.services.pool import ProviderPool

    workspaces = args.workspaces
    per_workspace = max(1, total // workspaces)
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_sandbox_main, args=(child, workspaces, per_workspace), daemon=True
    )
    process.start()
    try:
        info = parent.recv()
        print(
            f"\n== {workspaces} workspaces × {per_workspace:,} deployments "
            f"= {workspaces * per_workspace:,} watched (sandbox seeded in "
            f"{info['seed_seconds']:.1f} s, in its own process)"
        )
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite:///{tmp}/bench.db"
            settings = Settings(
                NOSANA_API_URL=info["urls"]["nosana"],
                AKASH_API_URL=info["urls"]["akash"],
                NEURANET_API_URL=info["urls"]["neuranet"],
                DATABASE_URL=SecretStr(url),
                DEPLOYBOT_DATA_DIR=Path(tmp),
                DEPLOYBOT_ENCRYPTION_KEYS=SecretStr(ENCRYPTION_KEYS),
            )
            storage = await open_storage(settings)
            if args.database_url:  # start from empty watcher tables
                from sqlalchemy import text

                async with storage.engine.begin() as conn:
                    for table in (
                        "watches",
                        "watched_states",
                        "notification_outbox",
                        "poll_leases",
                        "provider_keys",
                    ):
                        await conn.execute(text(f"DELETE FROM {table}"))
            keys: KeyStore = storage.keys
            store = WatchStore(storage.engine)
            teams: list[tuple[str, str, str]] = []
            for i, (provider, key) in enumerate(info["keys"]):
                team = f"TBENCH{i:04d}"
                await keys.put(
                    team_id=team, provider=provider, api_key=SecretStr(key), connected_by="U1"
                )
                await store.add_watch(
                    team_id=team,
                    enterprise_id=None,
                    provider="",
                    deployment_id="",
                    label="",
                    channel_id="CBENCH",
                    user_id="U1",
                )
                teams.append((team, provider, key))
            pool = ProviderPool(settings, keys)
            watcher = WatcherProcess(
                {
                    **info["urls"],
                    "database_url": url,
                    "data_dir": tmp,
                    "encryption_keys": ENCRYPTION_KEYS,
                    "trace_memory": str(args.trace_memory),
                },
                args.concurrency,
            )
            counter = CallCounter()
            provider_http.CALL_OBSERVERS.append(counter)
            rows: list[Figures] = []
            floor = await _page_floor(pool, teams, args.concurrency)
            try:
                # The floor first (it warms the sandboxes' caches for the cycles too).
                figures, (pages, items) = await measure("floor (GET + json)", counter, floor.walk)
                figures.pages = pages
                figures.note = f"{items:,} items"
                rows.append(figures)
                await watcher.start()
                for label in ("cycle 1 (baseline)", "cycle 2 (steady)"):
                    rows.append(await watcher.cycle(label, profile=args.profile and "2" in label))
                rows[-2].note = f"watcher process built: {watcher.idle_rss:.0f} MB RSS"
                await _repeat(args, rows, counter, floor, watcher)
                if args.changes:
                    parent.send(("change", args.changes))
                    changed = parent.recv()
                    rows.append(await watcher.cycle(f"cycle 3 ({changed} changed)"))
                watcher.stop()

                if args.latency_changes and total <= args.latency_max:
                    await _latency(
                        args=args, store=store, pool=pool, teams=teams, info=info, parent=parent
                    )

                if args.replicas and args.database_url:
                    await _replicas(
                        args, storage, info, url, tmp=tmp, box=parent, total=total, teams=teams
                    )

                if args.naive_limit > 0:  # (0: no naive run)
                    rows.append(await _naive(args, pool, teams, info, counter))
            finally:
                watcher.stop()
                provider_http.CALL_OBSERVERS.remove(counter)
                await floor.aclose()
                await pool.aclose()
                await storage.aclose()
        return rows
    finally:
        parent.send(("stop",))
        process.join(timeout=30)
        if process.is_alive():
            process.terminate()


async def _naive(
    args: argparse.Namespace,
    pool: Any,
    teams: list[tuple[str, str, str]],
    info: dict[str, Any],
    counter: Any,
) -> Figures:
    """The naive poller: one GET per deployment (at most ``--naive-limit`` of them, timed,
    then extrapolated to all)."""
    from bot.providers.errors import ProviderError

    every = [(team, provider, dep) for team, provider, key in teams for dep in info["ids"][key]]
    sample = every
    note = ""
    if len(every) > args.naive_limit:
        step = len(every) / args.naive_limit
        sample = [every[int(i * step)] for i in range(args.naive_limit)]
        note = f"timed on {len(sample):,}, extrapolated ×{len(every) / len(sample):.0f}"
    statuses: dict[str, str] = {}
    slots = asyncio.Semaphore(NAIVE_CONCURRENCY)

    async def naive_one(team: str, provider: str, dep: str) -> None:
        async with slots:
            client = await pool.get(team, provider)
            try:
                found = await client.get(dep)
            except ProviderError:
                return
            if statuses.get(dep) != found.status.value:
                statuses[dep] = found.status.value

    async def naive() -> None:
        await asyncio.gather(*(naive_one(*item) for item in sample))

    figures, _ = await measure("naive (GET each)", counter, naive)
    if sample is not every:
        scale = len(every) / len(sample)
        figures.wall *= scale
        figures.cpu *= scale
        figures.calls = round(figures.calls * scale)
    figures.note = note
    return figures


async def _latency(
    *,
    args: argparse.Namespace,
    store: Any,
    pool: Any,
    teams: list[tuple[str, str, str]],
    info: dict[str, Any],
    parent: Any,
) -> None:
    from bench.watch_latency import measure_latency

    loop = asyncio.get_running_loop()

    async def change(key: str, dep_id: str) -> float:
        parent.send(("change_one", key, dep_id))
        return float(await loop.run_in_executor(None, parent.recv))

    # Deployments not changed by cycle 3 (those are the first ``--changes`` of each key).
    candidates = {key: list(ids[args.changes :]) for key, ids in info["ids"].items()}
    result = await measure_latency(
        store=store,
        pool=pool,
        teams=teams,
        change=change,
        candidates=candidates,
        interval=args.latency_interval,
        changes=args.latency_changes,
        spacing=args.latency_spacing,
    )
    p50, p99 = result.percentile(50), result.percentile(99)
    target = args.latency_interval + 1
    verdict = "meets" if p99 <= target and not result.missed else "misses"
    print(
        f"notification latency (sandbox change → Slack call), poll interval "
        f"{args.latency_interval:g} s, {len(result.samples)} changes: p50 {p50:.2f} s, "
        f"p99 {p99:.2f} s, max {max(result.samples, default=float('nan')):.2f} s, "
        f"{result.missed} not seen: {verdict} the p99 ≤ {target:g} s target"
    )
    if result.walks:
        walks = sorted(result.walks)
        print(
            f"    each key's poll (list walk) during that run: median "
            f"{walks[len(walks) // 2]:.2f} s, max {walks[-1]:.2f} s wall over {len(walks)} polls"
        )


async def _replicas(
    args: argparse.Namespace,
    storage: Any,
    info: dict[str, Any],
    url: str,
    *,
    tmp: str,
    box: Any,
    total: int,
    teams: list[tuple[str, str, str]],
) -> None:
    """The replica rounds, over ``--replica-keys`` keys holding the same number of watched
    deployments between them (a few big keys cannot be shared out evenly)."""
    from sqlalchemy import text

    from bench.watch_replicas import cycle_times
    from bench.watch_replicas import report as print_replicas
    from bot.db.watch.store import WatchStore

    settings = {
        **info["urls"],
        "database_url": url,
        "data_dir": tmp,
        "encryption_keys": ENCRYPTION_KEYS,
    }
    loop = asyncio.get_running_loop()

    async def sandbox_cpu() -> float:
        box.send(("cpu",))
        return float(await loop.run_in_executor(None, box.recv))

    count = max(1, args.replica_keys)
    per_key = max(1, total // count)
    box.send(("seed", count, per_key))
    added = await loop.run_in_executor(None, box.recv)
    store = WatchStore(storage.engine)
    async with storage.engine.begin() as conn:  # the earlier keys sit these rounds out
        for team, _, _ in teams:
            await conn.execute(text("DELETE FROM watches WHERE team_id = :t"), {"t": team})
            await conn.execute(text("DELETE FROM poll_leases WHERE team_id = :t"), {"t": team})
    for i, (provider, key) in enumerate(added):
        team = f"TREPL{i:04d}"
        await storage.keys.put(
            team_id=team, provider=provider, api_key=SecretStr(key), connected_by="U1"
        )
        await store.add_watch(
            team_id=team,
            enterprise_id=None,
            provider="",
            deployment_id="",
            label="",
            channel_id="CBENCH",
            user_id="U1",
        )
    print(
        f"replica rounds: {count} keys × {per_key:,} deployments = {count * per_key:,} watched "
        f"(the baseline recorded first by one watcher process)"
    )
    baseline = WatcherProcess(settings, args.concurrency)
    await baseline.start()
    try:
        await baseline.cycle("replica baseline")
    finally:
        baseline.stop()
    counts = [int(c) for c in args.replicas.split(",") if c.strip()]
    rows = await cycle_times(
        storage.engine, settings, counts, args.concurrency, sandbox_cpu=sandbox_cpu
    )
    print_replicas(rows)


async def _repeat(
    args: argparse.Namespace, rows: list[Figures], counter: Any, floor: Any, watcher: Any
) -> None:
    """The floor and the steady cycle again, alternately (the machine's speed drifts when it
    is shared): each row keeps its best CPU time of ``--repeat``, and the steady row the
    ratio of each back-to-back pair (both ran at about the same machine speed)."""
    if args.repeat <= 1:
        return
    floor_row = next(r for r in rows if r.label.startswith("floor"))
    steady_row = next(r for r in rows if r.label.startswith("cycle 2"))
    for _ in range(args.repeat - 1):
        again, _pages = await measure(floor_row.label, counter, floor.walk)
        if again.cpu < floor_row.cpu:
            floor_row.wall, floor_row.cpu = again.wall, again.cpu
        floor_cpu = again.cpu
        again = await watcher.cycle(steady_row.label)
        if floor_cpu:
            steady_row.pairs.append(again.cpu / floor_cpu)
        if again.cpu < steady_row.cpu:
            steady_row.wall, steady_row.cpu = again.wall, again.cpu
        steady_row.rss, steady_row.peak_rss = again.rss, again.peak_rss
    for row in (floor_row, steady_row):
        row.note = f"{row.note}; best of {args.repeat}".lstrip("; ")


class WatcherProcess:
    """The watcher under test in its own process (:mod:`bench.watcher_proc`): its cycles'
    CPU and RSS are its own, not this process's (which reads the floor and runs the naive
    poller)."""

    def __init__(self, settings: dict[str, str], concurrency: int) -> None:
        self.settings = settings
        self.concurrency = concurrency
        self.pipe: Any = None
        self.process: Any = None
        #: RSS once the watcher is built, before its first cycle.
        self.idle_rss = 0.0
        self.peak_rss = 0.0

    async def start(self) -> None:
        from bench.watcher_proc import watcher_main

        self.pipe, child = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("spawn").Process(
            target=watcher_main, args=(child, self.settings, self.concurrency), daemon=True
        )
        self.process.start()
        ready = await self._recv()
        self.idle_rss = ready[1]

    async def _recv(self) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, self.pipe.recv)

    async def cycle(self, label: str, *, profile: bool = False) -> Figures:
        """One forced cycle over every key."""
        self.pipe.send(("cycle", True, 10_000, profile))
        got = await self._recv()
        self.peak_rss = max(self.peak_rss, got.peak_rss_mb)
        return Figures(
            label,
            got.wall,
            got.cpu,
            got.calls,
            pages=got.pages,
            notifications=got.notifications,
            note=f"errors: {got.errors[:3]}" if got.errors else "",
            rss=got.rss_mb,
            peak_rss=got.peak_rss_mb,
        )

    def stop(self) -> None:
        if self.process is None:
            return
        self.pipe.send(("stop",))
        self.process.join(timeout=30)
        if self.process.is_alive():
            self.process.terminate()
        self.process = None


async def _page_floor(pool: Any, teams: list[tuple[str, str, str]], concurrency: int) -> Any:
    """Bare HTTP clients for the same keys and pages (see ``bench/page_floor.py``)."""
    from bench.page_floor import PageFloor

    keys = []
    for team, provider, key in teams:
        client = await pool.get(team, provider)
        headers = {
            k: v.get_secret_value() for k, v in type(client).auth_headers(SecretStr(key)).items()
        }
        keys.append((provider, client.http.base_url, headers))
    return PageFloor(keys, concurrency)


def report(total: int, rows: list[Figures]) -> None:
    print(
        f"{'':24} {'wall s':>8} {'CPU s':>8} {'calls':>9} {'pages':>7} {'notifs':>7} {'RSS MB':>7}"
    )
    for r in rows:
        print(
            f"{r.label:24} {r.wall:8.2f} {r.cpu:8.2f} {r.calls:9,} {r.pages:7,} "
            f"{r.notifications:7,} {r.rss:7.0f}  {r.note}"
        )
    steady = next(r for r in rows if r.label.startswith("cycle 2"))
    floor = next(r for r in rows if r.label.startswith("floor"))
    times = steady.cpu / floor.cpu if floor.cpu else float("inf")
    verdict = "meets" if times <= TARGET_FLOOR_RATIO else "misses"
    print(
        f"steady cycle CPU {steady.cpu:.2f} s = {times:.2f}× the floor's {floor.cpu:.2f} s "
        f"(reading the pages): {verdict} the ≤ {TARGET_FLOOR_RATIO:g}× target"
    )
    if steady.pairs:
        middle = statistics.median(steady.pairs)
        verdict = "meets" if middle <= TARGET_FLOOR_RATIO else "misses"
        print(
            "steady cycle ÷ floor, pairs measured back to back: "
            + ", ".join(f"{p:.2f}×" for p in steady.pairs)
            + f"; median {middle:.2f}×: {verdict} the ≤ {TARGET_FLOOR_RATIO:g}× target"
        )
    naive = next((r for r in rows if r.label.startswith("naive")), None)
    if naive is not None:
        ratio = naive.calls / steady.calls if steady.calls else float("inf")
        print(
            f"steady cycle: {steady.calls:,} provider calls for {steady.pages:,} list pages; "
            f"naive: {naive.calls:,} calls ({ratio:.0f}× more; target ≥ {TARGET_CALL_RATIO:.0f}×)"
        )
    if total >= 100_000:
        verdict = "meets" if steady.cpu <= TARGET_CPU_100K else "misses"
        print(
            f"CPU per steady cycle {steady.cpu:.2f} s: {verdict} the ≤ {TARGET_CPU_100K:g} s target"
        )
    watcher = max((r.peak_rss for r in rows if r.label.startswith("cycle")), default=0.0)
    print(
        f"peak RSS of the watcher process (VmHWM, its own process): {watcher:.0f} MB; "
        f"this process (floor, naive poller): peak {peak_rss_mb():.0f} MB, "
        f"now {current_rss_mb():.0f} MB"
    )
    if total >= 100_000:
        verdict = "meets" if watcher <= TARGET_RSS_MB_100K else "misses"
        print(
            f"watcher peak RSS {watcher:.0f} MB: {verdict} the ≤ {TARGET_RSS_MB_100K:g} MB target"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="watched deployments")
    parser.add_argument("--workspaces", type=int, default=10, help="K workspaces (default 10)")
    parser.add_argument("--changes", type=int, default=10, help="changed per workspace, cycle 3")
    parser.add_argument("--naive-limit", type=int, default=5000, help="largest naive run (0: none)")
    parser.add_argument("--concurrency", type=int, default=4, help="keys polled at once")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp dir")
    parser.add_argument("--profile", action="store_true", help="cProfile the steady cycle")
    parser.add_argument(
        "--trace-memory",
        type=int,
        default=0,
        metavar="FRAMES",
        help="tracemalloc in the watcher process: what each cycle allocates (slows it down)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="floor and steady: best of N")
    parser.add_argument(
        "--replicas", default="1,2,3", help="replica counts to time (PostgreSQL only)"
    )
    parser.add_argument(
        "--replica-keys",
        type=int,
        default=12,
        help="keys the replica rounds share (the size's deployments split between them)",
    )
    parser.add_argument("--latency-changes", type=int, default=40, help="0: no latency run")
    parser.add_argument("--latency-interval", type=float, default=5.0, help="poll interval, s")
    parser.add_argument("--latency-spacing", type=float, default=1.0, help="s between changes")
    parser.add_argument(
        "--latency-max", type=int, default=30_000, help="measure latency up to this size"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    print(
        f"watcher_scale: python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.2f}"
    )
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        rows = asyncio.run(run_size(args, size))
        report(size, rows)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
