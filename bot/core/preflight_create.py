"""Preflight for creating a deployment and for accepting Akash bids (pure, no I/O).

``preflight_create`` takes the spec ``bot.core.create.build_spec`` made (already checked field by
field) and the place it runs on; it refuses what the provider would refuse or what the account
cannot pay, and warns when the money runs out within a day. ``preflight_accept`` does the same
for leasing an Akash deployment from chosen bids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.core.preflight import Change, Cleared, Outcome, Refused
from bot.core.preflight_money import (
    Account,
    CostChange,
    duration,
    moment,
    runs_out,
    spend_check,
    usd,
)
from bot.providers import akash_sdl
from bot.providers.models import Bid, Capability, Deployment, Market, ProviderName

__all__ = ["AcceptFacts", "CreateFacts", "preflight_accept", "preflight_create"]


@dataclass(frozen=True, slots=True)
class CreateFacts:
    """A create spec (``build_spec(...).spec``) and what it will run on and pay with."""

    provider: ProviderName
    display_name: str
    spec: Mapping[str, Any]
    now: datetime
    #: The Nosana market or NeuraNET node the spec names (from the form's catalog).
    place: Market | None = None
    account: Account | None = None
    #: The templates the provider offers (None: it publishes no list, or it was not read).
    templates: frozenset[str] | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AcceptFacts:
    """Leasing ``deployment`` from ``bids`` (one per group), with what the account holds."""

    deployment: Deployment
    bids: tuple[Bid, ...]
    allowed: frozenset[Capability]
    now: datetime
    account: Account | None = None
    notes: tuple[str, ...] = ()


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value in (None, "") else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


# -- create -------------------------------------------------------------------------------------


def preflight_create(facts: CreateFacts) -> Outcome:
    """Can this create succeed, what does it cost per hour, and how long will the money last."""
    match facts.provider:
        case "nosana":
            return _nosana(facts)
        case "neuranet":
            return _neuranet(facts)
        case "akash":
            return _akash(facts)
    return Refused(f"Unknown provider {facts.provider!r}.")  # pragma: no cover


def _created(
    facts: CreateFacts, per_hour: Decimal | None, warnings: list[str], *extra: Change
) -> Cleared:
    name = str(facts.spec.get("name") or "a new deployment")
    changes = (Change("deployment", "none", f"{name} on {facts.display_name}"), *extra)
    cost = CostChange(Decimal(0), per_hour) if per_hour is not None else None
    return Cleared(
        changes=changes,
        cost=cost,
        warnings=tuple(dict.fromkeys([*facts.notes, *warnings])),
    )


def _nosana(facts: CreateFacts) -> Outcome:
    replicas = int(facts.spec.get("replicas") or 1)
    price = facts.place.price_per_hour_usd if facts.place else None
    per_hour = price * replicas if price is not None else None
    cost = CostChange(Decimal(0), per_hour) if per_hour is not None else None
    if facts.spec.get("autostart") is False:  # a draft: nothing is paid until it starts
        return _created(facts, per_hour, [], Change("replicas", "0", str(replicas)))
    what = f"creating {facts.spec.get('name') or 'the deployment'}"
    timeout = facts.spec.get("timeout")
    run_hours = (
        Decimal(timeout) / 60
        if facts.spec.get("strategy", "SIMPLE") == "SIMPLE" and isinstance(timeout, int)
        else None
    )
    outcome = spend_check(
        what, cost, facts.account, facts.now, facts.display_name, run_hours=run_hours
    )
    if isinstance(outcome, str):
        return Refused(outcome)
    if per_hour is None:
        outcome.append("The market's price is unknown: the cost was not checked.")
    return _created(facts, per_hour, outcome, Change("replicas", "0", str(replicas)))


def _neuranet(facts: CreateFacts) -> Outcome:
    template = facts.spec.get("template_id")
    if template and facts.templates is not None and template not in facts.templates:
        offered = ", ".join(sorted(facts.templates)) or "none"
        return Refused(
            f"NeuraNET has no template “{template}”: it offers {offered} (or give a custom image)."
        )
    node = facts.place
    if node is not None and node.extras.get("accepting") is False:
        load = f", {node.load} deployments" if node.load else ""
        return Refused(
            f"Node {node.name} is not accepting deployments ({node.status or 'unknown'}{load}): "
            "choose another node (`/deploy nodes` lists them)."
        )
    per_hour = node.price_per_hour_usd if node else None
    warnings: list[str] = []
    if per_hour is not None and facts.account is not None:
        outcome = spend_check(
            "creating the deployment",
            CostChange(Decimal(0), per_hour),
            facts.account,
            facts.now,
            facts.display_name,
        )
        if isinstance(outcome, str):
            return Refused(outcome)
        warnings = outcome
    return _created(facts, per_hour, warnings)


def _akash(facts: CreateFacts) -> Outcome:
    deposit = _decimal(facts.spec.get("deposit_usd"))
    if deposit is None or deposit <= 0:
        return Refused("An Akash deployment needs a deposit in US dollars, more than 0.")
    try:
        max_hour: Decimal | None = akash_sdl.max_price_per_hour_usd(
            akash_sdl.load_sdl(str(facts.spec.get("sdl") or ""))
        )
    except (akash_sdl.SdlError, ValueError):
        max_hour = None
    account = facts.account
    balance = account.balance_usd if account is not None else None
    label = account.label if account is not None else "Akash balance"
    if balance is not None and deposit > balance:
        return Refused(
            f"The deposit ({usd(deposit)}) is more than the {label} ({usd(balance)}): "
            "add funds to the account or deposit less."
        )
    warnings: list[str] = []
    if max_hour is not None:
        out = runs_out(deposit, max_hour, facts.now)
        if out is not None:
            warnings.append(
                f"The deposit ({usd(deposit)}) lasts about {duration(out[0])} at the max price "
                f"({usd(max_hour, '/h')}): the lease closes around {moment(out[1])} unless "
                "topped up."
            )
    return _created(facts, max_hour, warnings, Change("escrow", "$0.00", usd(deposit)))


# -- accepting Akash bids -----------------------------------------------------------------------


def preflight_accept(facts: AcceptFacts) -> Outcome:
    """Accepting bids: the deployment must be open without an active lease, every bid open and
    for this deployment; the escrow runway at the bids' price is checked."""
    deployment = facts.deployment
    name = deployment.name or deployment.id
    if Capability.LEASE not in facts.allowed:
        state = deployment.extras.get("state") or deployment.raw_status
        why = "already has an active lease" if state == "active" else f"is {state}"
        return Refused(f"{name} {why} on Akash: there are no bids to accept.")
    if not facts.bids:
        return Refused(f"Choose a bid to accept for {name}.")
    for bid in facts.bids:
        if bid.deployment_id != deployment.id:
            return Refused(f"The bid from {bid.provider_address} is for dseq {bid.deployment_id}.")
        if bid.state != "open":
            return Refused(
                f"The bid from {bid.provider_address} is {bid.state}: only open bids can be "
                "accepted (list the bids again)."
            )
    per_hour = sum((bid.price_per_hour_usd for bid in facts.bids), Decimal(0))
    warnings = list(facts.notes)
    funds = _decimal(deployment.extras.get("escrow_funds_usd"))
    out = runs_out(funds, per_hour, facts.now) if funds is not None else None
    if out is not None:
        balance = facts.account.balance_usd if facts.account is not None else None
        top_up = f"; {usd(balance)} is left in the account for deposits" if balance else ""
        warnings.append(
            f"The escrow ({usd(funds)}) lasts about {duration(out[0])} at "
            f"{usd(per_hour, '/h')}: the lease closes around {moment(out[1])} unless topped "
            f"up{top_up}."
        )
    return Cleared(
        changes=(Change("lease", "none", f"{len(facts.bids)} bid(s) at {usd(per_hour, '/h')}"),),
        cost=CostChange(deployment.cost_per_hour_usd or Decimal(0), per_hour),
        warnings=tuple(dict.fromkeys(warnings)),
    )
