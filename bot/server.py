"""``deploybot serve``: the aiohttp server (HTTP mode), optionally with Socket Mode.

Routes: ``POST /slack/events`` (commands, interactivity, events), ``GET /slack/install`` and
``GET /slack/oauth_redirect`` (multi-workspace OAuth), ``GET /healthz``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from sqlalchemy import text

from bot.app import DeployBot, build_bot, check_slack_settings
from bot.config import Settings
from bot.runtime import Storage, open_storage

log = logging.getLogger(__name__)

BOT_KEY: web.AppKey[DeployBot] = web.AppKey("deploybot", DeployBot)
SOCKET_KEY: web.AppKey[Any] = web.AppKey("socket_mode", object)


def build_web_app(bot: DeployBot, *, socket_mode: bool = False) -> web.Application:
    """Bolt's aiohttp application plus ``/healthz`` and clean shutdown."""
    web_app = bot.app.web_app(path="/slack/events")
    web_app[BOT_KEY] = bot
    web_app.router.add_get("/healthz", healthz)
    if socket_mode:
        web_app.on_startup.append(_start_socket_mode)
    web_app.on_shutdown.append(_shutdown)
    return web_app


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers (and Socket Mode, when used, is connected); else 503."""
    bot = request.app[BOT_KEY]
    checks: dict[str, str] = {}
    ok = True
    try:
        async with bot.storage.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), 5)
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


async def _start_socket_mode(web_app: web.Application) -> None:
    bot = web_app[BOT_KEY]
    assert bot.settings.slack_app_token is not None
    handler = AsyncSocketModeHandler(
        bot.app, app_token=bot.settings.slack_app_token.get_secret_value()
    )
    await handler.connect_async()
    web_app[SOCKET_KEY] = handler
    log.info("Socket Mode connected")


async def _shutdown(web_app: web.Application) -> None:
    bot = web_app[BOT_KEY]
    handler = web_app.get(SOCKET_KEY)
    if handler is not None:
        await handler.close_async()
    await bot.aclose()
    await bot.storage.aclose()


async def create_server_app(settings: Settings) -> web.Application:
    """Open the database (migrated), build the app, wrap it for aiohttp."""
    socket_mode = settings.slack_app_token is not None
    check_slack_settings(settings, socket_mode=socket_mode)
    storage: Storage = await open_storage(settings)
    try:
        bot = build_bot(settings, storage, socket_mode=socket_mode)
    except Exception:
        await storage.aclose()
        raise
    return build_web_app(bot, socket_mode=socket_mode)


def serve(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT (Heroku gives 30 s; in-flight work gets 20 of them)."""
    web.run_app(
        create_server_app(settings),
        host=settings.host,
        port=settings.port,
        print=lambda text: log.info("%s", text),
        shutdown_timeout=25,
    )
