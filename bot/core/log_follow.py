"""``/deploy logs <deployment> --follow [10m]``: what people read (pure).

The header message in the channel (with a **Stop following** button while it runs), the new
lines as thread replies in code blocks within Slack's limits, and why following ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.core import fmt
from bot.core.render import PROVIDER_LABEL, clip, escape
from bot.core.replies.base import Reply, context, section
from bot.providers.models import Deployment, LogLine

STOP_ACTION = "logs_follow_stop"
#: Lines per thread reply, and characters (a section holds 3,000).
LINES_PER_POST = 40
CHARS_PER_POST = 2800
#: Thread replies per poll at most (Slack allows about one post per second per channel).
POSTS_PER_POLL = 3


def _name(deployment: Deployment) -> str:
    return escape(clip(deployment.name or deployment.id, 100))


def header(
    deployment: Deployment, *, seconds: int, until: datetime, follow_id: str, user_id: str
) -> Reply:
    """The channel message that the lines are threaded under (running)."""
    label = PROVIDER_LABEL.get(deployment.provider, deployment.provider)
    text = (
        f":scroll: Following the logs of *{_name(deployment)}* ({label}) for "
        f"{fmt.duration(float(seconds))}: new lines go in this thread."
    )
    blocks: list[dict[str, Any]] = [
        section(text),
        context(f"Asked by {fmt.user(user_id)} · until {fmt.slack_date(until)}"),
        {
            "type": "actions",
            "block_id": f"follow:{follow_id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": STOP_ACTION,
                    "text": {"type": "plain_text", "text": "Stop following"},
                    "value": follow_id,
                }
            ],
        },
    ]
    return Reply(text=text, blocks=blocks, public=True)


def ended(deployment: Deployment, why: str) -> Reply:
    """The header once following ended (the button is gone)."""
    text = f":scroll: Logs of *{_name(deployment)}*: {why}"
    return Reply(text=text, blocks=[section(text)], public=True)


def line_text(line: LogLine) -> str:
    parts = (
        f"{line.timestamp:%H:%M:%S}" if line.timestamp else "",
        f"[{line.source}]" if line.source else "",
        "!" if line.stream == "stderr" else "",
        line.message.rstrip(),
    )
    return clip(" ".join(p for p in parts if p).replace("```", "ˋˋˋ"), 400)


def batches(lines: Sequence[LogLine]) -> tuple[list[Reply], int]:
    """Thread replies for ``lines`` (oldest first), at most :data:`POSTS_PER_POLL`; and how
    many lines did not fit (the oldest are skipped, and the first reply says so)."""
    texts = [escape(line_text(line)) for line in lines]
    chunks: list[list[str]] = []
    current: list[str] = []
    used = 0
    for text in texts:
        if current and (len(current) >= LINES_PER_POST or used + len(text) + 1 > CHARS_PER_POST):
            chunks.append(current)
            current, used = [], 0
        current.append(text)
        used += len(text) + 1
    if current:
        chunks.append(current)
    skipped = sum(len(c) for c in chunks[:-POSTS_PER_POLL]) if len(chunks) > POSTS_PER_POLL else 0
    kept = chunks[-POSTS_PER_POLL:]
    replies = []
    for index, chunk in enumerate(kept):
        body = "```\n" + "\n".join(chunk) + "\n```"
        if index == 0 and skipped:
            body = f"_{skipped:,} lines came faster than Slack takes them; skipped._\n" + body
        replies.append(Reply(text=body, blocks=[section(body)], public=True))
    return replies, skipped


def stopped_by(user_id: str) -> str:
    return f"{fmt.user(user_id)} stopped following."


def time_up(seconds: int) -> str:
    return f"stopped following after {fmt.duration(float(seconds))}."


def not_running(deployment: Deployment) -> str:
    return f"stopped following: it is {escape(deployment.status.value.replace('_', ' '))}."


def gone() -> str:
    return "stopped following: the deployment no longer exists."


def started(deployment: Deployment, channel: str, seconds: int) -> Reply:
    """The answer to the person who asked."""
    text = (
        f":scroll: Following the logs of *{_name(deployment)}* in {fmt.channel(channel)} for "
        f"{fmt.duration(float(seconds))}."
    )
    return Reply(text=text, blocks=[section(text)])
