"""Approval messages: the request, its outcome, reminders (pure: data in, Block Kit out)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.core.arguments import Deposit, Rename, Revise, Rollback, Scale, Schedule, Timeout
from bot.core.operations import Chain, Operation, OpKind
from bot.core.policy import ApprovalRule, Risk, approvers_text
from bot.core.render import PROVIDER_LABEL, clip, escape, money
from bot.core.replies import Reply, context, section
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


def when(moment: datetime) -> str:
    """Slack's date formatting (each reader's own time zone), with a UTC fallback."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _per_replica(deployment: Deployment) -> Decimal | None:
    cost, replicas = deployment.cost_per_hour_usd, deployment.replicas
    if cost is None or not replicas:
        return None
    return cost / replicas


def _cost(before: Decimal | None, after: Decimal | None) -> str:
    if before is None and after is None:
        return ""
    return f"; cost {money(before, '/h') if before is not None else '?'} → " + (
        money(after, "/h") if after is not None else "?"
    )


def step_summary(op: Operation, before: Deployment | None) -> str:
    """What one operation will change, as exactly as the deployment tells (mrkdwn)."""
    match op.args:
        case Scale(replicas=replicas) if before is not None:
            each = _per_replica(before)
            after = each * replicas if each is not None else None
            if before.cost_per_hour_usd is not None and replicas == 0:
                after = Decimal(0)
            current = before.replicas if before.replicas is not None else "?"
            return f"scale: replicas {current} → {replicas}" + _cost(
                before.cost_per_hour_usd, after
            )
        case Scale(replicas=replicas):
            return f"scale to {replicas} replicas"
        case Timeout(minutes=minutes):
            current = before.extras.get("timeout_minutes") if before else None
            return f"timeout {current if current is not None else '?'} → {minutes} min"
        case Deposit(amount_usd=amount):
            return f"add ${amount} to the escrow"
        case Schedule(cron=cron):
            return f"schedule → `{escape(cron)}`"
        case Rollback(revision=revision):
            return f"roll back to revision {revision}"
        case Rename(name=name):
            return f"rename to “{escape(name)}”"
        case Revise():
            return "publish a new revision"
    match op.kind:
        case OpKind.STOP | OpKind.CLOSE | OpKind.DELETE | OpKind.ARCHIVE:
            cost = before.cost_per_hour_usd if before else None
            zero = Decimal(0) if cost is not None else None
            return f"{op.kind.value}" + _cost(cost, zero)
        case OpKind.START:
            return "start"
    return escape(op.describe())


def summarize(op: Operation | Chain, before: Deployment | None) -> str:
    """``*llama* (`abc123`, Nosana, running): scale: replicas 2 → 5; cost $0.40/h → $1.00/h``."""
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
        steps = "\n".join(
            f"{i}. {step_summary(step, before if i == 1 else None)}"
            for i, step in enumerate(op.steps, 1)
        )
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
    blocks = [section("\n".join(lines))]
    facts = (
        f"Needs approval by {approvers_text(view.rule)}"
        + ("" if view.rule.self_approval else " (not the requester)")
        + f" · expires {when(view.expires_at)}"
    )
    votes = _votes(view)
    blocks.append(context(facts + (f"\n{votes}" if votes else "")))
    blocks.append(_buttons(view.request_id))
    text = f"<@{view.requester_id}> asks for approval: {clip(view.summary, 500)}"
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
    blocks = [section("\n".join(lines)), context(f"{emoji} {outcome_line(view)}")]
    return Reply(
        text=f"{emoji} {outcome_line(view)} {clip(view.summary, 300)}", blocks=blocks, public=True
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
    left = max(0, int((view.expires_at - now).total_seconds() // 60))
    reply = dm_message(view, channel_id)
    reply.text = f":alarm_clock: Reminder, {left} min left: {reply.text}"
    assert reply.blocks is not None
    reply.blocks[0] = section(
        f":alarm_clock: Reminder: this request expires in {left} min"
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
            section(clip(summary, 2900)),
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
        blocks.append(
            section(
                f"{RISK_EMOJI[view.risk]} <@{view.requester_id}>{where}: {view.summary}"
                + (f"\n*Reason:* {escape(view.reason)}" if view.reason else "")
                + f"\nExpires {when(view.expires_at)}"
            )
        )
        buttons = _buttons(view.request_id)
        buttons["elements"] = buttons["elements"][:2]
        blocks.append(buttons)
    return blocks


def pending_reply(rows: Sequence[tuple[str, str, str, datetime]]) -> Reply:
    """``/deploy approvals``: (requester, summary, channel, expires) of pending requests."""
    if not rows:
        return Reply(text="No approval requests are waiting.")
    lines = [f"*{len(rows)} waiting for approval*"]
    for requester, summary, channel, expires in rows:
        where = f" in <#{channel}>" if channel else ""
        lines.append(f"• <@{requester}>{where}: {clip(summary, 300)} — expires {when(expires)}")
    return Reply(text="\n".join(lines), blocks=[section("\n".join(lines))])


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
