"""The one place for money, time and names in what deploybot writes (pure, no Slack calls).

Money (US dollars)
    ``$1,234.50``: from one dollar up, two decimals with thousands separators;
    ``$0.385``, ``$0.0049``, ``$0.50``: below a dollar, up to four decimals (at least two),
    trailing zeros dropped; ``<$0.0001`` for a tiny non-zero amount; ``-$2.00`` below zero.
    Hourly rates always end in ``/h``.
Durations
    ``less than a minute``, ``3 min``, ``2 h 5 min``, ``3 d 4 h`` (at most two units, rounded
    down: "5 min" has not yet reached 6). Never "0 min", never "just now" for minutes.
Dates
    ``<!date^…^{date_short_pretty} {time}|2026-12-07 09:00 UTC>``: each reader sees their own
    time zone; the fallback (notifications, old clients) is UTC.
Names
    ``<@U123>``, ``<#C123>``, ``<!subteam^S123>``: Slack shows the person's, channel's or
    group's current name.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

_CENT = Decimal("0.01")
_BECH32 = re.compile(r"^[a-z]{2,10}1(?=[02-9ac-hj-np-z]{20,})")
_SMALLEST = Decimal("0.0001")

Amount = Decimal | int | float | str


def to_decimal(value: Amount | None) -> Decimal | None:
    """``value`` as a finite Decimal (None when it is missing or not a number)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip().lstrip("$").replace(",", ""))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def usd(value: Amount | None, *, unknown: str = "—") -> str:
    """``$12.30``, ``$0.385``, ``$0.0049`` (see the module's rules); ``unknown`` when missing."""
    number = to_decimal(value)
    if number is None:
        return unknown
    sign = "-" if number < 0 else ""
    size = abs(number)
    if size >= 1:
        return f"{sign}${size.quantize(_CENT, rounding=ROUND_HALF_UP):,}"
    if size == 0:
        return "$0.00"
    small = size.quantize(_SMALLEST, rounding=ROUND_HALF_UP)
    if small == 0:
        return f"{sign}<$0.0001"
    if small >= 1:  # 0.99996 rounds up to a dollar
        return f"{sign}$1.00"
    text = f"{small:f}".rstrip("0")
    decimals = len(text.split(".")[1]) if "." in text else 0
    if decimals < 2:
        text = f"{small.quantize(_CENT):f}"
    return f"{sign}${text}"


def per_hour(value: Amount | None, *, unknown: str = "—") -> str:
    """An hourly rate: ``$0.385/h`` (``unknown`` when missing, with no ``/h``)."""
    if to_decimal(value) is None:
        return unknown
    return f"{usd(value)}/h"


def duration(span: timedelta | float | int) -> str:
    """``less than a minute``, ``3 min``, ``2 h 5 min``, ``3 d 4 h`` (``span`` in seconds or a
    timedelta; rounded down; negative spans read as less than a minute)."""
    seconds = span.total_seconds() if isinstance(span, timedelta) else float(span)
    return minutes(int(seconds // 60) if seconds > 0 else 0)


def minutes(count: int) -> str:
    """A whole number of minutes: ``less than a minute``, ``45 min``, ``1 h``, ``2 h 5 min``,
    ``1 d``, ``3 d 4 h`` (at most two units)."""
    if count <= 0:
        return "less than a minute"
    days, rest = divmod(count, 1440)
    hours_, mins = divmod(rest, 60)
    if days:
        return f"{days} d" + (f" {hours_} h" if hours_ else "")
    if hours_:
        return f"{hours_} h" + (f" {mins} min" if mins else "")
    return f"{mins} min"


def hours(count: Amount) -> str:
    """A number of hours (a runway, say) as a duration: ``17 h 30 min``, ``2 d 3 h``."""
    number = to_decimal(count) or Decimal(0)
    return minutes(int((number * 60).to_integral_value(rounding=ROUND_DOWN)))


def age(since: datetime | None, now: datetime, *, unknown: str = "—") -> str:
    """How long ago ``since`` was, as a duration (``unknown`` when not known)."""
    if since is None:
        return unknown
    return duration(now - since)


def until(at: datetime, now: datetime) -> str:
    """``in 25 min``, ``in less than a minute``, or ``now`` once ``at`` has passed."""
    left = (at - now).total_seconds()
    if left <= 0:
        return "now"
    if left < 60:
        return "in less than a minute"
    return f"in {duration(left)}"


def utc(at: datetime) -> str:
    """``2026-12-07 09:00 UTC`` (naive times are taken as UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def slack_date(
    at: datetime, layout: str = "{date_short_pretty} {time}", *, fallback: str | None = None
) -> str:
    """A date every reader sees in their own time zone: ``<!date^1765098000^…|…>``."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    shown = (fallback or utc(at)).replace("|", "/").replace(">", "").replace("<", "")
    return f"<!date^{int(at.timestamp())}^{layout}|{shown}>"


def user(user_id: str) -> str:
    """``<@U123>``: Slack shows the person's name."""
    return f"<@{user_id}>"


def channel(channel_id: str) -> str:
    """``<#C123>``: Slack shows the channel's name, as a link."""
    return f"<#{channel_id}>"


def usergroup(group_id: str) -> str:
    """``<!subteam^S123>``: Slack shows the group's handle."""
    return f"<!subteam^{group_id}>"


def mention(subject_type: str, subject_id: str) -> str:
    """A person (``user``) or a user group (``usergroup``)."""
    return usergroup(subject_id) if subject_type == "usergroup" else user(subject_id)


def shorten(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, cut at a word boundary with "…" (a single word
    longer than the limit is cut inside it, as a last resort)."""
    text = text.strip()
    if len(text) <= limit:
        return text
    room = max(1, limit - 1)
    head = text[:room]
    between_words = text[room].isspace() or " " not in head.strip()
    cut = head if between_words else head.rsplit(None, 1)[0]
    if len(cut) < room // 2:  # one very long word: keep the characters rather than lose them
        cut = head
    return cut.rstrip(" ,;:.-–—") + "…"


def short_id(value: str, keep: int = 6) -> str:
    """``akash1q9…x7kd``: a long address shortened, both ends kept; short values unchanged."""
    prefix = _BECH32.match(value)
    head = keep + (len(prefix.group(0)) if prefix else 0)
    if len(value) <= head + 5:
        return value
    return f"{value[:head]}…{value[-4:]}"
