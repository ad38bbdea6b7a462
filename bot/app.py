"""The app factory: one Bolt ``AsyncApp`` with every listener, for HTTP, Socket Mode and the shell.

Three ways to authorize, chosen from the settings:

* multi-workspace OAuth (``SLACK_CLIENT_ID`` + ``SLACK_CLIENT_SECRET``): slack_sdk's async
  SQLAlchemy installation and state stores on deploybot's own database, with the authorize
  cache on;
* single workspace (``SLACK_BOT_TOKEN``);
* an explicit token and client (the local shell, the tests).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.logger import get_bolt_logger
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.background import BackgroundWork
from bot.config import Settings
from bot.db.access import AccessStore
from bot.db.approvals import ApprovalStore
from bot.db.audit import AuditLog
from bot.db.budget_store import BudgetStore
from bot.db.create_store import CreateStore
from bot.db.digest_reads import DigestReads
from bot.db.engine import is_database_outage
from bot.db.jobs import JobStore, NewJob
from bot.db.schema import SLACK_BOTS, SLACK_INSTALLATIONS, SLACK_OAUTH_STATES
from bot.db.watch.store import WatchStore
from bot.jobs.queue import JobQueue
from bot.jobs.worker import Handler as JobHandler
from bot.jobs.worker import Worker
from bot.runtime import Storage
from bot.services.audit import AuditService
from bot.services.audit_trail import AuditTrail
from bot.services.budget import BudgetService
from bot.services.create import CreateService
from bot.services.create_status import StatusMessages
from bot.services.deployments import Actor, DeploymentService
from bot.services.deployments.accounts import utc_now
from bot.services.digest import DigestService
from bot.services.governance import GovernanceService
from bot.services.log_follow import LogFollower
from bot.services.people import People
from bot.services.pipeline import Pipeline
from bot.services.pool import ProviderPool
from bot.services.slack_io import DirectoryCache, SlackIO
from bot.services.timers import TimerService
from bot.slack_gateway import SlackGateway, web_client
from bot.slack_guard import SlackPayloadGuard
from bot.slack_middleware import RequestStep, Steps
from bot.slack_signature import SignedOnly
from bot.watch.poller import Poller
from bot.watch.recorder import ChangeRecorder
from bot.watch.runner import WatchRunner
from bot.watch.sender import Sender
from bot.watch.service import WatchService
from handlers.common import AttachActor

log = logging.getLogger(__name__)

UNKNOWN_WORKSPACE = (
    "deploybot isn't installed in this workspace (or was uninstalled). "
    "Ask an admin to install it again from the install link."
)
NO_SIGNING_SECRET = (
    "SLACK_SIGNING_SECRET is not set: deploybot can't verify that requests come from Slack. "
    "Copy it from your app's Basic Information page (or run `deploybot shell` to try deploybot "
    "locally without Slack)."
)
NO_CREDENTIALS = (
    "No Slack credentials: set SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and "
    "SLACK_CLIENT_SECRET (installable in many), or run `deploybot shell`."
)


#: Ended jobs are forgotten after this many seconds.
JOB_RETENTION = 24 * 3600.0


class ConfigurationError(Exception):
    """The settings can't run Slack (e.g. HTTP mode without a signing secret)."""


