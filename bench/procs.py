"""The processes of the web/worker benchmarks, each started by :class:`Child` and driven over a
pipe (one call at a time, answered in order):

* :class:`Fakes` — the three sandboxes and the fake Slack Web API on 127.0.0.1, which notes
  when each response-URL post arrives (``time.monotonic()``: one clock for every process of
  the machine on Linux);
* :class:`Web` — ``deploybot serve``: ``build_web_app(bot, worker=False)``, acks and enqueues
  only (it migrates the database and stores the providers' demo keys);
* :class:`JobWorker` — ``deploybot worker``: ``build_worker_app(bot)`` (jobs, the approval
  sweeper, the watcher), on the same database: a SQLite file, or a scratch PostgreSQL
  database (:func:`database`).

Every process measures itself between ``begin`` and ``end`` (CPU seconds, GC pauses, and an
optional cProfile) and answers ``cpu`` (its CPU seconds so far).
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import gc
import importlib
import importlib.util
import io
import logging
import multiprocessing
import pstats
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

TEAM = "T111"
ADMIN = "UADMIN"
MEMBER = "U111"
CHANNEL = "C111"
BOT_TOKEN = "xoxb-bench"
ENCRYPTION_KEY = "Zm9yLXRlc3RzLW9ubHktMzItYnl0ZXMtbG9uZy1rZXk="
PROVIDERS = ("nosana", "akash", "neuranet")
EVENTS_PATH = "/slack/events"
T = TypeVar("T")


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


async def serve(stack: contextlib.AsyncExitStack, app: web.Application) -> str:
    """Serve ``app`` on 127.0.0.1 (an ephemeral port); its root URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return f"http://{host}:{port}"


class Measured:
    """CPU time, GC pauses and (optionally) a cProfile of this process between ``begin`` and
    ``end``; subclasses start their servers in ``start`` and stop them in ``aclose``."""

    def __init__(self) -> None:
        self.stack = contextlib.AsyncExitStack()
        self.profile: cProfile.Profile | None = None
        self._profiling = False
        self._cpu = 0.0
        self._recording = False
        self._gc_started = 0.0
        self._gc_pauses: list[tuple[int, float]] = []
        gc.callbacks.append(self._on_gc)

    async def start(self) -> dict[str, Any]:
        raise NotImplementedError

    def cpu(self) -> float:
        return time.process_time()

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if not self._recording:
            return
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self._gc_pauses.append((info["generation"], time.perf_counter() - self._gc_started))

    def begin(self, profile: bool = False) -> None:
        self._gc_pauses.clear()
        self._recording = True
        if profile:
            self.profile = self.profile or cProfile.Profile()
            self.profile.enable()
            self._profiling = True
        self._cpu = time.process_time()

    def end(self) -> dict[str, Any]:
        """CPU seconds used (all threads: aiosqlite runs in one) and GC pauses since ``begin``."""
        cpu = time.process_time() - self._cpu
        if self._profiling and self.profile is not None:
            self.profile.disable()
            self._profiling = False
        self._recording = False
        pauses: dict[int, list[float]] = {}
        for generation, seconds in self._gc_pauses:
            pauses.setdefault(generation, []).append(seconds)
        return {"cpu": cpu, "gc": {g: (len(p), max(p), sum(p)) for g, p in pauses.items()}}

    def profile_report(self, limit: int) -> dict[str, str]:
        if self.profile is None:
            return {}
        reports = {}
        for order in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(self.profile, stream=out).sort_stats(order).print_stats(limit)
            reports[order] = out.getvalue()
        return reports

    async def aclose(self) -> None:
        if self._profiling and self.profile is not None:
            self.profile.disable()
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._on_gc)
        await self.stack.aclose()


