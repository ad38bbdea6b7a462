"""Working notes and chain progress: proof a command was received, and how far it got."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.core.operations import Chain, Operation, OpKind
from bot.core.registry import MUTATIONS
from bot.core.render import clip, escape
from bot.core.replies.base import Reply, notice, section

_DOING: dict[OpKind, str] = {k: k.spec.doing for k in MUTATIONS}


def working_reply(op: Operation | Chain) -> Reply:
    """The immediate acknowledgement: proof the command was received and is running."""
    if isinstance(op, Chain):
        steps = len(op.steps)
        return notice(
            f":hourglass_flowing_sand: Running {steps} steps on `{escape(clip(op.target, 80))}`…"
        )
    if op.kind in _DOING:
        what = f"{_DOING[op.kind]} `{escape(clip(op.target or '', 80))}`"
        return notice(f":hourglass_flowing_sand: {what}…")
    return notice(":hourglass_flowing_sand: Looking that up…")


def chain_reply(
    chain: Chain, statuses: Sequence[tuple[str, str]], card: list[dict[str, Any]] | None = None
) -> Reply:
    """Progress of a chain: one line per step (⏳ pending, ✅ done, ❌ failed, ⏭ skipped)."""
    lines = [f"*{escape(clip(chain.target, 80))}*: {len(chain.steps)} steps"]
    for (mark, note), step in zip(statuses, chain.steps, strict=True):
        lines.append(f"{mark} {escape(step.describe())}{' — ' + note if note else ''}")
    text = "\n".join(lines)
    blocks = [section(text)]
    if card:
        blocks.extend(card)
    return Reply(text=text, blocks=blocks, public=True)
