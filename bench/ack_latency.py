"""Ack latency of ``/deploy``: deploybot against a bare Bolt app that only calls ``ack()``.

N signed slash commands at concurrency C are POSTed over real HTTP (an aiohttp client) to

* **deploybot**: the real app, built the way ``tests/e2e/harness.py`` builds it (sandbox
  emulators, fake Slack Web API, SQLite storage, ``build_bot`` + ``build_web_app``);
* **bare**: ``AsyncApp(signing_secret=…, client=AsyncWebClient(…))`` whose ``/deploy``
  listener only does ``await ack()``;

both served by ``aiohttp.web.AppRunner`` + ``TCPSite("127.0.0.1", 0)``, in the same run, by
the same client code. By default each target runs in a child process of its own (deploybot
with its fakes, the bare app with a fake Slack for ``auth.test``) and the client in this
one, so neither the client's CPU nor the other target's heap counts against a target;
``--in-process`` puts everything on one event loop instead.

Each scenario (``--text``, then ``--also-text``) runs ``--rounds`` rounds; a round runs both
targets one after the other (ABBA order across rounds), each with ``--warmup`` untimed
requests first. Every figure reported is the median of that figure over the rounds. After every
run deploybot's background work (``bot.work``) is drained, bounded by ``--drain-timeout``,
so work started by one run never competes with the next one.

    .venv/bin/python bench/ack_latency.py
    .venv/bin/python bench/ack_latency.py --concurrency 50 --requests 3000
    .venv/bin/python bench/ack_latency.py --also-text "" --profile   # server-side cProfile
    .venv/bin/python bench/ack_latency.py --gc-freeze                # try gc.freeze()
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import importlib
import importlib.util
import io
import logging
import math
import multiprocessing
import os
import platform
import pstats
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

TEAM = "T111"
ADMIN = "UADMIN"
MEMBER = "U111"
CHANNEL = "C111"
BOT_TOKEN = "xoxb-bench"
ENCRYPTION_KEY = "Zm9yLXRlc3RzLW9ubHktMzItYnl0ZXMtbG9uZy1rZXk="
T = TypeVar("T")
TARGETS = ("deploybot", "bare")
PATH = "/slack/events"
#: Targets printed next to the figures (the p99 one applies at concurrency 50).
MIN_THROUGHPUT_RATIO = 0.9
MAX_P99_MS = 50.0
TARGET_CONCURRENCY = 50
#: Upper bound for one request (a stuck server must not hang the benchmark).
REQUEST_TIMEOUT = 30.0


def quiet_logging() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(logging.WARNING)


def run_loop(coro: Coroutine[Any, Any, T]) -> T:
    """``uvloop.run`` when uvloop is installed (it is not a dependency), else ``asyncio.run``."""
    if importlib.util.find_spec("uvloop") is None:
        return asyncio.run(coro)
    uvloop: Any = importlib.import_module("uvloop")  # pragma: no cover - not in the dev venv
    result: T = uvloop.run(coro)
    return result


# -- servers ---------------------------------------------------------------------------------


class Servers:
    """Some of the targets (and the fakes they call), served on 127.0.0.1 by one event loop.

    deploybot comes with the sandboxes and a fake Slack; the bare app gets a fake Slack of its
    own (for its ``auth.test``). Besides serving, it measures itself between
    :meth:`begin` and :meth:`end`: process CPU time, GC pauses and (optionally) a cProfile.
    """

    def __init__(
        self,
        targets: tuple[str, ...] = TARGETS,
        *,
        process_before_response: bool = False,
        gc_freeze: bool = False,
    ) -> None:
        self.targets = targets
        self.process_before_response = process_before_response
        self.gc_freeze = gc_freeze
        self.stack = contextlib.AsyncExitStack()
        self.urls: dict[str, str] = {}
        self.secret = secrets.token_hex(16)
        self.slack: Any = None
        self.bot: Any = None
        self.profiles: dict[str, cProfile.Profile] = {}
        self._profiling: cProfile.Profile | None = None
        self._cpu = 0.0
        self._recording = False
        self._gc_started = 0.0
        self._gc_pauses: list[tuple[int, float]] = []

    async def start(self) -> Servers:
        try:
            await self._start()
        except BaseException:
            await self.stack.aclose()
            raise
        gc.callbacks.append(self._on_gc)
        self.stack.callback(gc.callbacks.remove, self._on_gc)
        if self.gc_freeze:
            gc.collect()
            gc.freeze()
        return self

    async def _start(self) -> None:
        from pydantic import SecretStr
        from slack_bolt.async_app import AsyncApp
        from slack_sdk.web.async_client import AsyncWebClient

        from bot.app import build_bot, web_client
        from bot.config import Settings
        from bot.providers.http import RetryPolicy
        from bot.runtime import open_storage
        from bot.server import build_web_app
        from bot.services.pool import ProviderPool
        from bot.slack_local.fake_api import FakeSlackAPI
        from sandbox.clock import ManualClock
        from sandbox.server import SandboxCluster

        slack = await self.stack.enter_async_context(FakeSlackAPI())
        slack.add_token(BOT_TOKEN, TEAM)
        slack.add_user(MEMBER, team_id=TEAM, name="ana")
        slack.add_user(ADMIN, team_id=TEAM, name="boss", is_admin=True)
        self.slack = slack
        if "bare" in self.targets:
            bare = AsyncApp(
                signing_secret=self.secret,
                client=AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url),
                process_before_response=self.process_before_response,
            )

            @bare.command("/deploy")
            async def deploy(ack: Any) -> None:
                await ack()

            self.urls["bare"] = await self._serve(bare.web_app(path=PATH))
        if "deploybot" not in self.targets:
            return
        tmp = Path(self.stack.enter_context(tempfile.TemporaryDirectory(prefix="ackbench-")))
        cluster = await self.stack.enter_async_context(SandboxCluster(ManualClock()))
        settings = Settings(
            NOSANA_API_URL=cluster.base_url("nosana"),
            AKASH_API_URL=cluster.base_url("akash"),
            NEURANET_API_URL=cluster.base_url("neuranet"),
            DATABASE_URL=SecretStr(f"sqlite:///{tmp}/deploybot.db"),
            DEPLOYBOT_DATA_DIR=tmp,
            DEPLOYBOT_ENCRYPTION_KEYS=SecretStr(ENCRYPTION_KEY),
            SLACK_API_URL=slack.base_url,
        )
        storage = await open_storage(settings)
        self.stack.push_async_callback(storage.aclose)  # idempotent after the app's shutdown
        for name in ("nosana", "akash", "neuranet"):
            await storage.keys.put(
                team_id=TEAM,
                provider=name,
                api_key=SecretStr(cluster.api(name).demo_api_key),
                connected_by=ADMIN,
            )
        pool = ProviderPool(
            settings,
            storage.keys,
            client_kwargs={
                "retry": RetryPolicy(base_delay=0.001, max_delay=0.01, max_retry_after=5.0)
            },
        )
        bot = build_bot(
            settings,
            storage,
            token=BOT_TOKEN,
            signing_secret=self.secret,
            client=web_client(settings, BOT_TOKEN),
            pool=pool,
            process_before_response=self.process_before_response,
        )
        self.bot = bot
        self.urls["deploybot"] = await self._serve(build_web_app(bot))

    async def _serve(self, app: web.Application) -> str:
        runner = web.AppRunner(app)
        await runner.setup()
        self.stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}{PATH}"

    @property
    def slack_port(self) -> int:
        return int(self.slack.port)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if not self._recording:
            return
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            pause = time.perf_counter() - self._gc_started
            self._gc_pauses.append((info["generation"], pause))

    def begin(self, target: str, profile: bool) -> None:
        """Start measuring a timed run."""
        self._gc_pauses.clear()
        self._recording = True
        if profile:
            self._profiling = self.profiles.setdefault(target, cProfile.Profile())
            self._profiling.enable()
        self._cpu = time.process_time()

    def end(self) -> dict[str, Any]:
        """Stop measuring: CPU seconds used (all threads: aiosqlite runs in one), GC pauses."""
        cpu = time.process_time() - self._cpu
        if self._profiling is not None:
            self._profiling.disable()
            self._profiling = None
        self._recording = False
        pauses: dict[int, list[float]] = {}
        for generation, seconds in self._gc_pauses:
            pauses.setdefault(generation, []).append(seconds)
        return {"cpu": cpu, "gc": {g: (len(p), max(p), sum(p)) for g, p in pauses.items()}}

    async def drain(self, target: str, timeout: float) -> dict[str, Any]:
        """Wait for deploybot's background work (bounded); cancel what is left after that."""
        if self.bot is None or target != "deploybot":
            return {"drained": True, "seconds": 0.0, "cancelled": 0, "failures": 0}
        work = self.bot.work
        started = time.perf_counter()
        drained = await work.drain(timeout)
        cancelled = 0
        if not drained:
            cancelled = work.pending
            await work.cancel_all()
        return {
            "drained": drained,
            "seconds": time.perf_counter() - started,
            "cancelled": cancelled,
            "failures": work.failures,
        }

    def slack_calls(self) -> dict[str, int]:
        return dict(Counter(call.method for call in self.slack.calls))

    def clear_calls(self) -> None:
        self.slack.clear()

    def profile_report(self, limit: int) -> dict[str, str]:
        reports = {}
        for target, profile in self.profiles.items():
            for order in ("tottime", "cumulative"):
                out = io.StringIO()
                stats = pstats.Stats(profile, stream=out)
                stats.sort_stats(order).print_stats(limit)
                reports[f"{target} by {order}"] = out.getvalue()
        return reports

    async def aclose(self) -> None:
        if self._profiling is not None:
            self._profiling.disable()
        await self.stack.aclose()


