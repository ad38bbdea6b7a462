"""Answer latency under sustained load: from a ``/deploy`` command (or a button click) to its
answer, with deploybot split into a web process and worker processes.

Processes, all on 127.0.0.1 (see :mod:`bench.procs`):

* **fakes** — the three sandboxes and the fake Slack Web API (which notes when each
  response-URL post arrives);
* **web** — ``build_web_app(bot, worker=False)``, what ``deploybot serve`` runs: acks and
  writes jobs, nothing else;
* **worker** ×1, then ×2 — ``build_worker_app(bot)``, what ``deploybot worker`` runs, on the
  same SQLite database; a worker learns of new jobs by polling (``--job-poll``, default the
  setting's 0.25 s), never by a wake-up from the web process;
* this process: the client. It sends a fixed-rate, open-loop mix of signed requests
  (``--mix``: ``list``, ``show <id>``, ``help`` and clicks on a card's Logs button, each click
  on a message of its own) for ``--duration`` seconds per rate, then waits (``--settle``) for
  the answers.

The answer of a request is the first post to its response URL, timed from just before the
request was sent to the fake Slack's arrival time (``time.monotonic()``: one clock for every
process on Linux). ``help`` is answered in the ack itself, so its answer time is the ack's.
A request with no answer by the end of ``--settle`` counts as infinitely late.

Per rate (``--rates``, default 10, 50, 100 commands/s) it prints ack p50/p99, answer
p50/p99/max, the unanswered, each process's CPU use and how busy the whole machine was; then,
per number of workers, the highest rate whose answer p99 stayed ≤ ``--target`` (2 s), refined
by ``--refine`` bisection steps between the highest passing and the lowest failing rate.

    .venv/bin/python bench/answer_latency.py
    .venv/bin/python bench/answer_latency.py --rates 10,50,100,150 --duration 20 --workers 1,2,3
    .venv/bin/python bench/answer_latency.py --mix list=1 --job-poll 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import re
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
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

#: Kinds of request in the mix (``--mix``): what each sends.
KINDS = ("list", "show", "help", "logs")
DEFAULT_MIX = "list=3,show=3,help=2,logs=2"
#: Target printed with the figures: answer p99 at most this many seconds.
TARGET_P99 = 2.0
REQUEST_TIMEOUT = 30.0
#: In an ack: deploybot could not write the job in time (handlers.common.DATABASE_DOWN).
DATABASE_DOWN = b"reach its database"
#: ``*name*  `id` · Provider ·`` in a ``/deploy list`` answer.
LIST_LINE = re.compile(r"(:[a-z_]+:) ([a-z]+)\s+\*[^*]*\*\s+`([^`]+)` · (Nosana|Akash|NeuraNET) ·")


# -- pure helpers (unit-tested) ---------------------------------------------------------------


def parse_mix(text: str) -> dict[str, int]:
    """``list=3,show=3,help=2,logs=2`` → weights; unknown kinds and bad weights are errors."""
    mix: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, _, weight = part.partition("=")
        kind = kind.strip()
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
        try:
            value = int(weight) if weight.strip() else 1
        except ValueError:
            raise ValueError(f"bad weight {weight!r} for {kind}") from None
        if value < 0:
            raise ValueError(f"bad weight {weight!r} for {kind}")
        if value:
            mix[kind] = mix.get(kind, 0) + value
    if not mix:
        raise ValueError("the mix is empty")
    return mix


def schedule(mix: dict[str, int], count: int, seed: int = 12) -> list[str]:
    """``count`` kinds in the mix's proportions (whole rounds of the weights, shuffled per
    round so the kinds interleave), reproducible from ``seed``."""
    rng = random.Random(seed)
    block = [kind for kind, weight in mix.items() for _ in range(weight)]
    kinds: list[str] = []
    while len(kinds) < count:
        round_ = block[:]
        rng.shuffle(round_)
        kinds.extend(round_)
    return kinds[:count]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``inf`` stands for "never answered")."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def highest_passing(p99s: dict[float, float], target: float) -> float | None:
    """The highest rate whose p99 met ``target`` (None when none did)."""
    passing = [rate for rate, p99 in p99s.items() if p99 <= target]
    return max(passing) if passing else None


def next_probe(p99s: dict[float, float], target: float, *, resolution: float = 2.0) -> float | None:
    """Bisect between the highest passing rate and the lowest failing rate above it; None when
    there is no such pair or the gap is already within ``resolution`` commands/s."""
    best = highest_passing(p99s, target)
    if best is None:
        return None
    failing = [rate for rate, p99 in p99s.items() if p99 > target and rate > best]
    if not failing:
        return None
    low_fail = min(failing)
    if low_fail - best <= resolution:
        return None
    return float(round((best + low_fail) / 2))


def deployments_of(list_answer: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(provider, id, status) of every deployment in a ``/deploy list`` answer."""
    text = "\n".join(
        str((block.get("text") or {}).get("text") or "")
        for block in list_answer.get("blocks") or []
        if isinstance(block, dict)
    )
    providers = {"Nosana": "nosana", "Akash": "akash", "NeuraNET": "neuranet"}
    return [
        (providers[provider], dep_id, status)
        for _, status, dep_id, provider in LIST_LINE.findall(text)
    ]


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs from ``/proc/stat`` ((0, 0) where there is none)."""
    try:
        with open("/proc/stat") as stat:
            fields = [float(x) for x in stat.readline().split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return sum(fields) - idle, sum(fields)


# -- the processes ----------------------------------------------------------------------------


class Cluster:
    """fakes + web + workers, started in that order; workers can be added between rates."""

    def __init__(
        self, *, job_poll: float | None, slots: int | None, postgres: str | None = None
    ) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="answerbench-")
        self.stack = contextlib.AsyncExitStack()
        self.postgres = postgres
        self.secret = secrets.token_hex(16)
        self.options: dict[str, Any] = {
            "data_dir": self.tmp.name,
            "secret": self.secret,
            "poll": job_poll,
            "slots": slots,
        }
        self.fakes = Child("fakes", "answerbench-fakes")
        self.web: Child | None = None
        self.workers: list[Child] = []
        #: Jobs claimed more than once so far (a worker lost its lease and another took over).
        self.taken_over = 0

    async def start(self) -> Cluster:
        self.options["db_url"] = await self.stack.enter_async_context(
            database(self.tmp.name, self.postgres)
        )
        await self.fakes.start()
        self.web = Child("web", "answerbench-web", fakes=self.fakes.info, **self.options)
        await self.web.start()
        return self

    async def add_worker(self) -> None:
        number = len(self.workers) + 1
        worker = Child(
            "worker", f"answerbench-worker{number}", fakes=self.fakes.info, **self.options
        )
        self.workers.append(worker)
        await worker.start()

    @property
    def url(self) -> str:
        assert self.web is not None
        return str(self.web.info["url"])

    @property
    def slack_port(self) -> int:
        return int(self.fakes.info["slack_port"])

    @property
    def measured(self) -> list[Child]:
        assert self.web is not None
        return [self.web, *self.workers, self.fakes]

    async def drain(self, timeout: float) -> dict[str, Any]:
        result: dict[str, Any] = await self.workers[0].call("drain", timeout, timeout=timeout + 30)
        return result

    async def aclose(self) -> None:
        for child in [*reversed(self.workers), *([self.web] if self.web else []), self.fakes]:
            await child.aclose()
        await self.stack.aclose()
        self.tmp.cleanup()


# -- the client -------------------------------------------------------------------------------


@dataclass
class Sent:
    kind: str
    key: str
    body: bytes
    headers: dict[str, str]
    sent: float = 0.0
    acked: float | None = None
    status: str = ""


@dataclass
class Targets:
    """What ``show`` and ``logs`` point at (found by a ``/deploy list`` at start-up)."""

    shown: list[str]
    logged: list[tuple[str, str]]


def build(
    kinds: list[str], targets: Targets, *, secret: str, slack_port: int, salt: str
) -> list[Sent]:
    from bot.slack_local import payloads

    built = []
    for i, kind in enumerate(kinds):
        key = f"{salt}{i:06d}"
        response_url = f"http://127.0.0.1:{slack_port}/webhook/{key}"
        if kind == "logs":
            provider, dep_id = targets.logged[i % len(targets.logged)]
            value = json.dumps({"p": provider, "d": dep_id, "op": "logs"})
            request = payloads.block_actions(
                secret=secret,
                action_id="deployment_logs",
                value=value,
                response_url=response_url,
                team_id=TEAM,
                user_id=MEMBER,
                channel_id=CHANNEL,
                message_ts=f"1700000000.{i:06d}",  # a message of its own: not a double click
            )
        else:
            text = f"show {targets.shown[i % len(targets.shown)]}" if kind == "show" else kind
            request = payloads.slash_command(
                secret=secret,
                text=text,
                response_url=response_url,
                team_id=TEAM,
                user_id=MEMBER,
                channel_id=CHANNEL,
            )
        built.append(Sent(kind, key, request.body.encode(), request.headers))
    return built


async def send(session: aiohttp.ClientSession, url: str, request: Sent) -> None:
    request.sent = time.monotonic()
    try:
        async with session.post(url, data=request.body, headers=request.headers) as response:
            raw = await response.read()
            request.status = str(response.status)
            if DATABASE_DOWN in raw:  # the job could not be written within its budget
                request.status += "(db-down)"
    except (aiohttp.ClientError, TimeoutError) as exc:
        request.status = type(exc).__name__
        return
    request.acked = time.monotonic()


async def fire_at_rate(
    session: aiohttp.ClientSession, url: str, requests: list[Sent], rate: float
) -> float:
    """Open loop: request i leaves at start + i / rate whatever the earlier ones are doing;
    returns the seconds it took to send them all."""
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.02
    tasks = []
    for i, request in enumerate(requests):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(loop.create_task(send(session, url, request)))
    await asyncio.gather(*tasks)
    return loop.time() - start


# -- one rate ---------------------------------------------------------------------------------


@dataclass
class RateRun:
    rate: float
    workers: int
    requests: list[Sent]
    send_seconds: float
    #: per request, seconds from sending to its answer (inf: none).
    answers: list[float]
    cpu: dict[str, float]
    window: float
    machine: float
    drained: dict[str, Any] = field(default_factory=dict)
    search: bool = False
    #: Response URLs posted to more than once (each request's work should answer once).
    repeated: int = 0
    #: In the workers: seconds of each claim, finish and job handler (by kind).
    timings: dict[str, list[float]] = field(default_factory=dict)

    @property
    def achieved(self) -> float:
        """The rate the requests actually left at (first to last)."""
        sent = [r.sent for r in self.requests if r.sent]
        span = max(sent) - min(sent) if len(sent) > 1 else 0.0
        return (len(sent) - 1) / span if span > 0 else math.nan

    @property
    def unanswered(self) -> int:
        return sum(math.isinf(a) for a in self.answers)

    def acks(self) -> list[float]:
        return [r.acked - r.sent for r in self.requests if r.acked is not None]

    def by_kind(self) -> dict[str, list[float]]:
        kinds: dict[str, list[float]] = {}
        for request, answer in zip(self.requests, self.answers, strict=True):
            kinds.setdefault(request.kind, []).append(answer)
        return kinds

    @property
    def p99(self) -> float:
        return percentile(self.answers, 99)


async def run_rate(
    cluster: Cluster,
    session: aiohttp.ClientSession,
    targets: Targets,
    *,
    rate: float,
    duration: float,
    mix: dict[str, int],
    settle: float,
    drain_timeout: float,
    seed: int,
) -> RateRun:
    count = max(1, round(rate * duration))
    requests = build(
        schedule(mix, count, seed),
        targets,
        secret=cluster.secret,
        slack_port=cluster.slack_port,
        salt=secrets.token_hex(4),
    )
    await cluster.fakes.call("clear_calls")
    cpu = {child.name: float(await child.call("cpu")) for child in cluster.measured}
    client_cpu, busy = time.process_time(), machine_busy()
    started = time.monotonic()
    send_seconds = await fire_at_rate(session, cluster.url, requests, rate)
    expected = sum(r.kind != "help" and r.status == "200" for r in requests)
    await cluster.fakes.call("wait_answered", expected, settle, timeout=settle + 30)
    window = time.monotonic() - started
    arrivals: dict[str, list[float]] = await cluster.fakes.call("take_arrivals")
    for child in cluster.measured:
        cpu[child.name] = float(await child.call("cpu")) - cpu[child.name]
    cpu["client"] = time.process_time() - client_cpu
    after = machine_busy()
    machine = (after[0] - busy[0]) / (after[1] - busy[1]) if after[1] > busy[1] else math.nan
    answers = []
    for request in requests:
        if request.kind == "help":
            answer = request.acked if request.status == "200" else None
        else:
            posted = arrivals.get(request.key)
            answer = min(posted) if posted else None
        answers.append(math.inf if answer is None else answer - request.sent)
    drained = await cluster.drain(drain_timeout)
    assert cluster.web is not None
    claimed: dict[int, int] = await cluster.web.call("attempts")
    drained["taken_over"] = sum(n for a, n in claimed.items() if a > 1) - cluster.taken_over
    cluster.taken_over += drained["taken_over"]
    timings: dict[str, list[float]] = {}
    peaks = []
    for worker in cluster.workers:
        found = await worker.call("job_timings")
        for what, seconds in found["timings"].items():
            timings.setdefault(what, []).extend(seconds)
        peaks.append(
            f"{found['running_peak']} jobs, {found['pool_peak']}/{found['pool_limit']} connections"
        )
    drained["peaks"] = peaks
    late: dict[str, list[float]] = await cluster.fakes.call("take_arrivals")
    repeated = sum(len(arrivals.get(k, [])) + len(late.get(k, [])) > 1 for k in arrivals)
    return RateRun(
        rate,
        len(cluster.workers),
        requests,
        send_seconds,
        answers,
        cpu,
        window,
        machine,
        drained,
        repeated=repeated,
        timings=timings,
    )


# -- report -----------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return "never" if math.isinf(seconds) else f"{seconds * 1000:.0f}"


def secs(seconds: float) -> str:
    return "never" if math.isinf(seconds) else f"{seconds:.2f}"


HEADER = (
    f"  {'rate/s':>7} {'sent':>5} {'sent/s':>6} {'ack p50':>8} {'ack p99':>8} "
    f"{'ans p50':>8} {'ans p99':>8} {'ans max':>8} {'unans':>5}  "
    "CPU % of one core (web, worker…, fakes, client); machine busy"
)


def row(run: RateRun, target: float) -> list[str]:
    acks = run.acks()
    statuses = Counter(r.status for r in run.requests)
    cpu = ", ".join(f"{v / run.window:.0%}" for v in run.cpu.values())
    ok = "PASS" if run.p99 <= target else "MISS"
    mark = " (search)" if run.search else ""
    lines = [
        f"  {run.rate:>7.0f} {len(run.requests):>5} {run.achieved:>6.1f} "
        f"{ms(percentile(acks, 50)) if acks else '-':>8} "
        f"{ms(percentile(acks, 99)) if acks else '-':>8} "
        f"{secs(percentile(run.answers, 50)):>8} {secs(run.p99):>8} "
        f"{secs(max(run.answers)):>8} {run.unanswered:>5}  "
        f"{cpu}; {run.machine:.0%}  {ok}{mark}"
    ]
    kinds = ", ".join(
        f"{kind} {secs(percentile(values, 50))}/{secs(percentile(values, 99))}"
        for kind, values in sorted(run.by_kind().items())
    )
    others = {k: v for k, v in statuses.items() if k != "200"}
    extra = f"; acks not 200/ok: {dict(others)}" if others else ""
    drain = run.drained
    lines.append(
        f"  {'':>7} answer p50/p99 s by kind: {kinds}{extra}; "
        f"jobs drained {drain.get('seconds', 0.0):.1f} s after, "
        f"failed jobs so far {drain.get('failures', 0)}, "
        f"jobs taken over {drain.get('taken_over', 0)}, answered twice {run.repeated}"
    )
    if run.timings:
        parts = []
        for what, seconds in sorted(run.timings.items()):
            parts.append(
                f"{what} ×{len(seconds)} {ms(percentile(seconds, 50))}/"
                f"{ms(percentile(seconds, 99))}"
            )
        lines.append(f"  {'':>7} in the workers, p50/p99 ms: {', '.join(parts)}")
    if drain.get("peaks"):
        lines.append(
            f"  {'':>7} at most, per worker: {'; '.join(drain['peaks'])} (of its pool) at once"
        )
    return lines


# -- main -------------------------------------------------------------------------------------


async def discover(cluster: Cluster, session: aiohttp.ClientSession) -> Targets:
    """One ``/deploy list`` through the whole system: what ``show`` and ``logs`` point at."""
    [request] = build(
        ["list"],
        Targets([], []),
        secret=cluster.secret,
        slack_port=cluster.slack_port,
        salt="discover",
    )
    await send(session, cluster.url, request)
    for _ in range(600):
        answers = await cluster.fakes.call("responses", request.key)
        if answers:
            break
        await asyncio.sleep(0.05)
    else:
        raise RuntimeError("deploybot never answered /deploy list (is the worker running?)")
    found = deployments_of(answers[-1])
    if not found:
        raise RuntimeError(f"no deployment in the /deploy list answer: {answers[-1]!r:.300}")
    running = [(p, d) for p, d, status in found if status == "running"]
    await cluster.fakes.call("clear_calls")
    return Targets([d for _, d, _ in found], running or [(p, d) for p, d, _ in found])


async def warm_up(
    cluster: Cluster, session: aiohttp.ClientSession, targets: Targets, args: argparse.Namespace
) -> None:
    if args.warmup <= 0:
        return
    requests = build(
        schedule(args.mix, args.warmup, args.seed + 1),
        targets,
        secret=cluster.secret,
        slack_port=cluster.slack_port,
        salt=secrets.token_hex(4),
    )
    await fire_at_rate(session, cluster.url, requests, max(10.0, args.warmup / 2))
    await cluster.drain(args.drain_timeout)
    await cluster.fakes.call("clear_calls")


async def sweep(
    cluster: Cluster,
    session: aiohttp.ClientSession,
    targets: Targets,
    args: argparse.Namespace,
    out: Callable[[str], None],
) -> float | None:
    """Every rate (then the bisection steps) with the workers running now; the best rate."""
    p99s: dict[float, float] = {}
    achieved: dict[float, float] = {}
    rates = list(args.rates)
    steps = 0
    while rates:
        rate = rates.pop(0)
        run = await run_rate(
            cluster,
            session,
            targets,
            rate=rate,
            duration=args.duration,
            mix=args.mix,
            settle=args.settle,
            drain_timeout=args.drain_timeout,
            seed=args.seed,
        )
        run.search = rate not in args.rates
        p99s[rate] = run.p99
        achieved[rate] = run.achieved
        for line in row(run, args.target):
            out(line)
        if not rates and steps < args.refine:
            probe = next_probe(p99s, args.target)
            if probe is not None and probe not in p99s:
                rates.append(probe)
                steps += 1
    best = highest_passing(p99s, args.target)
    tried = ", ".join(f"{r:g}" for r in sorted(p99s))
    verdict = (
        f"{best:g} commands/s (sent at {achieved[best]:.1f}/s)" if best is not None else "none"
    )
    out(
        f"  highest rate with answer p99 ≤ {args.target:g} s, {len(cluster.workers)} "
        f"worker(s): {verdict}  (rates tried: {tried})"
    )
    return best


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - not on Linux/macOS
        return "n/a"


async def benchmark(args: argparse.Namespace) -> int:
    out = print
    mix = ", ".join(f"{k}×{v}" for k, v in args.mix.items())
    out(
        f"answer latency: 1 web + {'/'.join(map(str, args.workers))} worker process(es), "
        f"sandboxes and fake Slack in a process of their own, "
        f"{'PostgreSQL' if args.postgres else 'SQLite'}; mix {mix}; "
        f"{args.duration:g} s per rate, open loop"
    )
    poll = f"{args.job_poll:g}" if args.job_poll is not None else "default (0.25)"
    out(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{load_average()}; job poll {poll} s; target answer p99 ≤ {args.target:g} s"
    )
    started = time.perf_counter()
    best: dict[int, float | None] = {}
    cluster = Cluster(job_poll=args.job_poll, slots=args.slots, postgres=args.postgres)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    try:
        await cluster.start()
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            targets: Targets | None = None
            for workers in sorted(args.workers):
                while len(cluster.workers) < workers:
                    await cluster.add_worker()
                if targets is None:
                    targets = await discover(cluster, session)
                    out(
                        f"show rotates over {len(targets.shown)} deployments, the Logs button "
                        f"over {len(targets.logged)} running ones"
                    )
                await warm_up(cluster, session, targets, args)
                out("")
                out(f"[{workers} worker process(es)]")
                out(HEADER)
                best[workers] = await sweep(cluster, session, targets, args, out)
    finally:
        await cluster.aclose()
    out("")
    for workers, rate in best.items():
        shown = f"{rate:g} commands/s" if rate is not None else "none of the rates tried"
        out(f"highest rate with answer p99 ≤ {args.target:g} s, {workers} worker(s): {shown}")
    out(f"total {time.perf_counter() - started:.1f} s, load average {load_average()}")
    return 0


def _numbers(text: str, kind: type[float] | type[int]) -> list[Any]:
    values = [kind(x) for x in text.split(",") if x.strip()]
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"expected positive numbers, got {text!r}")
    return values


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--rates", type=lambda t: _numbers(t, float), default=[10.0, 50.0, 100.0],
        help="commands/s to try, in order (comma-separated)",
    )  # fmt: skip
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per rate")
    parser.add_argument(
        "--workers", type=lambda t: _numbers(t, int), default=[1, 2],
        help="worker process counts to measure (comma-separated; added one by one)",
    )  # fmt: skip
    parser.add_argument("--mix", default=DEFAULT_MIX, help="kind=weight,… of list/show/help/logs")
    parser.add_argument(
        "--settle", type=float, default=30.0, help="seconds to wait for answers after sending"
    )
    parser.add_argument(
        "--refine", type=int, default=2, help="bisection steps to pin the highest passing rate"
    )
    parser.add_argument("--target", type=float, default=TARGET_P99, help="answer p99 target, s")
    parser.add_argument("--warmup", type=int, default=30, help="untimed requests per worker count")
    parser.add_argument(
        "--job-poll", type=float, default=None, help="DEPLOYBOT_JOB_POLL_SECONDS of the workers"
    )
    parser.add_argument("--slots", type=int, default=None, help="DEPLOYBOT_JOB_SLOTS per worker")
    parser.add_argument(
        "--drain-timeout", type=float, default=60.0, help="seconds to wait for jobs between rates"
    )
    parser.add_argument("--seed", type=int, default=12, help="seed of the shuffled mix")
    parser.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        help="a scratch PostgreSQL database (created through this admin URL, dropped at the "
        "end) instead of SQLite",
    )
    args = parser.parse_args(argv)
    try:
        args.mix = parse_mix(args.mix)
    except ValueError as exc:
        parser.error(str(exc))
    if args.duration <= 0 or args.settle < 0 or args.refine < 0:
        parser.error("--duration must be > 0, --settle and --refine ≥ 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quiet_logging()
    return run_loop(benchmark(args))


if __name__ == "__main__":
    sys.exit(main())
