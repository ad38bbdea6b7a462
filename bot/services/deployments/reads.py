"""Reads of one resolved deployment: its card, logs, events and jobs."""

from __future__ import annotations

from datetime import datetime

from bot.core import results
from bot.core.arguments import Logs
from bot.core.operations import Operation, OpKind
from bot.services.deployments.model import Resolved
from bot.services.errors import ServiceError

DEFAULT_TAIL = 50


async def read(op: Operation, resolved: Resolved, now: datetime) -> results.Reading:
    client, deployment = resolved.provider, resolved.deployment
    match op.args:
        case Logs(tail=tail, since=since):
            lines = await client.logs(deployment.id, tail=tail or DEFAULT_TAIL, since=since)
            return results.Logs(deployment, lines)
    match op.kind:
        case OpKind.SHOW:
            return results.Card(deployment, client.available_actions(deployment), now)
        case OpKind.EVENTS:
            return results.Events(deployment, await client.events(deployment.id), now)
        case OpKind.JOBS:
            return results.Jobs(deployment, await client.jobs(deployment.id))
    raise ServiceError(f"`{op.kind.value}` is not a read.")  # pragma: no cover
