"""``deploybot serve``: the aiohttp server (HTTP mode), optionally with Socket Mode.

Routes: ``POST /slack/events`` (commands, interactivity, events), ``GET /slack/install`` and
``GET /slack/oauth_redirect`` (multi-workspace OAuth), ``GET /livez`` (the process is up),
``GET /readyz`` (it can serve: database reachable, Socket Mode connected when used, not
shutting down) with ``GET /healthz`` as its alias, and ``GET /metrics``.

SIGTERM drains: the listening socket closes at once (a load balancer sends new requests to
the other replicas, and ``/readyz`` answers 503 meanwhile), requests in flight and the
operations they started finish — up to ``DEPLOYBOT_SHUTDOWN_TIMEOUT`` seconds — and the
process exits 0.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot import metrics
from bot.app import DeployBot, build_bot, check_slack_settings, parse_slack_body
from bot.config import Settings
from bot.db.engine import ping
from bot.runtime import Storage, open_storage
from bot.slack_signature import CHECKED, signature_valid

log = logging.getLogger(__name__)

BOT_KEY: web.AppKey[DeployBot] = web.AppKey("deploybot", DeployBot)
SOCKET_KEY: web.AppKey[Any] = web.AppKey("socket_mode", object)
EVENTS_PATH = "/slack/events"
#: How long /healthz waits for the database, connecting included (Heroku's router gives 30 s).
DATABASE_CHECK_TIMEOUT = 5.0


@dataclass
class Drain:
    """Whether shutdown has begun (/readyz answers 503 from then on) and when: requests and
    operations in flight share one deadline."""

    started: float | None = None

    @property
    def draining(self) -> bool:
        return self.started is not None

    def begin(self) -> None:
        if self.started is None:
            self.started = time.monotonic()

    def remaining(self, budget: float) -> float:
        """What is left of ``budget`` seconds since shutdown began (at least half a second)."""
        spent = 0.0 if self.started is None else time.monotonic() - self.started
        return max(0.5, budget - spent)


DRAIN_KEY: web.AppKey[Drain] = web.AppKey("drain", Drain)


#: Allocations (net of frees) between two collections of the youngest generation (Python's
#: default: 700). A request in flight holds a few hundred objects, so at 50 requests in flight
#: the default collected every few requests, each time walking the objects of every request
#: still in flight: 4 % of the web process's CPU under load; at 10,000 it is a tenth of that.
#: Cycles are still collected, just in larger, rarer batches.
GC_YOUNG_THRESHOLD = 10_000


async def _tune_gc(web_app: web.Application) -> None:
    """Move everything loaded at start-up out of the collector's way (a full collection of
    a long-lived heap is what made the slowest acks slow), and collect the young generation
    less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


async def _resume_create(web_app: web.Application) -> None:
    """Pick up Akash bid waits left running by a previous process (any replica)."""
    bot: DeployBot = web_app[BOT_KEY]
    if bot.create is None:
        return
    try:
        resumed = await bot.create.resume()
    except Exception:
        log.warning("could not resume pending bid waits", exc_info=True)
        return
    if resumed:
        log.info("resumed %d pending Akash bid waits", resumed)


def _serve_health(web_app: web.Application, bot: DeployBot) -> None:
    """What both processes serve and do at start: health, metrics, the drain, a frozen heap."""
    web_app[BOT_KEY] = bot
    web_app[DRAIN_KEY] = Drain()
    web_app.router.add_get("/livez", livez)
    web_app.router.add_get("/readyz", readyz)
    web_app.router.add_get("/healthz", readyz)
    web_app.router.add_get("/metrics", metrics_endpoint)
    web_app.on_startup.append(_tune_gc)


def build_web_app(
    bot: DeployBot, *, socket_mode: bool = False, watch: bool = False, worker: bool = True
) -> web.Application:
    """The Slack routes (:func:`slack_events`, and OAuth's two pages when multi-workspace) plus
    ``/livez``, ``/readyz``, ``/metrics`` and clean shutdown; with ``worker``, jobs and the
    approval sweeper run in this process too, and with ``watch`` the watcher's poll and send
    loops (``deploybot run``; ``serve`` has neither)."""
    web_app = web.Application()
    web_app.router.add_post(EVENTS_PATH, slack_events)
    flow = bot.app.oauth_flow
    if flow is not None:
        web_app.router.add_get(flow.install_path, oauth_page)
        web_app.router.add_get(flow.redirect_uri_path, oauth_page)
    _serve_health(web_app, bot)
    if worker:
        web_app.on_startup.append(_start_loops)
        web_app.on_startup.append(_resume_create)
    if socket_mode:
        web_app.on_startup.append(_start_socket_mode)
    if watch:
        web_app.on_startup.append(_start_watcher)
    web_app.on_shutdown.append(_stop_taking_work)
    web_app.on_cleanup.append(_close)
    return web_app


