"""Parsers of stop timers (``stop <deployment> --after 4h|--at 19:00``, ``timers``,
``timers cancel <id>``) and of the daily digest (``digest daily 09:00 [#channel]``, ``digest
off``)."""

from __future__ import annotations

import re
from datetime import datetime

from bot.core.arguments import args_for
from bot.core.operations import Operation, OpKind
from bot.core.parsing import values
from bot.core.parsing.problem import Problem, needs, too_many
from bot.core.parsing.watch import channel_arg
from bot.providers.models import ProviderName

TIMERS_SHAPE = "[cancel <timer id>]"
DIGEST_SHAPE = "daily <HH:MM> [#channel] | off"
#: A stop timer is at most this far away (a week).
MAX_AFTER = 7 * 86400
#: ... and at least this far (the warning is 15 minutes before).
MIN_AFTER = 60
_CLOCK = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")
_TIMER_ID = re.compile(r"^[a-z0-9]{4,16}$")


def clock_time(value: str, what: str) -> str:
    """``19:00``, ``7:30``, ``19h30`` → ``HH:MM`` (24-hour)."""
    match = _CLOCK.match(value.strip().lower())
    if not match:
        raise Problem(f"{what} must be a time of day like 19:00 (24-hour), not “{value[:40]}”.")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _flag(args: list[str], name: str) -> str | None:
    """Take ``--name value`` / ``--name=value`` out of ``args``."""
    for i, arg in enumerate(args):
        if arg == f"--{name}":
            if i + 1 >= len(args):
                raise Problem(f"`--{name}` needs a value.", topic="stop")
            value = args[i + 1]
            del args[i : i + 2]
            return value
        if arg.startswith(f"--{name}="):
            del args[i]
            return arg.split("=", 1)[1]
    return None


def p_stop(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    """``stop <deployment>`` now, or a stop timer with ``--after`` / ``--at``."""
    args = list(args)
    after = _flag(args, "after")
    at = _flag(args, "at")
    needs(verb, args, 1, "<deployment>")
    too_many(verb, args, 1, "<deployment>")
    target = values.target(args[0])
    if after is None and at is None:
        return Operation(args=args_for(verb), provider=provider, target=target)
    if after is not None and at is not None:
        raise Problem("Give either `--after 4h` or `--at 19:00`, not both.", topic="stop")
    if after is not None:
        seconds = values.duration_seconds(after, "`--after`")
        if not MIN_AFTER <= seconds <= MAX_AFTER:
            raise Problem("`--after` must be between 1 minute and 7 days.", topic="stop")
        timer = args_for(OpKind.TIMERS, sub="set", after_seconds=seconds)
    else:
        timer = args_for(OpKind.TIMERS, sub="set", at=clock_time(at or "", "`--at`"))
    return Operation(args=timer, provider=provider, target=target)


def p_timers(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    if not args or args[0].lower() == "list":
        too_many(verb, args, 1 if args else 0, TIMERS_SHAPE)
        return Operation(args=args_for(OpKind.TIMERS, sub="list"), provider=provider)
    if args[0].lower() != "cancel":
        raise Problem(f"Usage: /deploy timers {TIMERS_SHAPE}", topic="timers")
    needs(verb, args, 2, TIMERS_SHAPE)
    too_many(verb, args, 2, TIMERS_SHAPE)
    timer_id = args[1].lower()
    if not _TIMER_ID.match(timer_id):
        raise Problem(
            f"“{args[1][:40]}” isn't a timer id: `/deploy timers` lists them.", topic="timers"
        )
    return Operation(args=args_for(OpKind.TIMERS, sub="cancel", timer_id=timer_id))


def p_digest(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    args = list(args)
    if not args:
        return Operation(args=args_for(OpKind.DIGEST, sub="show"))
    sub = args.pop(0).lower()
    if sub == "off":
        too_many(verb, args, 0, DIGEST_SHAPE)
        return Operation(args=args_for(OpKind.DIGEST, sub="off"))
    if sub != "daily":
        raise Problem(f"Usage: /deploy digest {DIGEST_SHAPE}", topic="digest")
    channel = channel_arg(args)
    needs(verb, args, 1, DIGEST_SHAPE)
    too_many(verb, args, 1, DIGEST_SHAPE)
    at = clock_time(args[0], "The digest time")
    return Operation(args=args_for(OpKind.DIGEST, sub="daily", at=at, channel=channel))
