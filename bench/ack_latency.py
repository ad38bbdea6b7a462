"""Ack latency of ``/deploy``: deploybot against a bare Bolt app that only calls ``ack()``.

N signed slash commands at concurrency C are POSTed over real HTTP (an aiohttp client) to

* **deploybot**, split the way it is deployed (``deploybot serve`` + ``deploybot worker``), in
  three processes (:mod:`bench.procs`): the web process, ``build_web_app(bot, worker=False)``,
  which only checks signatures, acks and writes jobs — the process measured; a worker process,
  ``build_worker_app(bot)``, running the jobs on the same SQLite file (or, with
  ``--postgres``, a scratch PostgreSQL database); and the sandboxes with the fake Slack Web
  API, so no provider or Slack work shares the web process's event loop;
* **bare**: ``AsyncApp(signing_secret=…, client=AsyncWebClient(…))`` whose ``/deploy``
  listener only does ``await ack()``, in a process of its own with a fake Slack for its
  ``auth.test``;

both served by ``aiohttp.web.AppRunner`` + ``TCPSite("127.0.0.1", 0)``, in the same run, by
the same client code, which runs in this process.

**Placement** (``--placement``). A deployment runs its web and worker replicas apart (that is
what the split is for), but here every process shares this machine's CPUs, and while the timed
``/deploy list`` requests run deploybot's worker wants a whole CPU (a ``list`` job costs it
about 20 times what the ack costs the web process). ``pinned`` (the default, on a machine with
2 CPUs or more) gives each measured server — deploybot's web process and the bare app alike —
the first CPU to itself, and puts this client, deploybot's worker and its sandboxes on the
others, the worker and the sandboxes at the lowest priority (nice 19) so the client is never
short of CPU for either target. ``shared`` lets the scheduler place every process, as equals.

Each scenario (``--text``, then ``--also-text``) runs ``--rounds`` rounds; a round runs both
targets one after the other (ABBA order across rounds), each with ``--warmup`` untimed
requests first. Every figure reported is the median of that figure over the rounds. After every
run the bench waits until the worker has run every job (``JobStore.busy() == 0``, bounded by
``--drain-timeout``), so one run's jobs never compete with the next run. For job-writing
commands it also prints where the ack's time went in the web process (``JobQueue.put`` and the
group commits of ``JobStore.enqueue``) and the SQL each process sent per request.

    .venv/bin/python bench/ack_latency.py
    .venv/bin/python bench/ack_latency.py --concurrency 50 --requests 3000
    .venv/bin/python bench/ack_latency.py --also-text "" --profile   # server-side cProfile
    .venv/bin/python bench/ack_latency.py --text list --also-text "" --hold-jobs
    .venv/bin/python bench/ack_latency.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.procs import (  # noqa: E402
    CHANNEL,
    MEMBER,
    TEAM,
    Child,
    database,
    quiet_logging,
    run_loop,
)

TARGETS = ("deploybot", "bare")
PLACEMENTS = ("pinned", "shared")
#: The nice value of deploybot's worker and sandboxes when placement is pinned.
BACKGROUND_NICE = 19
#: Targets printed next to the figures (the p99 one applies at concurrency 50).
MIN_THROUGHPUT_RATIO = 0.9
MAX_P99_MS = 50.0
TARGET_CONCURRENCY = 50
#: In an ack: deploybot could not write the job in time (handlers.common.DATABASE_DOWN).
DATABASE_DOWN = b"reach its database"
#: Upper bound for one request (a stuck server must not hang the benchmark).
REQUEST_TIMEOUT = 30.0


# -- targets --------------------------------------------------------------------------------


class Target:
    """One target: the URL to POST to, and the measurements of its serving process."""

    name: str
    url: str
    secret: str
    #: The port response URLs point at (deploybot posts its answers there).
    slack_port: int
    #: The process that serves the requests (measured: CPU, GC, profile).
    server: Child

    async def begin(self, profile: bool) -> None:
        await self.server.call("begin", profile)

    async def end(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.server.call("end")
        return result

    async def drain(self, timeout: float) -> dict[str, Any]:
        return {"drained": True, "seconds": 0.0, "busy": 0, "failures": 0}

    async def slack_calls(self) -> dict[str, int]:
        return {}

    async def clear_calls(self) -> None:
        return None

    async def profile_report(self, limit: int) -> dict[str, str]:
        reports = await self.server.call("profile_report", limit)
        return {f"{self.name} ({self.server.name}) by {k}": v for k, v in reports.items()}

    async def aclose(self) -> None:
        await self.server.aclose()


class BareTarget(Target):
    """A Bolt app whose listener only acks, with a fake Slack of its own, in one process."""

    def __init__(self, secret: str, **options: Any) -> None:
        self.name, self.secret = "bare", secret
        self.server = Child("bare", "ackbench-bare", secret=secret, **options)

    async def start(self) -> BareTarget:
        await self.server.start()
        self.url = self.server.info["url"]
        self.slack_port = 1  # never called: the bare app posts nothing to response URLs
        return self


class SplitTarget(Target):
    """deploybot as deployed with #12's split: a web process (``build_web_app(bot,
    worker=False)``: acks and enqueues), a worker process on the same SQLite database, and the
    sandboxes with the fake Slack in a third process."""

    def __init__(
        self,
        secret: str,
        *,
        process_before_response: bool = False,
        hold_jobs: bool = False,
        postgres: str | None = None,
    ) -> None:
        self.name, self.secret = "deploybot", secret
        self.hold_jobs = hold_jobs
        self.postgres = postgres
        self.tmp = tempfile.TemporaryDirectory(prefix="ackbench-")
        self.stack = contextlib.AsyncExitStack()
        self.options: dict[str, Any] = {
            "data_dir": self.tmp.name,
            "secret": secret,
            "process_before_response": process_before_response,
        }
        self.fakes = Child("fakes", "ackbench-fakes")
        self.children = [self.fakes]
        self._web_sql: dict[str, int] = {}

    async def start(self) -> SplitTarget:
        self.options["db_url"] = await self.stack.enter_async_context(
            database(self.tmp.name, self.postgres)
        )
        await self.fakes.start()
        self.slack_port = self.fakes.info["slack_port"]
        self.server = Child("web", "ackbench-web", fakes=self.fakes.info, **self.options)
        self.children.append(self.server)
        await self.server.start()
        self.url = self.server.info["url"]
        self.worker = Child("worker", "ackbench-worker", fakes=self.fakes.info, **self.options)
        self.children.append(self.worker)
        await self.worker.start()
        return self

    async def begin(self, profile: bool) -> None:
        if self.hold_jobs:
            await self.worker.call("pause")
        await self.server.call("enqueue_stats")  # forget the warmup's
        for child in (self.server, self.worker):
            await child.call("statements")
        await super().begin(profile)

    async def end(self) -> dict[str, Any]:
        measured = await super().end()
        measured["enqueue"] = await self.server.call("enqueue_stats")
        self._web_sql = await self.server.call("statements")
        if self.hold_jobs:
            await self.worker.call("unpause")
        return measured

    async def drain(self, timeout: float) -> dict[str, Any]:
        """Wait until the worker has run every job the timed requests wrote (bounded)."""
        result: dict[str, Any] = await self.server.call("wait_jobs", timeout, timeout=timeout + 30)
        result["failures"] = (await self.worker.call("jobs_done"))["failed"]
        # the SQL of the timed requests' acks, and of their jobs (polled from the web process)
        result["sql"] = {
            "web": self._web_sql,
            "worker": await self.worker.call("statements"),
        }
        return result

    async def slack_calls(self) -> dict[str, int]:
        calls: dict[str, int] = await self.fakes.call("slack_calls")
        return calls

    async def clear_calls(self) -> None:
        await self.fakes.call("clear_calls")

    async def worker_cpu(self) -> float:
        seconds: float = await self.worker.call("cpu")
        return seconds

    async def aclose(self) -> None:
        for child in reversed(self.children):
            await child.aclose()
        await self.stack.aclose()
        self.tmp.cleanup()


@contextlib.asynccontextmanager
async def open_targets(**options: Any) -> AsyncIterator[dict[str, Target]]:
    """target → its processes, started together, stopped at the end whatever happens."""
    secret = secrets.token_hex(16)
    bare_options = {"process_before_response": options.get("process_before_response", False)}
    targets: dict[str, Target] = {
        "deploybot": SplitTarget(
            secret,
            hold_jobs=options.get("hold_jobs", False),
            postgres=options.get("postgres"),
            **bare_options,
        ),
        "bare": BareTarget(secret, gc_freeze=options.get("gc_freeze", False), **bare_options),
    }
    try:
        await asyncio.gather(*(t.start() for t in targets.values()))  # type: ignore[attr-defined]
        yield targets
    finally:
        for target in targets.values():
            await target.aclose()


# -- client ----------------------------------------------------------------------------------


@dataclass
class Run:
    """One target's timed run in one round."""

    target: str
    requests: int
    concurrency: int
    seconds: float
    latencies: list[float]
    statuses: Counter[str]
    sample: str = ""
    drain: dict[str, Any] = field(default_factory=dict)
    #: CPU seconds the server process (and this one) used during the timed requests.
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    #: deploybot's worker process, from the timed requests until their jobs were drained.
    worker_cpu: float = 0.0
    #: deploybot's web process: seconds of each JobQueue.put, (seconds, rows) of each commit.
    enqueue: dict[str, Any] = field(default_factory=dict)
    #: Server-side GC during the timed requests: generation → (count, longest, total seconds).
    gc: dict[int, tuple[int, float, float]] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile, in milliseconds."""
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(q / 100 * len(ordered)))
        return ordered[rank - 1] * 1000

    @property
    def max_ms(self) -> float:
        return max(self.latencies) * 1000


def build_requests(
    count: int, *, secret: str, text: str, slack_port: int
) -> list[tuple[bytes, dict[str, str]]]:
    """Signed ``/deploy`` bodies (signed now: Slack's signatures are valid for 5 minutes)."""
    from bot.slack_local import payloads
    from bot.slack_local.fake_api import FakeSlackAPI

    slack = FakeSlackAPI(port=slack_port)  # never started: only builds response URLs
    built = []
    for _ in range(count):
        request = payloads.slash_command(
            secret=secret,
            text=text,
            response_url=slack.response_url(),
            team_id=TEAM,
            user_id=MEMBER,
            channel_id=CHANNEL,
        )
        built.append((request.body.encode(), request.headers))
    return built


async def fire(
    session: aiohttp.ClientSession,
    url: str,
    requests: list[tuple[bytes, dict[str, str]]],
    concurrency: int,
) -> tuple[float, list[float], Counter[str], str]:
    """POST every request, ``concurrency`` at a time; (wall seconds, latencies, statuses, body)."""
    latencies = [0.0] * len(requests)
    statuses: Counter[str] = Counter()
    sample: list[str] = []
    indexes = iter(range(len(requests)))

    async def worker() -> None:
        for i in indexes:  # one shared iterator: each request is sent once
            body, headers = requests[i]
            started = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    raw = await response.read()
                    status = str(response.status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raw, status = b"", type(exc).__name__
            if DATABASE_DOWN in raw:  # the job could not be written within its budget
                status += "(db-down)"
            latencies[i] = time.perf_counter() - started
            statuses[status] += 1
            if not sample:
                sample.append(raw[:200].decode(errors="replace"))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(requests))))))
    return time.perf_counter() - started, latencies, statuses, sample[0] if sample else ""


