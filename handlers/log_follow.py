"""``/deploy logs <deployment> --follow``: the polls (jobs) and the **Stop following** button."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import log_follow as words
from bot.core.replies import Reply
from bot.db.jobs import ClaimedJob
from bot.services.log_follow import Following, LogFollower
from handlers.common import asker
from handlers.jobs import NotTaken, defer, job_slack

if TYPE_CHECKING:
    from bot.app import DeployBot

POLL = "logs_follow"
STOP = "logs_follow_stop"


def _stop_key(follow_id: str) -> str:
    return f"logs_stop:{follow_id[:32]}"


def register(bot: DeployBot) -> None:
    assert bot.jobs is not None
    store = bot.jobs.store

    async def schedule(state: Following, at: float) -> None:
        await bot.defer(
            POLL,
            key=f"{POLL}:{state.id}:{state.polls}",
            actor=None,
            data=state.as_json(),
            run_after=at,
        )

    async def stopped(follow_id: str) -> str | None:
        row = await store.by_key(_stop_key(follow_id))
        return str(row["user_id"]) if row is not None else None

    follower = LogFollower(bot.pool, schedule=schedule, stopped=stopped)
    bot.gate.follow_logs = follower.start
    bot.log_follower = follower

    @bot.job(POLL)
    async def poll(job: ClaimedJob) -> None:
        state = Following.from_json(dict(job.payload.get("data") or {}))
        slack = await bot.slack_for(state.team_id, state.enterprise_id or None)
        if slack is None:
            return
        following = await follower.poll(state, slack)
        if following is not None:
            await schedule(following, follower.next_at())

    @bot.app.action(words.STOP_ACTION)
    async def stop(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        actor = asker(context)
        action = (body.get("actions") or [{}])[0]
        follow_id = str(action.get("value") or "") if isinstance(action, dict) else ""
        try:  # the row is the signal the next poll finds (a second click: the same row)
            await defer(bot, STOP, key=_stop_key(follow_id), actor=actor, data={"id": follow_id})
        except NotTaken as exc:
            await ack()
            await respond(text=exc.message, response_type="ephemeral", replace_original=False)
            return
        await ack()

    @bot.job(STOP)
    async def stop_noted(job: ClaimedJob) -> None:
        found = await job_slack(bot, job)
        if found is not None:
            note = "Stopping: the thread says so within a few seconds."
            await found.respond(**Reply(text=note).payload(), replace_original=False)
