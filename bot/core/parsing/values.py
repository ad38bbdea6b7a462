"""Argument values: deployment references, numbers, durations, times, cron, statuses, filters."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from croniter import croniter

from bot.core.parsing.problem import Problem
from bot.core.parsing.words import did_you_mean
from bot.providers.models import PROVIDER_NAMES, DeploymentStatus

MAX_TARGET = 200
MAX_NAME = 100
MAX_REPLICAS = 1000
MAX_TAIL = 5000
MAX_MINUTES = 60 * 24 * 30

_DURATION = re.compile(r"^(\d{1,7})\s*(s|sec|secs|m|min|mins|h|hr|hrs|d|day|days)?$", re.I)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def target(token: str) -> str:
    token = token.strip()
    if not token:
        raise Problem("Name a deployment (its id, the start of its id, or its exact name).")
    if len(token) > MAX_TARGET:
        raise Problem(f"That deployment reference is too long ({MAX_TARGET} characters at most).")
    if any(ch in token for ch in "<>\n\r\t"):
        raise Problem("A deployment reference can't contain <, > or line breaks.")
    return token


def whole(value: str, what: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise Problem(f"{what} must be a whole number, not “{value[:40]}”.") from None
    if not low <= number <= high:
        raise Problem(f"{what} must be between {low} and {high}, not {number}.")
    return number


def is_duration(value: str) -> bool:
    """Whether ``value`` reads as a duration (``90``, ``10m``, ``2h``)."""
    return bool(_DURATION.match(value.strip()))


def duration_seconds(value: str, what: str) -> int:
    match = _DURATION.match(value.strip())
    if not match:
        raise Problem(f"{what} must look like 90, 90m, 2h or 1d, not “{value[:40]}”.")
    amount, unit = int(match.group(1)), (match.group(2) or "").lower()
    return amount * _UNIT_SECONDS.get(unit[:1], 60)


def minutes(value: str) -> int:
    seconds = duration_seconds(value, "The timeout")
    if seconds % 60:
        raise Problem("The timeout is counted in whole minutes.")
    count = seconds // 60
    if not 1 <= count <= MAX_MINUTES:
        raise Problem(f"The timeout must be between 1 minute and {MAX_MINUTES // 1440} days.")
    return count


def since_window(value: str, now: datetime) -> tuple[datetime | None, int | None]:
    """``--since``: a moment (an ISO time) or a number of seconds back from when the logs are
    read (a duration: ``1m`` is the last minute then, not a minute before the command)."""
    if _DURATION.match(value.strip()):
        seconds = int((now - since(value, now)).total_seconds())
        if seconds < 1:
            raise Problem("--since needs a span longer than zero (10m, 2h, 1d).")
        return None, seconds
    return since(value, now), None


def since(value: str, now: datetime) -> datetime:
    if _DURATION.match(value.strip()):
        seconds = duration_seconds(value, "--since")
        if value.strip().isdigit():
            raise Problem("--since needs a unit (10m, 2h, 1d) or a time (2026-11-23T10:00Z).")
        return now - timedelta(seconds=seconds)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise Problem(
            f"--since must be a duration (10m, 2h, 1d) or an ISO time, not “{value[:40]}”."
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if when > now:
        raise Problem("--since is in the future.")
    return when


def cron(value: str) -> str:
    value = " ".join(value.split())
    fields = value.split(" ")
    if len(fields) != 5:
        raise Problem(
            f"A schedule is 5 cron fields (minute hour day month weekday), e.g. "
            f'"0 */6 * * *"; “{value[:60]}” has {len(fields)}.',
            topic="schedule",
        )
    if not croniter.is_valid(value):
        raise Problem(f"“{value[:60]}” is not a valid cron schedule.", topic="schedule")
    return value


def status(value: str) -> str:
    value = value.lower()
    if value == "all":
        return value
    try:
        return DeploymentStatus(value).value
    except ValueError:
        names = ", ".join(s.value for s in DeploymentStatus if s is not DeploymentStatus.UNKNOWN)
        known = [s.value for s in DeploymentStatus if s is not DeploymentStatus.UNKNOWN]
        hint = did_you_mean(value, [*known, "all", *PROVIDER_NAMES])
        raise Problem(
            f"Unknown status “{value[:30]}”: use one of {names}, or all." + hint
        ) from None


def filters(args: list[str], allowed: dict[str, type], topic: str) -> dict[str, str]:
    """``key=value`` words, each key one of ``allowed`` (numbers checked, never negative)."""
    found: dict[str, str] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        key = key.lower().lstrip("-")
        if not sep or key not in allowed or not value:
            keys = ", ".join(f"{k}=…" for k in allowed)
            raise Problem(f"“{arg[:40]}” is not a filter here; use {keys}.", topic=topic)
        kind = allowed[key]
        if kind is not str:
            try:
                number = kind(value)
            except ValueError:
                raise Problem(f"{key} must be a number, not “{value[:20]}”.", topic=topic) from None
            if number < 0:
                raise Problem(f"{key} can't be negative.", topic=topic)
        found[key] = value
    return found