class Control:
    """Calls :class:`Servers` methods by name, in this process or in the child process."""

    urls: dict[str, str]
    secret: str
    slack_port: int

    async def call(self, name: str, *args: Any, timeout: float = 30.0) -> Any:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError


class LocalControl(Control):
    def __init__(self, servers: Servers) -> None:
        self.servers = servers
        self.urls = servers.urls
        self.secret = servers.secret
        self.slack_port = servers.slack_port

    async def call(self, name: str, *args: Any, timeout: float = 30.0) -> Any:
        result = getattr(self.servers, name)(*args)
        return await result if asyncio.iscoroutine(result) else result

    async def aclose(self) -> None:
        await self.servers.aclose()


def child_main(conn: Any, options: dict[str, Any]) -> None:
    """The server process: start the servers, then answer the parent's calls in order."""
    quiet_logging()
    run_loop(_child(conn, options))


async def _child(conn: Any, options: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    try:
        servers = await Servers(**options).start()
    except BaseException as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        raise
    control = LocalControl(servers)
    conn.send(("ready", (servers.urls, servers.secret, servers.slack_port)))
    try:
        while True:
            # A thread waits on the pipe so the event loop stays free to serve.
            if not await loop.run_in_executor(None, conn.poll, 1.0):
                continue
            name, args = conn.recv()
            if name == "stop":
                break
            try:
                conn.send(("ok", await control.call(name, *args)))
            except Exception as exc:
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
    except (EOFError, BrokenPipeError):
        pass
    finally:
        await servers.aclose()
        with contextlib.suppress(OSError):
            conn.send(("ok", None))


class ChildControl(Control):
    """Servers in a child process; a pipe carries one call at a time."""

    def __init__(self, options: dict[str, Any]) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(
            target=child_main,
            args=(child_conn, options),
            name=f"ackbench-{'-'.join(options.get('targets', TARGETS))}",
            daemon=True,
        )
        self.process.start()
        child_conn.close()

    async def start(self, timeout: float = 60.0) -> ChildControl:
        status, payload = await self._recv(timeout)
        if status != "ready":
            raise RuntimeError(f"server process failed to start: {payload}")
        self.urls, self.secret, self.slack_port = payload
        return self

    async def _recv(self, timeout: float) -> tuple[str, Any]:
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, self.conn.poll, timeout):
            raise TimeoutError(f"server process did not answer within {timeout:.0f} s")
        status, payload = self.conn.recv()
        return status, payload

    async def call(self, name: str, *args: Any, timeout: float = 30.0) -> Any:
        self.conn.send((name, args))
        status, payload = await self._recv(timeout)
        if status != "ok":
            raise RuntimeError(f"server process: {name} failed: {payload}")
        return payload

    async def aclose(self) -> None:
        try:
            if self.process.is_alive():
                self.conn.send(("stop", ()))
                with contextlib.suppress(TimeoutError, EOFError, OSError):
                    await self._recv(30.0)
        except OSError:
            pass
        finally:
            await asyncio.get_running_loop().run_in_executor(None, self.process.join, 10.0)
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(5.0)
            self.conn.close()


