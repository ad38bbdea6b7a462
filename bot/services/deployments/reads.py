"""Reads of one resolved deployment: its card, logs, events and jobs."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core import results
from bot.core.arguments import Logs
from bot.core.operations import Operation, OpKind
from bot.core.parsing import MAX_TAIL
from bot.services.deployments.lease_names import with_lease_names
from bot.services.deployments.model import Resolved
from bot.services.errors import ServiceError

DEFAULT_TAIL = 50
#: How many lines a window (``--since``) shows at most, and a log file (``--file``) holds.
WINDOW_TAIL = MAX_TAIL
#: (NeuraNET answers at most 10,000 lines at once.)
FILE_TAIL = 10_000


async def read(op: Operation, resolved: Resolved, now: datetime) -> results.Reading:
    client, deployment = resolved.provider, resolved.deployment
    match op.args:
        case Logs() as logs:
            since = logs.since
            if logs.since_seconds is not None:  # the last minutes, counted now
                since = now - timedelta(seconds=logs.since_seconds)
            tail = logs.tail or (FILE_TAIL if logs.file else WINDOW_TAIL if since else DEFAULT_TAIL)
            lines = await client.logs(deployment.id, tail=tail, since=since)
            return results.Logs(
                deployment, lines, file=logs.file, at=now, capped=len(lines) >= tail
            )
    match op.kind:
        case OpKind.SHOW:
            named = await with_lease_names(client, deployment)
            return results.Card(named, client.available_actions(deployment), now)
        case OpKind.EVENTS:
            return results.Events(deployment, await client.events(deployment.id), now)
        case OpKind.JOBS:
            return results.Jobs(deployment, await client.jobs(deployment.id))
    raise ServiceError(f"`{op.kind.value}` is not a read.")  # pragma: no cover
