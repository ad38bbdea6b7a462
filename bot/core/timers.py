"""Stop timers, pure: when one fires, how it is described, listed and warned about.

A timer is a durable job (bot/services/timers.py); this module only computes and renders.
Times are shown as Slack dates (``fmt.slack_date``), so everyone reads them in their own time
zone; ``--at 19:00`` is read in the time zone of the person who set it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core import fmt
from bot.core.render import PROVIDER_LABEL, escape
from bot.core.replies.base import Reply, context, section

#: The warning goes out this long before the stop.
WARN_BEFORE = 15 * 60
#: What the Extend button adds.
EXTEND_BY = 3600
#: Action ids of the timer buttons.
EXTEND_ACTION = "timer_extend"
CANCEL_ACTION = "timer_cancel"


@dataclass(frozen=True)
class When:
    """A timer's schedule as asked: ``after`` seconds, or ``at`` a wall-clock ``HH:MM`` in a
    time zone ``tz_offset`` seconds east of UTC."""

    after_seconds: int | None = None
    at: str | None = None
    tz_offset: int = 0

    def fire_at(self, now: float) -> float:
        """The epoch time it fires, counted from ``now`` (``--at``: the next such time)."""
        if self.after_seconds is not None:
            return now + self.after_seconds
        hour, minute = (int(p) for p in (self.at or "00:00").split(":"))
        local_now = datetime.fromtimestamp(now + self.tz_offset, UTC)
        local = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if local.timestamp() <= local_now.timestamp() + 60:
            local += timedelta(days=1)
        return local.timestamp() - self.tz_offset

    def describe(self) -> str:
        if self.after_seconds is not None:
            return f"in {duration(self.after_seconds)}"
        return f"at {self.at} ({utc_offset(self.tz_offset)})"

    def as_json(self) -> dict[str, Any]:
        return {"after": self.after_seconds, "at": self.at, "tz": self.tz_offset}

    @classmethod
    def from_json(cls, data: object) -> When:
        got = data if isinstance(data, dict) else {}
        after = got.get("after")
        return cls(
            after_seconds=int(after) if after is not None else None,
            at=str(got["at"]) if got.get("at") else None,
            tz_offset=int(got.get("tz") or 0),
        )


@dataclass(frozen=True)
class Timer:
    """One stop timer as the job table holds it."""

    timer_id: str
    provider: str
    deployment_id: str
    name: str
    channel: str | None
    set_by: str
    fire_at: float
    decision: str = "allow"
    approvers: tuple[str, ...] = ()
    request_id: str | None = None
    reason: str | None = None
    #: ``stop``, or ``close`` where the provider can't stop (Akash).
    action: str = "stop"

    def as_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "timer": self.timer_id,
            "provider": self.provider,
            "deployment": self.deployment_id,
            "name": self.name,
            "channel": self.channel,
            "set_by": self.set_by,
            "fire_at": self.fire_at,
            "decision": self.decision,
            "approvers": list(self.approvers),
            "request_id": self.request_id,
            "reason": self.reason,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, fire_at: float | None = None) -> Timer:
        return cls(
            timer_id=str(data.get("timer") or ""),
            provider=str(data.get("provider") or ""),
            deployment_id=str(data.get("deployment") or ""),
            name=str(data.get("name") or ""),
            channel=str(data["channel"]) if data.get("channel") else None,
            set_by=str(data.get("set_by") or ""),
            fire_at=float(fire_at if fire_at is not None else data.get("fire_at") or 0.0),
            decision=str(data.get("decision") or "allow"),
            approvers=tuple(str(a) for a in data.get("approvers") or ()),
            request_id=str(data["request_id"]) if data.get("request_id") else None,
            reason=str(data["reason"]) if data.get("reason") else None,
            action="close" if data.get("action") == "close" else "stop",
        )

    @property
    def verb(self) -> str:
        """``stops`` / ``closes`` (what it will do)."""
        return "closes" if self.action == "close" else "stops"

    @property
    def label(self) -> str:
        provider = PROVIDER_LABEL.get(self.provider, self.provider)
        name = escape(self.name or self.deployment_id)
        return f"*{name}* (`{escape(self.deployment_id[:12])}`, {provider})"


def duration(seconds: float) -> str:
    """``4h``, ``1h 30m``, ``45m``, ``2d 3h``."""
    minutes = max(0, round(seconds / 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{mins}m" if mins else ""]
    return " ".join(p for p in parts if p) or "0m"


def utc_offset(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "-"
    hours, rest = divmod(abs(seconds), 3600)
    return f"UTC{sign}{hours}" + (f":{rest // 60:02d}" if rest else "")


def slack_time(epoch: float) -> str:
    """A time every reader sees in their own time zone (UTC as the fallback)."""
    return fmt.slack_date(datetime.fromtimestamp(epoch, UTC))


def _buttons(timer: Timer, *, extend: bool) -> dict[str, Any]:
    elements: list[dict[str, Any]] = []
    if extend:
        elements.append(
            {
                "type": "button",
                "action_id": EXTEND_ACTION,
                "text": {"type": "plain_text", "text": "Extend 1h"},
                "value": timer.timer_id,
            }
        )
    elements.append(
        {
            "type": "button",
            "action_id": CANCEL_ACTION,
            "text": {"type": "plain_text", "text": "Cancel timer"},
            "style": "danger",
            "value": timer.timer_id,
        }
    )
    return {"type": "actions", "block_id": f"timer:{timer.timer_id}", "elements": elements}


def set_reply(timer: Timer, now: float) -> Reply:
    """The timer is filed."""
    left = timer.fire_at - now
    warn = (
        "I'll warn here 15 minutes before, with buttons to extend or cancel."
        if left > WARN_BEFORE
        else "It's less than 15 minutes away, so there is no warning first."
    )
    text = (
        f":alarm_clock: <@{timer.set_by}> set stop timer `{timer.timer_id}`: {timer.label} "
        f"{timer.verb} {slack_time(timer.fire_at)} (in {duration(left)})."
    )
    blocks = [section(text), context(warn), _buttons(timer, extend=True)]
    return Reply(text=text, blocks=blocks, public=True)


def warning_reply(timer: Timer, now: float) -> Reply:
    text = (
        f":hourglass: {timer.label} {timer.verb} in {duration(timer.fire_at - now)} "
        f"({slack_time(timer.fire_at)}), by stop timer `{timer.timer_id}` "
        f"set by <@{timer.set_by}>."
    )
    return Reply(text=text, blocks=[section(text), _buttons(timer, extend=True)], public=True)


def list_reply(timers: Sequence[Timer], now: float) -> Reply:
    if not timers:
        text = (
            "No stop timers in this workspace. Set one with "
            "`/deploy stop &lt;deployment&gt; --after 4h` or `--at 19:00`."
        )
        return Reply(text=text, blocks=[section(text)])
    blocks: list[dict[str, Any]] = [section(f"*Stop timers* ({len(timers)})")]
    for timer in timers[:20]:
        line = (
            f"`{timer.timer_id}` {timer.label} {timer.verb} {slack_time(timer.fire_at)} "
            f"(in {duration(timer.fire_at - now)}) · set by <@{timer.set_by}>"
        )
        blocks.append(section(line))
        blocks.append(_buttons(timer, extend=True))
    if len(timers) > 20:
        blocks.append(context(f"Showing 20 of {len(timers)}."))
    return Reply(text=f"Stop timers: {len(timers)}", blocks=blocks)


def extended_reply(timer: Timer, by: str, now: float) -> Reply:
    text = (
        f":alarm_clock: <@{by}> extended stop timer `{timer.timer_id}`: {timer.label} now "
        f"{timer.verb} {slack_time(timer.fire_at)} (in {duration(timer.fire_at - now)})."
    )
    return Reply(text=text, blocks=[section(text), _buttons(timer, extend=True)], public=True)


def cancelled_reply(timer: Timer, by: str) -> Reply:
    text = (
        f":heavy_minus_sign: <@{by}> cancelled stop timer `{timer.timer_id}`: {timer.label} "
        "keeps running."
    )
    return Reply(text=text, blocks=[section(text)], public=True)


def fired_reply(timer: Timer, result: Reply) -> Reply:
    """What the stop did, posted where the timer was set."""
    head = f":alarm_clock: Stop timer `{timer.timer_id}` (set by <@{timer.set_by}>):"
    text = f"{head} {result.text}"
    return Reply(
        text=text, blocks=[section(head), *(result.blocks or [section(result.text)])], public=True
    )


def summary_line(when: When, action: str = "stop") -> str:
    """What approvers read below the stop's summary."""
    start = "from the approval" if when.after_seconds is not None else ""
    return f":alarm_clock: A stop timer: the {action} runs {when.describe()}" + (
        f", counted {start}." if start else "."
    )
