"""A deployment's leases: their endpoints and readiness, folded into one summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.providers.akash.convert import (
    int_or_none,
    is_usd_denom,
    json_decimal,
    lease_ident,
    to_decimal,
)
from bot.providers.akash_sdl import BLOCK_SECONDS, usd_per_hour
from bot.providers.models import Endpoint

_INSUFFICIENT_FUNDS_REASON = "lease_closed_reason_insufficient_funds"


def _service_ready(service: Mapping[str, Any]) -> bool:
    available = int_or_none(service.get("available")) or 0
    total = int_or_none(service.get("total"))
    if total is not None and total > 0:
        return available >= total
    replicas = int_or_none(service.get("replicas")) or 0
    ready = int_or_none(service.get("ready_replicas")) or 0
    return replicas > 0 and ready >= replicas


def _lease_endpoints(service_name_status: Mapping[str, Any]) -> list[Endpoint]:
    """Endpoints from one lease's LeaseStatus (nulls normalised to empty)."""
    endpoints: list[Endpoint] = []
    services = service_name_status.get("services") or {}
    if isinstance(services, dict):
        for name, service in sorted(services.items()):
            if not isinstance(service, dict):
                continue
            for host in service.get("uris") or []:
                if isinstance(host, str) and host:
                    url = host if "://" in host else f"http://{host}"
                    endpoints.append(Endpoint(url=url, port=80, label=str(name)))
    forwarded = service_name_status.get("forwarded_ports") or {}
    if isinstance(forwarded, dict):
        for name, ports in sorted(forwarded.items()):
            for port in ports or []:
                if not isinstance(port, dict):
                    continue
                host = port.get("host")
                external = int_or_none(port.get("externalPort"))
                if not host or external is None:
                    continue
                endpoints.append(Endpoint(url=f"{host}:{external}", port=external, label=str(name)))
    ips = service_name_status.get("ips") or {}
    if isinstance(ips, dict):
        for name, entries in sorted(ips.items()):
            for entry in entries or []:
                if not isinstance(entry, dict) or not entry.get("IP"):
                    continue
                external = int_or_none(entry.get("ExternalPort"))
                url = f"{entry['IP']}:{external}" if external else str(entry["IP"])
                endpoints.append(Endpoint(url=url, port=external, label=str(name)))
    return endpoints


@dataclass
class LeaseSummary:
    """What a deployment's leases say, folded over them (see :func:`summarize_leases`)."""

    #: One ``extras["leases"]`` entry per lease, in the answer's order.
    extras: list[dict[str, Any]] = field(default_factory=list)
    endpoints: list[Endpoint] = field(default_factory=list)
    #: Σ price per block of the active leases (micro-units of their denom).
    active_rate: Decimal = Decimal(0)
    #: False when an active lease is priced in something other than micro-USD.
    rate_is_usd: bool = True
    active: int = 0
    insufficient: bool = False
    #: False when an active lease has no provider status (list items; unreachable provider).
    status_known: bool = True
    starting: bool = False
    replicas: int = 0
    replicas_known: bool = False
    #: The earliest active lease's start, guessed from block heights (era C dseqs only).
    started_at: datetime | None = None


def _lease_price(lease: Mapping[str, Any]) -> tuple[Decimal, Any]:
    price = lease.get("price") if isinstance(lease.get("price"), dict) else {}
    price = price or {}
    return to_decimal(price.get("amount"), Decimal(0)) or Decimal(0), price.get("denom")


def _lease_extras(
    lease: Mapping[str, Any], state: str, amount: Decimal, denom: Any
) -> dict[str, Any]:
    ident = lease_ident(lease)
    return {
        "provider": ident.get("provider"),
        "gseq": int_or_none(ident.get("gseq")),
        "oseq": int_or_none(ident.get("oseq")),
        "bseq": int_or_none(ident.get("bseq")),
        "state": state,
        "price_per_block": json_decimal(amount),
        "denom": denom,
        "price_per_hour_usd": json_decimal(usd_per_hour(amount)) if is_usd_denom(denom) else None,
        "reason": lease.get("reason"),
        "created_at": lease.get("created_at"),
        "closed_on": lease.get("closed_on"),
    }


def _lease_start(
    lease: Mapping[str, Any], created_time: datetime | None, created_height: int | None
) -> datetime | None:
    """When a lease started: the deployment's time plus the blocks between the two heights."""
    lease_height = int_or_none(lease.get("created_at"))
    if created_time and created_height is not None and lease_height is not None:
        return created_time + timedelta(seconds=(lease_height - created_height) * BLOCK_SECONDS)
    return None


def _add_service_status(summary: LeaseSummary, status: Mapping[str, Any]) -> None:
    """One active lease's provider status: its endpoints, replicas and readiness."""
    summary.endpoints.extend(_lease_endpoints(status))
    services = status.get("services") or {}
    if not isinstance(services, dict) or not services:
        summary.starting = True  # the provider has nothing running yet
        return
    for service in services.values():
        if not isinstance(service, dict):
            continue
        summary.replicas_known = True
        summary.replicas += int_or_none(service.get("total")) or 0
        if not _service_ready(service):
            summary.starting = True


def _add_active_lease(
    summary: LeaseSummary,
    lease: Mapping[str, Any],
    amount: Decimal,
    denom: Any,
    start: datetime | None,
) -> None:
    summary.active += 1
    summary.active_rate += amount
    summary.rate_is_usd = summary.rate_is_usd and is_usd_denom(denom)
    if start is not None:
        summary.started_at = start if summary.started_at is None else min(summary.started_at, start)
    status = lease.get("status")
    if isinstance(status, dict):
        _add_service_status(summary, status)
    else:
        summary.status_known = False


def summarize_leases(
    leases: Sequence[Mapping[str, Any]], created_time: datetime | None, created_height: int | None
) -> LeaseSummary:
    """Fold a deployment's leases: prices, states, endpoints and readiness of the active ones."""
    summary = LeaseSummary()
    for lease in leases:
        state = str(lease.get("state") or "")
        amount, denom = _lease_price(lease)
        summary.extras.append(_lease_extras(lease, state, amount, denom))
        if state == "insufficient_funds" or lease.get("reason") == _INSUFFICIENT_FUNDS_REASON:
            summary.insufficient = True
        if state == "active":
            start = _lease_start(lease, created_time, created_height)
            _add_active_lease(summary, lease, amount, denom, start)
    return summary