async def run_target(
    target: Target,
    *,
    text: str,
    requests: int,
    concurrency: int,
    warmup: int,
    drain_timeout: float,
    profile: bool,
) -> Run:
    """Warm up (untimed, then drained), time ``requests``, drain the work they started."""
    built = build_requests(
        warmup + requests, secret=target.secret, text=text, slack_port=target.slack_port
    )
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        if warmup:
            await fire(session, target.url, built[:warmup], concurrency)
            await target.drain(drain_timeout)
        worker_cpu = await target.worker_cpu() if isinstance(target, SplitTarget) else 0.0
        await target.begin(profile)
        client_cpu = time.process_time()
        try:
            seconds, latencies, statuses, sample = await fire(
                session, target.url, built[warmup:], concurrency
            )
        finally:
            client_cpu = time.process_time() - client_cpu
            measured = await target.end()
    drained = await target.drain(drain_timeout)
    if isinstance(target, SplitTarget):
        worker_cpu = await target.worker_cpu() - worker_cpu
    return Run(
        target.name,
        requests,
        concurrency,
        seconds,
        latencies,
        statuses,
        sample,
        drained,
        server_cpu=measured["cpu"],
        client_cpu=client_cpu,
        worker_cpu=worker_cpu,
        gc=measured["gc"],
        enqueue=measured.get("enqueue") or {},
    )


