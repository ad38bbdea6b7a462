"""Approval messages: the request, its outcome, reminders (pure: data in, Block Kit out)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core import fmt
from bot.core.operations import Chain, Operation
from bot.core.policy import ApprovalRule, Risk, approvers_text
from bot.core.render import PROVIDER_LABEL, SECTION_TEXT, escape, split_text
from bot.core.replies import Reply, context, section
from bot.core.step_preview import Snapshot, chain_texts, change_text
from bot.providers.models import Deployment

APPROVE = "approval_approve"
DENY = "approval_deny"
CANCEL = "approval_cancel"
#: The modal asking why a request is denied.
DENY_VIEW = "approval_deny_reason"
DENY_BLOCK = "deny_reason"
DENY_ACTION = "reason"

RISK_EMOJI = {
    Risk.READ: ":mag:",
    Risk.CHANGE: ":pencil2:",
    Risk.SPEND: ":moneybag:",
    Risk.DESTRUCTIVE: ":warning:",
}


#: A request's text takes at most this many sections: 3 × 3,000 characters stays within the
#: ~12k characters Slack accepts in one message's blocks.
MAX_SUMMARY_SECTIONS = 3
CUT_NOTE = "\n_… the rest is too long for one Slack message._"


def sections(text: str, most: int = MAX_SUMMARY_SECTIONS) -> list[dict[str, Any]]:
    """``text`` as as many sections as Slack's 3,000 characters each need (cut between lines,
    else between words), at most ``most``; a note says when the rest was left out."""
    pieces = split_text(text, SECTION_TEXT - len(CUT_NOTE))
    if len(pieces) > most:
        pieces = [*pieces[: most - 1], pieces[most - 1] + CUT_NOTE]
    return [section(piece) for piece in pieces]


def gist(summary: str, limit: int) -> str:
    """A request's summary on one line (notifications, lists): whole lines while they fit,
    joined with " · ", else the first line cut between words."""
    lines = [line.strip() for line in summary.splitlines() if line.strip()]
    if not lines:
        return ""
    shown = lines[0]
    if len(shown) > limit:
        return split_text(shown, limit - 1)[0] + "…"
    for line in lines[1:]:
        if len(shown) + 3 + len(line) > limit - 2:
            return shown + " …"
        shown += " · " + line
    return shown


def when(moment: datetime) -> str:
    """Slack's date formatting (each reader's own time zone), with a UTC fallback."""
    return fmt.slack_date(moment, "{date_short_pretty} at {time}")


def step_summary(op: Operation, before: Deployment | Snapshot | None) -> str:
    """What one operation will change, current → new, as exactly as the deployment tells."""
    snap = Snapshot.of(before) if isinstance(before, Deployment) else before
    return change_text(op, snap)


def summarize(op: Operation | Chain, before: Deployment | None) -> str:
    """``*llama* (`abc123`, Nosana, running): scale: replicas 2 → 5; cost $0.40/h → $1.00/h``.

    In a chain each step is compared with the deployment as the previous steps leave it.
    """
    if before is not None:
        label = PROVIDER_LABEL.get(before.provider, before.provider)
        head = (
            f"*{escape(before.name or before.id)}* (`{escape(before.id)}`, {label}, "
            f"{before.status.value.replace('_', ' ')})"
        )
    else:
        target = op.target if isinstance(op, Chain) else (op.target or "")
        head = f"`{escape(target)}`"
    if isinstance(op, Chain):
        texts = chain_texts(op.steps, before)
        steps = "\n".join(f"{i}. {text}" for i, text in enumerate(texts, 1))
        return f"{head}, in order:\n{steps}"
    return f"{head}: {step_summary(op, before)}"


@dataclass(frozen=True)
class ApprovalView:
    request_id: str
    requester_id: str
    summary: str
    risk: Risk
    rule: ApprovalRule
    state: str
    expires_at: datetime
    voters: Sequence[str] = ()
    reason: str | None = None
    decided_by: str | None = None
    decision_note: str | None = None
    result: str | None = None


def _buttons(request_id: str) -> dict[str, Any]:
    elements: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": APPROVE,
            "text": {"type": "plain_text", "text": "Approve"},
            "style": "primary",
            "value": request_id,
        },
        {
            "type": "button",
            "action_id": DENY,
            "text": {"type": "plain_text", "text": "Deny"},
            "style": "danger",
            "value": request_id,
        },
        {
            "type": "button",
            "action_id": CANCEL,
            "text": {"type": "plain_text", "text": "Cancel request"},
            "value": request_id,
        },
    ]
    return {"type": "actions", "block_id": f"approval:{request_id}", "elements": elements}


def _votes(view: ApprovalView) -> str:
    counted = [v for v in view.voters if view.rule.self_approval or v != view.requester_id]
    if not counted:
        return ""
    who = ", ".join(f"<@{v}>" for v in counted)
    return f"Approved so far by {who} ({len(counted)} of {view.rule.quorum})."


def request_message(view: ApprovalView) -> Reply:
    """The request as posted in the channel (and, without Cancel, in approvers' DMs)."""
    emoji = RISK_EMOJI[view.risk]
    title = f"{emoji} <@{view.requester_id}> asks to run a {view.risk.value} operation"
    lines = [title, view.summary]
    if view.reason:
        lines.append(f"*Reason:* {escape(view.reason)}")
    blocks = sections("\n".join(lines))
    facts = (
        f"Needs approval by {approvers_text(view.rule)}"
        + ("" if view.rule.self_approval else " (not the requester)")
        + f" · expires {when(view.expires_at)}"
    )
    votes = _votes(view)
    blocks.append(context(facts + (f"\n{votes}" if votes else "")))
    blocks.append(_buttons(view.request_id))
    text = f"<@{view.requester_id}> asks for approval: {gist(view.summary, 500)}"
    return Reply(text=text, blocks=blocks, public=True)


OUTCOME_EMOJI = {
    "approved": ":hourglass_flowing_sand:",
    "done": ":white_check_mark:",
    "failed": ":x:",
    "denied": ":no_entry:",
    "cancelled": ":heavy_minus_sign:",
    "expired": ":alarm_clock:",
    "superseded": ":heavy_minus_sign:",
    "not_applicable": ":heavy_minus_sign:",
    "resolved": ":scales:",
}

#: How a request's state reads in a sentence ("This request is already …").
STATE_WORDS = {"not_applicable": "no longer applicable", "resolved": "resolved by a policy change"}


def state_words(state: str, *, decided: bool = False) -> str:
    if decided and state == "pending":
        return "decided"
    return STATE_WORDS.get(state, state)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def outcome_line(view: ApprovalView) -> str:
    counted = [v for v in view.voters if view.rule.self_approval or v != view.requester_id]
    approvers = ", ".join(f"<@{v}>" for v in counted) or "nobody"
    match view.state:
        case "approved":
            return f"Approved by {approvers}: running it now…"
        case "done":
            return f"Approved by {approvers} and done."
        case "failed":
            return f"Approved by {approvers}, but it failed: see the thread."
        case "denied":
            why = f": “{escape(view.decision_note)}”" if view.decision_note else ""
            return f"Denied by <@{view.decided_by}>{why}"
        case "cancelled":
            return f"Cancelled by <@{view.decided_by or view.requester_id}>."
        case "expired":
            return (
                f"Expired {when(view.expires_at)} without {approvers_text(view.rule)}'s approval."
            )
        case "superseded":
            return f"Superseded: {_sentence(view.decision_note or 'a newer request replaced it')}"
        case "not_applicable":
            why = _sentence(view.decision_note or "")
            return f"Approved by {approvers}, but no longer applicable: {why}"
        case "resolved":
            return f"Resolved by a policy change: {_sentence(view.decision_note or '')}"
    return view.state


def outcome_message(view: ApprovalView) -> Reply:
    """The request edited in place once it is decided: the buttons are gone."""
    emoji = OUTCOME_EMOJI.get(view.state, ":grey_question:")
    lines = [f"{RISK_EMOJI[view.risk]} <@{view.requester_id}> asked to run:", view.summary]
    if view.reason:
        lines.append(f"*Reason:* {escape(view.reason)}")
    blocks = [*sections("\n".join(lines)), context(f"{emoji} {outcome_line(view)}")]
    return Reply(
        text=f"{emoji} {outcome_line(view)} {gist(view.summary, 300)}", blocks=blocks, public=True
    )


def dm_message(view: ApprovalView, channel_id: str | None) -> Reply:
    """What approvers get in a direct message: the request and its buttons."""
    reply = request_message(view)
    where = f" in <#{channel_id}>" if channel_id else ""
    intro = section(f":bell: You can approve this request{where}.")
    blocks = [intro, *(reply.blocks or [])]
    blocks[-1] = {**blocks[-1], "elements": blocks[-1]["elements"][:2]}  # no Cancel in DMs
    return Reply(text=f"Approval requested{where}: {reply.text}", blocks=blocks)


def reminder_message(view: ApprovalView, channel_id: str | None, now: datetime) -> Reply:
    left = fmt.duration(view.expires_at - now)
    reply = dm_message(view, channel_id)
    reply.text = f":alarm_clock: Reminder, {left} left: {reply.text}"
    assert reply.blocks is not None
    reply.blocks[0] = section(
        f":alarm_clock: Reminder: this request expires {fmt.until(view.expires_at, now)}"
        + (f" (<#{channel_id}>)" if channel_id else "")
        + "."
    )
    return reply


def deny_view(request_id: str, summary: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": DENY_VIEW,
        "private_metadata": request_id,
        "title": {"type": "plain_text", "text": "Deny request"},
        "submit": {"type": "plain_text", "text": "Deny"},
        "close": {"type": "plain_text", "text": "Back"},
        "blocks": [
            *sections(summary),
            {
                "type": "input",
                "block_id": DENY_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Why? (the requester sees this)"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": DENY_ACTION,
                    "multiline": True,
                    "max_length": 500,
                },
            },
        ],
    }


