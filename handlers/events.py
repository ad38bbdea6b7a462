"""Events: uninstall/revocation cleanup, and the App Home tab."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.arguments import args_for
from bot.core.home import CREATE_ACTION
from bot.core.operations import Operation, OpKind
from bot.db.jobs import ClaimedJob
from bot.services.deployments import Actor
from bot.services.home import build_home
from handlers import create
from handlers.common import UNKNOWN_PROVIDER, asker, known_provider
from handlers.delivery import dm_responder
from handlers.jobs import NotTaken, defer, job_slack

if TYPE_CHECKING:
    from bot.app import DeployBot

log = logging.getLogger("deploybot.handlers")
HOME_PART_BUDGET = 5.0


def register(bot: DeployBot) -> None:
    app = bot.app

    async def workspace_gone(
        event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        """``app_uninstalled`` and ``tokens_revoked``: the cleanup is a job (a Slack retry of
        the event, same ``event_id``, is the same job; a worker that dies mid-way hands it on)."""
        team_id = context.team_id or body.get("team_id") or ""
        data = {
            "event": {"type": event.get("type"), "tokens": event.get("tokens") or {}},
            "team": team_id,
            "enterprise": context.enterprise_id or "",
        }
        key = f"gone:{team_id}:{body.get('event_id') or secrets.token_hex(8)}"
        try:
            await defer(bot, "workspace_gone", key=key, actor=None, data=data)
        except NotTaken:  # nothing can be cleaned up without the database either
            log.warning("%s not recorded: the database is unreachable", event.get("type"))

    @bot.job("workspace_gone")
    async def workspace_gone_job(job: ClaimedJob) -> None:
        data = job.payload.get("data") or {}
        context = AsyncBoltContext(
            team_id=str(data.get("team") or ""),
            enterprise_id=str(data.get("enterprise") or "") or None,
        )
        event = dict(data.get("event") or {})
        await forget(bot, event, {"team_id": context.team_id}, context)

    app.event("app_uninstalled")(workspace_gone)
    app.event("tokens_revoked")(workspace_gone)

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext) -> None:
        """Bolt acks events itself; the Home tab is built by a job (a Slack retry of the
        event, same ``event_id``, is the same job)."""
        if event.get("tab", "home") != "home":
            return
        actor = Actor(
            team_id=context.team_id or "",
            user_id=str(event.get("user") or ""),
            enterprise_id=context.enterprise_id,
        )
        key = f"home:{actor.team_id}:{body.get('event_id') or secrets.token_hex(8)}"
        try:
            await defer(bot, "home", key=key, actor=actor, data={})
        except NotTaken:
            log.warning("App Home not refreshed: the database is unreachable")

    @bot.job("home")
    async def home_job(job: ClaimedJob) -> None:
        found = await job_slack(bot, job)
        if found is not None:
            await publish_home(bot, found.client, found.actor)

    @app.action(re.compile(rf"^{CREATE_ACTION}_(nosana|akash|neuranet)$"))
    async def create_from_home(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        await ack()
        actor = asker(context)
        provider = known_provider(((body.get("actions") or [{}])[0]).get("value"))
        # Home has no response URL: answers go by direct message.
        tell = dm_responder(bot.slack, client, actor.team_id, actor.user_id)
        if provider is None:
            bot.work.spawn(tell(text=UNKNOWN_PROVIDER))
            return
        op = Operation(args=args_for(OpKind.CREATE), provider=provider)

        bot.work.spawn(
            create.open_create(
                bot,
                client,
                tell,
                actor,
                op,
                trigger_id=str(body.get("trigger_id") or ""),
            )
        )


async def publish_home(
    bot: DeployBot,
    client: AsyncWebClient,
    actor: Actor,
    *,
    extra_sections: Sequence[dict[str, Any]] = (),
) -> None:
    """Build and publish a person's Home tab with ``extra_sections`` and the parts registered
    in ``bot.home_sections`` (the seam for e.g. the approvals waiting for them; a part that
    fails or takes over 5 s is left out, the rest is still shown)."""
    store = bot.watches.store if bot.watches is not None else None
    extra = list(extra_sections)
    for part in bot.home_sections:
        try:
            extra.extend(await asyncio.wait_for(part(actor), HOME_PART_BUDGET))
        except Exception:
            log.warning("an App Home part failed; showing the rest", exc_info=True)
    view = await build_home(bot.service, store, actor, extra_sections=extra)
    await client.views_publish(user_id=actor.user_id, view=view)


async def forget(
    bot: DeployBot, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
) -> None:
    """Bolt's default cleanup of the installation rows (multi-workspace mode), then every row
    deploybot keeps for the team (when the bot token is gone, not for revoked user tokens)."""
    app = bot.app
    kind = event.get("type")
    if bot.installation_store is not None:
        if kind == "app_uninstalled":
            await app.default_app_uninstalled_event_listener()(context=context)
        else:
            await app.default_tokens_revoked_event_listener()(event=event, context=context)
    tokens = event.get("tokens") or {}
    if kind == "app_uninstalled" or tokens.get("bot"):
        team_id = context.team_id or body.get("team_id") or ""
        await bot.gate.forget_workspace(
            team_id, context.enterprise_id, uninstalled=kind == "app_uninstalled"
        )


__all__ = ["forget", "publish_home", "register"]