# -- report ----------------------------------------------------------------------------------


@dataclass
class Summary:
    """One target over all rounds: every figure is the median of that figure over the rounds."""

    runs: list[Run]

    def median(self, figure: Callable[[Run], float]) -> float:
        return statistics.median(figure(run) for run in self.runs)

    @property
    def throughput(self) -> float:
        return self.median(lambda r: r.throughput)

    def percentile(self, q: float) -> float:
        return self.median(lambda r: r.percentile(q))

    @property
    def statuses(self) -> Counter[str]:
        return sum((run.statuses for run in self.runs), Counter())

    def gc(self) -> str:
        """Server GC over all rounds' timed requests."""
        counts: Counter[int] = Counter()
        longest = 0.0
        for run in self.runs:
            for generation, (count, pause, _) in run.gc.items():
                counts[generation] += count
                longest = max(longest, pause)
        if not counts:
            return "no collections"
        listed = " ".join(f"gen{g}×{counts[g]}" for g in sorted(counts))
        return f"{listed}, longest pause {longest * 1000:.1f} ms"


def enqueue_line(runs: list[Run]) -> str:
    """Where a job-writing ack's time goes: the enqueue it waits for, and the group commits."""
    puts = sorted(p for run in runs for p in run.enqueue.get("puts", []))
    commits = [tuple(c) for run in runs for c in run.enqueue.get("commits", [])]
    if not puts:
        return ""

    def pct(values: list[float], q: float) -> float:
        return values[max(1, math.ceil(q / 100 * len(values))) - 1] * 1000

    seconds = sorted(c[0] for c in commits)
    rows = sum(c[1] for c in commits)
    return (
        f"enqueue (all rounds): JobQueue.put p50 {pct(puts, 50):.1f} ms, p99 "
        f"{pct(puts, 99):.1f} ms; {len(commits)} group commits of {rows / len(commits):.1f} "
        f"rows on average, each p50 {pct(seconds, 50):.1f} ms, p99 {pct(seconds, 99):.1f} ms, "
        f"max {seconds[-1] * 1000:.1f} ms"
        if commits
        else f"enqueue: JobQueue.put p50 {pct(puts, 50):.1f} ms"
    )


