"""Parser of ``budget``: show the budget, set a cap, clear the caps of a scope.

``/deploy budget``, ``/deploy budget set 10/day [provider]``, ``/deploy budget set $1.50/h``,
``/deploy budget clear [provider]`` (a provider word or ``--provider``; none: the workspace).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

from bot.core.arguments import args_for
from bot.core.operations import Operation, OpKind
from bot.core.parsing.problem import Problem, needs, too_many
from bot.core.parsing.words import is_provider
from bot.core.parsing.words import provider as provider_of
from bot.providers.models import ProviderName

SET_SHAPE = "set <amount>/h|/day|/month [provider]"
SHAPE = f"[{SET_SHAPE} | clear [provider]]"
#: The largest cap anyone can set (a typo guard, not a policy).
MAX_CAP = Decimal(10_000_000)
_AMOUNT = re.compile(
    r"^\$?(\d[\d,]*(?:\.\d+)?)\s*/\s*(h|hr|hour|hourly|d|day|daily|m|mo|month|monthly)$", re.I
)
_PERIODS = {"h": "hour", "d": "day", "m": "month"}


def amount(value: str) -> tuple[Decimal, str]:
    """``10/day`` → (10, "day"); ``$1.50/h`` → (1.50, "hour")."""
    match = _AMOUNT.match(value.strip())
    if not match:
        raise Problem(
            f"A cap looks like 10/day, $1.50/h or 500/month, not “{value[:40]}”.", topic="budget"
        )
    try:
        dollars = Decimal(match.group(1).replace(",", ""))
    except InvalidOperation:
        raise Problem(f"“{match.group(1)[:20]}” is not an amount.", topic="budget") from None
    if not 0 < dollars <= MAX_CAP:
        raise Problem("A cap is more than $0 and at most $10,000,000.", topic="budget")
    if dollars.as_tuple().exponent < -4:  # type: ignore[operator]
        raise Problem("A cap can have at most 4 decimal places.", topic="budget")
    return dollars, _PERIODS[match.group(2).lower()[0]]


def _scope(
    verb: OpKind, rest: list[str], provider: ProviderName | None, shape: str
) -> ProviderName | None:
    too_many(verb, rest, 1, shape)
    if rest:
        if not is_provider(rest[0]):
            provider_of(rest[0])  # raises: unknown provider, with a suggestion
        named = provider_of(rest[0])
        if provider is not None and provider != named:
            raise Problem("Name one provider.", topic="budget")
        return named
    return provider


def p_budget(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    words = list(args)
    action = words[0].lower() if words else "show"
    if action == "set":
        needs(verb, words, 2, SET_SHAPE)
        words = [words[0], *_joined(words[1:])]
        dollars, period = amount(words[1])
        scope = _scope(verb, words[2:], provider, SET_SHAPE)
        return Operation(
            args=args_for(verb, action="set", amount_usd=dollars, period=period), provider=scope
        )
    if action in ("clear", "unset", "remove"):
        scope = _scope(verb, words[1:], provider, "clear [provider]")
        return Operation(args=args_for(verb, action="clear"), provider=scope)
    if action == "show" or is_provider(action):
        rest = words[1:] if action == "show" else words
        scope = _scope(verb, rest, provider, SHAPE)
        return Operation(args=args_for(verb), provider=scope)
    raise Problem(f"Unexpected “{words[0][:40]}”. Usage: /deploy budget {SHAPE}", topic="budget")


def _joined(words: list[str]) -> list[str]:
    """``10 /day`` and ``10/ day`` are the same amount as ``10/day``."""
    if len(words) >= 2 and (words[1].startswith("/") or words[0].endswith("/")):
        return [words[0] + words[1], *words[2:]]
    return words
