"""The :class:`Reply` every entry point sends back, and the blocks replies are made of."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core.render import MAX_BLOCKS, MESSAGE_TEXT_BUDGET, SECTION_TEXT, clip_mrkdwn


@dataclass
class Reply:
    """A message: fallback ``text`` (notifications, screen readers) and optional blocks.

    ``public`` replies go to the channel (``in_channel``); the rest only to the person who asked.
    """

    text: str
    blocks: list[dict[str, Any]] | None = None
    public: bool = False
    #: True for error replies (the shell and tests tell them apart; Slack sees only text).
    error: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """Keyword arguments for ``ack``/``respond`` (text always; blocks when there are some)."""
        body: dict[str, Any] = {"text": clip_mrkdwn(self.text, 3000)}
        if self.blocks:
            body["blocks"] = self.blocks
        body["response_type"] = "in_channel" if self.public else "ephemeral"
        return body


def section(text: str) -> dict[str, Any]:
    """A mrkdwn section (a plain dict: these are built on the ack path, where slack_sdk's
    model validation would cost more than the rest of the ack; tests validate the shape)."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip_mrkdwn(text, SECTION_TEXT)}}


def context(text: str) -> dict[str, Any]:
    text = clip_mrkdwn(text, SECTION_TEXT)
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def error(text: str) -> Reply:
    """A one-line, private error that says what to do."""
    line = f":warning: {text}"
    return Reply(text=line, blocks=[section(line)], error=True)


def notice(text: str, *, public: bool = False) -> Reply:
    return Reply(text=text, blocks=[section(text)], public=public)


def rows_reply(title: str, rows: Sequence[str], empty: str) -> Reply:
    """A titled list, packed into sections within Slack's limits, saying how many were cut."""
    blocks: list[dict[str, Any]] = [section(title)]
    if not rows:
        blocks.append(context(empty))
        return Reply(text=empty, blocks=blocks)
    used = len(title)
    chunk: list[str] = []
    shown = 0
    for row in rows:
        if used + len(row) > MESSAGE_TEXT_BUDGET or len(blocks) >= MAX_BLOCKS - 2:
            break
        if sum(len(r) + 1 for r in chunk) + len(row) > SECTION_TEXT - 10:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(row)
        used += len(row) + 1
        shown += 1
    if chunk:
        blocks.append(section("\n".join(chunk)))
    if shown < len(rows):
        blocks.append(context(f"Showing {shown} of {len(rows)}."))
    return Reply(text=f"{title.replace('*', '')}: {len(rows)}", blocks=blocks)