def sql_line(runs: list[Run], process: str) -> str:
    """deploybot's SQL per timed request, by verb, in one of its processes (all rounds)."""
    counts: Counter[str] = Counter()
    for run in runs:
        counts.update(run.drain.get("sql", {}).get(process, {}))
    requests = sum(run.requests for run in runs)
    if not counts or not requests:
        return ""
    listed = ", ".join(f"{verb} {n / requests:.2f}" for verb, n in counts.most_common())
    return f"{process} SQL per request (timed requests and their jobs): {listed}"


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_table(title: str, results: dict[str, list[Run]], out: Callable[[str], None]) -> None:
    rounds = len(next(iter(results.values())))
    out(f"{title}  (each figure: the median of {rounds} rounds; statuses: all rounds)")
    out(
        f"  {'target':<10} {'requests':>8} {'conc':>5} {'p50 ms':>8} {'p90 ms':>8} "
        f"{'p99 ms':>8} {'max ms':>8} {'req/s':>8} {'srv CPU':>8}  statuses"
    )
    summaries = {target: Summary(runs) for target, runs in results.items()}
    for target, summary in summaries.items():
        first = summary.runs[0]
        statuses = " ".join(f"{k}×{v}" for k, v in sorted(summary.statuses.items()))
        busy = summary.median(lambda r: r.server_cpu / r.seconds)
        out(
            f"  {target:<10} {first.requests:>8} {first.concurrency:>5} "
            f"{summary.percentile(50):>8.1f} {summary.percentile(90):>8.1f} "
            f"{summary.percentile(99):>8.1f} {summary.median(lambda r: r.max_ms):>8.1f} "
            f"{summary.throughput:>8.0f} {busy:>8.0%}  {statuses}"
        )
    for target, summary in summaries.items():
        each = ", ".join(
            f"{r.throughput:.0f} req/s p99 {r.percentile(99):.1f}" for r in summary.runs
        )
        cpu = f"server CPU {summary.median(lambda r: r.server_cpu / r.requests) * 1000:.2f} ms/req"
        client = summary.median(lambda r: r.client_cpu / r.requests)
        cpu += f", client {client * 1000:.2f} ms/req"
        if target == "deploybot":
            worker = summary.median(lambda r: r.worker_cpu / r.requests)
            cpu += f", worker {worker * 1000:.2f} ms/req"
        out(f"  {target:<10} rounds: {each}")
        out(f"  {'':<10} {cpu}; server GC: {summary.gc()}")
        out(f"  {'':<10} ack body: {summary.runs[0].sample[:100]!r}")
        enqueue = enqueue_line(summary.runs)
        if enqueue:
            out(f"  {'':<10} {enqueue}")
        for process in ("web", "worker"):
            sql = sql_line(summary.runs, process)
            if sql:
                out(f"  {'':<10} {sql}")
    bot_runs = results.get("deploybot", [])
    if bot_runs and any(r.drain.get("seconds", 0.0) > 0.05 for r in bot_runs):
        slowest = max(r.drain.get("seconds", 0.0) for r in bot_runs)
        undrained = sum(not r.drain.get("drained", True) for r in bot_runs)
        failures = bot_runs[-1].drain.get("failures", 0)
        out(
            f"  deploybot's worker finished the timed requests' jobs up to {slowest:.1f} s after "
            f"the last ack (runs not drained in time: {undrained}, failed jobs {failures})"
        )
    bot, bare = summaries.get("deploybot"), summaries.get("bare")
    if bot is None or bare is None:
        return
    tput_ratio = bot.throughput / bare.throughput if bare.throughput else float("nan")
    p99 = bot.percentile(99)
    p99_ratio = p99 / bare.percentile(99) if bare.percentile(99) else float("nan")
    out(
        f"  deploybot/bare: throughput {tput_ratio:.2f}×  "
        f"(target ≥ {MIN_THROUGHPUT_RATIO:.1f}×: {verdict(tput_ratio >= MIN_THROUGHPUT_RATIO)}), "
        f"p99 {p99_ratio:.2f}×"
    )
    bot_cpu = bot.median(lambda r: r.server_cpu / r.requests)
    bare_cpu = bare.median(lambda r: r.server_cpu / r.requests)
    if bot_cpu > 0:
        out(
            f"  deploybot/bare if each server had a CPU to itself (bare's CPU per request ÷ "
            f"deploybot's): {bare_cpu / bot_cpu:.2f}×"
        )
    concurrency = bot.runs[0].concurrency
    scope = "" if concurrency == TARGET_CONCURRENCY else f" (this run used C={concurrency})"
    out(
        f"  deploybot p99 {p99:.1f} ms  (target ≤ {MAX_P99_MS:.0f} ms at "
        f"C={TARGET_CONCURRENCY}: {verdict(p99 <= MAX_P99_MS)}){scope}"
    )


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on Linux/macOS
        return "n/a"


