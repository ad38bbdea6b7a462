"""Delivering what the pipeline answers: to the response URL, the channel, or the person.

Every listener hands its reply here. Clicks in App Home and form submissions have no
response URL: they are answered in the channel, by an ephemeral note, or by direct message.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.replies import Reply
from bot.services.deployments import Actor
from bot.slack_gateway import SlackGateway

log = logging.getLogger("deploybot.delivery")


async def deliver(respond: AsyncRespond, reply: Reply) -> None:
    """Replace the "working on it" note: in place when private, as a new post when public."""
    if reply.public:
        await respond(delete_original=True)
        await respond(**reply.payload(), replace_original=False)
    else:
        await respond(**reply.payload(), replace_original=True)


async def tell_person(client: AsyncWebClient, actor: Actor, text: str) -> None:
    """Tell only the person: a note in the channel, else a direct message from the app."""
    if actor.channel_id:
        try:
            await client.chat_postEphemeral(channel=actor.channel_id, user=actor.user_id, text=text)
            return
        except Exception:
            log.info("could not post an ephemeral note; sending a direct message")
    try:
        await client.chat_postMessage(channel=actor.user_id, text=text)
    except Exception:
        log.info("could not send the person a direct message either")


async def post_result(client: AsyncWebClient, actor: Actor, reply: Reply) -> None:
    """A result without a response URL (a form): public ones to the channel, the rest (and
    any the channel refuses) to the person."""
    if reply.public and actor.channel_id:
        try:
            await client.chat_postMessage(
                channel=actor.channel_id, text=reply.text, blocks=reply.blocks or None
            )
            return
        except SlackApiError as exc:
            # Not in that channel (or it is gone): the result must still reach the person.
            log.info("chat.postMessage failed (%s); telling the person", exc.response.get("error"))
    await tell_person(client, actor, reply.text)


async def private_note(respond: AsyncRespond, text: str | None, *, replace: bool = False) -> None:
    """A private note to whoever clicked (nothing when there is nothing to say)."""
    if text:
        await respond(text=text, response_type="ephemeral", replace_original=replace)


def responder(
    slack: SlackGateway, client: AsyncWebClient, body: dict[str, Any], respond: AsyncRespond
) -> AsyncRespond:
    """Clicks in App Home have no response URL: answer those by direct message."""
    if body.get("response_url"):
        return respond
    actor_id = str((body.get("user") or {}).get("id") or "")
    team_id = str((body.get("team") or {}).get("id") or "")
    return dm_responder(slack, client, team_id, actor_id)


def dm_responder(
    slack: SlackGateway, client: AsyncWebClient, team_id: str, user_id: str
) -> AsyncRespond:
    """Something that answers like ``respond`` but by direct message (App Home has no
    response URL); only the text is sent."""

    async def dm(**message: Any) -> None:
        if message.get("text"):
            await slack.io(client, team_id).dm(user_id, Reply(text=str(message["text"])))

    return cast(AsyncRespond, dm)


class ChainStatus:
    """A chain's status message: posted in the channel once, then edited in place as each step
    runs; where the bot can't post (a DM, a channel it isn't in), the response URL instead."""

    def __init__(self, client: AsyncWebClient, respond: AsyncRespond, actor: Actor) -> None:
        self.client = client
        self.respond = respond
        self.actor = actor
        self.channel: str | None = None
        self.ts: str | None = None
        self.privately = False

    @property
    def posted(self) -> bool:
        return self.ts is not None

    async def show(self, reply: Reply) -> None:
        if self.ts is not None and await self._edit(reply):
            return
        if self.privately:
            await self.respond(**reply.payload(), replace_original=True)
            return
        await self.respond(delete_original=True)
        if not await self._post(reply):
            self.privately = True
            await self.respond(**reply.payload(), replace_original=False)

    async def _edit(self, reply: Reply) -> bool:
        try:
            await self.client.chat_update(
                channel=self.channel or "", ts=self.ts or "", text=reply.text, blocks=reply.blocks
            )
            return True
        except Exception:  # the message is gone: the response URL from now on
            self.ts, self.privately = None, True
            return False

    async def _post(self, reply: Reply) -> bool:
        if not self.actor.channel_id:
            return False
        try:
            result = await self.client.chat_postMessage(
                channel=self.actor.channel_id, text=reply.text, blocks=reply.blocks
            )
        except Exception:
            return False
        self.channel, self.ts = str(result["channel"]), str(result["ts"])
        return True
