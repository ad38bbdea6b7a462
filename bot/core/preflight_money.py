"""Preflight's money rules (pure): what an account can pay, runways, and when money runs out.

Refuse what cannot succeed (no credits left, a deposit larger than the balance); warn when the
money would run out within a day, and say when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from bot.core import fmt
from bot.providers.models import Deployment

#: Warn when the money runs out sooner than this.
WARN_WITHIN = timedelta(days=1)
_DAY_HOURS = Decimal(24)


@dataclass(frozen=True, slots=True)
class Account:
    """What the account can pay, as the provider's ``balance()`` reported it."""

    balance_usd: Decimal | None
    #: What the account spends per hour now, all deployments together (None: unknown, in
    #: which case the deployment at hand is taken as the only spender).
    burn_per_hour_usd: Decimal | None = None
    #: How people call this money ("Nosana credits", "Akash balance").
    label: str = "balance"


@dataclass(frozen=True, slots=True)
class CostChange:
    """What the deployment costs per hour before → after the operation (None: unknown)."""

    before_per_hour: Decimal | None
    after_per_hour: Decimal | None

    @property
    def delta(self) -> Decimal | None:
        if self.before_per_hour is None or self.after_per_hour is None:
            return None
        return self.after_per_hour - self.before_per_hour

    def __str__(self) -> str:
        return f"cost {usd(self.before_per_hour, '/h')} → {usd(self.after_per_hour, '/h')}"


def usd(value: Decimal | None, suffix: str = "") -> str:
    """``$1.23``, ``$0.0042`` (:mod:`bot.core.fmt`'s rules; ``?`` when unknown)."""
    if value is None:
        return "?"
    return fmt.usd(value) + suffix


def duration(hours: Decimal) -> str:
    """``3 h``, ``45 min``, ``2 d 12 h``."""
    return fmt.hours(hours)


def moment(at: datetime) -> str:
    return fmt.utc(at)


def runs_out(
    money: Decimal, per_hour: Decimal, now: datetime, *, within: Decimal = _DAY_HOURS
) -> tuple[Decimal, datetime] | None:
    """How many hours ``money`` lasts at ``per_hour`` and when it is gone (None: it lasts
    ``within`` hours, a day by default, or nothing is spent)."""
    if per_hour <= 0:
        return None
    hours = max(Decimal(0), money) / per_hour
    if hours >= within:
        return None
    return hours, now + timedelta(seconds=float(hours * 3600))


def burn_after(cost: CostChange | None, account: Account) -> Decimal | None:
    """The account's spend per hour after the change."""
    if cost is None or cost.after_per_hour is None:
        return account.burn_per_hour_usd
    if account.burn_per_hour_usd is None:
        return cost.after_per_hour
    return account.burn_per_hour_usd + (cost.delta or Decimal(0))


def spend_check(
    what: str,
    cost: CostChange | None,
    account: Account | None,
    now: datetime,
    display: str,
    *,
    run_hours: Decimal | None = None,
) -> str | list[str]:
    """A refusal (str) when the account cannot pay at all, else warnings (maybe none).

    ``run_hours``: the spend ends by itself after this long (a Nosana SIMPLE job's timeout),
    so money that lasts that long is enough.
    """
    if account is None or account.balance_usd is None:
        return []
    balance = account.balance_usd
    if balance <= 0:
        return (
            f"No {account.label} left ({usd(balance)}): {what} would not run on {display}. "
            "Add funds first."
        )
    burn = burn_after(cost, account)
    if burn is None:
        return []
    within = _DAY_HOURS if run_hours is None else min(_DAY_HOURS, run_hours)
    out = runs_out(balance, burn, now, within=within)
    if out is None:
        return []
    hours, at = out
    return [
        f"The {account.label} ({usd(balance)}) will last about {duration(hours)} at "
        f"{usd(burn, '/h')}: they run out around {moment(at)}."
    ]


def _escrow(deployment: Deployment | None) -> Decimal | None:
    if deployment is None:
        return None
    value = deployment.extras.get("escrow_funds_usd")
    try:
        return None if value is None else Decimal(str(value))
    except ArithmeticError:
        return None


def akash_deposit(
    amount: Decimal,
    before: Deployment,
    after: Deployment | None,
    account: Account | None,
    now: datetime,
) -> str | list[str]:
    """A deposit into an Akash escrow: refused above the balance; warned when even with it the
    escrow lasts less than a day at the current lease price."""
    if account is not None and account.balance_usd is not None and amount > account.balance_usd:
        return (
            f"The deposit ({usd(amount)}) is more than the {account.label} "
            f"({usd(account.balance_usd)}): add funds to the account or deposit less."
        )
    funds = _escrow(after) if after is not None else None
    price = before.cost_per_hour_usd
    if funds is None or price is None:
        return []
    out = runs_out(funds, price, now)
    if out is None:
        return []
    hours, at = out
    return [
        f"Even with this deposit the escrow ({usd(funds)}) lasts about {duration(hours)} at "
        f"{usd(price, '/h')}: the lease closes around {moment(at)} unless topped up."
    ]
