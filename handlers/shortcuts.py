"""Shortcuts: the global "New deployment" (provider and channel picker → the create form) and
the message shortcut "Watch in this channel" on deploybot's deployment cards.

Thin: the picker opens within the trigger's 3 s (before the ack); its submission answers with
the create form in place; the watch is an ordinary ``watch`` operation written as a job before
the ack and run through the pipeline like ``/deploy watch <deployment> #channel``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import create as create_core
from bot.core import create_views, modals
from bot.core import shortcuts as core
from bot.core.arguments import args_for
from bot.core.operations import Operation, OpKind
from bot.core.replies import Reply
from handlers.common import DATABASE_DOWN, asker, failure_reply, known_provider
from handlers.jobs import NotTaken, defer, encode_operation

if TYPE_CHECKING:
    from bot.app import DeployBot

log = logging.getLogger("deploybot.handlers")

NOT_A_CARD = (
    "That isn't one of deploybot's deployment cards: use this on a card deploybot posted "
    "(`/deploy show &lt;deployment&gt;`, or a watched deployment's message)."
)


def register(bot: DeployBot) -> None:
    app = bot.app

    @app.shortcut(core.NEW_DEPLOYMENT)
    async def new_deployment(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        actor = asker(context)
        try:
            assert bot.create is not None
            names = await bot.create.creatable(actor)
            view = (
                core.picker_view(names)
                if names
                else modals.message_view(
                    "New deployment",
                    "No provider is connected yet: an admin connects one with "
                    "`/deploy connect nosana|akash|neuranet`.",
                )
            )
        except Exception as exc:
            view = modals.message_view("New deployment", failure_reply(exc).text)
        try:
            await client.views_open(trigger_id=body.get("trigger_id", ""), view=view)
        except SlackApiError as exc:
            log.info("could not open the new-deployment picker: %s", exc.response.get("error"))
        await ack()

    @app.view(core.PICK_VIEW)
    async def provider_picked(
        ack: AsyncAck, view: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        name, channel = core.picked(view)
        provider = known_provider(name)
        if provider is None:
            await ack(response_action="errors", errors={core.PROVIDER_BLOCK: "Pick a provider."})
            return
        if not channel:
            await ack(response_action="errors", errors={core.CHANNEL_BLOCK: "Pick a channel."})
            return
        form = create_views.form_view(
            provider,
            create_core.DEFAULTS.get(provider, {}),
            private_metadata=core.form_metadata(provider, channel),
        )
        await ack(response_action="update", view=form)

    @app.shortcut(core.WATCH_HERE)
    async def watch_here(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        context: AsyncBoltContext,
    ) -> None:
        actor = asker(context)
        message = body.get("message") if isinstance(body.get("message"), dict) else {}
        found = core.card_target(message or {}, body.get("api_app_id"))
        channel = str((body.get("channel") or {}).get("id") or "")
        if found is None or not channel:
            await ack()
            await _say(respond, NOT_A_CARD)
            return
        provider, deployment_id = found
        op = Operation(
            args=args_for(OpKind.WATCH, filters={"channel": channel}),
            provider=provider,
            target=deployment_id,
        )
        try:
            await defer(
                bot,
                "operation",
                key=f"shortcut:{actor.team_id}:{body.get('trigger_id') or ''}",
                actor=actor,
                data={"op": encode_operation(op)},
                response_url=body.get("response_url"),
            )
        except NotTaken:
            await ack()
            await _say(respond, DATABASE_DOWN)
            return
        await ack()


async def _say(respond: AsyncRespond, text: str) -> None:
    await respond(**Reply(text=text).payload(), replace_original=False)
