"""Budgets (pure): caps per period, spend integrated from the recorded burn, the check that
refuses a spend over a cap (with the numbers), and the alert levels a period's spend reached.

A **scope** is one provider of a workspace, or the whole workspace (provider ``""``). Its burn
is what everything running costs per hour now (the watcher's recorded states); its spend in a
period is the integral of the recorded burn since the period began (UTC day, UTC month).
A spend is refused when it would push a scope's burn over its hourly cap, or a period's
*projected* spend — spent so far plus the burn after the change for the rest of the period —
over its daily or monthly cap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from bot.core import fmt
from bot.core.preflight_money import usd
from bot.core.render import PROVIDER_LABEL

#: Alert levels, in percent of a cap.
LEVELS = (80, 100)
_HOUR = Decimal(3600)


class Period(StrEnum):
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"

    @property
    def suffix(self) -> str:
        return {"hour": "/h", "day": "/day", "month": "/month"}[self.value]


@dataclass(frozen=True, slots=True)
class Caps:
    """One scope's caps in US dollars (None: no cap for that period)."""

    per_hour: Decimal | None = None
    per_day: Decimal | None = None
    per_month: Decimal | None = None

    def get(self, period: Period) -> Decimal | None:
        return {Period.HOUR: self.per_hour, Period.DAY: self.per_day, Period.MONTH: self.per_month}[
            period
        ]

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.per_hour, self.per_day, self.per_month))


@dataclass(frozen=True, slots=True)
class Sample:
    """From ``at`` (epoch seconds) on, the scope burned ``per_hour`` dollars an hour."""

    at: float
    per_hour: Decimal


# -- periods --------------------------------------------------------------------------------------


def period_start(period: Period, now: datetime) -> datetime:
    now = now.astimezone(UTC)
    if period is Period.MONTH:
        return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if period is Period.DAY:
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    return now.replace(minute=0, second=0, microsecond=0)


def period_end(period: Period, now: datetime) -> datetime:
    start = period_start(period, now)
    if period is Period.MONTH:
        return (start + timedelta(days=32)).replace(day=1)
    return start + (timedelta(days=1) if period is Period.DAY else timedelta(hours=1))


def hours_left(period: Period, now: datetime) -> Decimal:
    seconds = (period_end(period, now) - now.astimezone(UTC)).total_seconds()
    return Decimal(str(max(0.0, seconds))) / _HOUR


def period_key(period: Period, now: datetime) -> str:
    """The alert de-duplication key of the period ``now`` falls in. An hourly cap's alerts
    are kept per day: a burn that stays near its cap is said once a day, not every hour."""
    now = now.astimezone(UTC)
    if period is Period.MONTH:
        return f"month:{now:%Y-%m}"
    return f"day:{now:%Y-%m-%d}"


# -- spend ----------------------------------------------------------------------------------------


def integrate(samples: Sequence[Sample], start: float, end: float) -> Decimal:
    """Dollars spent between ``start`` and ``end`` (epoch seconds) at the recorded burn: each
    sample holds until the next one; the last holds until ``end``; before the first, nothing
    is known (nothing counted). The reference for ``BudgetStore.spend``, which sums the same
    steps in the database."""
    total = Decimal(0)
    ordered = sorted(samples, key=lambda s: s.at)
    for i, sample in enumerate(ordered):
        until = ordered[i + 1].at if i + 1 < len(ordered) else end
        lo, hi = max(sample.at, start), min(until, end)
        if hi > lo and sample.per_hour > 0:
            total += sample.per_hour * Decimal(str(hi - lo)) / _HOUR
    return total


@dataclass(frozen=True, slots=True)
class Scope:
    """One scope's budget now: its caps, burn and spend so far."""

    provider: str
    caps: Caps
    burn: Decimal
    today: Decimal
    month: Decimal
    #: Running deployments whose cost the provider does not report (the burn is a floor).
    unknown: int = 0

    @property
    def label(self) -> str:
        return PROVIDER_LABEL.get(self.provider, self.provider) if self.provider else "Workspace"

    def spent(self, period: Period) -> Decimal:
        return self.month if period is Period.MONTH else self.today

    def value(self, period: Period) -> Decimal:
        """What a cap of ``period`` is compared with now: the burn, or the spend so far."""
        return self.burn if period is Period.HOUR else self.spent(period)


@dataclass(frozen=True, slots=True)
class BudgetFacts:
    """What preflight knows about the budget of one operation's provider: that provider's
    scope and the workspace's (either may have no caps)."""

    now: datetime
    scopes: tuple[Scope, ...] = ()


# -- the check ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Spend:
    """What an operation adds: dollars per hour from now on, and a lump sum now (a deposit).
    An operation that spends but adds neither (a timeout increase) is still refused while its
    scope is already over a cap."""

    per_hour: Decimal = Decimal(0)
    lump: Decimal = Decimal(0)


