"""The status message of a new deployment: posted once where it was asked for, then edited
in place as it is created, gets bids, is leased or fails — from any replica."""

from __future__ import annotations

from bot.core.create_views import Status, render_status
from bot.db.create_store import CreateStore, RequestRow
from bot.services.errors import ServiceError
from bot.slack_gateway import SlackGateway


class StatusMessages:
    def __init__(self, slack: SlackGateway, store: CreateStore) -> None:
        self.slack = slack
        self.store = store

    async def publish(self, row: RequestRow, status: Status) -> None:
        reply = render_status(status)
        client = await self.slack.client_for(row.team_id, row.enterprise_id or None)
        if client is None:
            raise ServiceError("deploybot is no longer installed in that workspace")
        if row.message_ts and row.message_channel:
            await client.chat_update(
                channel=row.message_channel, ts=row.message_ts, text=reply.text, blocks=reply.blocks
            )
            return
        channel = row.channel_id or row.user_id
        result = await client.chat_postMessage(
            channel=channel, text=reply.text, blocks=reply.blocks
        )
        await self.store.claim_message(row.id, str(result["channel"]), str(result["ts"]))
