"""The daily digest, pure: the day's window in a time zone, yesterday's spend estimated from
what ran (and when it started and stopped), and the one message.

The spend estimate: a deployment's running spans are rebuilt backwards from its status now and
the starts and stops the audit log recorded (a start means it was off before; a stop, on);
each span inside the day is charged at its current price per hour. deploybot's own starts and
stops are recorded; one started or stopped elsewhere is charged from its provider's
``started_at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.core import fmt
from bot.core.render import PROVIDER_LABEL, escape
from bot.core.replies.base import Reply, context, section
from bot.core.timers import slack_time, utc_offset

#: Audit actions that turn a deployment on, or off.
STARTS = frozenset({"start"})
STOPS = frozenset({"stop", "close", "delete", "archive"})


def day_window(now: float, tz_offset: int) -> tuple[float, float, str]:
    """Yesterday in the time zone: (start, end) epoch seconds and its date (YYYY-MM-DD)."""
    local = datetime.fromtimestamp(now + tz_offset, UTC)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    start = midnight - timedelta(days=1)
    return (
        start.timestamp() - tz_offset,
        midnight.timestamp() - tz_offset,
        start.date().isoformat(),
    )


def local_date(epoch: float, tz_offset: int) -> str:
    return datetime.fromtimestamp(epoch + tz_offset, UTC).date().isoformat()


@dataclass(frozen=True)
class Toggle:
    """A recorded start (on=True) or stop of a deployment."""

    at: float
    on: bool


def running_seconds(
    toggles: Sequence[Toggle],
    *,
    running_now: bool,
    now: float,
    since: float | None,
    start: float,
    end: float,
) -> float:
    """How long, within [start, end), a deployment ran: spans rebuilt backwards from its state
    ``now`` through its recorded starts/stops; before the first of them it was in the state
    the first implies, back to ``since`` (when it started or was created; None: unknown, from
    the start of the window)."""
    total = 0.0
    upper, state = now, running_now
    for toggle in sorted(toggles, key=lambda t: t.at, reverse=True):
        if toggle.at > now:
            continue
        if state:
            total += _overlap(toggle.at, upper, start, end)
        upper, state = toggle.at, not toggle.on
    if state:
        lower = since if since is not None else start
        total += _overlap(lower, upper, start, end)
    return total


def _overlap(a: float, b: float, start: float, end: float) -> float:
    return max(0.0, min(b, end) - max(a, start))


@dataclass(frozen=True)
class Burning:
    provider: str
    deployment_id: str
    name: str
    cost_per_hour: Decimal | None


@dataclass(frozen=True)
class Decided:
    request_id: str
    state: str
    summary: str
    decided_by: str | None


@dataclass(frozen=True)
class DigestFacts:
    date: str
    #: provider → USD spent that day (an estimate, see the module docstring).
    spend: dict[str, Decimal]
    running: Sequence[Burning]
    #: (provider, deployment name or id, alert line)
    alerts: Sequence[tuple[str, str, str]]
    decided: Sequence[Decided]
    #: Providers whose deployments could not be listed.
    unreachable: Sequence[str] = field(default_factory=tuple)
    #: Where the spend figures come from (said under them).
    spend_source: str = (
        "from the burn the watcher recorded (watched providers), else estimated from what ran "
        "and its price per hour"
    )


def _usd(value: Decimal) -> str:
    return fmt.usd(value)


def digest_reply(facts: DigestFacts) -> Reply:
    head = f":newspaper: *Daily digest for {facts.date}*"
    lines: list[str] = []
    total = sum(facts.spend.values(), Decimal(0))
    spend = " · ".join(
        f"{PROVIDER_LABEL.get(p, p)} {_usd(v)}" for p, v in sorted(facts.spend.items())
    )
    lines.append(f"*Spend yesterday*: {_usd(total)}" + (f" ({spend})" if spend else ""))
    blocks = [section(head), section(lines[0]), context(f"Spend is {facts.spend_source}.")]
    burn = sum((r.cost_per_hour or Decimal(0) for r in facts.running), Decimal(0))
    running = [
        f"• *{escape(r.name or r.deployment_id)}* · {PROVIDER_LABEL.get(r.provider, r.provider)}"
        + (f" · {_usd(r.cost_per_hour)}/h" if r.cost_per_hour is not None else "")
        for r in facts.running[:15]
    ]
    more = len(facts.running) - len(running)
    title = f"*Running now*: {len(facts.running)}, burning {_usd(burn)}/h"
    blocks.append(section("\n".join([title, *running, *([f"…and {more} more"] if more else [])])))
    alerts = [
        f"• {line} — *{escape(name)}* ({PROVIDER_LABEL.get(p, p)})"
        for p, name, line in facts.alerts[:10]
    ]
    blocks.append(section("\n".join([f"*Alerts yesterday*: {len(facts.alerts)}", *alerts])))
    decided = [
        f"• `{d.request_id[:8]}` {d.state}"
        + (f" by <@{d.decided_by}>" if d.decided_by else "")
        + f": {d.summary.splitlines()[0] if d.summary else ''}"
        for d in facts.decided[:10]
    ]
    blocks.append(
        section("\n".join([f"*Approvals decided yesterday*: {len(facts.decided)}", *decided]))
    )
    if facts.unreachable:
        names = ", ".join(PROVIDER_LABEL.get(p, p) for p in facts.unreachable)
        blocks.append(context(f":warning: Couldn't list {names}: their deployments are missing."))
    text = (
        f"Daily digest for {facts.date}: spent {_usd(total)}, {len(facts.running)} running "
        f"({_usd(burn)}/h), {len(facts.alerts)} alerts, {len(facts.decided)} approvals decided."
    )
    return Reply(text=text, blocks=blocks, public=True)


def setting_reply(
    at: str | None, tz_offset: int, channel: str | None, next_at: float | None
) -> Reply:
    if at is None or channel is None:
        text = (
            "The daily digest is off. An admin turns it on with "
            "`/deploy digest daily 09:00 [#channel]`."
        )
        return Reply(text=text, blocks=[section(text)])
    text = (
        f":newspaper: The daily digest is posted in <#{channel}> at {at} "
        f"({utc_offset(tz_offset)})"
        + (f"; the next one {slack_time(next_at)}." if next_at is not None else ".")
    )
    return Reply(text=text, blocks=[section(text)])
