"""Buttons: deployment card actions, list paging, picking among ambiguous matches, connect."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import modals, replies
from bot.core.arguments import args_for
from bot.core.operations import Operation, OpKind
from bot.core.replies import decode_pick
from bot.core.results import render
from bot.db.jobs import ClaimedJob
from bot.services.deployments import Actor
from bot.services.outcomes import Pending, Refused
from handlers import commands
from handlers.common import UNKNOWN_PROVIDER, asker, guarded, known_provider
from handlers.jobs import decode_operation, defer_click, encode_operation, job_slack

if TYPE_CHECKING:
    from bot.app import DeployBot

CARD_ACTION = re.compile(r"^deployment_(start|stop|logs|deposit|archive|delete|close)$")
PICK_ACTION = re.compile(r"^resolve_pick_\d+$")
CONNECT_ACTION = re.compile(r"^provider_connect_(nosana|akash|neuranet)$")


def _action(body: dict[str, Any]) -> dict[str, Any]:
    actions = body.get("actions") or [{}]
    return actions[0]


def register(bot: DeployBot) -> None:
    app = bot.app

    @app.action(CARD_ACTION)
    async def card_action(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        actor = asker(context)
        try:
            value = json.loads(_action(body).get("value") or "{}")
            op = Operation(
                args=args_for(OpKind(value["op"])), provider=value["p"], target=str(value["d"])
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            await ack()
            await respond(
                **replies.error("That button is out of date: run `/deploy show` again.").payload(),
                replace_original=False,
            )
            return
        if op.kind is OpKind.DEPOSIT:
            await ack()
            assert op.provider is not None and op.target is not None
            await client.views_open(
                trigger_id=body["trigger_id"],
                view=modals.deposit_view(op.provider, op.target, channel_id=actor.channel_id),
            )
            return
        data = {"op": encode_operation(op)}
        await defer_click(
            bot, ack, respond, client, kind="button", body=body, actor=actor, data=data
        )

    @bot.job("button")
    async def button_job(job: ClaimedJob) -> None:
        found = await job_slack(bot, job)
        op = decode_operation(found.data.get("op")) if found is not None else None
        if found is None or not isinstance(op, Operation):
            return
        await run_button(bot, found.client, found.respond, found.actor, op)

    @app.action(re.compile(r"^list_(next|prev)$"))
    async def list_next(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        actor = asker(context)
        data = {"state": str(_action(body).get("value") or "")}
        await defer_click(
            bot, ack, respond, client, kind="list_page", body=body, actor=actor, data=data
        )

    @bot.job("list_page")
    async def list_page_job(job: ClaimedJob) -> None:
        found = await job_slack(bot, job)
        if found is None:
            return
        actor, respond, state = found.actor, found.respond, str(found.data.get("state") or "")

        async def work() -> None:
            reply = render(await bot.service.list_page(actor, None, None, state=state))
            await respond(**reply.payload(), replace_original=True)

        await guarded(respond, work, replace=False)

    @app.action(PICK_ACTION)
    async def pick(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        actor = asker(context)
        try:
            op = decode_pick(_action(body).get("value") or "")
        except (ValueError, KeyError, TypeError):
            await ack()
            await respond(**replies.error("That choice is out of date.").payload())
            return
        data = {"op": encode_operation(op), "working": True}
        await defer_click(
            bot, ack, respond, client, kind="operation", body=body, actor=actor, data=data
        )

    @app.action(CONNECT_ACTION)
    async def connect(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        actor = asker(context)
        provider = known_provider(_action(body).get("value"))
        if provider is None:
            await respond(**replies.error(UNKNOWN_PROVIDER).payload(), replace_original=False)
            return
        op = Operation(args=args_for(OpKind.CONNECT), provider=provider)
        bot.work.spawn(
            commands.open_connect(
                bot, client, respond, actor, op, trigger_id=body.get("trigger_id", "")
            )
        )


async def run_button(
    bot: DeployBot, client: AsyncWebClient, respond: AsyncRespond, actor: Actor, op: Operation
) -> None:
    """A card button: changes edit the card in place; logs (and approval notes) answer
    privately below it."""

    async def work() -> None:
        outcome = await bot.gate.run(actor, op, bot.slack.io(client, actor.team_id))
        reply = outcome.reply
        if op.kind is OpKind.LOGS or isinstance(outcome, Pending | Refused):
            await respond(**reply.payload(), replace_original=False)
        else:
            await respond(**reply.payload(), replace_original=True)

    await guarded(respond, work, op, replace=False)


__all__ = ["register"]
