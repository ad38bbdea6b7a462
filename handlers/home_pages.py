"""App Home's Previous / Next buttons of the approvals section: publish Home again at that
page, as a job like every other work after an ack (the section is built by the approvals
part, ``handlers/approvals.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import approvals as msg
from bot.db.jobs import ClaimedJob
from bot.services.deployments import Actor
from bot.services.home import APPROVALS_PAGE
from handlers.common import asker
from handlers.events import publish_home
from handlers.jobs import defer_click, job_slack

if TYPE_CHECKING:
    from bot.app import DeployBot

#: Pages beyond this are not asked for by any button deploybot draws.
MAX_PAGE = 10_000
JOB = "home_page"


def _page(value: object) -> int:
    text = str(value or "")
    return max(1, min(int(text), MAX_PAGE)) if text.isascii() and text.isdecimal() else 1


async def show_page(bot: DeployBot, client: AsyncWebClient, actor: Actor, page: int) -> None:
    """Publish ``actor``'s Home with page ``page`` of the approvals waiting for them."""
    token = APPROVALS_PAGE.set(_page(page))  # the parts built for this publish see it
    try:
        await publish_home(bot, client, actor)
    finally:
        APPROVALS_PAGE.reset(token)


def register(bot: DeployBot) -> None:
    async def turn(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        page = _page(((body.get("actions") or [{}])[0]).get("value"))
        await defer_click(
            bot, ack, respond, client, kind=JOB, body=body, actor=asker(context),
            data={"page": page},
        )  # fmt: skip

    bot.app.action(msg.HOME_PAGE_PREVIOUS)(turn)
    bot.app.action(msg.HOME_PAGE_NEXT)(turn)

    @bot.job(JOB)
    async def home_page_job(job: ClaimedJob) -> None:
        found = await job_slack(bot, job)
        if found is not None:
            await show_page(bot, found.client, found.actor, _page(found.data.get("page")))


__all__ = ["register", "show_page"]