@contextlib.asynccontextmanager
async def open_servers(in_process: bool, **options: Any) -> AsyncIterator[dict[str, Control]]:
    """target → its servers: one process each (default), or both on this event loop."""
    if in_process:
        local = LocalControl(await Servers(TARGETS, **options).start())
        try:
            yield dict.fromkeys(TARGETS, local)
        finally:
            await local.aclose()
        return
    children = {t: ChildControl({"targets": (t,), **options}) for t in TARGETS}
    try:
        await asyncio.gather(*(child.start() for child in children.values()))
        yield dict(children)
    finally:
        for child in children.values():
            await child.aclose()


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
            latencies[i] = time.perf_counter() - started
            statuses[status] += 1
            if not sample:
                sample.append(raw[:200].decode(errors="replace"))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, min(concurrency, len(requests))))))
    return time.perf_counter() - started, latencies, statuses, sample[0] if sample else ""


async def run_target(
    control: Control,
    target: str,
    *,
    text: str,
    requests: int,
    concurrency: int,
    warmup: int,
    drain_timeout: float,
    profile: bool,
) -> Run:
    """Warm up (untimed, then drained), time ``requests``, drain the work they started."""
    url = control.urls[target]
    built = build_requests(
        warmup + requests, secret=control.secret, text=text, slack_port=control.slack_port
    )
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    drain_wait = drain_timeout + 30
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        if warmup:
            await fire(session, url, built[:warmup], concurrency)
            await control.call("drain", target, drain_timeout, timeout=drain_wait)
        await control.call("begin", target, profile)
        client_cpu = time.process_time()
        try:
            seconds, latencies, statuses, sample = await fire(
                session, url, built[warmup:], concurrency
            )
        finally:
            client_cpu = time.process_time() - client_cpu
            measured = await control.call("end")
    drained = await control.call("drain", target, drain_timeout, timeout=drain_wait)
    return Run(
        target,
        requests,
        concurrency,
        seconds,
        latencies,
        statuses,
        sample,
        drained,
        server_cpu=measured["cpu"],
        client_cpu=client_cpu,
        gc=measured["gc"],
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


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_table(
    title: str, results: dict[str, list[Run]], out: Callable[[str], None], *, in_process: bool
) -> None:
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
        if not in_process:
            client = summary.median(lambda r: r.client_cpu / r.requests)
            cpu += f", client {client * 1000:.2f} ms/req"
        out(f"  {target:<10} rounds: {each}")
        out(f"  {'':<10} {cpu}; server GC: {summary.gc()}")
        out(f"  {'':<10} ack body: {summary.runs[0].sample[:100]!r}")
    bot_runs = results.get("deploybot", [])
    if bot_runs and any(r.drain.get("seconds", 0.0) > 0.05 for r in bot_runs):
        slowest = max(r.drain.get("seconds", 0.0) for r in bot_runs)
        cancelled = sum(r.drain.get("cancelled", 0) for r in bot_runs)
        failures = bot_runs[-1].drain.get("failures", 0)
        out(
            f"  deploybot background work after the timed requests took up to {slowest:.1f} s "
            f"to drain (cancelled {cancelled}, failed tasks {failures})"
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
        "servers in this process" if args.in_process else "each target in its own process",
    ]
    if args.process_before_response:
        notes.append("EXPERIMENT process_before_response=True (both apps)")
    if args.gc_freeze:
        notes.append("EXPERIMENT gc.freeze() after startup")
    if args.profile:
        notes.append("PROFILING ON (figures distorted)")
    out(", ".join(notes))
    started = time.perf_counter()
    options = {
        "process_before_response": args.process_before_response,
        "gc_freeze": args.gc_freeze,
    }
    async with open_servers(args.in_process, **options) as controls:
        bot_servers = controls["deploybot"]
        for number, (text, requests) in enumerate(scenarios, 1):
            results: dict[str, list[Run]] = {target: [] for target in TARGETS}
            await bot_servers.call("clear_calls")
            for round_no in range(args.rounds):
                order = TARGETS if round_no % 2 == 0 else TARGETS[::-1]
                for target in order:
                    run = await run_target(
                        controls[target],
                        target,
                        text=text,
                        requests=requests,
                        concurrency=args.concurrency,
                        warmup=args.warmup,
                        drain_timeout=args.drain_timeout,
                        profile=args.profile and number == 1,
                    )
                    results[target].append(run)
            out("")
            print_table(f"[{number}] /deploy {text}", results, out, in_process=args.in_process)
            calls = await bot_servers.call("slack_calls")
            if calls:
                seen = ", ".join(f"{k}×{v}" for k, v in sorted(calls.items()))
                out(f"  deploybot's fake Slack received (warmup included): {seen}")
        if args.profile:
            reports: dict[str, str] = {}
            for control in dict.fromkeys(controls.values()):
                reports.update(await control.call("profile_report", args.profile_lines))
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
        default=20.0,
        help="seconds to wait for background work after a run (then it is cancelled)",
    )
    parser.add_argument(
        "--in-process", action="store_true", help="client and servers on one event loop"
    )
    parser.add_argument(
        "--process-before-response",
        action="store_true",
        help="experiment: both apps with Bolt's process_before_response=True",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="experiment: gc.freeze() in the server process once everything is built",
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