class Fakes(Measured):
    """The sandboxes (a manual clock: nothing changes by itself) and the fake Slack."""

    def __init__(self) -> None:
        super().__init__()
        self.slack: Any = None
        self.cluster: Any = None
        #: response-URL key → monotonic arrival time of each post to it.
        self.arrivals: dict[str, list[float]] = {}
        self._want = 0
        self._enough = asyncio.Event()

    async def start(self) -> dict[str, Any]:
        from bot.slack_local.fake_api import FakeSlackAPI
        from sandbox.clock import ManualClock
        from sandbox.server import SandboxCluster

        slack = await self.stack.enter_async_context(FakeSlackAPI())
        slack.add_token(BOT_TOKEN, TEAM)
        slack.add_user(MEMBER, team_id=TEAM, name="ana")
        slack.add_user(ADMIN, team_id=TEAM, name="boss", is_admin=True)
        slack.on_call = self._on_call
        self.slack = slack
        self.cluster = await self.stack.enter_async_context(SandboxCluster(ManualClock()))
        return {
            "slack_url": slack.base_url,
            "slack_port": int(slack.port),
            "providers": {
                name: (self.cluster.base_url(name), self.cluster.api(name).demo_api_key)
                for name in PROVIDERS
            },
        }

    def _on_call(self, call: Any) -> None:
        if call.method == "response_url" and call.response_url:
            self.arrivals.setdefault(call.response_url, []).append(time.monotonic())
            if len(self.arrivals) >= self._want:
                self._enough.set()

    async def wait_answered(self, count: int, timeout: float) -> int:
        """Wait (bounded) until ``count`` response URLs got a post; how many did."""
        self._want = count
        self._enough.clear()
        if len(self.arrivals) < count:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._enough.wait(), timeout)
        return len(self.arrivals)

    def responses(self, key: str) -> list[dict[str, Any]]:
        """The bodies posted to one response URL, in order."""
        return [c.body for c in self.slack.calls_to("response_url") if c.response_url == key]

    def answered(self) -> int:
        return len(self.arrivals)

    def take_arrivals(self) -> dict[str, list[float]]:
        """The arrivals so far, forgotten here (with the recorded calls)."""
        arrivals, self.arrivals = self.arrivals, {}
        self.slack.clear()
        return arrivals

    def slack_calls(self) -> dict[str, int]:
        return dict(Counter(call.method for call in self.slack.calls))

    def clear_calls(self) -> None:
        self.slack.clear()
        self.arrivals = {}