@dataclass
class DeployBot:
    """Everything one running app holds: the Bolt app, its services and background work."""

    app: AsyncApp
    settings: Settings
    storage: Storage
    service: DeploymentService
    pool: ProviderPool
    #: The pipeline every operation passes (preflight, policy, approvals, audit).
    gate: Pipeline
    #: Every per-workspace Web API client comes from here.
    slack: SlackGateway
    work: BackgroundWork = field(default_factory=BackgroundWork)
    #: Creating deployments (forms, estimates, Akash bids → lease, templates).
    create: CreateService | None = None
    installation_store: AsyncSQLAlchemyInstallationStore | None = None
    #: Checks Slack's request signatures (None only in Socket Mode without a signing secret).
    verifier: SignatureVerifier | None = field(default=None, repr=False)
    #: Loops that run for the app's lifetime (approval expiry and reminders).
    loops: list[asyncio.Task[None]] = field(default_factory=list)

    async def slack_for(self, team_id: str, enterprise_id: str | None) -> SlackIO | None:
        """Slack for background work in one workspace (its installation's bot token)."""
        return await self.slack.slack_for(team_id, enterprise_id)

    def start_loops(self) -> None:
        """Start the background loops (idempotent)."""
        if not self.loops:
            self.loops.append(asyncio.create_task(self._sweep_forever(), name="approval-sweeper"))

    async def sweep_once(self) -> dict[str, int]:
        done = await self.gate.sweep(self.slack_for)
        if self.jobs is not None:  # ended jobs are kept a day (what happened, for operators)
            done["jobs_purged"] = await self.jobs.store.purge(
                older_than=time.time() - JOB_RETENTION
            )
        return done

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not is_database_outage(exc):
                    log.exception("approval sweep failed; trying again next round")
                else:
                    log.warning("approval sweep: database unreachable; trying again next round")
            await asyncio.sleep(self.settings.approval_sweep_seconds)

    #: Watches and their notifications (``/deploy watch``); the loops run once started.
    watches: WatchService | None = None
    watcher: WatchRunner | None = None
    budgets: BudgetService | None = None
    #: Extra parts of App Home (the seam for e.g. "approvals waiting for me"): each is called
    #: with the person and returns Block Kit blocks, placed after the running deployments.
    home_sections: list[Callable[[Actor], Awaitable[list[dict[str, Any]]]]] = field(
        default_factory=list
    )
    #: The bot token of a workspace, for work no Slack request started (the watcher's posts).
    token_for: Callable[[str, str], Awaitable[str | None]] | None = field(default=None, repr=False)
    #: Durable work: the job table (written before the ack) and this process's worker.
    jobs: JobQueue | None = None
    worker: Worker | None = None
    #: ``logs --follow``: the polls' service (set when the listeners are registered).
    log_follower: LogFollower | None = None
    #: kind → what runs a job of that kind (each listener module registers its own).
    job_handlers: dict[str, JobHandler] = field(default_factory=dict)

    def job(self, kind: str) -> Callable[[JobHandler], JobHandler]:
        """Register the handler of one job kind (a decorator)."""

        def register(handler: JobHandler) -> JobHandler:
            if kind in self.job_handlers:
                raise ValueError(f"job kind {kind!r} is registered twice")
            self.job_handlers[kind] = handler
            return handler

        return register

    async def defer(
        self,
        kind: str,
        *,
        key: str,
        actor: Actor | None,
        data: dict[str, Any],
        response_url: str | None = None,
        while_running: bool = False,
        run_after: float | None = None,
        within: float | None = None,
    ) -> bool:
        """Write a job (committed on return): False when ``key`` was already taken (a retry
        or a double click). Raises what the database raised (the caller tells the person),
        or TimeoutError when ``within`` seconds passed first (it may still be written)."""
        assert self.jobs is not None
        if kind not in self.job_handlers:
            raise ValueError(f"no handler for job kind {kind!r}")
        payload: dict[str, Any] = {"data": data}
        if actor is not None:
            payload["actor"] = actor.as_json()
        if response_url:
            payload["response_url"] = response_url
        return await self.jobs.put(
            NewJob(
                kind=kind,
                key=key,
                payload=payload,
                team_id=actor.team_id if actor else "",
                user_id=actor.user_id if actor else "",
                while_running=while_running,
                run_after=run_after,
            ),
            within=within,
        )

    def start_worker(self) -> Worker:
        """Run jobs in this process (``worker``, ``run``, the shell, the tests)."""
        assert self.worker is not None and self.jobs is not None
        self.work.attach_jobs(self.jobs.store, self.worker)
        self.worker.start()
        return self.worker

    def start_watcher(
        self,
        *,
        interval: float | None = None,
        pace: float = 1.0,
        poll_tick: float | None = None,
        send_tick: float = 0.5,
    ) -> WatchRunner:
        """Start the poll and send loops (``serve`` and the shell do; tests drive them)."""
        if self.watcher is None:
            self.watcher = self.build_watcher(interval=interval, pace=pace)
            self.watcher.poll_tick = poll_tick or self.watcher.poll_tick
            self.watcher.send_tick = send_tick
        self.watcher.start()
        return self.watcher

    def build_watcher(self, *, interval: float | None = None, pace: float = 1.0) -> WatchRunner:
        """The poller and sender of this app, not started."""
        assert self.watches is not None and self.token_for is not None
        poller = Poller(
            self.watches.store,
            self.pool,
            interval=interval or self.settings.poll_interval,
            budget=self.budgets,
        )
        sender = Sender(
            self.watches.store,
            self.token_for,
            partial(self.slack.for_token, wait_on_rate_limits=False),
            pace=pace,
        )
        runner = WatchRunner(poller, sender)
        if isinstance(self.service.recorder, ChangeRecorder):
            self.service.recorder.on_poll_soon = runner.poll_now
        return runner

    async def aclose(self, *, drain_timeout: float = 20.0) -> None:
        """Stop the watcher and the approval sweeper, finish in-flight work (bounded), then
        close provider clients."""
        if self.watcher is not None:
            await self.watcher.stop()
        if (
            self.worker is not None
            and self.worker.started
            and not await self.worker.stop(drain_timeout)
        ):
            log.warning("stopping with jobs unfinished: another worker takes them over")
        for task in self.loops:
            task.cancel()
        await asyncio.gather(*self.loops, return_exceptions=True)
        self.loops.clear()
        if not await self.work.drain(drain_timeout):
            log.warning("stopping with %d operations still running", self.work.pending)
            await self.work.cancel_all()
        await self.pool.aclose()
        await self.slack.http.aclose()


