"""A local emulator of Nosana's deployments API (the dashboard API under ``/api``).

Faithful to the real deployment manager: the same paths and methods, Bearer-key auth with
plain-text 401s, the deployment manager's check order (auth → schema 400 → load 404 →
archived guard 500 → state 500), its three error shapes (``{"error"}``, Fastify validation
bodies, plain text), keyset pagination with base64 cursors, the status machine of §8.2 with the
four strategies, credits charged per running job-hour, and a public ``/markets/`` list.

The world moves lazily: ``advance()`` pops the due entries of one heap of scheduled
transitions (keyed by due time), so a request against an idle world costs O(1) however many
deployments exist, and a ``ManualClock`` makes every transition reproducible in tests.

Worker timings (class attributes, seconds): ``STARTUP_DELAY`` STARTING → RUNNING,
``LIST_DELAY`` a LIST task → jobs QUEUED, ``CLAIM_DELAY`` QUEUED → RUNNING on a node,
``STOP_DELAY`` STOPPING → STOPPED. Handled errors (an unknown market) retry on a 30 s × 2
ladder capped at 10 min, and the deployment goes to ERROR after 60 retries; a funds shortage
retries on a 10 min × 2 ladder capped at 6 h (§8.2).

Not emulated: wallet auth and vault routes, ``/header``, the SSE ``/stream``, standalone
``/jobs/*`` credit jobs, INFINITE rapid-completion throttling (jobs here end only at their
timeout or through :meth:`NosanaSandbox.complete_job`) and archiving banned owners.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import heapq
import json
import random
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web
from croniter import croniter

from sandbox.clock import Clock, iso
from sandbox.common import SandboxAPI, b58encode, json_response, random_pubkey
from sandbox.nosana_jobdef import (
    CRON_PATTERN,
    exposed_ports,
    typia_message,
    validate_job_definition,
)
from sandbox.pricing import nosana_price_per_hour

STATUSES = (
    "DRAFT",
    "ERROR",
    "STARTING",
    "RUNNING",
    "STOPPING",
    "STOPPED",
    "INSUFFICIENT_FUNDS",
    "ARCHIVED",
)
STRATEGIES = ("SIMPLE", "SIMPLE-EXTEND", "SCHEDULED", "INFINITE")
JOB_STATES = ("QUEUED", "RUNNING", "COMPLETED", "STOPPED")
START_FROM = frozenset({"DRAFT", "STOPPED", "ERROR", "INSUFFICIENT_FUNDS"})
STOP_FROM = frozenset({"RUNNING", "ERROR", "INSUFFICIENT_FUNDS"})
ACTIVE_JOB = frozenset({"QUEUED", "RUNNING"})
PAGE_LIMITS = ("10", "20", "50", "100")

INCORRECT_STATE = "Deployment is in the incorrect state."
ARCHIVED_GUARD = "Cannot modify an archived deployment."
NOT_FOUND = "Deployment not found."

_ZERO = Decimal(0)
_CENT_FRACTION = Decimal("0.000001")
_NOS_USD = Decimal("0.50")


def _b58_hash(*parts: str) -> str:
    return b58encode(hashlib.sha256(":".join(parts).encode()).digest())


def owner_for_key(api_key: str) -> str:
    """The fixed fake owner pubkey (43–44 base58 characters) of an API key."""
    seed = api_key
    while True:
        key = _b58_hash("owner", seed)
        if 43 <= len(key) <= 44:
            return key
        seed += "'"


#: (address or None for a generated one, slug, name, type, usd_reward_per_hour, GPU, VRAM GB).
_MARKETS = (
    ("7AtiXMSH6R1jjBxrcYjehCkkSF7zvYWte63gwEDBcGHq", "nvidia-3060", "NVIDIA RTX 3060",
     "PREMIUM", "0.048", "NVIDIA GeForce RTX 3060", 12),
    ("CA5pMpqkYFKtme7K31pNB1s62X2SdhEv1nN9RdxKCpuQ", "nvidia-3090", "NVIDIA RTX 3090",
     "PREMIUM", "0.192", "NVIDIA GeForce RTX 3090", 24),
    ("97G9NnvBDQ2WpKu6fasoMsAKmfj63C9rhysJnkeWodAf", "nvidia-4090", "NVIDIA RTX 4090",
     "PREMIUM", "0.35", "NVIDIA GeForce RTX 4090", 24),
    (None, "nvidia-a100-80gb", "NVIDIA A100 80GB", "PREMIUM", "0.90", "NVIDIA A100 80GB PCIe", 80),
    (None, "nvidia-h100", "NVIDIA H100", "PREMIUM", "1.50", "NVIDIA H100 80GB HBM3", 80),
    (None, "nvidia-3080-community", "NVIDIA RTX 3080 (Community)", "COMMUNITY", "0.10",
     "NVIDIA GeForce RTX 3080", 10),
    (None, "nvidia-4070-community", "NVIDIA RTX 4070 (Community)", "COMMUNITY", "0.12",
     "NVIDIA GeForce RTX 4070", 12),
)  # fmt: skip


def default_markets() -> list[dict[str, Any]]:
    """A handful of realistic GPU markets (the three documented mainnet addresses first).

    Addresses not documented are generated from a fixed seed, so they are the same in every
    sandbox; prices are plausible, not quoted.
    """
    rng = random.Random("nosana-markets")
    markets = []
    for address, slug, name, kind, usd_per_hour, gpu, vram_gb in _MARKETS:
        usd = Decimal(usd_per_hour)
        nos_per_second = float(round(usd / 3600 / _NOS_USD, 9))
        markets.append(
            {
                "address": address or random_pubkey(rng),
                "slug": slug,
                "name": name,
                "sft": random_pubkey(rng),
                "type": kind,
                "usd_reward_per_hour": float(usd),
                "nos_reward_per_second": nos_per_second,
                "nos_job_price_per_second": nos_per_second,
                "network_fee_percentage": 10,
                "premium_community_relation": None,
                "gpu_types": [gpu],
                "required_images": [],
                "required_remote_resources": [],
                "client": None,
                "lowest_vram": vram_gb,
                "max_usd_uptime_reward_per_day": float(round(usd * 24 * Decimal("0.1"), 4)),
            }
        )
    premium, community = markets[1], markets[5]
    premium["premium_community_relation"] = community["address"]
    community["premium_community_relation"] = premium["address"]
    return markets


def market_price(market: dict[str, Any]) -> Decimal:
    """What a client pays per job-hour on ``market`` (the client's formula, spec §9)."""
    return nosana_price_per_hour(market["usd_reward_per_hour"], market["network_fee_percentage"])


# -- the world -------------------------------------------------------------------------------


@dataclass(eq=False)
class Account:
    """One API key's account: its owner pubkey, credits and deployments (in creation order)."""

    api_key: str
    owner: str
    assigned: Decimal
    accrued_at: float
    reserved: Decimal = _ZERO
    settled: Decimal = _ZERO
    #: USD per second currently charged (the sum of the running jobs' prices).
    burn_per_second: Decimal = _ZERO
    funds_version: int = 0
    deployments: list[Deployment] = field(default_factory=list)
    #: ``seq`` of each deployment, parallel to ``deployments`` (ascending: keyset pages).
    seqs: list[int] = field(default_factory=list)
    status_counts: Counter[str] = field(default_factory=Counter)
    strategy_counts: Counter[str] = field(default_factory=Counter)
    #: Deployments with at least one RUNNING job (the ones paying right now).
    burning: dict[str, Deployment] = field(default_factory=dict)

    def accrue(self, t: float) -> None:
        if t > self.accrued_at:
            if self.burn_per_second:
                self.settled += self.burn_per_second * Decimal(repr(t - self.accrued_at))
            self.accrued_at = t

    def available(self, t: float) -> Decimal:
        self.accrue(t)
        return self.assigned - self.reserved - self.settled


@dataclass(eq=False)
class Job:
    job: str
    tx: str
    deployment: Deployment
    revision: int
    market: str
    seq: int
    created_at: float
    rate_per_second: Decimal
    state: str = "QUEUED"
    node: str | None = None
    time_start: float = 0.0
    #: Planned end while RUNNING, actual end once finished.
    time_end: float = 0.0
    updated_at: float = 0.0
    exit_code: int | None = None
    #: INFINITE: a replacement has already been listed for this job.
    replaced: bool = False


@dataclass(eq=False)
class Record:
    """An event or revision: its JSON body plus the keyset-pagination key."""

    seq: int
    created_at: float
    body: dict[str, Any]


@dataclass(eq=False)
class Deployment:
    id: str
    name: str
    account: Account
    market: str
    strategy: str
    replicas: int | float
    timeout: int | float
    confidential: bool
    status: str
    seq: int
    created_at: float
    updated_at: float
    schedule: str | None = None
    rotation_time: int | float | None = None
    active_revision: int = 1
    revisions: list[Record] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    jobs_by_id: dict[str, Job] = field(default_factory=dict)
    events: list[Record] = field(default_factory=list)
    #: Pending worker tasks (LIST / EXTEND / STOP), by task id.
    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: Bumped whenever scheduled work of the previous state must be forgotten.
    epoch: int = 0
    fire_version: int = 0
    running_jobs: int = 0
    retries: int = 0
    funds_retries: int = 0

    @property
    def vault(self) -> str:
        return self.account.owner

    @property
    def definition(self) -> dict[str, Any]:
        return self.revisions[self.active_revision - 1].body["job_definition"]

    def active_jobs(self) -> list[Job]:
        return [j for j in self.jobs if j.state in ACTIVE_JOB]


@dataclass(eq=False)
class _Task:
    """A scheduled worker task; it lapses when its deployment's epoch moves on."""

    id: int
    dep: Deployment
    epoch: int
    fn: Callable[..., None]
    args: tuple[Any, ...]


class _Abort(Exception):
    """Leave a handler with this response (the DM's error answers)."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def _error(status: int, message: str) -> _Abort:
    return _Abort(json_response({"error": message}, status=status))


def _fastify(message: str, status: int = 400, code: str = "FST_ERR_VALIDATION") -> _Abort:
    error = {400: "Bad Request", 404: "Not Found"}.get(status, "Error")
    body = {"statusCode": status, "code": code, "error": error, "message": message}
    return _Abort(json_response(body, status=status))


def _unauthorized(text: str) -> _Abort:
    return _Abort(web.Response(text=text, status=401, content_type="text/plain"))


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_iso(value: str, name: str) -> float:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise _fastify(f'querystring/{name} must match format "date-time"') from None


def _guarded(handler: Callable[..., Any]) -> Callable[[web.Request], Any]:
    async def run(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except _Abort as abort:
            return abort.response

    run.__name__ = handler.__name__
    return run


class NosanaSandbox(SandboxAPI):
    """Nosana's dashboard API (deployments, credits, markets) for tests and demos."""

    name = "nosana"
    prefix = "/api"

    DEMO_API_KEY = "nos_sk_7Hq2xV9kLmP4sR8tW3yZ6bN1cF5gJ0dAeU4pQ"
    STARTUP_DELAY = 2.0
    LIST_DELAY = 3.0
    CLAIM_DELAY = 30.0
    STOP_DELAY = 5.0
    RETRY_BASE, RETRY_CAP, RETRY_LIMIT = 30.0, 600.0, 60
    FUNDS_RETRY_BASE, FUNDS_RETRY_CAP = 600.0, 6 * 3600.0

    def __init__(self, clock: Clock | None = None, *, seed: bool = True, rng_seed: int = 0) -> None:
        super().__init__(clock)
        self.rng = random.Random(rng_seed)
        self.accounts: dict[str, Account] = {}
        self.deployments: dict[str, Deployment] = {}
        self.markets: dict[str, dict[str, Any]] = {m["address"]: m for m in default_markets()}
        #: Answer ``GET /deployments`` with the legacy bare array (before 2026-02-16).
        self.legacy_list_shape = False
        #: Server default for ``confidential`` when a create body leaves it out.
        self.confidential_by_default = False
        self._heap: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = 0
        if seed:
            self._seed_demo()

    @property
    def demo_api_key(self) -> str:
        return self.DEMO_API_KEY

    # -- helpers for tests and demos ---------------------------------------------------------

    def add_api_key(
        self, api_key: str | None = None, *, credits_usd: Decimal | float = 100
    ) -> Account:
        """Register an API key with its own account (and owner pubkey) holding ``credits_usd``.

        ``api_key`` defaults to a fresh ``nos_…`` key; the account is returned (``.api_key``).
        """
        api_key = api_key or "nos_sk_" + b58encode(self.rng.randbytes(24))
        if api_key in self.accounts:
            raise ValueError("that API key already exists")
        account = Account(
            api_key=api_key,
            owner=owner_for_key(api_key),
            assigned=Decimal(str(credits_usd)),
            accrued_at=self.now(),
        )
        self.accounts[api_key] = account
        return account

    def set_credits(self, api_key: str, usd: Decimal | float) -> None:
        """Make the account's available credits exactly ``usd`` from now on.

        Deployments waiting in INSUFFICIENT_FUNDS pick this up at their next retry (10 min
        after the shortage, doubling up to 6 h), as the real worker does.
        """
        t = self.now()
        account = self.accounts[api_key]
        account.accrue(t)
        account.assigned = Decimal(str(usd)) + account.reserved + account.settled
        self._replan_funds(account, t)

    def credits(self, api_key: str) -> Decimal:
        """The account's available credits (USD) now."""
        self.advance()
        return self.accounts[api_key].available(self.now())

    def deployment(self, deployment_id: str) -> Deployment:
        """The live deployment object (status, jobs, events, revisions) for assertions."""
        self.advance()
        return self.deployments[deployment_id]

    def force_status(self, deployment_id: str, status: str) -> None:
        """Put a deployment into ``status`` as is (e.g. ERROR), forgetting scheduled work.

        Active jobs are stopped unless the new status is STARTING, RUNNING or STOPPING. No
        worker activity is scheduled for the new state; use the API for real transitions.
        """
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        t = self.now()
        self.advance()
        dep = self.deployments[deployment_id]
        self._forget_work(dep)
        if status not in ("STARTING", "RUNNING", "STOPPING"):
            for job in dep.active_jobs():
                self._finish_job(job, t, "STOPPED")
        self._set_status(dep, status, t)

    def complete_job(self, job_id: str, exit_code: int = 0) -> None:
        """The container of a RUNNING job exits now (before its timeout)."""
        t = self.now()
        self.advance()
        for dep in self.deployments.values():
            job = dep.jobs_by_id.get(job_id)
            if job is not None:
                if job.state != "RUNNING":
                    raise ValueError(f"job is {job.state}, not RUNNING")
                job.exit_code = exit_code
                self._job_done(t, job, job.time_end)
                return
        raise KeyError(job_id)

    def seed_bulk(self, api_key: str, n: int) -> list[str]:
        """Add ``n`` idle deployments (DRAFT/STOPPED/ARCHIVED, no jobs) quickly; their ids.

        For listing benchmarks: no events, revisions share one definition, no worker tasks.
        """
        t = self.now()
        account = self.accounts[api_key]
        markets = list(self.markets)
        definition = _demo_definition("bulk", "nginx:1.27", expose=80)
        definition["meta"]["trigger"] = "deployment-manager"
        template = {
            "revision": 1,
            "ipfs_definition_hash": "Qm" + _b58_hash("bulk")[:44],
            "created_at": iso(t),
        }
        statuses = ("STOPPED", "DRAFT", "STOPPED", "ARCHIVED")
        ids = []
        for i in range(n):
            dep = self._new_deployment(
                account,
                name=f"bulk-{i:06d}",
                market=markets[i % len(markets)],
                strategy=STRATEGIES[i % 2],
                replicas=1,
                timeout=60,
                t=t,
                status=statuses[i % len(statuses)],
            )
            body = {
                **template,
                "deployment": dep.id,
                "job_definition": {**definition, "deployment_id": dep.id},
            }
            dep.revisions.append(Record(dep.seq, t, body))
            ids.append(dep.id)
        return ids

    # -- the clock and the scheduler -----------------------------------------------------------

    def advance(self) -> None:
        self._play(self.now())

    def _play(self, until: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= until:
            due, _, fn, args = heapq.heappop(heap)
            fn(due, *args)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _at(self, due: float, fn: Callable[..., None], *args: Any) -> None:
        heapq.heappush(self._heap, (due, self._next_seq(), fn, args))

    def _task(
        self,
        dep: Deployment,
        t: float,
        due: float,
        kind: str,
        fn: Callable[..., None],
        *args: Any,
        **info: Any,
    ) -> None:
        """At world time ``t``, schedule worker task ``kind`` (LIST/EXTEND/STOP) for ``due``.

        Pending tasks are listed by ``GET …/tasks``. At ``due``, ``fn(due, dep, *args)`` runs
        unless the deployment was deleted or its epoch moved on (stop, start, a shortage).
        """
        task = _Task(self._next_seq(), dep, dep.epoch, fn, args)
        dep.tasks[task.id] = {
            "task": kind,
            "deploymentId": dep.id,
            **info,
            "due_at": iso(due),
            "created_at": iso(t),
        }
        heapq.heappush(self._heap, (due, task.id, self._run_task, (task,)))

    def _run_task(self, t: float, task: _Task) -> None:
        dep = task.dep
        dep.tasks.pop(task.id, None)
        if task.epoch == dep.epoch and dep.id in self.deployments:
            task.fn(t, dep, *task.args)

    def _forget_work(self, dep: Deployment) -> None:
        dep.epoch += 1
        dep.tasks.clear()

    # -- state changes ---------------------------------------------------------------------------

    def _set_status(self, dep: Deployment, status: str, t: float) -> None:
        counts = dep.account.status_counts
        counts[dep.status] -= 1
        counts[status] += 1
        dep.status = status
        dep.updated_at = t

    def _event(
        self, dep: Deployment, t: float, kind: str, message: str, tx: str | None = None
    ) -> None:
        body: dict[str, Any] = {
            "category": "Deployment",
            "deploymentId": dep.id,
            "type": kind,
            "message": message,
            "created_at": iso(t),
        }
        if tx is not None:
            body["tx"] = tx
        dep.events.append(Record(self._next_seq(), t, body))

    def _tx(self) -> str:
        return b58encode(self.rng.randbytes(64))

    def _new_deployment(
        self,
        account: Account,
        *,
        name: str,
        market: str,
        strategy: str,
        replicas: int | float,
        timeout: int | float,
        t: float,
        status: str = "DRAFT",
        schedule: str | None = None,
        rotation_time: int | float | None = None,
        confidential: bool = False,
    ) -> Deployment:
        dep = Deployment(
            id=random_pubkey(self.rng),
            name=name,
            account=account,
            market=market,
            strategy=strategy,
            replicas=replicas,
            timeout=timeout,
            confidential=confidential,
            status=status,
            seq=self._next_seq(),
            created_at=t,
            updated_at=t,
            schedule=schedule,
            rotation_time=rotation_time,
        )
        account.deployments.append(dep)
        account.seqs.append(dep.seq)
        account.status_counts[status] += 1
        account.strategy_counts[strategy] += 1
        self.deployments[dep.id] = dep
        return dep

    def _revision_body(
        self, dep: Deployment, number: int, definition: dict[str, Any], t: float
    ) -> dict[str, Any]:
        stored = copy.deepcopy(definition)
        stored["deployment_id"] = dep.id
        raw_meta = stored.get("meta")
        meta = raw_meta if isinstance(raw_meta, dict) else {}
        stored["meta"] = {**meta, "trigger": "deployment-manager"}
        digest = hashlib.sha256(json.dumps(stored, sort_keys=True).encode()).digest()
        return {
            "revision": number,
            "deployment": dep.id,
            "ipfs_definition_hash": "Qm" + b58encode(digest)[:44],
            "job_definition": stored,
            "created_at": iso(t),
        }

    def _add_revision(self, dep: Deployment, definition: dict[str, Any], t: float) -> None:
        number = len(dep.revisions) + 1
        dep.revisions.append(
            Record(self._next_seq(), t, self._revision_body(dep, number, definition, t))
        )
        dep.active_revision = number

    def _create(self, account: Account, body: dict[str, Any], t: float) -> Deployment:
        """Create from a validated create body (the handler checked it)."""
        strategy = body["strategy"]
        confidential = body.get("confidential")
        dep = self._new_deployment(
            account,
            name=body["name"],
            market=body["market"].strip(),
            strategy=strategy,
            replicas=body["replicas"],
            timeout=body["timeout"],
            t=t,
            schedule=body.get("schedule") if strategy == "SCHEDULED" else None,
            rotation_time=body.get("rotation_time", 20) if strategy == "INFINITE" else None,
            confidential=self.confidential_by_default if confidential is None else confidential,
        )
        self._add_revision(dep, body["job_definition"], t)
        if body.get("autostart"):
            self._begin_start(dep, t)
        return dep

    def _begin_start(self, dep: Deployment, t: float) -> None:
        self._forget_work(dep)
        dep.retries = dep.funds_retries = 0
        self._set_status(dep, "STARTING", t)
        self._at(t + self.STARTUP_DELAY, self._activate, dep, dep.epoch)

    def _activate(self, t: float, dep: Deployment, epoch: int) -> None:
        if epoch != dep.epoch or dep.status != "STARTING":
            return
        self._set_status(dep, "RUNNING", t)
        if dep.strategy == "SCHEDULED":
            self._schedule_fire(dep, t)
        else:
            self._list_task(dep, t, t + self.LIST_DELAY, int(dep.replicas))

    def _list_task(
        self, dep: Deployment, t: float, due: float, count: int, fire: bool = False
    ) -> None:
        self._task(
            dep,
            t,
            due,
            "LIST",
            self._run_list,
            count,
            fire,
            limit=count,
            active_revision=dep.active_revision,
        )

    def _schedule_fire(self, dep: Deployment, t: float) -> None:
        dep.fire_version += 1
        try:
            due = croniter(dep.schedule, datetime.fromtimestamp(t, tz=UTC)).get_next(float)
        except (ValueError, KeyError, TypeError) as exc:
            self._event(dep, t, "JOB_LIST_ERROR", f"Invalid schedule '{dep.schedule}': {exc}")
            self._set_status(dep, "ERROR", t)
            return
        self._task(
            dep,
            t,
            due,
            "LIST",
            self._run_fire,
            dep.fire_version,
            limit=int(dep.replicas),
            active_revision=dep.active_revision,
        )

    def _run_fire(self, t: float, dep: Deployment, version: int) -> None:
        if version == dep.fire_version:
            self._run_list(t, dep, int(dep.replicas), True)

    def _run_list(self, t: float, dep: Deployment, count: int, fire: bool) -> None:
        if dep.status != "RUNNING":
            return
        market = self.markets.get(dep.market)
        if market is None:
            self._event(dep, t, "JOB_LIST_ERROR", f"Market {dep.market} not found")
            dep.retries += 1
            if dep.retries >= self.RETRY_LIMIT:
                self._set_status(dep, "ERROR", t)
                return
            delay = min(self.RETRY_CAP, self.RETRY_BASE * 2 ** (dep.retries - 1))
            self._list_task(dep, t, t + delay, count, fire)
            return
        account = dep.account
        if count > 0 and account.available(t) <= 0:
            self._insufficient(dep, t)
            return
        dep.retries = 0
        rate = market_price(market) / 3600
        for _ in range(count):
            job = Job(
                job=random_pubkey(self.rng),
                tx=self._tx(),
                deployment=dep,
                revision=dep.active_revision,
                market=dep.market,
                seq=self._next_seq(),
                created_at=t,
                updated_at=t,
                rate_per_second=rate,
            )
            dep.jobs.append(job)
            dep.jobs_by_id[job.job] = job
            self._event(
                dep, t, "JOB_LIST_CONFIRMED", f"Successfully listed job - {job.job}", job.tx
            )
            self._at(t + self.CLAIM_DELAY, self._claim, job)
        if fire:
            self._schedule_fire(dep, t)
        elif count <= 0:
            self._check_done(dep, t)

    def _claim(self, t: float, job: Job) -> None:
        dep = job.deployment
        if job.state != "QUEUED" or dep.id not in self.deployments:
            return
        job.state = "RUNNING"
        job.node = random_pubkey(self.rng)
        job.time_start = t
        job.time_end = t + float(dep.timeout) * 60
        job.updated_at = t
        dep.running_jobs += 1
        account = dep.account
        account.accrue(t)
        account.burn_per_second += job.rate_per_second
        account.burning[dep.id] = dep
        self._replan_funds(account, t)
        self._plan_job(job, t)

    def _plan_job(self, job: Job, t: float) -> None:
        """Schedule what happens before and at the job's (planned) end."""
        dep = job.deployment
        end = job.time_end
        self._at(end, self._job_done, job, end)
        if dep.strategy == "SIMPLE-EXTEND":
            buffer = min(300.0, max(60.0, float(dep.timeout) * 6))
            self._task(
                dep, t, max(t, end - buffer), "EXTEND", self._run_extend, job, end, job=job.job
            )
        elif dep.strategy == "INFINITE" and not job.replaced:
            rotation = float(dep.rotation_time or 20) * 60
            self._at(max(t, end - rotation), self._rotate, job, end)

    def _finish_job(self, job: Job, t: float, state: str) -> None:
        dep = job.deployment
        if job.state == "RUNNING":
            dep.running_jobs -= 1
            account = dep.account
            account.accrue(t)
            account.burn_per_second -= job.rate_per_second
            if dep.running_jobs == 0:
                account.burning.pop(dep.id, None)
                if not account.burning:
                    account.burn_per_second = _ZERO
            self._replan_funds(account, t)
        job.state = state
        job.time_end = t
        job.updated_at = t

    def _job_done(self, t: float, job: Job, planned_end: float) -> None:
        if job.state != "RUNNING" or job.time_end != planned_end:
            return
        dep = job.deployment
        self._finish_job(job, t, "COMPLETED")
        if dep.status != "RUNNING" or job.revision != dep.active_revision:
            return
        if dep.strategy in ("SIMPLE", "SIMPLE-EXTEND"):
            self._check_done(dep, t)
        elif dep.strategy == "INFINITE" and not job.replaced:
            job.replaced = True
            self._list_task(dep, t, t + self.LIST_DELAY, 1)

    def _check_done(self, dep: Deployment, t: float) -> None:
        pending_list = any(task["task"] == "LIST" for task in dep.tasks.values())
        if dep.status == "RUNNING" and not pending_list and not dep.active_jobs():
            self._set_status(dep, "STOPPED", t)

    def _run_extend(self, t: float, dep: Deployment, job: Job, planned_end: float) -> None:
        if job.state != "RUNNING" or job.time_end != planned_end:
            return
        if dep.account.available(t) <= 0:
            self._event(dep, t, "JOB_EXTEND_ERROR", self._shortage_text(dep, t))
            self._insufficient(dep, t)
            return
        job.time_end += float(dep.timeout) * 60
        job.updated_at = t
        self._event(
            dep,
            t,
            "JOB_EXTEND_SUCCESSFUL",
            f"Successfully extended job {job.job} by {dep.timeout} minutes",
            self._tx(),
        )
        self._plan_job(job, t)

    def _rotate(self, t: float, job: Job, planned_end: float) -> None:
        dep = job.deployment
        if job.state != "RUNNING" or job.time_end != planned_end or job.replaced:
            return
        if dep.status != "RUNNING" or job.revision != dep.active_revision:
            return
        job.replaced = True
        self._list_task(dep, t, t + self.LIST_DELAY, 1)

    def _begin_stop(self, dep: Deployment, t: float) -> None:
        self._forget_work(dep)
        self._set_status(dep, "STOPPING", t)
        self._task(dep, t, t + self.STOP_DELAY, "STOP", self._run_stop)

    def _run_stop(self, t: float, dep: Deployment) -> None:
        self._stop_jobs(dep, dep.active_jobs(), t)
        self._set_status(dep, "STOPPED", t)

    def _stop_jobs(self, dep: Deployment, jobs: Iterable[Job], t: float) -> None:
        for job in jobs:
            if job.state in ACTIVE_JOB:
                self._finish_job(job, t, "STOPPED")
                self._event(
                    dep,
                    t,
                    "JOB_STOPPED_CONFIRMED",
                    f"Successfully stopped job {job.job}. TX {job.tx}",
                    job.tx,
                )

    def _run_stop_jobs(self, t: float, dep: Deployment, jobs: list[Job]) -> None:
        self._stop_jobs(dep, jobs, t)

    def _reconcile(self, dep: Deployment, t: float) -> None:
        """After a replica change: LIST the shortfall or STOP the excess (queued first)."""
        if dep.status != "RUNNING" or dep.strategy == "SCHEDULED":
            return
        current = [j for j in dep.active_jobs() if not j.replaced]
        wanted = int(dep.replicas)
        if wanted > len(current):
            self._list_task(dep, t, t + self.LIST_DELAY, wanted - len(current))
        elif wanted < len(current):
            queued = [j for j in current if j.state == "QUEUED"]
            running = sorted(
                (j for j in current if j.state == "RUNNING"), key=lambda j: j.time_start
            )
            excess = (queued + running)[: len(current) - wanted]
            self._task(dep, t, t + self.STOP_DELAY, "STOP", self._run_stop_jobs, excess)

    def _switch_revision(self, dep: Deployment, t: float) -> None:
        """A new active revision: STOP the old revision's jobs, LIST the new one's (§4.1)."""
        if dep.status != "RUNNING":
            return
        old = [j for j in dep.active_jobs() if j.revision != dep.active_revision]
        if old:
            self._task(dep, t, t + self.STOP_DELAY, "STOP", self._run_stop_jobs, old)
        if dep.strategy != "SCHEDULED":
            self._list_task(dep, t, t + self.LIST_DELAY, int(dep.replicas))

    # -- credits ---------------------------------------------------------------------------------

    def _replan_funds(self, account: Account, t: float) -> None:
        """Schedule the moment the account's credits run out at the current burn rate."""
        account.funds_version += 1
        if account.burn_per_second <= 0:
            return
        left = account.available(t)
        due = t + max(0.0, float(left / account.burn_per_second))
        self._at(due, self._funds_out, account, account.funds_version)

    def _funds_out(self, t: float, account: Account, version: int) -> None:
        if version != account.funds_version:
            return
        left = account.available(t)
        if left > _CENT_FRACTION:
            self._replan_funds(account, t)
            return
        account.settled = account.assigned - account.reserved
        for dep in sorted(account.burning.values(), key=lambda d: d.seq):
            if dep.status == "RUNNING":
                self._insufficient(dep, t)

    def _shortage_text(self, dep: Deployment, t: float) -> str:
        market = self.markets.get(dep.market)
        rate = market_price(market) if market else _ZERO
        required = rate * Decimal(str(dep.timeout)) / 60
        left = max(_ZERO, dep.account.available(t))
        return (
            f"Insufficient credits to list job. Required: ${required:.3f}, Available: ${left:.3f}"
        )

    def _insufficient(self, dep: Deployment, t: float) -> None:
        """RUNNING → INSUFFICIENT_FUNDS: jobs stop, a retry is queued on the slow ladder."""
        self._event(dep, t, "JOB_LIST_ERROR", self._shortage_text(dep, t))
        self._forget_work(dep)
        for job in dep.active_jobs():
            self._finish_job(job, t, "STOPPED")
        self._set_status(dep, "INSUFFICIENT_FUNDS", t)
        delay = min(self.FUNDS_RETRY_CAP, self.FUNDS_RETRY_BASE * 2**dep.funds_retries)
        dep.funds_retries += 1
        self._task(
            dep,
            t,
            t + delay,
            "LIST",
            self._funds_retry,
            limit=int(dep.replicas),
            active_revision=dep.active_revision,
        )

    def _funds_retry(self, t: float, dep: Deployment) -> None:
        if dep.status != "INSUFFICIENT_FUNDS":
            return
        if dep.account.available(t) <= 0:
            self._insufficient(dep, t)
            return
        dep.funds_retries = 0
        self._set_status(dep, "RUNNING", t)
        if dep.strategy == "SCHEDULED":
            self._schedule_fire(dep, t)
        else:
            self._run_list(t, dep, int(dep.replicas), False)

    # -- JSON views ----------------------------------------------------------------------------

    def _endpoints(self, dep: Deployment) -> list[dict[str, Any]]:
        out = []
        for op_id, ports in exposed_ports(dep.definition).items():
            host = _b58_hash("endpoint", dep.id, dep.vault, op_id).lower()
            out.append(
                {"opId": op_id, "port": ports[0], "url": f"https://{host}.node.k8s.prd.nos.ci"}
            )
        return out

    def deployment_json(self, dep: Deployment, *, legacy: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": dep.id,
            "name": dep.name,
            "vault": dep.vault,
            "market": dep.market,
            "owner": dep.account.owner,
            "status": dep.status,
            "replicas": dep.replicas,
            "timeout": dep.timeout,
            "endpoints": self._endpoints(dep),
            "confidential": dep.confidential,
            "active_revision": dep.active_revision,
            "active_jobs": dep.running_jobs,
            "created_at": iso(dep.created_at),
            "updated_at": iso(dep.updated_at),
            "strategy": dep.strategy,
        }
        if dep.strategy == "SCHEDULED":
            body["schedule"] = dep.schedule
        if dep.strategy == "INFINITE":
            body["rotation_time"] = dep.rotation_time
        if legacy:
            del body["active_jobs"]
            body["revisions"] = [r.body for r in dep.revisions]
            body["jobs"] = [self._job_json(j) for j in dep.jobs]
            body["events"] = [e.body for e in dep.events]
        return body

    def _job_json(self, job: Job) -> dict[str, Any]:
        return {
            "tx": job.tx,
            "deployment": job.deployment.id,
            "job": job.job,
            "market": job.market,
            "node": job.node,
            "revision": job.revision,
            "state": job.state,
            "time_start": int(job.time_start),
            "created_at": iso(job.created_at),
            "updated_at": iso(job.updated_at),
        }

    def _job_detail(self, job: Job, t: float) -> dict[str, Any]:
        dep = job.deployment
        definition = dep.revisions[job.revision - 1].body["job_definition"]
        finished = job.state in ("COMPLETED", "STOPPED")
        return {
            "confidential": dep.confidential,
            "revision": job.revision,
            "market": job.market,
            "node": job.node,
            "state": JOB_STATES.index(job.state),
            "jobStatus": None,
            "jobDefinition": definition,
            "jobResult": None if job.state == "QUEUED" else _job_result(job, definition, t),
            "timeStart": int(job.time_start),
            "timeEnd": int(job.time_end) if finished else 0,
            "listedAt": int(job.created_at),
        }

    # -- HTTP plumbing -------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        d = "/api/deployments"
        one = d + "/{deployment}"
        g = _guarded
        return [
            web.get(d, g(self._h_list)),
            web.post(d + "/create", g(self._h_create)),
            web.get(one, g(self._h_get)),
            web.delete(one, g(self._h_delete)),
            web.post(one + "/start", g(self._h_start)),
            web.post(one + "/stop", g(self._h_stop)),
            web.post(one + "/archive", g(self._h_archive)),
            web.post(one + "/create-revision", g(self._h_create_revision)),
            web.patch(one + "/update-active-revision", g(self._h_update_active_revision)),
            web.patch(one + "/update-replica-count", g(self._h_update_replicas)),
            web.patch(one + "/update-timeout", g(self._h_update_timeout)),
            web.patch(one + "/update-schedule", g(self._h_update_schedule)),
            web.patch(one + "/update-name", g(self._h_update_name)),
            web.get(one + "/jobs", g(self._h_jobs)),
            web.get(one + "/jobs/{job}", g(self._h_job)),
            web.get(one + "/events", g(self._h_events)),
            web.get(one + "/revisions", g(self._h_revisions)),
            web.get(one + "/tasks", g(self._h_tasks)),
            web.get("/api/credits/balance", g(self._h_balance)),
            web.get("/api/markets/", g(self._h_markets)),
            web.get("/api/markets/{market}/", g(self._h_market)),
            web.get("/api/markets/{market}/required-resources", g(self._h_market_resources)),
            web.route("*", "/{tail:.*}", self._h_no_route),
        ]

    async def _h_no_route(self, request: web.Request) -> web.Response:
        path = request.path.removeprefix(self.prefix)
        body = {
            "message": f"Route {request.method}:{path} not found",
            "error": "Not Found",
            "statusCode": 404,
        }
        return json_response(body, status=404)

    def _auth(self, request: web.Request) -> Account:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token.strip():
            raise _unauthorized("Unauthorized, missing or invalid headers")
        account = self.accounts.get(token.strip())
        if account is None:
            raise _unauthorized("Unauthorized")
        return account

    def _id_param(self, request: web.Request, name: str = "deployment") -> str:
        value = request.match_info[name]
        if len(value) < 43:
            raise _fastify(f"params/{name} must NOT have fewer than 43 characters")
        if len(value) > 44:
            raise _fastify(f"params/{name} must NOT have more than 44 characters")
        return value

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        if not raw:
            raise _fastify("body must be object")
        try:
            return json.loads(raw)
        except ValueError:
            raise _fastify(
                "Body is not valid JSON but content-type is set to 'application/json'",
                code="FST_ERR_CTP_INVALID_JSON_BODY",
            ) from None

    async def _patch_body(
        self, request: web.Request, key: str, check: Callable[[Any], str | None]
    ) -> Any:
        body = await self._body(request)
        if not isinstance(body, dict):
            raise _fastify("body must be object")
        if key not in body:
            raise _fastify(f"body must have required property '{key}'")
        problem = check(body[key])
        if problem:
            raise _fastify(f"body/{key} {problem}")
        return body[key]

    def _load(
        self, account: Account, deployment_id: str, *, archived_guard: bool = True
    ) -> Deployment:
        dep = self.deployments.get(deployment_id)
        if dep is None or dep.account is not account:
            raise _error(404, NOT_FOUND)
        if archived_guard and dep.status == "ARCHIVED":
            raise _error(500, ARCHIVED_GUARD)
        return dep

    async def _target(self, request: web.Request, *, archived_guard: bool = True) -> Deployment:
        account = self._auth(request)
        return self._load(account, self._id_param(request), archived_guard=archived_guard)

    # -- pagination ------------------------------------------------------------------------------

    def _page(
        self,
        request: web.Request,
        items: Sequence[Any],
        seqs: Sequence[int],
        match: Callable[[Any], bool] | None = None,
        total: int | None = None,
    ) -> tuple[list[Any], dict[str, Any]]:
        query = request.query
        limit_text = query.get("limit", "10")
        if limit_text not in PAGE_LIMITS:
            raise _fastify("querystring/limit must be equal to one of the allowed values")
        limit = int(limit_text)
        order = query.get("sort_order", "desc")
        if order not in ("asc", "desc"):
            raise _fastify("querystring/sort_order must be equal to one of the allowed values")
        shown = 1 if order == "asc" else -1
        ok = match or (lambda _: True)
        cursor = _decode_cursor(query["cursor"]) if "cursor" in query else None
        if cursor is None:
            step, backwards = shown, False
            start = 0 if step == 1 else len(items) - 1
        else:
            seq, direction = cursor
            backwards = direction == "prev"
            step = -shown if backwards else shown
            start = _start_index(seqs, seq, step)
        got = _scan(items, start, step, ok, limit + 1)
        more, got = len(got) > limit, got[:limit]
        if backwards:
            page = got[::-1]
            has_prev = more
            has_next = bool(page) and _exists(items, seqs, page[-1].seq, shown, ok)
        else:
            page = got
            has_next = more
            has_prev = (
                cursor is not None and bool(page) and _exists(items, seqs, page[0].seq, -shown, ok)
            )
        pagination = {
            "cursor_next": _encode_cursor(page[-1], "next") if has_next else None,
            "cursor_prev": _encode_cursor(page[0], "prev") if has_prev else None,
            "total_items": total if total is not None else sum(1 for item in items if ok(item)),
        }
        return page, pagination

    def _date_filters(
        self, request: web.Request, when: Callable[[Any], float]
    ) -> list[Callable[[Any], bool]]:
        tests: list[Callable[[Any], bool]] = []
        query = request.query
        if "created_after" in query:
            after = _parse_iso(query["created_after"], "created_after")
            tests.append(lambda x: when(x) > after)
        if "created_before" in query:
            before = _parse_iso(query["created_before"], "created_before")
            tests.append(lambda x: when(x) < before)
        return tests

    @staticmethod
    def _enum_list(request: web.Request, name: str, allowed: Sequence[str]) -> set[str] | None:
        if name not in request.query:
            return None
        values = {v.strip() for v in request.query[name].split(",") if v.strip()}
        if not values or not values <= set(allowed):
            raise _fastify(f"querystring/{name} must be equal to one of the allowed values")
        return values

    # -- deployment routes -----------------------------------------------------------------------

    async def _h_list(self, request: web.Request) -> web.Response:
        account = self._auth(request)
        query = request.query
        statuses = self._enum_list(request, "status", STATUSES)
        strategies = self._enum_list(request, "strategy", STRATEGIES)
        tests: list[Callable[[Deployment], bool]] = []
        if statuses is not None:
            tests.append(lambda d: d.status in statuses)
        if strategies is not None:
            tests.append(lambda d: d.strategy in strategies)
        if "search" in query:
            needle = query["search"].lower()
            tests.append(lambda d: needle in d.name.lower() or needle in d.id.lower())
        for key in ("id", "name", "vault"):
            if key in query:
                value = query[key]
                tests.append(_field_is(key, value))
        tests.extend(self._date_filters(request, lambda d: d.created_at))
        match = (lambda d: all(test(d) for test in tests)) if tests else None
        total = None
        if not tests:
            total = len(account.deployments)
        elif len(tests) == 1 and statuses is not None:
            total = sum(account.status_counts[s] for s in statuses)
        elif len(tests) == 1 and strategies is not None:
            total = sum(account.strategy_counts[s] for s in strategies)
        if self.legacy_list_shape:
            matching = [d for d in reversed(account.deployments) if match is None or match(d)]
            return json_response([self.deployment_json(d, legacy=True) for d in matching])
        page, pagination = self._page(request, account.deployments, account.seqs, match, total)
        return json_response(
            {"deployments": [self.deployment_json(d) for d in page], "pagination": pagination}
        )

    async def _h_create(self, request: web.Request) -> web.Response:
        account = self._auth(request)
        body = await self._body(request)
        if not isinstance(body, dict):
            raise _fastify(": Expected object, : Expected all values to match")
        problems = _create_problems(body)
        if problems:
            raise _fastify(", ".join([*problems, ": Expected all values to match"]))
        definition_problems = validate_job_definition(body["job_definition"])
        if definition_problems:
            raise _fastify(typia_message(definition_problems))
        if body["strategy"] == "INFINITE":
            if body["timeout"] < 60:
                raise _error(400, "Timeout for infinite deployments must be at least 1 hour.")
            if body.get("rotation_time", 20) >= body["timeout"] - 10:
                raise _error(400, "Rotation time must be at least 10 minutes less than timeout.")
        dep = self._create(account, body, self.now())
        return json_response(self.deployment_json(dep))

    async def _h_get(self, request: web.Request) -> web.Response:
        dep = await self._target(request, archived_guard=False)
        return json_response(self.deployment_json(dep))

    async def _h_delete(self, request: web.Request) -> web.Response:
        dep = await self._target(request, archived_guard=False)
        if dep.status != "STOPPED":
            raise _error(500, INCORRECT_STATE)
        account = dep.account
        index = bisect_left(account.seqs, dep.seq)
        del account.seqs[index]
        del account.deployments[index]
        account.status_counts[dep.status] -= 1
        account.strategy_counts[dep.strategy] -= 1
        self._forget_work(dep)
        del self.deployments[dep.id]
        return web.Response(status=204)

    async def _h_start(self, request: web.Request) -> web.Response:
        dep = await self._target(request, archived_guard=False)
        if dep.status not in START_FROM:
            raise _error(500, INCORRECT_STATE)
        t = self.now()
        self._begin_start(dep, t)
        return json_response({"status": dep.status, "updated_at": iso(t)})

    async def _h_stop(self, request: web.Request) -> web.Response:
        dep = await self._target(request)
        if dep.status not in STOP_FROM:
            raise _error(500, INCORRECT_STATE)
        t = self.now()
        self._begin_stop(dep, t)
        return json_response({"status": dep.status, "updated_at": iso(t)})

    async def _h_archive(self, request: web.Request) -> web.Response:
        dep = await self._target(request)
        if dep.status != "STOPPED":
            raise _error(500, INCORRECT_STATE)
        t = self.now()
        self._forget_work(dep)
        self._set_status(dep, "ARCHIVED", t)
        return json_response({"status": dep.status, "updated_at": iso(t)})

    async def _h_create_revision(self, request: web.Request) -> web.Response:
        account = self._auth(request)
        deployment_id = self._id_param(request)
        definition = await self._body(request)
        problems = validate_job_definition(definition)
        if problems:
            raise _fastify(typia_message(problems, prefix=""))
        dep = self._load(account, deployment_id)
        t = self.now()
        self._add_revision(dep, definition, t)
        dep.updated_at = t
        self._switch_revision(dep, t)
        return json_response(
            {
                "active_revision": dep.active_revision,
                "endpoints": self._endpoints(dep),
                "revisions": [r.body for r in dep.revisions],
                "updated_at": iso(t),
            }
        )

    async def _h_update_active_revision(self, request: web.Request) -> web.Response:
        account = self._auth(request)
        deployment_id = self._id_param(request)
        number = await self._patch_body(request, "active_revision", _min_number(1))
        dep = self._load(account, deployment_id)
        if number != int(number) or not 1 <= number <= len(dep.revisions):
            raise _error(400, "The specified revision does not exist.")
        t = self.now()
        if int(number) != dep.active_revision:
            dep.active_revision = int(number)
            dep.updated_at = t
            self._switch_revision(dep, t)
        return json_response(
            {
                "active_revision": dep.active_revision,
                "endpoints": self._endpoints(dep),
                "updated_at": iso(dep.updated_at),
            }
        )

    async def _h_update_replicas(self, request: web.Request) -> web.Response:
        account = self._auth(request)
        deployment_id = self._id_param(request)
        replicas = await self._patch_body(request, "replicas", _min_number(0))
        dep = self._load(account, deployment_id)
        if replicas != dep.replicas:
            t = self.now()
            dep.replicas = replicas
            dep.updated_at = t
            if dep.strategy in ("SIMPLE", "SIMPLE-EXTEND", "INFINITE"):
                self._reconcile(dep, t)
        return json_response({"replicas": dep.replicas, "updated_at": iso(dep.updated_at)})

    async def _h_update_timeout(self, request: web.Request) -> web.Response:
        account = self._auth(request)
        deployment_id = self._id_param(request)
        timeout = await self._patch_body(request, "timeout", _min_number(60))
        dep = self._load(account, deployment_id)
        if timeout != dep.timeout:
            t = self.now()
            grow = (float(timeout) - float(dep.timeout)) * 60
            dep.timeout = timeout
            dep.updated_at = t
            if grow > 0 and dep.strategy in ("INFINITE", "SIMPLE-EXTEND"):
                for job in dep.jobs:
                    if job.state == "RUNNING":
                        job.time_end += grow
                        for task_id, task in list(dep.tasks.items()):
                            if task["task"] == "EXTEND" and task.get("job") == job.job:
                                del dep.tasks[task_id]  # lapses: planned for the old end
                        self._plan_job(job, t)
        return json_response({"timeout": dep.timeout, "updated_at": iso(dep.updated_at)})

    async def _h_update_schedule(self, request: web.Request) -> web.Response:
        account = self._auth(request)
        deployment_id = self._id_param(request)
        schedule = await self._patch_body(request, "schedule", _cron_schema)
        dep = self._load(account, deployment_id)
        if dep.strategy != "SCHEDULED":
            raise _error(400, "Deployment is using an incorrect strategy.")
        if schedule != dep.schedule:
            t = self.now()
            dep.schedule = schedule
            dep.updated_at = t
            if dep.status == "RUNNING":
                for task_id in [k for k, v in dep.tasks.items() if v["task"] == "LIST"]:
                    del dep.tasks[task_id]
                self._schedule_fire(dep, t)
        return json_response({"schedule": dep.schedule, "updated_at": iso(dep.updated_at)})

    async def _h_update_name(self, request: web.Request) -> web.Response:
        account = self._auth(request)
        deployment_id = self._id_param(request)
        name = await self._patch_body(request, "name", _name_schema)
        dep = self._load(account, deployment_id, archived_guard=False)
        if name != dep.name:
            dep.name = name
            dep.updated_at = self.now()
        return json_response({"name": dep.name, "updated_at": iso(dep.updated_at)})

    async def _h_jobs(self, request: web.Request) -> web.Response:
        dep = await self._target(request, archived_guard=False)
        states = self._enum_list(request, "state", JOB_STATES)
        if "revision" in request.query:
            raise _fastify("querystring/revision must be number")
        tests = self._date_filters(request, lambda j: j.created_at)
        if states is not None:
            tests.append(lambda j: j.state in states)
        if "job" in request.query:
            wanted = request.query["job"]
            tests.append(lambda j: j.job == wanted)
        match = (lambda j: all(test(j) for test in tests)) if tests else None
        page, pagination = self._page(request, dep.jobs, [j.seq for j in dep.jobs], match)
        return json_response({"jobs": [self._job_json(j) for j in page], "pagination": pagination})

    async def _h_job(self, request: web.Request) -> web.Response:
        dep = await self._target(request, archived_guard=False)
        job = dep.jobs_by_id.get(request.match_info["job"])
        if job is None:
            raise _error(404, "Job not found")
        return json_response(self._job_detail(job, self.now()))

    async def _h_events(self, request: web.Request) -> web.Response:
        dep = await self._target(request, archived_guard=False)
        categories = self._enum_list(request, "category", ("Deployment", "Event"))
        tests = self._date_filters(request, lambda e: e.created_at)
        if categories is not None:
            tests.append(lambda e: e.body["category"] in categories)
        if "type" in request.query:
            types = {v.strip() for v in request.query["type"].split(",")}
            tests.append(lambda e: e.body["type"] in types)
        match = (lambda e: all(test(e) for test in tests)) if tests else None
        page, pagination = self._page(request, dep.events, [e.seq for e in dep.events], match)
        return json_response({"events": [e.body for e in page], "pagination": pagination})

    async def _h_revisions(self, request: web.Request) -> web.Response:
        dep = await self._target(request, archived_guard=False)
        if "revision" in request.query:
            raise _fastify("querystring/revision must be number")
        tests = self._date_filters(request, lambda r: r.created_at)
        match = (lambda r: all(test(r) for test in tests)) if tests else None
        page, pagination = self._page(request, dep.revisions, [r.seq for r in dep.revisions], match)
        return json_response({"revisions": [r.body for r in page], "pagination": pagination})

    async def _h_tasks(self, request: web.Request) -> web.Response:
        dep = await self._target(request)
        kinds = self._enum_list(request, "task", ("LIST", "EXTEND", "STOP"))
        tasks = [
            Record(task_id, 0.0, body)
            for task_id, body in sorted(dep.tasks.items())
            if kinds is None or body["task"] in kinds
        ]
        page, pagination = self._page(request, tasks, [r.seq for r in tasks])
        return json_response({"tasks": [r.body for r in page], "pagination": pagination})

    # -- credits and markets -----------------------------------------------------------------------

    async def _h_balance(self, request: web.Request) -> web.Response:
        account = self._auth(request)
        account.accrue(self.now())
        return json_response(
            {
                "assignedCredits": float(round(account.assigned, 6)),
                "reservedCredits": float(round(account.reserved, 6)),
                "settledCredits": float(round(account.settled, 6)),
            }
        )

    async def _h_markets(self, request: web.Request) -> web.Response:
        query = request.query
        markets = list(self.markets.values())
        if "type" in query:
            if query["type"] not in ("PREMIUM", "COMMUNITY", "OTHER"):
                return json_response(
                    {
                        "name": "ValidationError",
                        "message": f"Invalid market type '{query['type']}'",
                    },
                    status=500,
                )
            markets = [m for m in markets if m["type"] == query["type"]]
        if "filterKey" in query and "filterValue" in query:
            key, value = query["filterKey"], query["filterValue"]
            markets = [m for m in markets if str(m.get(key)) == value]
        if "limit" in query:
            if not query["limit"].isdigit():
                return json_response(
                    {"name": "ValidationError", "message": "limit must be a number"}, status=500
                )
            markets = markets[: int(query["limit"])]
        return json_response(markets)

    def _market_or_404(self, request: web.Request) -> dict[str, Any]:
        market = self.markets.get(request.match_info["market"])
        if market is None:
            raise _Abort(
                json_response({"name": "NotFoundError", "message": "Market not found"}, status=404)
            )
        return market

    async def _h_market(self, request: web.Request) -> web.Response:
        return json_response(self._market_or_404(request))

    async def _h_market_resources(self, request: web.Request) -> web.Response:
        market = self._market_or_404(request)
        return json_response(
            {
                "required_images": market["required_images"],
                "required_remote_resources": market["required_remote_resources"],
            }
        )

    # -- the demo world ----------------------------------------------------------------------------

    def _seed_demo(self) -> None:
        """A demo account with deployments in varied states, built by playing history forward."""
        now = self.now()
        account = self.add_api_key(self.DEMO_API_KEY, credits_usd=150)
        account.accrued_at = now - 4 * 86400
        m3060, m3090, m4090, a100 = (
            "7AtiXMSH6R1jjBxrcYjehCkkSF7zvYWte63gwEDBcGHq",
            "CA5pMpqkYFKtme7K31pNB1s62X2SdhEv1nN9RdxKCpuQ",
            "97G9NnvBDQ2WpKu6fasoMsAKmfj63C9rhysJnkeWodAf",
            next(a for a, m in self.markets.items() if m["slug"] == "nvidia-a100-80gb"),
        )

        def at(seconds_ago: float) -> float:
            t = now - seconds_ago
            self._play(t)
            return t

        t = at(3 * 86400)
        whisper = self._create(
            account,
            _demo_body(
                "whisper-transcribe-batch",
                m3090,
                "SIMPLE",
                60,
                _demo_definition("whisper", "onerahmet/openai-whisper-asr-webservice:latest"),
            ),
            t,
        )
        self._begin_start(whisper, t)
        t = at(2 * 86400)
        self._forget_work(whisper)
        self._set_status(whisper, "ARCHIVED", t)
        llama = self._create(
            account,
            _demo_body(
                "llama3-chat",
                m4090,
                "INFINITE",
                120,
                _demo_definition("vllm", "vllm/vllm-openai:v0.6.3", expose=8000, gpu=True),
                rotation_time=20,
            ),
            t,
        )
        self._begin_start(llama, t)
        t = at(6 * 3600)
        render = self._create(
            account,
            _demo_body(
                "sd-render-batch",
                m3060,
                "SIMPLE",
                60,
                _demo_definition("render", "ghcr.io/nosana-ci/sd-batch:1.4", gpu=True),
                replicas=2,
            ),
            t,
        )
        self._begin_start(render, t)
        t = at(4 * 3600)
        sweep = self._create(
            account,
            _demo_body(
                "eval-sweep",
                a100,
                "SCHEDULED",
                60,
                _demo_definition("eval", "ghcr.io/acme/eval-harness:2.1", gpu=True),
                schedule="30 */4 * * *",
            ),
            t,
        )
        self._begin_start(sweep, t)
        t = at(3600)
        comfy = self._create(
            account,
            _demo_body(
                "comfyui-dev",
                m4090,
                "SIMPLE-EXTEND",
                60,
                _demo_definition(
                    "comfyui", "ghcr.io/ai-dock/comfyui:latest", expose=8188, gpu=True
                ),
            ),
            t,
        )
        self._begin_start(comfy, t)
        t = at(600)
        self._create(
            account,
            _demo_body(
                "notebook-draft",
                m3060,
                "SIMPLE",
                30,
                _demo_definition("jupyter", "jupyter/base-notebook:latest", expose=8888),
            ),
            t,
        )
        self._play(now)


# -- module helpers ------------------------------------------------------------------------------


def _scan(
    items: Sequence[Any], start: int, step: int, ok: Callable[[Any], bool], want: int
) -> list[Any]:
    out: list[Any] = []
    i, n = start, len(items)
    while 0 <= i < n and len(out) < want:
        item = items[i]
        if ok(item):
            out.append(item)
        i += step
    return out


def _start_index(seqs: Sequence[int], seq: int, step: int) -> int:
    """Index of the first item strictly after ``seq`` when walking in direction ``step``."""
    return bisect_right(seqs, seq) if step == 1 else bisect_left(seqs, seq) - 1


def _exists(
    items: Sequence[Any], seqs: Sequence[int], seq: int, step: int, ok: Callable[[Any], bool]
) -> bool:
    return bool(_scan(items, _start_index(seqs, seq, step), step, ok, 1))


def _encode_cursor(item: Any, direction: str) -> str:
    body = {
        "sort_field_value": iso(item.created_at),
        "_id": f"{item.seq:024x}",
        "direction": direction,
    }
    return base64.b64encode(json.dumps(body, separators=(",", ":")).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        body = json.loads(base64.b64decode(cursor, validate=True))
        direction = body["direction"]
        if direction not in ("next", "prev"):
            raise ValueError(direction)
        return int(body["_id"], 16), direction
    except (ValueError, KeyError, TypeError):
        raise _error(400, "Invalid cursor.") from None


def _min_number(minimum: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not _number(value):
            return "must be number"
        return None if value >= minimum else f"must be >= {minimum}"

    return check


def _cron_schema(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be string"
    return None if CRON_PATTERN.match(value) else f'must match pattern "{CRON_PATTERN.pattern}"'


def _name_schema(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be string"
    return None if value else "must NOT have fewer than 1 characters"


def _create_problems(body: dict[str, Any]) -> list[str]:
    """TypeBox-style messages for a create body (metadata only; the definition comes next)."""
    problems: list[str] = []
    for key, kind in (
        ("name", "string"),
        ("market", "string"),
        ("replicas", "number"),
        ("timeout", "number"),
        ("job_definition", "object"),
    ):
        value = body.get(key)
        if key not in body:
            problems.append(f"{key}: Expected required property")
        elif kind == "string" and not isinstance(value, str):
            problems.append(f"{key}: Expected string")
        elif kind == "number" and not _number(value):
            problems.append(f"{key}: Expected number")
        elif kind == "number" and isinstance(value, int | float) and value < 1:
            problems.append(f"{key}: Expected number to be greater or equal to 1")
        elif kind == "object" and not isinstance(value, dict):
            problems.append(f"{key}: Expected object")
    for key in ("confidential", "autostart", "new_vault"):
        if key in body and not isinstance(body[key], bool):
            problems.append(f"{key}: Expected boolean")
    if "rotation_time" in body and not _number(body["rotation_time"]):
        problems.append("rotation_time: Expected number")
    strategy = body.get("strategy")
    schedule = body.get("schedule")
    if strategy not in STRATEGIES or (strategy == "SCHEDULED" and not isinstance(schedule, str)):
        problems.append(": Expected union value")
    elif strategy == "SCHEDULED" and not CRON_PATTERN.match(str(schedule)):
        problems.append(f"schedule: Expected string to match '{CRON_PATTERN.pattern}'")
    return problems


def _demo_definition(
    op_id: str, image: str, *, expose: int | None = None, gpu: bool = False
) -> dict[str, Any]:
    args: dict[str, Any] = {"image": image, "gpu": gpu}
    if expose is not None:
        args["expose"] = [
            {
                "port": expose,
                "type": "webapi",
                "health_checks": [
                    {
                        "type": "http",
                        "path": "/",
                        "method": "GET",
                        "expected_status": 200,
                        "continuous": False,
                    }
                ],
            }
        ]
    return {
        "version": "0.1",
        "type": "container",
        "meta": {"trigger": "api"},
        "ops": [{"type": "container/run", "id": op_id, "args": args}],
    }


def _demo_body(
    name: str, market: str, strategy: str, timeout: int, definition: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "market": market,
        "strategy": strategy,
        "timeout": timeout,
        "replicas": extra.pop("replicas", 1),
        "job_definition": definition,
        **extra,
    }


def _job_result(job: Job, definition: dict[str, Any], t: float) -> dict[str, Any]:
    """What the node reports for a job: per-op states and logs (partial while RUNNING)."""
    running = job.state == "RUNNING"
    end = t if running else job.time_end
    start_ms = int(job.time_start * 1000)
    end_ms = int(end * 1000)
    op_states = []
    for op in definition.get("ops", []):
        logs = _op_logs(job, op, job.time_start, end, finished=not running)
        status = "running" if running else ("success" if job.state == "COMPLETED" else "stopped")
        if running:
            exit_code = None
        elif job.state == "COMPLETED":
            exit_code = job.exit_code or 0
        else:
            exit_code = 137
        op_states.append(
            {
                "providerId": None,
                "operationId": op.get("id"),
                "group": (op.get("execution") or {}).get("group") or op.get("id"),
                "status": status,
                "startTime": start_ms,
                "endTime": None if running else end_ms,
                "exitCode": exit_code,
                "logs": logs,
                "results": {},
            }
        )
    return {
        "status": "RUNNING" if running else ("success" if job.state == "COMPLETED" else "stopped"),
        "startTime": start_ms,
        "endTime": None if running else end_ms,
        "opStates": op_states,
    }


def _op_logs(
    job: Job, op: dict[str, Any], start: float, end: float, *, finished: bool
) -> list[dict[str, Any]]:
    """Plausible, deterministic container logs for one op between ``start`` and ``end``."""
    args = op.get("args") or {}
    op_id = str(op.get("id"))
    lines: list[tuple[float, str, str]] = []
    if op.get("type") == "container/create-volume":
        lines = [
            (start, "stdout", f"Creating volume {args.get('name')}"),
            (start + 1, "stdout", f"Volume {args.get('name')} created"),
        ]
    else:
        image = args.get("image", "unknown")
        digest = hashlib.sha256(f"{image}:{job.job}".encode()).hexdigest()
        lines = [
            (start, "stdout", f"Pulling image {image}"),
            (start + 4, "stdout", f"Digest: sha256:{digest}"),
            (start + 5, "stdout", f"Status: Downloaded newer image for {image}"),
            (start + 6, "stdout", f"Starting container {op_id} on node {job.node}"),
        ]
        cmd = args.get("cmd")
        commands = [cmd] if isinstance(cmd, str) else [c for c in cmd or [] if isinstance(c, str)]
        for command in commands:
            if command.startswith("echo "):
                lines.append((start + 7, "stdout", command[5:].strip("'\"")))
        ports = exposed_ports({"ops": [op]}).get(op_id, [])
        for port in ports:
            lines.append((start + 8, "stdout", f"Listening on 0.0.0.0:{port}"))
        if args.get("gpu"):
            lines.append(
                (start + 8, "stderr", "WARNING: CUDA_VISIBLE_DEVICES not set, using all GPUs")
            )
        beat = 300.0
        first = int((end - start) // beat)
        for n in range(max(1, first - 49), first + 1):
            lines.append(
                (start + n * beat, "stdout", f"[{op_id}] healthy: uptime {int(n * beat // 60)} min")
            )
        if finished:
            if job.state == "STOPPED":
                lines.append((end, "stderr", "Received SIGTERM, shutting down"))
            else:
                lines.append((end, "stdout", f"Container exited with code {job.exit_code or 0}"))
    return [
        {"type": stream, "log": text, "timestamp": int(ts * 1000)}
        for ts, stream, text in lines
        if ts <= end
    ]


def _field_is(key: str, value: object) -> Callable[[Any], bool]:
    """A filter: the deployment's ``key`` equals ``value``."""
    return lambda d: bool(getattr(d, key) == value)
