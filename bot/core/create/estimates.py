"""What a create will cost: per hour, per period, and whether the balance runs out first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bot.core import fmt
from bot.core.create.values import usd
from bot.providers import akash_sdl
from bot.providers.models import Market


@dataclass
class Estimate:
    """What the review shows: cost per hour and per period, and the balance pre-flight."""

    per_hour: Decimal | None = None
    period_label: str = ""
    per_period: Decimal | None = None
    balance: Decimal | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "per_hour": None if self.per_hour is None else str(self.per_hour),
            "period_label": self.period_label,
            "per_period": None if self.per_period is None else str(self.per_period),
            "balance": None if self.balance is None else str(self.balance),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Estimate:
        def dec(key: str) -> Decimal | None:
            value = data.get(key)
            return None if value in (None, "") else Decimal(str(value))

        return cls(
            per_hour=dec("per_hour"),
            period_label=str(data.get("period_label") or ""),
            per_period=dec("per_period"),
            balance=dec("balance"),
            warnings=[str(w) for w in data.get("warnings") or []],
            notes=[str(n) for n in data.get("notes") or []],
        )


def _hours(hours: Decimal) -> str:
    return fmt.hours(hours)


def estimate(
    provider: str,
    spec: Mapping[str, Any],
    place: Market | None,
    balance: Decimal | None,
    *,
    balance_problem: str | None = None,
) -> Estimate:
    """Cost per hour and per period, and whether the money runs out first (pure)."""
    est = Estimate(balance=balance)
    if balance_problem:
        est.notes.append(f"Balance not checked: {balance_problem}")
    match provider:
        case "nosana":
            _nosana(est, spec, place)
        case "neuranet":
            _neuranet(est, place)
        case "akash":
            _akash(est, spec)
    return est


def _nosana(est: Estimate, spec: Mapping[str, Any], place: Market | None) -> None:
    price = place.price_per_hour_usd if place else None
    replicas = int(spec.get("replicas") or 1)
    timeout = int(spec.get("timeout") or 60)
    strategy = str(spec.get("strategy") or "SIMPLE")
    if price is None:
        est.notes.append("The market's price is unknown: no estimate.")
        return
    per_hour = est.per_hour = price * replicas
    per_period = est.per_period = (per_hour * timeout / 60).quantize(Decimal("0.0001"))
    est.period_label = f"per timeout ({fmt.minutes(int(timeout))})"
    if strategy in ("SIMPLE-EXTEND", "INFINITE"):
        est.notes.append(f"{strategy} keeps running past the timeout while credits last.")
    if strategy == "SCHEDULED":
        est.notes.append("SCHEDULED pays this at every cron firing.")
    balance = est.balance
    if balance is None:
        return
    if balance <= 0:
        est.warnings.append(f"No Nosana credits left ({usd(balance)}): jobs won't start.")
    elif balance < per_period:
        est.warnings.append(
            f"Credits ({usd(balance)}) last about {_hours(balance / per_hour)}: "
            f"less than the timeout; jobs stop when they run out."
        )


def _neuranet(est: Estimate, place: Market | None) -> None:
    price = place.price_per_hour_usd if place else None
    if price is None:
        est.notes.append("The node's rate is unknown: no estimate.")
        return
    est.per_hour = price
    est.period_label = "per day (runs until stopped)"
    est.per_period = price * 24


def _akash(est: Estimate, spec: Mapping[str, Any]) -> None:
    try:
        doc = akash_sdl.load_sdl(str(spec.get("sdl") or ""))
        max_hour = akash_sdl.max_price_per_hour_usd(doc)
    except (akash_sdl.SdlError, ValueError):
        return
    deposit = Decimal(str(spec.get("deposit_usd") or "0"))
    est.per_hour = max_hour
    est.notes.append("At most this per hour (the SDL's max price); bids usually come lower.")
    if max_hour > 0:
        est.period_label = f"deposit runway ({_hours(deposit / max_hour)} at the max price)"
    est.per_period = deposit
    balance = est.balance
    if balance is not None and balance < deposit:
        est.warnings.append(
            f"The deposit ({usd(deposit)}) is more than the Akash balance "
            f"({usd(balance)}): the create will be refused."
        )
    elif balance is not None and max_hour > 0 and balance - deposit < max_hour * 24:
        est.warnings.append(
            f"After the deposit, {usd(balance - deposit)} is left: less than a day at "
            "the max price for top-ups."
        )
