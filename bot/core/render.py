"""Block Kit rendering of deployments (pure: models in, JSON-ready dicts out).

Everything user- or provider-supplied is escaped for mrkdwn and cut to Slack's limits, and every
message stays within 50 blocks with unique action ids, however long the list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.core import card_facts, fmt
from bot.core.registry import SPECS, Risk
from bot.providers.models import Capability, Deployment, DeploymentStatus

MAX_BLOCKS = 50
SECTION_TEXT = 3000
FIELD_TEXT = 2000
BUTTON_VALUE = 2000
#: Slack rejects messages whose blocks add up to roughly 13k characters (msg_blocks_too_long).
MESSAGE_TEXT_BUDGET = 11_000

STATUS_EMOJI: dict[DeploymentStatus, str] = {
    DeploymentStatus.DRAFT: ":memo:",
    DeploymentStatus.PENDING: ":hourglass_flowing_sand:",
    DeploymentStatus.STARTING: ":arrows_counterclockwise:",
    DeploymentStatus.RUNNING: ":large_green_circle:",
    DeploymentStatus.STOPPING: ":double_vertical_bar:",
    DeploymentStatus.STOPPED: ":white_circle:",
    DeploymentStatus.FAILED: ":red_circle:",
    DeploymentStatus.INSUFFICIENT_FUNDS: ":money_with_wings:",
    DeploymentStatus.ARCHIVED: ":file_cabinet:",
    DeploymentStatus.CLOSED: ":black_circle:",
    DeploymentStatus.UNKNOWN: ":grey_question:",
}
PROVIDER_LABEL = {"nosana": "Nosana", "akash": "Akash", "neuranet": "NeuraNET"}

#: Buttons a card may carry, in display order; the destructive ones ask for confirmation.
CARD_ACTIONS: tuple[Capability, ...] = (
    Capability.START,
    Capability.STOP,
    Capability.LOGS,
    Capability.DEPOSIT,
    Capability.ARCHIVE,
    Capability.DELETE,
    Capability.CLOSE,
)
#: Buttons that ask first: the capabilities of the operations the registry calls destructive.
DESTRUCTIVE = frozenset(
    s.capability for s in SPECS.values() if s.risk is Risk.DESTRUCTIVE and s.capability
)
_ACTION_LABEL = {
    Capability.START: "Start",
    Capability.STOP: "Stop",
    Capability.LOGS: "Logs",
    Capability.DEPOSIT: "Add funds",
    Capability.ARCHIVE: "Archive",
    Capability.DELETE: "Delete",
    Capability.CLOSE: "Close",
}


def escape(text: object) -> str:
    """Escape mrkdwn control characters so provider or user text can't ping or link."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_text(text: str, limit: int = SECTION_TEXT) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut between lines, else between
    words; a single word longer than ``limit`` (never seen in practice) is cut as a last resort.
    Joining the pieces with newlines or spaces gives the text back."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        current = ""
        for word in _words(line, limit):
            candidate = f"{current} {word}" if current else word
            if len(candidate) <= limit:
                current = candidate
            else:
                pieces.append(current)
                current = word
    if current or not pieces:
        pieces.append(current)
    return pieces


def _words(line: str, limit: int) -> list[str]:
    words: list[str] = []
    for word in line.split(" "):
        words += [word[i : i + limit] for i in range(0, len(word), limit)] or [""]
    return words


def money(value: Decimal | None, suffix: str = "") -> str:
    """An amount of US dollars by the rules of :mod:`bot.core.fmt` (``—`` when unknown)."""
    if value is None:
        return "—"
    return fmt.usd(value) + suffix


def age(since: datetime | None, now: datetime) -> str:
    """How long ago, by the rules of :mod:`bot.core.fmt` (``—`` when unknown)."""
    return fmt.age(since, now)


def status_text(deployment: Deployment) -> str:
    emoji = STATUS_EMOJI[deployment.status]
    label = deployment.status.value.replace("_", " ")
    if deployment.status is DeploymentStatus.UNKNOWN:
        label = f"unknown ({escape(clip(deployment.raw_status, 60))})"
    return f"{emoji} {label}"


def action_value(deployment: Deployment, capability: Capability) -> str:
    value = json.dumps({"p": deployment.provider, "d": deployment.id, "op": capability.value})
    if len(value) > BUTTON_VALUE:  # ids are short; this guards against a hostile provider
        raise ValueError("deployment id too long for a button value")
    return value


def card_buttons(deployment: Deployment, allowed: Iterable[Capability]) -> list[ButtonElement]:
    allowed = set(allowed)
    buttons: list[ButtonElement] = []
    name = clip(deployment.name or deployment.id, 60)
    for capability in CARD_ACTIONS:
        if capability not in allowed:
            continue
        confirm = None
        if capability in DESTRUCTIVE:
            confirm = ConfirmObject(
                title=f"{_ACTION_LABEL[capability]} deployment?",
                text=clip(
                    f"{_ACTION_LABEL[capability]} {PROVIDER_LABEL[deployment.provider]} "
                    f"deployment “{escape(name)}”?",
                    300,
                ),
                confirm=_ACTION_LABEL[capability],
                deny="Cancel",
                style="danger",
            )
        buttons.append(
            ButtonElement(
                text=_ACTION_LABEL[capability],
                action_id=f"deployment_{capability.value}",
                value=action_value(deployment, capability),
                style="danger" if capability in DESTRUCTIVE else None,
                confirm=confirm,
            )
        )
    return buttons


