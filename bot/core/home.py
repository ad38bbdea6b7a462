"""The App Home tab, as a pure function of what the handler gathered.

``extra_sections`` is the seam for features that add their own part (the approvals waiting for
the person): blocks placed after the running deployments and before the recent actions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.core.render import PROVIDER_LABEL, clip, escape, list_row, money
from bot.core.replies import context, section
from bot.providers.models import PROVIDER_NAMES, Deployment, DeploymentStatus

#: Slack allows 100 blocks in a Home view.
MAX_HOME_BLOCKS = 100
MAX_RUNNING_ROWS = 15
CREATE_ACTION = "home_create_deployment"


@dataclass(frozen=True)
class RecentAction:
    summary: str
    provider: str
    at: datetime


def home_view(
    *,
    connected: Sequence[tuple[str, str]],
    running: Sequence[Deployment],
    recent: Sequence[RecentAction],
    now: datetime,
    notes: Sequence[str] = (),
    extra_sections: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The Home view: connected providers (``(provider, key hint)``), running deployments with
    their total cost per hour, ``extra_sections``, my recent actions, and buttons."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "deploybot"}},
        section(
            "Deployments on Nosana, Akash and NeuraNET from Slack. Type `/deploy help` in any "
            "channel; `/deploy watch all` posts status changes and alerts there."
        ),
        {"type": "divider"},
    ]
    names = {p for p, _ in connected}
    if connected:
        lines = [
            f"• {PROVIDER_LABEL.get(p, escape(p))} (key `{escape(hint)}`)" for p, hint in connected
        ]
        blocks.append(section("*Connected providers*\n" + "\n".join(lines)))
    else:
        blocks.append(section("*Connected providers*\nNone yet."))
    buttons: list[dict[str, Any]] = [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": f"Connect {PROVIDER_LABEL[p]}"},
            "action_id": f"provider_connect_{p}",
            "value": p,
        }
        for p in PROVIDER_NAMES
        if p not in names
    ]
    buttons += [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": f"New {PROVIDER_LABEL[p]} deployment"},
            "action_id": f"{CREATE_ACTION}_{p}",
            "value": p,
            "style": "primary",
        }
        for p in PROVIDER_NAMES
        if p in names
    ]
    blocks.append({"type": "actions", "block_id": "home_buttons", "elements": buttons})
    blocks.append({"type": "divider"})

    live = [d for d in running if d.status is DeploymentStatus.RUNNING]
    total = sum((d.cost_per_hour_usd or Decimal(0) for d in live), Decimal(0))
    unknown = sum(1 for d in live if d.cost_per_hour_usd is None)
    title = f"*Running deployments* — {len(live)}, {money(total, '/h')} in total"
    if unknown:
        title += f" ({unknown} without a price)"
    rows = [list_row(d, now) for d in live[:MAX_RUNNING_ROWS]]
    if len(live) > MAX_RUNNING_ROWS:
        rows.append(f"… and {len(live) - MAX_RUNNING_ROWS} more: `/deploy list running`")
    blocks.append(section(title + ("\n" + "\n".join(rows) if rows else "\nNone.")))
    for note in notes:
        blocks.append(context(f":warning: {escape(clip(note, 300))}"))

    blocks.extend(extra_sections)

    blocks.append({"type": "divider"})
    if recent:
        lines = [
            f"• `{r.at:%Y-%m-%d %H:%M}` {escape(clip(r.summary, 120))} "
            f"({PROVIDER_LABEL.get(r.provider, escape(r.provider))})"
            for r in recent
        ]
        blocks.append(section("*My recent actions*\n" + "\n".join(lines)))
    else:
        blocks.append(section("*My recent actions*\nNone yet."))
    return {"type": "home", "blocks": blocks[:MAX_HOME_BLOCKS]}