def _whose(scope: Scope) -> str:
    return "the workspace's total" if not scope.provider else f"the {scope.label}"


def _over_hour(scope: Scope, cap: Decimal, spend: Spend) -> str | None:
    burn_after = scope.burn + spend.per_hour
    if burn_after <= cap:
        return None
    if spend.per_hour <= 0:
        return (
            f"{_whose(scope)} burn is already {usd(scope.burn, '/h')}, over its "
            f"{usd(cap, '/h')} cap"
        )
    return (
        f"it would raise {_whose(scope)} burn to {usd(burn_after, '/h')} (now "
        f"{usd(scope.burn, '/h')}, +{usd(spend.per_hour, '/h')}), over its "
        f"{usd(cap, '/h')} cap"
    )


def over_cap(scope: Scope, period: Period, spend: Spend, now: datetime) -> str | None:
    """Why ``spend`` would push ``scope`` over its ``period`` cap, or why the scope is over it
    already (None: it stays within)."""
    cap = scope.caps.get(period)
    if cap is None:
        return None
    if period is Period.HOUR:
        return _over_hour(scope, cap, spend)
    burn_after = scope.burn + spend.per_hour
    spent, left = scope.spent(period), hours_left(period, now)
    when = "today" if period is Period.DAY else "this month"
    if spend.per_hour <= 0 and spend.lump > 0 and spent + spend.lump > cap:
        # A deposit funds the burn: it is compared with what is spent, not added to the burn.
        return (
            f"it would bring {_whose(scope)} spend {when} to {usd(spent + spend.lump)} "
            f"({usd(spent)} spent so far + {usd(spend.lump)} now), over its "
            f"{usd(cap, period.suffix)} cap"
        )
    lump = spend.lump if spend.per_hour > 0 else Decimal(0)
    projected = spent + lump + burn_after * left
    if projected <= cap:
        return None
    lump_text = f" + {usd(lump)} now" if lump else ""
    verb, to = ("it would bring", "to") if spend.per_hour > 0 else ("it keeps", "at")
    return (
        f"{verb} {_whose(scope)} projected spend {when} {to} {usd(projected)} "
        f"({usd(spent)} spent so far{lump_text} + {usd(burn_after, '/h')} for the "
        f"{fmt.hours(left)} left), over its {usd(cap, period.suffix)} cap"
    )


def check(facts: BudgetFacts | None, spend: Spend, what: str) -> str | None:
    """Why ``what`` (something that spends) is over budget (None: within every cap)."""
    if facts is None:
        return None
    problems = [
        problem
        for scope in facts.scopes
        for period in Period
        if (problem := over_cap(scope, period, spend, facts.now)) is not None
    ]
    if not problems:
        return None
    return f"Over budget: {what}: " + "; and ".join(problems) + "."


OVERRIDE_HINT = "An admin can still run it with `--over-budget`; it then needs approval."


# -- alerts ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reached:
    """A scope's spend (or burn) reached ``level`` percent of its ``period`` cap."""

    provider: str
    period: Period
    key: str
    level: int
    value: Decimal
    cap: Decimal


def reached(scope: Scope, now: datetime) -> list[Reached]:
    """Every (cap, level) the scope has reached now, lowest level first."""
    found: list[Reached] = []
    for period in Period:
        cap = scope.caps.get(period)
        if cap is None or cap <= 0:
            continue
        value = scope.value(period)
        for level in LEVELS:
            if value * 100 >= cap * level:
                found.append(
                    Reached(scope.provider, period, period_key(period, now), level, value, cap)
                )
    return found


def alert_text(scope: Scope, top: Reached) -> str:
    """The message of the highest level a cap newly reached."""
    whose = "Workspace total" if not scope.provider else scope.label
    share = "reached its" if top.level >= 100 else f"reached {top.level}% of its"
    cap = usd(top.cap, top.period.suffix)
    if top.period is Period.HOUR:
        body = f"{whose} burn {share} {cap} cap: {usd(top.value, '/h')} now."
    else:
        when = "today (UTC)" if top.period is Period.DAY else "this month (UTC)"
        body = (
            f"{whose} spend {when} {share} {cap} cap: {usd(top.value)} so far, burning "
            f"{usd(scope.burn, '/h')}."
        )
    icon = ":rotating_light:" if top.level >= 100 else ":warning:"
    tail = (
        " New spending is refused until the period ends (admins: `--over-budget`)."
        if top.level >= 100
        else ""
    )
    return f"{icon} *Budget*: {body}{tail} `/deploy budget` shows where it stands."


@dataclass(frozen=True, slots=True)
class BudgetView:
    """``/deploy budget``: each scope, and the alerts of the current periods."""

    scopes: tuple[Scope, ...]
    now: datetime
    #: Providers whose burn nobody records yet (not polled: no watch and no cap).
    untracked: tuple[str, ...] = ()
    alerts: tuple[str, ...] = field(default=())
