"""Hands-free Akash bids (pure): the rule the create form sets, and which bid it picks.

The rule: once the first ``after`` seconds of bidding have passed, accept the cheapest open
bid at or under the max price from an audited provider — optionally only from the listed
providers (address, name or host) and with at least a minimum 7-day uptime. The spend was
decided by the policy when the create was submitted, so no second approval is asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.core import fmt
from bot.core.create.values import text

#: The form's fields for it (Akash only).
FIELDS = ("auto_accept", "auto_after", "auto_providers", "auto_min_uptime")
DEFAULT_AFTER = 60
MAX_AFTER = 3600
MAX_LISTED = 20


@dataclass(frozen=True)
class Rule:
    after: int
    max_price: Decimal
    providers: tuple[str, ...] = ()
    #: A fraction (0.95 for 95 %), or None for any.
    min_uptime: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "after": self.after,
            "max_price": str(self.max_price),
            "providers": list(self.providers),
            "min_uptime": self.min_uptime,
        }

    @classmethod
    def from_json(cls, data: object) -> Rule | None:
        if not isinstance(data, Mapping):
            return None
        try:
            return cls(
                after=int(data.get("after") or 0),
                max_price=Decimal(str(data.get("max_price"))),
                providers=tuple(str(p) for p in data.get("providers") or ()),
                min_uptime=(
                    float(data["min_uptime"]) if data.get("min_uptime") is not None else None
                ),
            )
        except (InvalidOperation, TypeError, ValueError):
            return None

    def describe(self) -> str:
        parts = [
            f"the cheapest bid at or under {fmt.per_hour(self.max_price)} from an audited "
            f"provider, once {self.after} s of bidding have passed"
        ]
        if self.providers:
            parts.append("only from " + ", ".join(self.providers))
        if self.min_uptime is not None:
            parts.append(f"uptime at least {self.min_uptime * 100:g}% (7d)")
        return "; ".join(parts)


def read_rule(form: Mapping[str, str], max_price: Decimal, errors: dict[str, str]) -> Rule | None:
    """The rule from the form (None when "Accept automatically" is off); problems go in
    ``errors`` under the field's name."""
    if text(form, "auto_accept").lower() not in ("yes", "true", "on"):
        return None
    after = DEFAULT_AFTER
    raw_after = text(form, "auto_after")
    if raw_after:
        if not raw_after.isdigit() or not 0 <= int(raw_after) <= MAX_AFTER:
            errors["auto_after"] = f"seconds of bidding first, 0 to {MAX_AFTER}"
        else:
            after = int(raw_after)
    listed = tuple(
        p.strip() for p in text(form, "auto_providers").replace("\n", ",").split(",") if p.strip()
    )
    if len(listed) > MAX_LISTED:
        errors["auto_providers"] = f"at most {MAX_LISTED} providers"
    min_uptime: float | None = None
    raw_uptime = text(form, "auto_min_uptime").rstrip("%").strip()
    if raw_uptime:
        try:
            value = float(raw_uptime)
        except ValueError:
            value = -1.0
        if not 0 <= value <= 100:
            errors["auto_min_uptime"] = "a percentage from 0 to 100 (e.g. 95)"
        else:
            min_uptime = value / 100
    return Rule(after, max_price, listed[:MAX_LISTED], min_uptime)


@dataclass(frozen=True)
class Passed:
    """A bid the rule did not pick, and why."""

    bid: Mapping[str, Any]
    why: str


@dataclass(frozen=True)
class Choice:
    chosen: Mapping[str, Any] | None
    passed: tuple[Passed, ...]


def _price(bid: Mapping[str, Any]) -> Decimal | None:
    try:
        return Decimal(str(bid.get("price_per_hour_usd")))
    except InvalidOperation:
        return None


def _listed(rule: Rule, address: str, info: Mapping[str, Any]) -> bool:
    names = {address.lower(), str(info.get("name") or "").lower()}
    host = str(info.get("host_uri") or "").lower()
    return any(p.lower() in names or (host and p.lower() in host) for p in rule.providers)


def _why_not(
    rule: Rule, bid: Mapping[str, Any], info: Mapping[str, Any], price: Decimal | None
) -> str | None:
    """Why ``bid`` is not eligible (None: it is)."""
    if price is None:
        return "no price"
    if price > rule.max_price:
        return "over the max price"
    if info.get("is_audited") is not True:
        return "provider not audited"
    address = str(bid.get("provider_address") or "")
    if rule.providers and not _listed(rule, address, info):
        return "not on the list"
    uptime = info.get("uptime_7d")
    if rule.min_uptime is not None and not (
        isinstance(uptime, int | float) and uptime >= rule.min_uptime
    ):
        return "uptime too low"
    return None


def choose(
    rule: Rule,
    bids: Sequence[Mapping[str, Any]],
    providers: Mapping[str, Mapping[str, Any]],
) -> Choice:
    """The cheapest eligible open bid (ties: the better uptime, then the address), and every
    other open bid with why it lost."""
    eligible: list[tuple[Decimal, float, str, Mapping[str, Any]]] = []
    passed: list[Passed] = []
    for bid in bids:
        if bid.get("state") != "open":
            continue
        address = str(bid.get("provider_address") or "")
        info = providers.get(address) or {}
        price = _price(bid)
        why = _why_not(rule, bid, info, price)
        if why is not None or price is None:
            passed.append(Passed(bid, why or "no price"))
            continue
        uptime = info.get("uptime_7d")
        eligible.append((price, -float(uptime or 0), address, bid))
    eligible.sort(key=lambda e: (e[0], e[1], e[2]))
    if not eligible:
        return Choice(None, tuple(passed))
    cheaper = tuple(Passed(e[3], "more expensive") for e in eligible[1:])
    return Choice(eligible[0][3], cheaper + tuple(passed))