def _endpoint(url: str) -> str:
    """A web address as a link; anything else (an Akash ``host:port``) as plain code."""
    if url.startswith(("http://", "https://")):
        return f"<{escape(url)}|{escape(clip(url, 80))}>"
    return f"`{escape(clip(url, 80))}`"


def endpoints_text(deployment: Deployment, limit: int = 5) -> str:
    if not deployment.endpoints:
        return "—"
    lines = [_endpoint(e.url) for e in deployment.endpoints[:limit]]
    more = len(deployment.endpoints) - limit
    if more > 0:
        lines.append(f"… and {more} more")
    return "\n".join(lines)


def deployment_card(
    deployment: Deployment, *, allowed: Iterable[Capability], now: datetime
) -> list[dict[str, Any]]:
    """The full card: title, facts, endpoints, buttons for what can be done now."""
    title = f"*{escape(clip(deployment.name or deployment.id, 150))}*  `{escape(deployment.id)}`"
    fields = [
        f"*Status*\n{status_text(deployment)}",
        f"*Provider*\n{PROVIDER_LABEL[deployment.provider]}",
        f"*Replicas*\n{card_facts.replicas(deployment)}",
        f"*Cost*\n{money(deployment.cost_per_hour_usd, '/h')}",
        f"*Age*\n{age(deployment.created_at, now)}",
    ]
    if deployment.active_revision is not None:
        fields.append(f"*Revision*\n{deployment.active_revision}")
    blocks: list[Block] = [
        SectionBlock(
            block_id=f"card_{clip(deployment.id, 200)}",
            text=MarkdownTextObject(text=clip(title, SECTION_TEXT)),
            fields=[MarkdownTextObject(text=clip(f, FIELD_TEXT)) for f in fields],
        ),
    ]
    details = card_facts.facts(deployment, now)
    if details:
        blocks.append(
            SectionBlock(
                block_id=f"facts_{clip(deployment.id, 200)}",
                fields=[MarkdownTextObject(text=clip(f, FIELD_TEXT)) for f in details],
            )
        )
    if deployment.endpoints:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=clip(f"*Endpoints*\n{endpoints_text(deployment)}", SECTION_TEXT)
                )
            )
        )
    buttons = card_buttons(deployment, allowed)
    if buttons:
        blocks.append(
            ActionsBlock(block_id=f"actions_{clip(deployment.id, 200)}", elements=buttons)
        )
    return [block.to_dict() for block in blocks]


def list_row(deployment: Deployment, now: datetime) -> str:
    cost = money(deployment.cost_per_hour_usd, "/h")
    return (
        f"{status_text(deployment)}  *{escape(clip(deployment.name or deployment.id, 80))}*  "
        f"`{escape(clip(deployment.id, 60))}` · {PROVIDER_LABEL[deployment.provider]} · "
        f"{cost} · {age(deployment.created_at, now)}"
    )


def deployment_list(
    deployments: Sequence[Deployment],
    *,
    now: datetime,
    title: str,
    next_value: str | None = None,
    prev_value: str | None = None,
    rows_per_section: int = 10,
) -> list[dict[str, Any]]:
    """A compact list: several deployments per section; Previous and Next buttons when there
    are pages before or after this one.

    Any number of deployments fits: rows are packed into sections of ``rows_per_section`` and
    what would exceed the block budget is summarized in a closing context line.
    """
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=clip(escape(title), 150)))]
    budget = MAX_BLOCKS - 3  # title, the closing context, the Next button
    shown = 0
    used = len(title)
    rows: list[str] = []
    for deployment in deployments:
        row = list_row(deployment, now)
        if used + len(row) > MESSAGE_TEXT_BUDGET or len(blocks) >= budget:
            break
        rows.append(row)
        used += len(row) + 1
        shown += 1
        if len(rows) == rows_per_section:
            blocks.append(
                SectionBlock(text=MarkdownTextObject(text=clip("\n".join(rows), SECTION_TEXT)))
            )
            rows = []
    if rows:
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=clip("\n".join(rows), SECTION_TEXT)))
        )
    if not deployments:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text="No deployments.")]))
    elif shown < len(deployments):
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"Showing {shown} of {len(deployments)}; filter by provider or "
                        "status to see the rest."
                    )
                ]
            )
        )
    paging = [
        ButtonElement(text=PlainTextObject(text=label), action_id=action_id, value=value)
        for label, action_id, value in (
            ("Previous page", "list_prev", prev_value),
            ("Next page", "list_next", next_value),
        )
        if value is not None
    ]
    if any(len(str(button.value)) > BUTTON_VALUE for button in paging):
        raise ValueError("pagination state too long for a button value")
    if paging:
        blocks.append(ActionsBlock(block_id="list_pagination", elements=paging))
    return [block.to_dict() for block in blocks]


def divider() -> dict[str, Any]:
    return DividerBlock().to_dict()
