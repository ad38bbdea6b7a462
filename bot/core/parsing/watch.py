"""Parsers of ``watch`` / ``unwatch`` / ``watching`` (channel notifications) and the watch
settings (runway and credit thresholds)."""

from __future__ import annotations

import re
from datetime import datetime

from bot.core.arguments import args_for
from bot.core.operations import Operation, OpKind
from bot.core.parsing import values
from bot.core.parsing.problem import Problem, needs, too_many
from bot.core.parsing.words import is_provider
from bot.core.parsing.words import provider as provider_of
from bot.providers.models import ProviderName

_CHANNEL_LINK = re.compile(r"^<#([CG][A-Z0-9]{2,30})(?:\|[^>]*)?>$")
_HOURS = re.compile(r"^(\d{1,5}(?:\.\d+)?)\s*(h|hr|hrs|hours?|d|days?|m|min|mins)?$", re.I)
WATCH_SHAPE = "<deployment|provider|all> [#channel]"
SETTINGS_SHAPE = "settings [runway <hours, e.g. 12h or 2d>] [credits <usd>]"


def channel_arg(args: list[str]) -> str | None:
    """Take a channel mention (``<#C123|name>``, as Slack escapes it) out of ``args``."""
    channel: str | None = None
    for arg in list(args):
        match = _CHANNEL_LINK.match(arg)
        if match:
            channel = match.group(1)
            args.remove(arg)
        elif arg.startswith("#") and len(arg) > 1:
            raise Problem(
                f"I can't tell which channel “{arg[:40]}” is: pick it from Slack's # suggestions "
                "(so it becomes a link), or run the command in that channel."
            )
    return channel


def hours(value: str) -> float:
    match = _HOURS.match(value)
    if not match:
        raise Problem(f"The runway must look like 12, 12h or 2d, not “{value[:40]}”.")
    amount, unit = float(match.group(1)), (match.group(2) or "h").lower()
    count = amount * {"h": 1.0, "d": 24.0, "m": 1 / 60}[unit[:1]]
    if count > 24 * 365:
        raise Problem("The runway threshold can be a year at most.")
    return count


def usd(value: str) -> float:
    try:
        amount = float(value.lstrip("$").replace(",", ""))
    except ValueError:
        problem = f"Credits must be US dollars (e.g. 5 or 12.50), not “{value[:40]}”."
        raise Problem(problem) from None
    if not 0 <= amount <= 1_000_000:
        raise Problem("Credits must be between 0 (off) and 1,000,000 dollars.")
    return amount


def _settings(verb: OpKind, rest: list[str], filters: dict[str, str]) -> Operation:
    """``watch settings runway 12h credits 5`` (pairs of a setting and its value)."""
    if len(rest) % 2:
        raise Problem(f"Usage: /deploy watch {SETTINGS_SHAPE}", topic="watch")
    for name, value in zip(rest[::2], rest[1::2], strict=True):
        match name.lower():
            case "runway":
                filters["runway"] = f"{hours(value):g}"
            case "credits":
                filters["credits"] = f"{usd(value):g}"
            case _:
                raise Problem(
                    f"Unknown setting “{name[:40]}”. Usage: /deploy watch {SETTINGS_SHAPE}",
                    topic="watch",
                )
    return Operation(args=args_for(verb, topic="settings", filters=filters))


def p_watch(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    args = list(args)
    filters: dict[str, str] = {}
    channel = channel_arg(args)
    if channel:
        filters["channel"] = channel
    if verb is OpKind.WATCHING:
        too_many(verb, args, 0, "[#channel]")
        return Operation(args=args_for(verb, filters=filters))
    if verb is OpKind.WATCH and args and args[0].lower() == "settings":
        return _settings(verb, args[1:], filters)
    if not args and provider is not None:
        return Operation(args=args_for(verb, filters=filters), provider=provider)
    needs(verb, args, 1, WATCH_SHAPE)
    too_many(verb, args, 1, WATCH_SHAPE)
    what = args[0]
    if what.lower() == "all":
        return Operation(args=args_for(verb, topic="all", filters=filters))
    if is_provider(what):
        return Operation(args=args_for(verb, filters=filters), provider=provider_of(what))
    return Operation(
        args=args_for(verb, filters=filters), provider=provider, target=values.target(what)
    )
