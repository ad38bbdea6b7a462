"""App Home's Previous / Next buttons of the approvals section: publish Home again at that
page (the section is built by the approvals part, ``handlers/approvals.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import approvals as msg
from bot.services.deployments import Actor
from bot.services.home import APPROVALS_PAGE
from handlers.common import asker
from handlers.events import publish_home

if TYPE_CHECKING:
    from bot.app import DeployBot

#: Pages beyond this are not asked for by any button deploybot draws.
MAX_PAGE = 10_000


def _page(body: dict[str, Any]) -> int:
    value = str(((body.get("actions") or [{}])[0]).get("value") or "")
    return min(int(value), MAX_PAGE) if value.isascii() and value.isdecimal() else 1


async def show_page(bot: DeployBot, client: AsyncWebClient, actor: Actor, page: int) -> None:
    """Publish ``actor``'s Home with page ``page`` of the approvals waiting for them."""
    APPROVALS_PAGE.set(max(1, page))  # this task's context: the parts built for it see it
    await publish_home(bot, client, actor)


def register(bot: DeployBot) -> None:
    async def turn(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        await ack()
        actor = asker(context)
        bot.work.spawn(show_page(bot, client, actor, _page(body)), name="app_home_page")

    bot.app.action(msg.HOME_PAGE_PREVIOUS)(turn)
    bot.app.action(msg.HOME_PAGE_NEXT)(turn)


__all__ = ["register", "show_page"]