def home_section(
    views: Sequence[ApprovalView], channels: Sequence[str | None]
) -> list[dict[str, Any]]:
    """App Home: the requests this person can approve, with Approve / Deny."""
    if not views:
        return [section("*Approvals waiting for you*\nNone right now.")]
    blocks: list[dict[str, Any]] = [section(f"*Approvals waiting for you* ({len(views)})")]
    for view, channel in list(zip(views, channels, strict=True))[:10]:
        where = f" in <#{channel}>" if channel else ""
        blocks += sections(
            f"{RISK_EMOJI[view.risk]} <@{view.requester_id}>{where}: {view.summary}"
            + (f"\n*Reason:* {escape(view.reason)}" if view.reason else "")
            + f"\nExpires {when(view.expires_at)}",
            most=2,
        )
        buttons = _buttons(view.request_id)
        buttons["elements"] = buttons["elements"][:2]
        blocks.append(buttons)
    return blocks


def pending_reply(rows: Sequence[tuple[str, str, str, str, datetime]]) -> Reply:
    """``/deploy approvals``: (id, requester, summary, channel, expires) of pending requests."""
    if not rows:
        return Reply(text="No approval requests are waiting.")
    lines = [f"*{len(rows)} waiting for approval* · `/deploy approve|deny|cancel <id>`"]
    for request_id, requester, summary, channel, expires in rows:
        where = f" in <#{channel}>" if channel else ""
        lines.append(
            f"• `{request_id}` <@{requester}>{where}: {gist(summary, 300)} — "
            f"expires {when(expires)}"
        )
    return Reply(text="\n".join(lines), blocks=sections("\n".join(lines)))


__all__ = [
    "APPROVE",
    "CANCEL",
    "DENY",
    "DENY_VIEW",
    "ApprovalView",
    "deny_view",
    "dm_message",
    "outcome_message",
    "reminder_message",
    "request_message",
    "summarize",
]
