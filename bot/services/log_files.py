"""``/deploy logs <deployment> --file``: the whole log uploaded to the channel as a file."""

from __future__ import annotations

from dataclasses import replace

from bot.core import log_file, results
from bot.services.deployments.model import Actor
from bot.services.slack_io import SlackIO


async def upload(found: results.Logs, actor: Actor, slack: SlackIO) -> results.Logs:
    """Upload the lines read to where the person asked (their DM when there is no channel);
    the result says the file's name, or that Slack refused it."""
    where = actor.channel_id or actor.user_id
    name = log_file.filename(found.deployment, found.at) if found.at else "logs.txt"
    done = await slack.upload(
        where,
        filename=name,
        content=log_file.text(found.lines).encode(),
        title=log_file.title(found.deployment, len(found.lines)),
        comment=log_file.comment(actor.user_id, found.deployment, len(found.lines), found.capped),
    )
    return replace(found, uploaded=name if done else None)
