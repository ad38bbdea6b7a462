"""Reads of one resolved deployment: its card, logs, events and jobs."""

from __future__ import annotations

from datetime import datetime

from bot.core import replies
from bot.core.arguments import Logs
from bot.core.operations import Operation, OpKind
from bot.core.replies import Reply
from bot.services.deployments.model import Resolved
from bot.services.errors import ServiceError

DEFAULT_TAIL = 50


async def read(op: Operation, resolved: Resolved, now: datetime) -> Reply:
    client, deployment = resolved.provider, resolved.deployment
    match op.args:
        case Logs(tail=tail, since=since):
            lines = await client.logs(deployment.id, tail=tail or DEFAULT_TAIL, since=since)
            return replies.logs_reply(deployment, lines)
    match op.kind:
        case OpKind.SHOW:
            return replies.card_reply(deployment, client.available_actions(deployment), now)
        case OpKind.EVENTS:
            return replies.events_reply(deployment, await client.events(deployment.id), now)
        case OpKind.JOBS:
            return replies.jobs_reply(deployment, await client.jobs(deployment.id))
    raise ServiceError(f"`{op.kind.value}` is not a read.")  # pragma: no cover