def _signed(verifier: SignatureVerifier | None, body: str, headers: Mapping[str, str]) -> bool:
    return signature_valid(
        verifier,
        body,
        headers.get("X-Slack-Request-Timestamp", ""),
        headers.get("X-Slack-Signature", ""),
    )


def _refused(error: str, status: int) -> web.Response:
    return web.json_response({"error": error}, status=status)


async def slack_events(request: web.Request) -> web.Response:
    """``POST /slack/events``, the one way Slack's requests reach Bolt over HTTP.

    The signature is checked here, before anything is parsed: forged, stale or malformed
    requests get 401 or 400, never a 500 with a stack trace in the logs. (So Bolt's own check,
    which would compute the same HMAC a second time on every ack, is off in the app
    :func:`bot.app.build_bot` builds; Socket Mode has no signatures and the shell signs what it
    dispatches.) Then Bolt's aiohttp adapter turns the request into Bolt's and Bolt's answer
    into the response, as Bolt's own server does.
    """
    try:
        text_body = (await request.read()).decode("utf-8")
    except UnicodeDecodeError:
        return _refused("malformed request", 400)
    bot = request.app[BOT_KEY]
    if not _signed(bot.verifier, text_body, request.headers) and not _is_ssl_check(
        text_body, request.content_type
    ):
        return _refused("invalid request", 401)
    try:
        bolt_request = AsyncBoltRequest(
            body=text_body,
            query=request.query_string,
            headers=request.headers,  # type: ignore[arg-type]
            context={CHECKED: True},
        )
        answer = await bot.app.async_dispatch(bolt_request)
    except (ValueError, TypeError, AttributeError, KeyError):
        # a signed body Bolt cannot read (listener failures never get here: Bolt answers
        # those itself)
        return _refused("malformed request", 400)
    return await to_aiohttp_response(answer)


async def oauth_page(request: web.Request) -> web.Response:
    """``GET /slack/install`` (the "Add to Slack" page) and ``GET /slack/oauth_redirect``
    (Slack sends the installer back): Bolt's OAuth flow, as Bolt's own server routes them."""
    flow = request.app[BOT_KEY].app.oauth_flow
    if flow is None:  # pragma: no cover - the routes exist only with a flow
        return web.Response(status=404)
    handle = flow.handle_installation if request.path == flow.install_path else flow.handle_callback
    return await to_aiohttp_response(await handle(await to_bolt_request(request)))


def _is_ssl_check(body: str, content_type: str | None) -> bool:
    """Slack's unsigned ``ssl_check=1`` probe."""
    if "ssl_check" not in body:
        return False
    try:
        return parse_slack_body(body, content_type).get("ssl_check") == "1"
    except ValueError:
        return False