def check_slack_settings(settings: Settings, *, socket_mode: bool = False) -> None:
    """Refuse, with a message that says what to set, settings that can't serve Slack.

    Every problem is named at once, so a fresh install learns everything it has to set.
    """
    problems: list[str] = []
    if settings.slack_client_id and not settings.slack_client_secret:
        problems.append("SLACK_CLIENT_ID is set but SLACK_CLIENT_SECRET is not.")
    elif not (settings.slack_bot_token or settings.oauth_enabled):
        problems.append(NO_CREDENTIALS)
    if not socket_mode and not settings.slack_signing_secret:
        problems.append(NO_SIGNING_SECRET)
    if problems:
        raise ConfigurationError("\n".join(problems))


def parse_slack_body(body: str, content_type: str | None) -> dict[str, Any]:
    """A request body as Slack means it: JSON, a form with a JSON ``payload``, or a plain form.

    Raises ValueError when it is none of them (e.g. JSON that is not an object).
    """
    if not body:
        return {}
    if content_type == "application/json" or body.startswith("{"):
        data: Any = json.loads(body)
    else:
        form = dict(parse_qsl(body, keep_blank_values=True))
        data = json.loads(form["payload"]) if "payload" in form else form
    if not isinstance(data, dict):
        raise ValueError("the request body is not a JSON object")
    return data


class ReparseFormBody(RequestStep):
    """Bolt's parser takes any form body that merely *contains* the word "payload" (a
    ``/deploy show payload-api``, a channel named #payload-ops) for an interaction without its
    payload: the body comes out empty and the request unanswered (404). Runs after the signature
    check and before authorize, and puts the right body and context in place."""

    def step(self, req: AsyncBoltRequest) -> None:
        if req.mode == "http" and "payload" in req.raw_body:
            try:
                body = parse_slack_body(req.raw_body, req.content_type)
            except ValueError:
                body = None
            if body is not None and body != req.body:
                req.body = body
                build_async_context(req.context, body)


