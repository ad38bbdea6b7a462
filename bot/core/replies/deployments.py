"""Deployments: what a change did (with the fresh card), one card, and "which one?" pickers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from bot.core import fmt
from bot.core.arguments import Deposit, Rename, Rollback, Scale, Schedule, Timeout
from bot.core.operations import Chain, Operation, OpKind
from bot.core.registry import MUTATIONS
from bot.core.render import PROVIDER_LABEL, clip, deployment_card, escape
from bot.core.replies.base import Reply, context, section
from bot.providers.models import Capability, Deployment

MAX_BUTTON_VALUE = 2000

_DONE: dict[OpKind, str] = {k: k.spec.done for k in MUTATIONS}


def _detail(op: Operation) -> str:
    match op.args:
        case Scale(replicas=replicas):
            return f" to {replicas} replica{'s' if replicas != 1 else ''}"
        case Timeout(minutes=minutes):
            return f" to {fmt.minutes(minutes)}"
        case Schedule(cron=cron):
            return f" to `{escape(cron)}`"
        case Rollback(revision=revision):
            return f" to revision {revision}"
        case Rename(name=name):
            return f" to “{escape(clip(name, 100))}”"
        case Deposit(amount_usd=amount):
            return f" ({fmt.usd(amount)})"
        case _:
            return ""


def result_reply(
    op: Operation,
    user_id: str,
    deployment: Deployment | None,
    *,
    before: Deployment | None,
    allowed: frozenset[Capability],
    now: datetime,
) -> Reply:
    """A change that happened: who did what, then the deployment's fresh card."""
    shown = deployment or before
    # The deployment is named as it was before the change (a rename reads "renamed old to new").
    subject = before or deployment
    name = escape(clip((subject.name if subject else None) or op.target or "", 150))
    label = PROVIDER_LABEL[shown.provider] if shown else ""
    line = f":white_check_mark: <@{escape(user_id)}> {_DONE[op.kind]} *{name}*{_detail(op)}"
    if label:
        line += f" on {label}"
    blocks = [section(line)]
    if deployment is not None:
        blocks.extend(deployment_card(deployment, allowed=allowed, now=now))
    elif before is not None:
        blocks.append(context(f"`{escape(before.id)}` is gone."))
    return Reply(text=line, blocks=blocks, public=True)


def card_reply(deployment: Deployment, allowed: frozenset[Capability], now: datetime) -> Reply:
    card = deployment_card(deployment, allowed=allowed, now=now)
    text = f"{deployment.name or deployment.id} ({PROVIDER_LABEL[deployment.provider]})"
    return Reply(text=escape(text), blocks=card)


def pick_reply(
    ref: str, candidates: Sequence[Deployment], retargeted: Sequence[str | None]
) -> Reply:
    """Several deployments match: ask which one, with a button per candidate when possible."""
    lines = [f"“{escape(clip(ref, 80))}” matches {len(candidates)} deployments; which one?"]
    buttons: list[ButtonElement] = []
    for i, (deployment, value) in enumerate(zip(candidates, retargeted, strict=True)):
        label = f"{deployment.name or deployment.id} ({PROVIDER_LABEL[deployment.provider]})"
        lines.append(
            f"• *{escape(clip(deployment.name, 80))}* `{escape(deployment.id)}` on "
            f"{PROVIDER_LABEL[deployment.provider]} ({deployment.status.value})"
        )
        if value is not None and len(buttons) < 5:
            buttons.append(
                ButtonElement(
                    text=clip(escape(label), 75), action_id=f"resolve_pick_{i}", value=value
                )
            )
    text = "\n".join(lines[:12])
    if len(lines) > 12:
        text += f"\n… and {len(lines) - 12} more: use the full id."
    blocks = [section(text)]
    if buttons:
        blocks.append(ActionsBlock(block_id="resolve_pick", elements=buttons).to_dict())
    else:
        blocks.append(context("Run the command again with the full id or `--provider`."))
    return Reply(text=text, blocks=blocks)


def encode_pick(op: Operation | Chain) -> str | None:
    """A button value that re-runs ``op`` (already retargeted), or None if it doesn't fit."""
    kind = "chain" if isinstance(op, Chain) else "op"
    value = json.dumps({kind: op.model_dump(mode="json", exclude_defaults=True)})
    return value if len(value) <= MAX_BUTTON_VALUE else None


def decode_pick(value: str) -> Operation | Chain:
    data = json.loads(value)
    if "chain" in data:
        return Chain.model_validate(data["chain"])
    return Operation.model_validate(data["op"])
