"""Approve, Deny (with an optional reason, in a modal) and Cancel on approval requests.

The listeners only ack and hand the click to the policy gate (``bot/services/gate.py``),
which decides whether it counts and runs the operation exactly once.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import approvals as msg
from bot.db.engine import is_database_outage
from bot.db.jobs import ClaimedJob
from bot.services.deployments import Actor
from bot.services.home import APPROVALS_PAGE
from handlers.common import DATABASE_DOWN, asker, failure_reply, input_value
from handlers.delivery import private_note, responder
from handlers.jobs import NotTaken, defer, defer_click, job_slack

if TYPE_CHECKING:
    from bot.app import DeployBot

#: The deny modal must open while the click's trigger id is valid (3 s).
ELIGIBILITY_BUDGET = 1.5


def _request_id(body: dict[str, Any]) -> str:
    actions = body.get("actions") or [{}]
    return str(actions[0].get("value") or "")[:32]


def _in_dm(body: dict[str, Any]) -> bool:
    return str((body.get("channel") or {}).get("id", "")).startswith("D")


def register(bot: DeployBot) -> None:
    app = bot.app
    register_jobs(bot)

    @app.action(msg.APPROVE)
    async def approve(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        data = {"request_id": _request_id(body), "in_dm": _in_dm(body)}
        await defer_click(
            bot, ack, respond, client, kind="approve", body=body, actor=asker(context), data=data
        )

    @app.action(msg.CANCEL)
    async def cancel(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        data = {"request_id": _request_id(body)}
        await defer_click(
            bot, ack, respond, client, kind="cancel", body=body, actor=asker(context), data=data
        )

    @app.action(msg.DENY)
    async def deny(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        actor = asker(context)
        request_id = _request_id(body)
        trigger_id = body.get("trigger_id", "")
        respond = responder(bot.slack, client, body, respond)
        bot.work.spawn(
            _open_deny(bot, client, respond, actor, request_id=request_id, trigger_id=trigger_id),
            name=f"deny:{request_id}",
        )

    async def waiting_for_me(actor: Actor) -> list[dict[str, Any]]:
        slack = await bot.slack_for(actor.team_id, actor.enterprise_id)
        if slack is None:
            return []
        rows = await bot.gate.waiting_for(actor, slack)
        views = [bot.gate.view_of(row) for row in rows]
        channels = [row.message_channel for row in rows]
        return msg.home_section(views, channels, page=APPROVALS_PAGE.get())

    bot.home_sections.append(waiting_for_me)

    @app.view(msg.DENY_VIEW)
    async def deny_reason(
        ack: AsyncAck,
        view: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        request_id = str(view.get("private_metadata") or "")[:32]
        note = input_value(view, msg.DENY_BLOCK, msg.DENY_ACTION).strip()
        actor = asker(context)
        try:
            await defer(
                bot,
                "deny",
                key=f"deny:{request_id}:{actor.user_id}:{view.get('id') or view.get('hash') or ''}",
                actor=actor,
                data={"request_id": request_id, "note": note},
            )
        except NotTaken as exc:  # the form closes; the person is told by direct message
            await ack(response_action="clear")
            await bot.slack.io(client, actor.team_id).ephemeral(None, actor.user_id, exc.message)
            return
        await ack(response_action="clear")


def register_jobs(bot: DeployBot) -> None:
    """Approve, cancel and deny clicks, and approved requests, run as jobs."""

    @bot.job("approve")
    async def approve_job(job: ClaimedJob) -> None:
        found = await job_slack(bot, job)
        if found is None:
            return
        request_id = str(found.data.get("request_id") or "")
        slack = bot.slack.io(found.client, found.actor.team_id)
        try:
            note = await bot.gate.approve(found.actor, request_id, slack)
        except Exception as exc:
            note = failure_reply(exc).text
        if found.data.get("in_dm"):  # the copy in the approver's DM: replace it with the news
            await private_note(found.respond, note or ":white_check_mark: Approved.", replace=True)
        else:
            await private_note(found.respond, note)

    @bot.job("cancel")
    async def cancel_job(job: ClaimedJob) -> None:
        found = await job_slack(bot, job)
        if found is None:
            return
        request_id = str(found.data.get("request_id") or "")
        try:
            slack = bot.slack.io(found.client, found.actor.team_id)
            note = await bot.gate.cancel(found.actor, request_id, slack)
        except Exception as exc:
            note = failure_reply(exc).text
        await private_note(found.respond, note)

    @bot.job("approved_run")
    async def approved_run_job(job: ClaimedJob) -> None:
        """An approved request, run exactly once (a worker that dies mid-run hands it over)."""
        request_id = str((job.payload.get("data") or {}).get("request_id") or "")
        await bot.gate.carry_out(request_id, bot.slack_for)

    async def run_approved(request_id: str) -> None:
        await bot.defer(
            "approved_run",
            key=f"approved:{request_id}",
            actor=None,
            data={"request_id": request_id},
        )

    bot.gate.run_approved = run_approved

    @bot.job("deny")
    async def deny_job(job: ClaimedJob) -> None:
        found = await job_slack(bot, job)
        if found is None:
            return
        request_id, note = str(found.data.get("request_id") or ""), found.data.get("note")
        await _deny(bot, found.client, found.actor, request_id, str(note or "") or None)


async def _open_deny(
    bot: DeployBot,
    client: AsyncWebClient,
    respond: AsyncRespond,
    actor: Actor,
    *,
    request_id: str,
    trigger_id: str,
) -> None:
    """Refuse at once who can't deny; open the reason form for who can (trigger ids last 3 s,
    so a slow check opens the form anyway and the submission is checked again)."""
    slack = bot.slack.io(client, actor.team_id)
    why: str | None = None
    summary = ""
    try:
        async with asyncio.timeout(ELIGIBILITY_BUDGET):
            row = await bot.gate.approvals.get(request_id)
            if row is None or row.team_id != actor.team_id:
                why = "This request no longer exists."
            elif row.state != "pending":
                why = f"This request is already {row.state}."
            else:
                summary = row.summary
                problem = await bot.gate.why_not_approver(actor, row, slack)
                why = f"You can't deny this: {problem}" if problem else None
    except TimeoutError:
        why = None
    except Exception as exc:
        if not is_database_outage(exc):
            raise
        why = DATABASE_DOWN
    if why:
        await private_note(respond, why)
        return
    await client.views_open(trigger_id=trigger_id, view=msg.deny_view(request_id, summary))


async def _deny(
    bot: DeployBot, client: AsyncWebClient, actor: Actor, request_id: str, note: str | None
) -> None:
    slack = bot.slack.io(client, actor.team_id)
    try:
        problem = await bot.gate.deny(actor, request_id, note, slack)
    except Exception as exc:
        problem = failure_reply(exc).text
    if problem:
        try:
            row = await bot.gate.approvals.get(request_id)
        except Exception as exc:
            if not is_database_outage(exc):
                raise
            row = None  # no channel to answer in: a direct message
        await slack.ephemeral(row.message_channel if row else None, actor.user_id, problem)


__all__ = ["register"]