def place(targets: dict[str, Target], placement: str) -> str:
    """Pin the processes as ``placement`` says (see the module doc); what was done, in words."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if placement == "shared" or len(cpus) < 2:
        return "every process placed by the scheduler"
    server, rest = {cpus[0]}, set(cpus[1:])
    split = targets["deploybot"]
    assert isinstance(split, SplitTarget)
    for child, where, nice in (
        *((target.server, server, 0) for target in targets.values()),
        (split.worker, rest, BACKGROUND_NICE),
        (split.fakes, rest, BACKGROUND_NICE),
    ):
        pid = child.process.pid
        if pid is None:  # (never: every child has started)
            raise RuntimeError(f"{child.name} has no process to place")
        os.sched_setaffinity(pid, where)
        if nice:
            os.setpriority(os.PRIO_PROCESS, pid, nice)
    os.sched_setaffinity(0, rest)  # this process: the client
    others = ",".join(map(str, sorted(rest)))
    return (
        f"each server on CPU {cpus[0]} alone; the client, and deploybot's worker and sandboxes "
        f"(nice {BACKGROUND_NICE}), on CPU {others}"
    )


async def benchmark(args: argparse.Namespace) -> int:
    out = print
    scenarios = [(args.text, args.requests)] + [
        (text, min(args.also_requests, args.requests))
        for text in dict.fromkeys(args.also_text)
        if text and text != args.text
    ]
    loop_name = type(asyncio.get_running_loop()).__module__.split(".")[0]
    out(
        f"/deploy ack latency: concurrency {args.concurrency}, warmup {args.warmup}, "
        f"{args.rounds} rounds per target, alternating (ABBA)"
    )
    notes = [
        f"python {platform.python_version()} ({loop_name} loop)",
        f"{os.cpu_count()} CPUs, load average {load_average()}",
        "deploybot: web + worker + sandboxes/fake Slack processes; bare: one process",
    ]
    if args.process_before_response:
        notes.append("EXPERIMENT process_before_response=True (both apps)")
    if args.gc_freeze:
        notes.append("EXPERIMENT gc.freeze() after startup")
    if args.profile:
        notes.append("PROFILING ON (figures distorted)")
    out(", ".join(notes))
    started = time.perf_counter()
    if args.hold_jobs:
        notes.append("EXPERIMENT the worker claims nothing during the timed requests")
    notes.append("deploybot on PostgreSQL" if args.postgres else "deploybot on SQLite")
    options = {
        "process_before_response": args.process_before_response,
        "gc_freeze": args.gc_freeze,
        "hold_jobs": args.hold_jobs,
        "postgres": args.postgres,
    }
    async with open_targets(**options) as targets:
        bot = targets["deploybot"]
        out(f"placement {args.placement}: {place(targets, args.placement)}")
        for number, (text, requests) in enumerate(scenarios, 1):
            results: dict[str, list[Run]] = {target: [] for target in TARGETS}
            await bot.clear_calls()
            for round_no in range(args.rounds):
                order = TARGETS if round_no % 2 == 0 else TARGETS[::-1]
                for name in order:
                    run = await run_target(
                        targets[name],
                        text=text,
                        requests=requests,
                        concurrency=args.concurrency,
                        warmup=args.warmup,
                        drain_timeout=args.drain_timeout,
                        profile=args.profile and number == 1,
                    )
                    results[name].append(run)
            out("")
            print_table(f"[{number}] /deploy {text}", results, out)
            calls = await bot.slack_calls()
            if calls:
                seen = ", ".join(f"{k}×{v}" for k, v in sorted(calls.items()))
                out(f"  deploybot's fake Slack received (warmup included): {seen}")
        if args.profile:
            reports: dict[str, str] = {}
            for target in targets.values():
                reports.update(await target.profile_report(args.profile_lines))
            for name, report in reports.items():
                out("")
                out(f"== server-side cProfile, /deploy {scenarios[0][0]}: {name} ==")
                out(report.rstrip())
    out("")
    out(f"total {time.perf_counter() - started:.1f} s, load average {load_average()}")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--requests", "-n", type=int, default=2000, help="timed requests per run")
    parser.add_argument("--concurrency", "-c", type=int, default=50, help="requests in flight")
    parser.add_argument("--text", default="help", help="the command text of the first scenario")
    parser.add_argument(
        "--also-text",
        action="append",
        default=argparse.SUPPRESS,
        metavar="TEXT",
        help="a further scenario, with its own table (repeatable; default: list; '' for none)",
    )
    parser.add_argument(
        "--also-requests",
        type=int,
        default=500,
        help="timed requests per run in the further scenarios (at most --requests): their "
        "background work is drained after every run, which takes far longer than the acks",
    )
    parser.add_argument("--warmup", type=int, default=100, help="untimed requests per run")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per target")
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=90.0,
        help="seconds to wait for the worker to finish a run's jobs before the next run",
    )
    parser.add_argument(
        "--process-before-response",
        action="store_true",
        help="experiment: both apps with Bolt's process_before_response=True",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="experiment: gc.freeze() in the bare app's process once it is built (deploybot's "
        "processes always do)",
    )
    parser.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        help="run deploybot on a scratch PostgreSQL database (created through this admin URL, "
        "e.g. postgresql://postgres@127.0.0.1:5432/postgres, dropped at the end) instead of "
        "SQLite",
    )
    parser.add_argument(
        "--placement",
        choices=PLACEMENTS,
        default="pinned",
        help="pinned: each server with a CPU to itself; shared: the scheduler places every "
        "process (see the module doc)",
    )
    parser.add_argument(
        "--hold-jobs",
        action="store_true",
        help="experiment: deploybot's worker claims nothing during the timed requests (runs "
        "their jobs after): the acks without the worker's SQLite writes next to them",
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the servers during the first scenario"
    )
    parser.add_argument("--profile-lines", type=int, default=30, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.also_text = getattr(args, "also_text", ["list"])
    if min(args.requests, args.concurrency, args.rounds, args.also_requests) < 1:
        parser.error("--requests, --also-requests, --concurrency and --rounds must be ≥ 1")
    if args.warmup < 0:
        parser.error("--warmup must be ≥ 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_logging()
    return run_loop(benchmark(args))


if __name__ == "__main__":
    sys.exit(main())
