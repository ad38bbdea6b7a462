"""What the listeners share: who is asking, admin checks, and delivering replies."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.operations import Chain, Operation
from bot.core.replies import Reply
from bot.providers.errors import ProviderError
from bot.services.deployments import Actor, error_reply, pick_reply
from bot.services.errors import AmbiguousError, NotPermittedError, ServiceError

log = logging.getLogger("deploybot.handlers")

ADMIN_ONLY = "Only workspace admins and owners can {what}. Ask one of them."


def actor_of(context: AsyncBoltContext, body: dict[str, Any]) -> Actor:
    team_id = (
        context.team_id
        or body.get("team_id")
        or (body.get("team") or {}).get("id")
        or (body.get("user") or {}).get("team_id")
        or ""
    )
    channel = context.channel_id or body.get("channel_id") or (body.get("channel") or {}).get("id")
    return Actor(
        team_id=team_id,
        user_id=context.user_id or body.get("user_id") or (body.get("user") or {}).get("id", ""),
        enterprise_id=context.enterprise_id or None,
        channel_id=channel,
    )


async def require_admin(client: AsyncWebClient, user_id: str, what: str) -> None:
    """Workspace admins and owners only (Slack's ``is_admin``/``is_owner``)."""
    try:
        response = await client.users_info(user=user_id)
    except SlackApiError as exc:
        raise NotPermittedError(
            f"Couldn't check whether you are a workspace admin ({exc.response.get('error')})."
        ) from None
    user = response.get("user") or {}
    if not (user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner")):
        raise NotPermittedError(ADMIN_ONLY.format(what=what))


def failure_reply(exc: BaseException, op: Operation | Chain | None = None) -> Reply:
    if isinstance(exc, AmbiguousError) and op is not None:
        return pick_reply(exc, op)
    if not isinstance(exc, ProviderError | ServiceError):
        log.error("unexpected failure: %s", type(exc).__name__, exc_info=exc)
    return error_reply(exc)


async def guarded(
    respond: AsyncRespond,
    work: Callable[[], Awaitable[None]],
    op: Operation | Chain | None = None,
    *,
    replace: bool = True,
) -> None:
    """Run ``work``; any failure becomes a private one-liner (never a stack trace)."""
    try:
        await work()
    except Exception as exc:
        reply = failure_reply(exc, op)
        await respond(**reply.payload(), replace_original=replace)


async def post_or_respond(
    client: AsyncWebClient, respond: AsyncRespond | None, channel: str | None, reply: Reply
) -> None:
    """Post to the channel with the bot token; fall back to response_url (DMs, private)."""
    if channel:
        try:
            await client.chat_postMessage(
                channel=channel, text=reply.text, blocks=reply.blocks or None
            )
            return
        except SlackApiError as exc:
            log.info("chat.postMessage failed (%s); answering privately", exc.response.get("error"))
    if respond is not None:
        await respond(**reply.payload(), replace_original=False)
