"""The per-verb argument parsers of the plain verbs (one deployment, a number, a provider …).

Every parser has the same shape (:data:`Parser`): the verb, its words, the ``--provider`` given
(if any) and the time; it returns an :class:`Operation` or raises :class:`Problem`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation

from bot.core.arguments import args_for
from bot.core.operations import Operation, OpKind
from bot.core.parsing import values
from bot.core.parsing.problem import Problem, needs, too_many
from bot.core.parsing.words import is_provider, verb_of
from bot.core.parsing.words import provider as provider_of
from bot.providers.models import ProviderName

Parser = Callable[[OpKind, list[str], ProviderName | None, datetime], Operation]

MARKET_FILTERS: dict[str, type] = {"type": str, "gpu": str}
NODE_FILTERS: dict[str, type] = {
    "gpu": str,
    "region": str,
    "status": str,
    "min-vram": int,
    "min-cpu": int,
    "min-ram": int,
    "max-price": float,
}
LOGS_SHAPE = "<deployment> [--tail N] [--since 10m|ISO time] [--file | --follow [10m]]"
#: ``--follow`` without a duration; and the longest a follow may run.
FOLLOW_DEFAULT, FOLLOW_MAX = 600, 3600


def p_help(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    topic = args[0].lower() if args else None
    if topic in ("chain", "chains"):
        return Operation(args=args_for(OpKind.HELP, topic="chain"))
    known = verb_of(topic) if topic else None
    return Operation(args=args_for(OpKind.HELP, topic=known.value if known else None))


def p_plain(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    too_many(verb, args, 0, "")
    return Operation(args=args_for(verb), provider=provider)


def p_provider_required(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    if provider is None:
        needs(verb, args, 1, "<nosana|akash|neuranet>")
        provider = provider_of(args[0])
        args = args[1:]
    too_many(verb, args, 0, "<nosana|akash|neuranet>")
    return Operation(args=args_for(verb), provider=provider)


def p_list(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    status: str | None = None
    for arg in args:
        if is_provider(arg) and provider is None:
            provider = provider_of(arg)
        elif status is None:
            status = values.status(arg)
        else:
            too_many(verb, args, len(args) - 1, "[provider] [status]")
    return Operation(args=args_for(verb, status=status), provider=provider)


def p_balance(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    if args and provider is None:
        provider = provider_of(args[0])
        args = args[1:]
    too_many(verb, args, 0, "[provider]")
    return Operation(args=args_for(verb), provider=provider)


def p_target(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    needs(verb, args, 1, "<deployment>")
    too_many(verb, args, 1, "<deployment>")
    return Operation(args=args_for(verb), provider=provider, target=values.target(args[0]))


def p_scale(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    needs(verb, args, 2, "<deployment> <replicas>")
    too_many(verb, args, 2, "<deployment> <replicas>")
    replicas = values.whole(args[1], "The number of replicas", 0, values.MAX_REPLICAS)
    return Operation(
        args=args_for(verb, replicas=replicas), provider=provider, target=values.target(args[0])
    )


def p_timeout(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    needs(verb, args, 2, "<deployment> <minutes>")
    too_many(verb, args, 2, "<deployment> <minutes>")
    return Operation(
        args=args_for(verb, minutes=values.minutes(args[1])),
        provider=provider,
        target=values.target(args[0]),
    )


def p_schedule(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    needs(verb, args, 2, '<deployment> "<cron>"')
    return Operation(
        args=args_for(verb, cron=values.cron(" ".join(args[1:]))),
        provider=provider,
        target=values.target(args[0]),
    )


def p_rollback(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    needs(verb, args, 2, "<deployment> <revision>")
    too_many(verb, args, 2, "<deployment> <revision>")
    revision = values.whole(args[1].lstrip("rv#"), "The revision", 1, 1_000_000)
    return Operation(
        args=args_for(verb, revision=revision), provider=provider, target=values.target(args[0])
    )


def p_rename(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    needs(verb, args, 2, "<deployment> <new name>")
    name = " ".join(args[1:]).strip()
    if not 1 <= len(name) <= values.MAX_NAME:
        raise Problem(f"The new name must be 1 to {values.MAX_NAME} characters.", topic="rename")
    return Operation(
        args=args_for(verb, name=name), provider=provider, target=values.target(args[0])
    )


def _option_value(args: list[str], i: int, key: str, sep: str, inline: str) -> tuple[str, int]:
    """The value of the option at ``args[i]`` (``--key=value`` or ``--key value``) and the index
    after it."""
    if sep:
        return inline, i + 1
    if i + 1 < len(args):
        return args[i + 1], i + 2
    raise Problem(f"{key} needs a value. Usage: /deploy logs {LOGS_SHAPE}", topic="logs")


def _follow(args: list[str], i: int, inline: str | None) -> tuple[int, int]:
    """``--follow``, ``--follow 30m`` or ``--follow=30m``: seconds, and the next index."""
    value, nxt = inline, i + 1
    if value is None and nxt < len(args) and values.is_duration(args[nxt]):
        value, nxt = args[nxt], nxt + 1
    if value is None:
        return FOLLOW_DEFAULT, nxt
    seconds = values.duration_seconds(value, "--follow")
    if not 60 <= seconds <= FOLLOW_MAX:
        raise Problem("--follow runs from 1 minute to 1 hour (e.g. --follow 10m).")
    return seconds, nxt


def p_logs(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    needs(verb, args, 1, LOGS_SHAPE)
    target: str | None = None
    tail: int | None = None
    since: datetime | None = None
    since_seconds: int | None = None
    file = False
    follow: int | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        key, sep, inline = arg.partition("=")
        if key == "--follow":
            follow, i = _follow(args, i, inline if sep else None)
            continue
        if key in ("--tail", "-n", "--since"):
            value, i = _option_value(args, i, key, sep, inline)
            if key == "--since":
                since, since_seconds = values.since_window(value, now)
            else:
                tail = values.whole(value, "--tail", 1, values.MAX_TAIL)
            continue
        if arg == "--file":
            file = True
            i += 1
            continue
        if arg.startswith("--"):
            raise Problem(
                f"Unknown option {arg[:30]}. Usage: /deploy logs {LOGS_SHAPE}", topic="logs"
            )
        if target is not None:
            too_many(verb, args, i, LOGS_SHAPE)
        target = values.target(arg)
        i += 1
    if target is None:
        raise Problem(f"Usage: /deploy logs {LOGS_SHAPE}", topic="logs")
    if follow is not None and file:
        raise Problem("Pick one: --file uploads the log so far, --follow keeps adding to it.")
    return Operation(
        args=args_for(
            verb,
            tail=tail,
            since=since,
            since_seconds=since_seconds,
            file=file,
            follow_seconds=follow,
        ),
        provider=provider,
        target=target,
    )


def p_deposit(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    needs(verb, args, 2, "<deployment> <usd>")
    too_many(verb, args, 2, "<deployment> <usd>")
    raw = args[1].lstrip("$").replace(",", "")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise Problem(
            f"The amount must be US dollars like 5 or 12.50, not “{args[1][:20]}”."
        ) from None
    if not amount.is_finite() or amount <= 0 or amount > 100_000:
        raise Problem("The amount must be more than $0 and at most $100,000.", topic="deposit")
    if amount.as_tuple().exponent < -6:  # type: ignore[operator]
        raise Problem("The amount can have at most 6 decimal places.", topic="deposit")
    return Operation(
        args=args_for(verb, amount_usd=amount), provider=provider, target=values.target(args[0])
    )


def p_markets(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    allowed = MARKET_FILTERS if verb is OpKind.MARKETS else NODE_FILTERS
    return Operation(
        args=args_for(verb, filters=values.filters(args, allowed, verb.value)),
        provider=provider or ("nosana" if verb is OpKind.MARKETS else "neuranet"),
    )
