"""Stop timers and the daily digest: their buttons (Extend 1h, Cancel timer) and their jobs
(the stop, the warning 15 minutes before, each day's digest). The work is the services'
(bot/services/timers.py, digest.py) and the pipeline's (the stop at fire time)."""

from __future__ import annotations

import hashlib
import logging
from functools import partial
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import timers as view
from bot.core.create import STOP_AFTER, stop_after_seconds
from bot.core.replies import Reply
from bot.db.create_store import RequestRow
from bot.db.jobs import ClaimedJob
from bot.providers.models import Deployment
from bot.services.create.status_message import actor_of
from bot.services.deployments import Actor, Resolved
from bot.services.digest import DIGEST_KIND
from bot.services.slack_io import SlackIO
from bot.services.timers import FIRE_KIND, WARN_KIND
from handlers.common import asker, failure_reply
from handlers.jobs import defer_click, job_slack

if TYPE_CHECKING:
    from bot.app import DeployBot

log = logging.getLogger(__name__)

CLICK_KIND = "timer_click"


async def post_or_dm(slack: SlackIO, channel: str | None, user_id: str, reply: Reply) -> None:
    """In the channel the work was set from; by direct message when that fails."""
    if channel and await slack.post(channel, reply) is not None:
        return
    await slack.dm(user_id, reply)


def _data(job: ClaimedJob) -> dict[str, Any]:
    data = job.payload.get("data")
    return data if isinstance(data, dict) else {}


async def stop_after_create(bot: DeployBot, row: RequestRow) -> None:
    """A new deployment whose create form said "Stop after": its timer, decided as if set by
    command (one per create request, however often this runs)."""
    seconds = stop_after_seconds(str(row.form.get(STOP_AFTER) or ""))
    raw = row.result.get("deployment")
    if not seconds or not row.deployment_id or not isinstance(raw, dict):
        return
    slack = await bot.slack_for(row.team_id, row.enterprise_id or None)
    if slack is None:
        return
    actor = actor_of(row)
    try:
        client = await bot.pool.get(row.team_id, row.provider, row.enterprise_id or None)  # type: ignore[arg-type]
        resolved = Resolved(client, Deployment.model_validate(raw))
        timer_id = hashlib.sha256(row.id.encode()).hexdigest()[:6]
        outcome = await bot.gate.timer_for_new(actor, resolved, seconds, slack, timer_id=timer_id)
        reply = outcome.reply
    except Exception as exc:
        reply = failure_reply(exc)
    await post_or_dm(slack, row.channel_id, row.user_id, reply)


def register(bot: DeployBot) -> None:
    app = bot.app
    if bot.create is not None:
        bot.create.on_created = partial(stop_after_create, bot)

    async def click(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        action = (body.get("actions") or [{}])[0]
        do = "extend" if action.get("action_id") == view.EXTEND_ACTION else "cancel"
        await defer_click(
            bot,
            ack,
            respond,
            client,
            kind=CLICK_KIND,
            body=body,
            actor=asker(context),
            data={"do": do, "timer": str(action.get("value") or "")[:16]},
        )

    app.action(view.EXTEND_ACTION)(click)
    app.action(view.CANCEL_ACTION)(click)

    @bot.job(CLICK_KIND)
    async def click_job(job: ClaimedJob) -> None:
        found = await job_slack(bot, job)
        if found is None or bot.gate.timers is None:
            return
        slack = bot.slack.io(found.client, found.actor.team_id)
        timer_id = str(found.data.get("timer") or "")
        try:
            if found.data.get("do") == "extend":
                reply = await bot.gate.timers.extend(found.actor, timer_id, slack)
            else:
                reply = await bot.gate.timers.cancel(found.actor, timer_id, slack)
        except Exception as exc:
            reply = failure_reply(exc)
            await found.respond(**reply.payload(), replace_original=False)
            return
        # done: the message with the buttons says so; otherwise a note for the clicker only
        await found.respond(**reply.payload(), replace_original=reply.public)

    @bot.job(FIRE_KIND)
    async def fire_job(job: ClaimedJob) -> None:
        """The timer's time has come: stop through the pipeline, say so where it was set."""
        actor = Actor.from_json(job.payload.get("actor"))
        slack = await bot.slack_for(actor.team_id, actor.enterprise_id)
        if slack is None:
            log.info("job %s: the workspace uninstalled deploybot; no stop", job.id)
            return
        timer = view.Timer.from_json(_data(job))
        result = await bot.gate.fire_timer(actor, timer)
        await post_or_dm(slack, timer.channel, timer.set_by, view.fired_reply(timer, result))

    @bot.job(WARN_KIND)
    async def warn_job(job: ClaimedJob) -> None:
        actor = Actor.from_json(job.payload.get("actor"))
        timers = bot.gate.timers
        slack = await bot.slack_for(actor.team_id, actor.enterprise_id)
        if slack is None or timers is None:
            return
        timer = await timers.due_warning(actor.team_id, _data(job))
        if timer is None:  # extended (a later warning is filed), cancelled, or fired
            return
        await post_or_dm(
            slack, timer.channel, timer.set_by, view.warning_reply(timer, timers.now())
        )

    @bot.job(DIGEST_KIND)
    async def digest_job(job: ClaimedJob) -> None:
        actor = Actor.from_json(job.payload.get("actor"))
        slack = await bot.slack_for(actor.team_id, actor.enterprise_id)
        if slack is None or bot.gate.digests is None:
            return
        await bot.gate.digests.run(actor, _data(job), slack)
