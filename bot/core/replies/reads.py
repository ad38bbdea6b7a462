"""Reads of one deployment: its logs, events and jobs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.core.render import MESSAGE_TEXT_BUDGET, clip, escape
from bot.core.replies.base import Reply, context, rows_reply, section
from bot.providers.models import Deployment, Event, Job, LogLine


def _code_block(lines: Sequence[str], budget: int) -> tuple[str, int]:
    """Lines in a code block, newest kept, within ``budget`` characters."""
    kept: list[str] = []
    used = 0
    for raw in reversed(lines):
        line = clip(raw.replace("```", "ˋˋˋ"), 400)
        if used + len(line) + 1 > budget:
            break
        kept.append(line)
        used += len(line) + 1
    kept.reverse()
    return "```\n" + "\n".join(kept) + "\n```", len(lines) - len(kept)


def logs_reply(deployment: Deployment, lines: Sequence[LogLine]) -> Reply:
    title = f"*Logs of {escape(clip(deployment.name or deployment.id, 100))}* `{deployment.id}`"
    if not lines:
        return Reply(text="No log lines.", blocks=[section(title), context("No log lines yet.")])
    formatted = [
        " ".join(
            part
            for part in (
                f"{line.timestamp:%H:%M:%S}" if line.timestamp else "",
                f"[{line.source}]" if line.source else "",
                "!" if line.stream == "stderr" else "",
                escape(line.message.rstrip()),
            )
            if part
        )
        for line in lines
    ]
    blocks: list[dict[str, Any]] = [section(title)]
    remaining = list(formatted)
    chunks: list[str] = []
    budget = MESSAGE_TEXT_BUDGET - len(title) - 200
    # Up to 4 sections of ≤2900 characters, newest lines last.
    while remaining and len(chunks) < 4 and budget > 100:
        chunk, dropped = _code_block(remaining, min(2900, budget))
        if chunk == "```\n\n```":
            break
        chunks.insert(0, chunk)
        budget -= len(chunk)
        remaining = remaining[:dropped]
    blocks.extend(section(c) for c in chunks)
    if remaining:
        blocks.append(
            context(
                f"{len(remaining):,} older line{'s' if len(remaining) != 1 else ''} not shown: "
                f"`/deploy logs {escape(_ref(deployment))} --file` uploads the full log as a "
                "file (`--since` narrows it here)."
            )
        )
    return Reply(text=f"{len(lines)} log lines", blocks=blocks)


def _ref(deployment: Deployment) -> str:
    """How to name the deployment in a command: its name when it is one word, else its id."""
    name = deployment.name
    return name if name and " " not in name and len(name) <= 80 else deployment.id


def log_file_reply(deployment: Deployment, lines: Sequence[LogLine], uploaded: str | None) -> Reply:
    """The answer to ``logs … --file``: where the file went, or why not (then the lines)."""
    name = escape(clip(deployment.name or deployment.id, 100))
    if not lines:
        return Reply(text=f"{name} has no log lines yet: no file to upload.")
    if uploaded is None:
        reply = logs_reply(deployment, lines)
        note = context(":warning: Slack did not take the log file; here are its last lines.")
        reply.blocks = [*(reply.blocks or [])[:1], note, *(reply.blocks or [])[1:]]
        reply.error = True
        return reply
    count = f"{len(lines):,} line{'s' if len(lines) != 1 else ''}"
    return Reply(
        text=f":page_facing_up: Uploaded the log of *{name}* ({count}) as `{escape(uploaded)}`."
    )


def events_reply(deployment: Deployment, events: Sequence[Event], now: datetime) -> Reply:
    title = f"*Events of {escape(clip(deployment.name or deployment.id, 100))}*"
    rows = [
        f"`{e.created_at:%Y-%m-%d %H:%M}` *{escape(clip(e.type, 60))}* "
        f"{escape(clip(e.message, 300))}"
        if e.created_at
        else f"*{escape(clip(e.type, 60))}* {escape(clip(e.message, 300))}"
        for e in events
    ]
    return rows_reply(title, rows, "No events.")


def jobs_reply(deployment: Deployment, jobs: Sequence[Job]) -> Reply:
    title = f"*Jobs of {escape(clip(deployment.name or deployment.id, 100))}*"
    rows = [
        f"`{escape(clip(j.id, 60))}` {escape(j.state)}"
        + (f" · node `{escape(clip(j.node, 50))}`" if j.node else "")
        + (f" · rev {j.revision}" if j.revision else "")
        + (f" · started {j.started_at:%Y-%m-%d %H:%M}" if j.started_at else "")
        for j in jobs
    ]
    return rows_reply(title, rows, "No jobs.")