@contextlib.asynccontextmanager
async def database(data_dir: str, postgres: str | None) -> AsyncIterator[str]:
    """The URL of the database the deploybot processes share: a SQLite file in ``data_dir``,
    or, given PostgreSQL's admin URL, a scratch database created here and dropped after."""
    if postgres is None:
        yield f"sqlite:///{data_dir}/deploybot.db"
        return
    import asyncpg

    name = f"deploybot_bench_{secrets.token_hex(6)}"
    base, _, _ = postgres.rpartition("/")

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(postgres, timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    await admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Deploybot(Measured):
    """One deploybot process on the shared database (``db_url``)."""

    def __init__(
        self,
        *,
        db_url: str,
        data_dir: str,
        secret: str,
        fakes: dict[str, Any],
        poll: float | None = None,
        slots: int | None = None,
        process_before_response: bool = False,
    ) -> None:
        super().__init__()
        self.db_url, self.data_dir, self.secret, self.fakes = db_url, data_dir, secret, fakes
        self.poll, self.slots = poll, slots
        self.process_before_response = process_before_response
        self.bot: Any = None
        self.sql: Counter[str] = Counter()

    def _count_statements(self, engine: Any, writer: Any = None) -> None:
        """Count the SQL this process sends, by verb (and the commits)."""
        from sqlalchemy import event

        def statement(conn: Any, cursor: Any, text: str, *args: Any) -> None:
            self.sql[text.lstrip().split(None, 1)[0].upper() if text.strip() else "?"] += 1

        def commit(conn: Any) -> None:
            self.sql["COMMIT"] += 1

        event.listen(engine.sync_engine, "before_cursor_execute", statement)
        event.listen(engine.sync_engine, "commit", commit)
        if writer is not None:  # SQLite: the job rows written on the loop's thread, one
            # INSERT per row on the DB-API connection (SQLAlchemy's events don't see them)
            try_write = writer.try_write

            def counted(work: Any) -> Any:
                result = try_write(work)
                rows = getattr(work, "args", ((),))[0]
                self.sql["INSERT"] += len(rows) if isinstance(rows, list) else 1
                self.sql["COMMIT"] += 1
                return result

            writer.try_write = counted
            # the worker's claims and finishes: SQLAlchemy statements on the same connection
            event.listen(writer.engine, "before_cursor_execute", statement)
            event.listen(writer.engine, "commit", commit)

    def statements(self) -> dict[str, int]:
        """The SQL sent since the last call, by verb (then forgotten)."""
        counts, self.sql = dict(self.sql), Counter()
        return counts

    async def _build(self, *, store_keys: bool) -> Any:
        from pydantic import SecretStr

        from bot.app import build_bot, web_client
        from bot.config import Settings
        from bot.runtime import open_storage

        providers = self.fakes["providers"]
        extra: dict[str, Any] = {}
        if self.poll is not None:
            extra["DEPLOYBOT_JOB_POLL_SECONDS"] = self.poll
        if self.slots is not None:
            extra["DEPLOYBOT_JOB_SLOTS"] = self.slots
        settings = Settings(
            NOSANA_API_URL=providers["nosana"][0],
            AKASH_API_URL=providers["akash"][0],
            NEURANET_API_URL=providers["neuranet"][0],
            DATABASE_URL=SecretStr(self.db_url),
            DEPLOYBOT_DATA_DIR=Path(self.data_dir),
            DEPLOYBOT_ENCRYPTION_KEYS=SecretStr(ENCRYPTION_KEY),
            SLACK_API_URL=self.fakes["slack_url"],
            **extra,
        )
        storage = await open_storage(settings)
        self.stack.push_async_callback(storage.aclose)  # idempotent after the app's cleanup
        if store_keys:
            for name, (_, key) in providers.items():
                await storage.keys.put(
                    team_id=TEAM, provider=name, api_key=SecretStr(key), connected_by=ADMIN
                )
        self._count_statements(storage.engine, storage.writer)
        self.bot = build_bot(
            settings,
            storage,
            token=BOT_TOKEN,
            signing_secret=self.secret,
            client=web_client(settings, BOT_TOKEN),
            process_before_response=self.process_before_response,
        )
        return self.bot


class Web(Deploybot):
    """``deploybot serve``: Slack acks and enqueues, no worker (it migrates and stores keys).

    It times the enqueue path: each ``JobQueue.put`` (what an ack waits for: queued behind
    the group commit in progress, then its own) and each ``JobStore.enqueue`` (one group
    commit: the transaction, SQLite's write lock included), with the rows it wrote."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.puts: list[float] = []
        self.commits: list[tuple[float, int]] = []

    async def start(self) -> dict[str, Any]:
        from bot.server import build_web_app

        bot = await self._build(store_keys=True)
        self._time_enqueues(bot.jobs)
        root = await serve(self.stack, build_web_app(bot, worker=False))
        return {"url": root + EVENTS_PATH}

    def _time_enqueues(self, queue: Any) -> None:
        put, enqueue = queue.put, queue.store.enqueue

        async def timed_put(job: Any, **options: Any) -> bool:
            started = time.perf_counter()
            try:
                return bool(await put(job, **options))
            finally:
                self.puts.append(time.perf_counter() - started)

        async def timed_enqueue(jobs: Any) -> list[bool]:
            started = time.perf_counter()
            try:
                return list(await enqueue(jobs))
            finally:
                self.commits.append((time.perf_counter() - started, len(jobs)))

        queue.put = timed_put
        queue.store.enqueue = timed_enqueue

    async def attempts(self) -> dict[int, int]:
        """Jobs by how many times they were claimed (more than once: taken over)."""
        from sqlalchemy import func, select

        from bot.db.jobs import JOBS

        async with self.bot.storage.engine.connect() as conn:
            rows = (
                await conn.execute(select(JOBS.c.attempts, func.count()).group_by(JOBS.c.attempts))
            ).all()
        return {int(attempts): int(n) for attempts, n in rows}

    async def wait_jobs(self, timeout: float) -> dict[str, Any]:
        """Wait (bounded) until no job is due or running in the database (any worker's),
        polling from here so the workers' SQL is only their jobs'."""
        store = self.bot.jobs.store
        started = time.perf_counter()
        deadline = started + timeout
        busy = await store.busy()
        while busy and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
            busy = await store.busy()
        return {"drained": not busy, "seconds": time.perf_counter() - started, "busy": busy}

    def enqueue_stats(self) -> dict[str, Any]:
        """The enqueue timings since the last call (then forgotten)."""
        puts, commits = self.puts, self.commits
        self.puts, self.commits = [], []
        return {"puts": puts, "commits": commits}


class JobWorker(Deploybot):
    """``deploybot worker``: runs the jobs the web process wrote (start it after :class:`Web`)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        #: what → seconds of each call (claims, finishes, and each kind of job's handler).
        self.timings: dict[str, list[float]] = {}
        #: The most database connections checked out of the pool at once, and jobs running.
        self.pool_peak = 0
        self.running_peak = 0

    async def start(self) -> dict[str, Any]:
        from bot.server import build_worker_app

        bot = await self._build(store_keys=False)
        self._time_jobs(bot.worker)
        root = await serve(self.stack, build_worker_app(bot))
        sampler = asyncio.get_running_loop().create_task(self._sample_pool(bot.storage.engine))
        self.stack.callback(sampler.cancel)
        return {"url": root, "owner": bot.worker.owner}

    async def _sample_pool(self, engine: Any) -> None:
        """Every 10 ms: how many pooled connections are checked out, and how many jobs run."""
        pool = engine.sync_engine.pool
        while True:
            checked_out = getattr(pool, "checkedout", lambda: 0)()
            self.pool_peak = max(self.pool_peak, checked_out)
            self.running_peak = max(self.running_peak, self.bot.worker.running)
            await asyncio.sleep(0.01)

    def _timed(self, what: str, call: Any) -> Any:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await call(*args, **kwargs)
            finally:
                self.timings.setdefault(what, []).append(time.perf_counter() - started)

        return timed

    def _time_jobs(self, worker: Any) -> None:
        """Time the worker's claims and finishes (one transaction each) and its handlers."""
        worker.store.claim = self._timed("claim", worker.store.claim)
        worker.store.finish = self._timed("finish", worker.store.finish)
        worker.handlers = {
            kind: self._timed(f"job {kind}", handler) for kind, handler in worker.handlers.items()
        }

    def job_timings(self) -> dict[str, Any]:
        """The timings since the last call, and the peaks of connections checked out of the
        pool (its limit: ``pool_limit``) and of jobs running (then forgotten)."""
        pool = self.bot.storage.engine.sync_engine.pool
        size = getattr(pool, "size", lambda: 0)()
        limit = size + max(0, getattr(pool, "_max_overflow", 0))
        timings: dict[str, Any] = {
            "timings": self.timings,
            "pool_peak": self.pool_peak,
            "pool_limit": limit,
            "running_peak": self.running_peak,
        }
        self.timings, self.pool_peak, self.running_peak = {}, 0, 0
        return timings

    async def drain(self, timeout: float) -> dict[str, Any]:
        """Wait (bounded) until no job is due or running in the database — any worker's."""
        from bot.jobs.worker import drain

        started = time.perf_counter()
        drained = await drain(self.bot.jobs.store, [self.bot.worker], timeout)
        return {
            "drained": drained,
            "seconds": time.perf_counter() - started,
            "busy": await self.bot.jobs.store.busy(),
            "failures": self.bot.work.failures,
        }

    async def pause(self) -> None:
        """Stop claiming (the jobs in hand finish); :meth:`unpause` starts again."""
        await self.bot.worker.stop()

    def unpause(self) -> None:
        self.bot.worker.start()

    def jobs_done(self) -> dict[str, int]:
        return {"finished": self.bot.worker.finished, "failed": self.bot.worker.failed}

    async def job_counts(self) -> dict[str, int]:
        counts: dict[str, int] = await self.bot.jobs.store.counts()
        return counts


class Bare(Measured):
    """The baseline: a Bolt app whose ``/deploy`` listener only acks, with a fake Slack of its
    own (for its ``auth.test``)."""

    def __init__(
        self, *, secret: str, process_before_response: bool = False, gc_freeze: bool = False
    ) -> None:
        super().__init__()
        self.secret = secret
        self.process_before_response = process_before_response
        self.gc_freeze = gc_freeze

    async def start(self) -> dict[str, Any]:
        from slack_bolt.async_app import AsyncApp
        from slack_sdk.web.async_client import AsyncWebClient

        from bot.slack_local.fake_api import FakeSlackAPI

        slack = await self.stack.enter_async_context(FakeSlackAPI())
        slack.add_token(BOT_TOKEN, TEAM)
        bare = AsyncApp(
            signing_secret=self.secret,
            client=AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url),
            process_before_response=self.process_before_response,
        )

        @bare.command("/deploy")
        async def deploy(ack: Any) -> None:
            await ack()

        root = await serve(self.stack, bare.web_app(path=EVENTS_PATH))
        if self.gc_freeze:
            gc.collect()
            gc.freeze()
        return {"url": root + EVENTS_PATH}


# -- the child process and its handle ---------------------------------------------------------


def _child_main(conn: Any, role: str, options: dict[str, Any]) -> None:
    quiet_logging()
    run_loop(_child(conn, role, options))


async def _child(conn: Any, role: str, options: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    target: Measured = ROLES[role](**options)
    try:
        info = await target.start()
    except BaseException as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        await target.aclose()
        raise
    conn.send(("ready", info))
    try:
        while True:
            # a thread waits on the pipe so the event loop stays free to serve
            if not await loop.run_in_executor(None, conn.poll, 1.0):
                continue
            name, args = conn.recv()
            if name == "stop":
                break
            try:
                result = getattr(target, name)(*args)
                conn.send(("ok", await result if asyncio.iscoroutine(result) else result))
            except Exception as exc:
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
    except (EOFError, BrokenPipeError):
        pass
    finally:
        await target.aclose()
        with contextlib.suppress(OSError):
            conn.send(("ok", None))


class Child:
    """A role running in a child process of its own (``spawn``: nothing inherited)."""

    def __init__(self, role: str, name: str, **options: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self.name = name
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(
            target=_child_main, args=(child_conn, role, options), name=name, daemon=True
        )
        self.process.start()
        child_conn.close()
        self.info: dict[str, Any] = {}

    async def start(self, timeout: float = 120.0) -> Child:
        status, payload = await self._recv(timeout)
        if status != "ready":
            raise RuntimeError(f"{self.name} failed to start: {payload}")
        self.info = payload
        return self

    async def _recv(self, timeout: float) -> tuple[str, Any]:
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, self.conn.poll, timeout):
            raise TimeoutError(f"{self.name} did not answer within {timeout:.0f} s")
        status, payload = self.conn.recv()
        return status, payload

    async def call(self, name: str, *args: Any, timeout: float = 60.0) -> Any:
        self.conn.send((name, args))
        status, payload = await self._recv(timeout)
        if status != "ok":
            raise RuntimeError(f"{self.name}: {name} failed: {payload}")
        return payload

    async def aclose(self) -> None:
        """Ask the process to stop; terminate it if it does not within 10 s."""
        try:
            if self.process.is_alive():
                self.conn.send(("stop", ()))
                with contextlib.suppress(TimeoutError, EOFError, OSError):
                    await self._recv(20.0)
        except OSError:
            pass
        finally:
            await asyncio.get_running_loop().run_in_executor(None, self.process.join, 10.0)
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(5.0)
            self.conn.close()


ROLES: dict[str, type[Measured]] = {
    "fakes": Fakes,
    "web": Web,
    "worker": JobWorker,
    "bare": Bare,
}