def build_bot(
    settings: Settings,
    storage: Storage,
    *,
    token: str | None = None,
    signing_secret: str | None = None,
    client: AsyncWebClient | None = None,
    pool: ProviderPool | None = None,
    process_before_response: bool = False,
    socket_mode: bool = False,
    clock: Callable[[], datetime] | None = None,
) -> DeployBot:
    """Build the Bolt app and register every listener.

    ``token``/``signing_secret`` override the settings (the shell and the tests pass their
    own). In HTTP mode a signing secret is required; Socket Mode does not verify signatures.
    ``clock`` is "now" for reading deployments (ages, ``logs --since 10m``): the providers'
    time, which is the real time except against sped-up sandboxes.
    """
    secret = signing_secret or (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    if not secret and not socket_mode:
        raise ConfigurationError(NO_SIGNING_SECRET)
    # What both kinds of app share. bot.server.slack_events checks every HTTP request's
    # signature before Bolt parses it and marks it checked, so Bolt's own check is off;
    # SignedOnly, where Bolt's check would be, checks any other HTTP request (the shell's,
    # one dispatched directly). Socket Mode has no signatures.
    verifier = SignatureVerifier(secret) if secret else None
    options: dict[str, Any] = {
        "process_before_response": process_before_response,
        "user_facing_authorize_error_message": UNKNOWN_WORKSPACE,
        "before_authorize": Steps(SignedOnly(verifier), ReparseFormBody()),
        "request_verification_enabled": False,
    }
    pool = pool or ProviderPool(settings, storage.keys)
    watch_store = WatchStore(storage.engine, reader=storage.writer)
    service = DeploymentService(
        storage.keys,
        pool,
        recorder=ChangeRecorder(watch_store),
        clock=clock or utc_now,
    )
    installation_store: AsyncSQLAlchemyInstallationStore | None = None
    bot_token = token or (
        settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    )
    if token is None and settings.oauth_enabled:
        assert settings.slack_client_id and settings.slack_client_secret
        client_id = settings.slack_client_id
        client_secret = settings.slack_client_secret.get_secret_value()
        installation_store = AsyncSQLAlchemyInstallationStore(
            client_id=client_id,
            engine=storage.engine,
            installations_table_name=SLACK_INSTALLATIONS,
            bots_table_name=SLACK_BOTS,
        )
        state_store = AsyncSQLAlchemyOAuthStateStore(
            expiration_seconds=600, engine=storage.engine, table_name=SLACK_OAUTH_STATES
        )
        client = client or web_client(settings)
        app = AsyncApp(
            signing_secret=secret or "",
            client=client,
            installation_store=installation_store,
            # Bolt types ``authorize`` as a plain callable; its own authorize class is one.
            authorize=AsyncInstallationStoreAuthorize(  # type: ignore[arg-type]
                logger=get_bolt_logger(AsyncInstallationStoreAuthorize),
                installation_store=installation_store,
                client_id=client_id,
                client_secret=client_secret,
                cache_enabled=True,
                client=client,  # token rotation goes to SLACK_API_URL too
            ),
            oauth_settings=AsyncOAuthSettings(
                client_id=client_id,
                client_secret=client_secret,
                scopes=[s.strip() for s in settings.slack_scopes.split(",") if s.strip()],
                installation_store=installation_store,
                state_store=state_store,
                install_path="/slack/install",
                redirect_uri_path="/slack/oauth_redirect",
            ),
            **options,
        )
    elif bot_token:
        client = client or web_client(settings, bot_token)
        if client.token is None:
            client.token = bot_token
        app = AsyncApp(
            signing_secret=secret or "",
            client=client,
            **options,
        )
    else:
        raise ConfigurationError(NO_CREDENTIALS)
    app.use(SlackPayloadGuard())
    app.use(AttachActor())
    access, audit = AccessStore(storage.engine), AuditLog(storage.engine)
    cache = DirectoryCache()
    trail = AuditTrail(audit)
    people = People(access, trail)

    async def token_for(enterprise_id: str, team_id: str) -> str | None:
        if installation_store is not None:
            found = await installation_store.async_find_bot(
                enterprise_id=enterprise_id or None, team_id=team_id
            )
            return found.bot_token if found is not None else None
        return bot_token

    slack = SlackGateway(
        settings, app.client, token_for if installation_store is not None else None, cache
    )
    work = BackgroundWork()
    create_store = CreateStore(storage.engine, storage.keyring)
    creator = CreateService(
        create_store,
        service,
        settings,
        work,
        publisher=StatusMessages(slack, create_store).publish,
    )
    watches = WatchService(watch_store, service)
    budgets = BudgetService(BudgetStore(storage.engine), watch_store, service, people, trail)
    gate = Pipeline(
        service,
        access,
        ApprovalStore(storage.engine),
        people,
        trail,
        governance=GovernanceService(access, people, trail),
        audit_commands=AuditService(audit, people, trail, ids_named=service.ids_named),
        creator=creator,
        watches=watches,
        budgets=budgets,
    )

    job_store = JobStore(storage.engine, writer=storage.writer)
    queue = JobQueue(job_store)
    gate.timers = TimerService(job_store, people, trail)
    gate.digests = DigestService(
        job_store, people, trail, service, DigestReads(storage.engine), burn=budgets.store
    )
    bot = DeployBot(
        app=app,
        slack=slack,
        settings=settings,
        storage=storage,
        service=service,
        pool=pool,
        gate=gate,
        work=work,
        create=creator,
        installation_store=installation_store,
        verifier=verifier,
        watches=watches,
        budgets=budgets,
        token_for=token_for,
        jobs=queue,
    )
    from handlers import register_all
    from handlers.jobs import give_up, resume

    register_all(bot)
    bot.worker = Worker(
        job_store,
        bot.job_handlers,
        resume=partial(resume, bot),
        give_up=partial(give_up, bot),
        slots=settings.job_slots,
        lease=settings.job_lease_seconds,
        poll=settings.job_poll_seconds,
        waiting_kinds=frozenset({"create_bids", "create_follow"}),
    )
    queue.listeners.append(bot.worker.wake)
    return bot