async def livez(request: web.Request) -> web.Response:
    """200 while the process runs and its event loop answers (no dependency is checked: a
    database outage must not get every replica restarted)."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """200 when the database answers (and Socket Mode, when used, is connected); 503 when not,
    or once shutdown has begun. ``/healthz`` is the same check."""
    bot = request.app[BOT_KEY]
    checks: dict[str, str] = {}
    ok = True
    if request.app[DRAIN_KEY].draining:
        ok = False
        checks["shutdown"] = "draining"
    try:
        await asyncio.wait_for(ping(bot.storage.engine), DATABASE_CHECK_TIMEOUT)
        checks["database"] = "ok"
    except Exception as exc:
        ok = False
        checks["database"] = f"unreachable ({type(exc).__name__})"
    handler = request.app.get(SOCKET_KEY)
    if handler is not None:
        connected = bool(handler.client and await handler.client.is_connected())
        checks["socket_mode"] = "connected" if connected else "disconnected"
        ok = ok and connected
    checks["status"] = "ok" if ok else "unhealthy"
    return web.json_response(checks, status=200 if ok else 503)


async def _start_loops(web_app: web.Application) -> None:
    bot = web_app[BOT_KEY]
    bot.start_loops()
    bot.start_worker()


async def metrics_endpoint(request: web.Request) -> web.Response:
    """Prometheus text format; the outbox depth is read from the database (bounded)."""
    bot = request.app[BOT_KEY]
    if bot.watches is not None:
        try:
            depth = await asyncio.wait_for(bot.watches.store.outbox_depth(), DATABASE_CHECK_TIMEOUT)
            metrics.OUTBOX_DEPTH.set(depth)
        except Exception as exc:
            log.info("could not read the outbox depth: %s", type(exc).__name__)
    if bot.jobs is not None:
        try:
            counts = await asyncio.wait_for(bot.jobs.store.counts(), DATABASE_CHECK_TIMEOUT)
            for state in ("queued", "running", "done", "failed"):
                metrics.JOBS.labels(state).set(counts.get(state, 0))
        except Exception as exc:
            log.info("could not read the job counts: %s", type(exc).__name__)
    body, content_type = metrics.render()
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response


async def _start_watcher(web_app: web.Application) -> None:
    bot = web_app[BOT_KEY]
    bot.start_watcher()
    log.info("watcher started (poll every %g s)", bot.settings.poll_interval)


async def _start_socket_mode(web_app: web.Application) -> None:
    bot = web_app[BOT_KEY]
    assert bot.settings.slack_app_token is not None
    handler = AsyncSocketModeHandler(
        bot.app, app_token=bot.settings.slack_app_token.get_secret_value()
    )
    await handler.connect_async()
    web_app[SOCKET_KEY] = handler
    log.info("Socket Mode connected")


async def _stop_taking_work(web_app: web.Application) -> None:
    """Shutdown, first step (the listening socket is already closed): refuse readiness and
    stop receiving Socket Mode events. Requests in flight go on."""
    web_app[DRAIN_KEY].begin()
    handler = web_app.get(SOCKET_KEY)
    if handler is not None:
        await handler.close_async()
    log.info("shutting down: finishing requests and operations in flight")


async def _close(web_app: web.Application) -> None:
    """Shutdown, last step (requests in flight have been answered): let the operations they
    started finish (bounded), then close provider clients and the database."""
    bot = web_app[BOT_KEY]
    await bot.aclose(drain_timeout=web_app[DRAIN_KEY].remaining(bot.settings.shutdown_timeout))
    await bot.storage.aclose()
    log.info("stopped")


def build_worker_app(bot: DeployBot) -> web.Application:
    """``deploybot worker``: jobs, the watcher, its outbox sender and the approval sweeper,
    with ``/livez``, ``/readyz`` (``/healthz``) and ``/metrics`` — no Slack routes."""
    web_app = web.Application()
    _serve_health(web_app, bot)
    web_app.on_startup.append(_tune_gc)
    web_app.on_startup.append(_start_loops)
    web_app.on_startup.append(_resume_create)
    web_app.on_startup.append(_start_watcher)
    web_app.on_shutdown.append(_stop_taking_work)
    web_app.on_cleanup.append(_close)
    return web_app


Role = Literal["web", "worker", "all"]


async def create_server_app(settings: Settings, role: Role = "all") -> web.Application:
    """Open the database (migrated under a lock), build the app, wrap it for aiohttp:
    ``web`` acks and enqueues, ``worker`` runs what was enqueued, ``all`` does both."""
    socket_mode = settings.slack_app_token is not None and role != "worker"
    if role != "worker":
        check_slack_settings(settings, socket_mode=socket_mode)
    storage: Storage = await open_storage(settings)
    try:
        # a worker never receives requests: nothing to verify signatures of
        bot = build_bot(settings, storage, socket_mode=socket_mode or role == "worker")
    except Exception:
        await storage.aclose()
        raise
    if role == "worker":
        return build_worker_app(bot)
    return build_web_app(bot, socket_mode=socket_mode, watch=role == "all", worker=role == "all")


def serve(settings: Settings, role: Role = "all") -> None:
    """Run until SIGTERM/SIGINT, then drain within ``DEPLOYBOT_SHUTDOWN_TIMEOUT`` (requests
    and operations share it; Heroku allows 30 s between SIGTERM and SIGKILL) and exit 0."""
    port = settings.worker_port if role == "worker" else settings.port
    web.run_app(
        create_server_app(settings, role),
        host=settings.host,
        port=port,
        print=lambda text: log.info("%s", text),
        shutdown_timeout=settings.shutdown_timeout,
    )
