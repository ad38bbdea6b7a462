"""``/deploy budget`` as Block Kit (pure): each scope's burn, spend so far and caps."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.core.budget import BudgetView, Period, Scope
from bot.core.preflight_money import usd
from bot.core.render import PROVIDER_LABEL
from bot.core.replies.base import Reply, context, section


def _share(value: Decimal, cap: Decimal | None) -> str:
    if cap is None or cap <= 0:
        return ""
    percent = (value * 100 / cap).quantize(Decimal("1"))
    mark = " :rotating_light:" if percent >= 100 else " :warning:" if percent >= 80 else ""
    return f" ({percent}%{mark})"


def _caps(scope: Scope) -> str:
    parts = [
        usd(cap, period.suffix) for period in Period if (cap := scope.caps.get(period)) is not None
    ]
    return "caps " + " · ".join(parts) if parts else "no caps"


def scope_line(scope: Scope) -> str:
    caps = scope.caps
    floor = f" (+{scope.unknown} running without a reported price)" if scope.unknown else ""
    return (
        f"*{scope.label}*{' total' if not scope.provider else ''} — "
        f"burn {usd(scope.burn, '/h')}{_share(scope.burn, caps.per_hour)}{floor} · "
        f"today {usd(scope.today)}{_share(scope.today, caps.per_day)} · "
        f"this month {usd(scope.month)}{_share(scope.month, caps.per_month)}\n"
        f"{_caps(scope)}"
    )


def budget_reply(view: BudgetView) -> Reply:
    title = "*Budget* — burn now, spend so far today and this month (UTC), and the caps"
    blocks: list[dict[str, Any]] = [section(title)]
    lines = [scope_line(scope) for scope in view.scopes]
    for line in lines:
        blocks.append(section(line))
    notes: list[str] = []
    if view.untracked:
        names = ", ".join(PROVIDER_LABEL.get(p, p) for p in view.untracked)
        notes.append(
            f"Not tracked yet: {names}. deploybot records the burn of providers it polls: "
            "watch one (e.g. `/deploy watch nosana`) or set a cap on it."
        )
    if view.alerts:
        notes.append("Alerts this period: " + "; ".join(view.alerts) + ".")
    notes.append(
        "Admins: `/deploy budget set 50/day [provider]`, `… 2/h`, `… 900/month`, "
        "`/deploy budget clear [provider]`."
    )
    blocks.append(context("\n".join(notes)))
    text = "\n".join([title, *lines])
    return Reply(text=text, blocks=blocks[:50])
