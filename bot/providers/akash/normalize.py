"""Raw Akash objects (deployment details, bids, providers) as the shared models."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

from bot.providers.akash.convert import (
    coin_total,
    dseq_time,
    int_or_none,
    is_usd_denom,
    json_decimal,
    micro_to_usd,
    to_decimal,
)
from bot.providers.akash.leases import LeaseSummary, summarize_leases
from bot.providers.akash_sdl import BLOCK_SECONDS, usd_per_hour
from bot.providers.models import Bid, Deployment, DeploymentStatus, ProviderInfo


def normalize_deployment(item: Mapping[str, Any]) -> Deployment:
    """A ``DeploymentDetail`` (or a list item) as a :class:`Deployment`; never raises on
    unexpected values (unknown states → ``UNKNOWN``, nulls → empty).

    Status: deployment ``active`` with no lease → PENDING (raw ``active (waiting for bids)``);
    with an active lease → RUNNING, or STARTING while the provider reports fewer services
    available than total; a lease in ``insufficient_funds`` (or an overdrawn escrow) →
    INSUFFICIENT_FUNDS; ``closed`` → CLOSED. List items carry no lease ``status`` and a GET
    answers ``status: null`` when the provider cannot be reached: then readiness is unknown and
    an active lease counts as RUNNING (``extras["lease_status_known"]`` is False).
    """
    dep, dseq, owner = _identity(item)
    state = str(dep.get("state") or "")
    raw_leases = item.get("leases")
    raw_leases = raw_leases if isinstance(raw_leases, list) else []
    leases = [lease for lease in raw_leases if isinstance(lease, dict)]
    esc, escrow_state = _escrow(item)
    funds, funds_denom = coin_total(esc.get("funds"))
    transferred, _ = coin_total(esc.get("transferred"))
    usd_escrow = is_usd_denom(funds_denom)
    created_time = dseq_time(dseq)
    summary = summarize_leases(leases, created_time, int_or_none(dep.get("created_at")))
    status, raw = _status(state, bool(leases), summary, escrow_state == "overdrawn")
    runway = None
    if state == "active" and summary.active_rate > 0:
        runway = int(funds // summary.active_rate) * BLOCK_SECONDS
    extras: dict[str, Any] = {
        "dseq": dseq,
        "owner": owner,
        "state": state,
        "manifest_hash": dep.get("hash") or dep.get("version"),
        "created_height": dep.get("created_at"),
        "escrow_state": escrow_state or None,
        "escrow_funds": json_decimal(funds),
        "escrow_denom": funds_denom,
        "escrow_funds_usd": json_decimal(micro_to_usd(funds)) if usd_escrow else None,
        "escrow_transferred_usd": json_decimal(micro_to_usd(transferred)) if usd_escrow else None,
        "escrow_settled_at": esc.get("settled_at"),
        "price_per_block": json_decimal(summary.active_rate),
        "runway_seconds": runway,
        "lease_status_known": summary.status_known,
        "leases": summary.extras,
    }
    return Deployment(
        provider="akash",
        id=dseq,
        name=f"dseq {dseq}" if dseq else "unknown",
        status=status,
        raw_status=raw,
        replicas=summary.replicas if summary.replicas_known else None,
        endpoints=tuple(summary.endpoints),
        cost_per_hour_usd=usd_per_hour(summary.active_rate) if summary.rate_is_usd else None,
        total_cost_usd=micro_to_usd(transferred) if usd_escrow else None,
        created_at=created_time,
        started_at=summary.started_at,
        extras=extras,
    )


def _identity(item: Mapping[str, Any]) -> tuple[Mapping[str, Any], str, Any]:
    """The ``deployment`` object of a detail or list item, its dseq and its owner."""
    dep = item.get("deployment") if isinstance(item.get("deployment"), dict) else {}
    dep = dep or {}
    dep_id = dep.get("id") or dep.get("deployment_id") or {}
    dep_id = dep_id if isinstance(dep_id, dict) else {}
    return dep, str(dep_id.get("dseq") or ""), dep_id.get("owner")


def _escrow(item: Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
    """The escrow account's fields (era B/C nest them under ``state``; era A is flat) and its
    state word."""
    escrow = item.get("escrow_account") if isinstance(item.get("escrow_account"), dict) else {}
    escrow = escrow or {}
    nested = escrow.get("state")
    if isinstance(nested, dict):  # era B/C
        return nested, str(nested.get("state") or "")
    return escrow, str(nested or "")  # era A


def _status(
    state: str, has_leases: bool, leases: LeaseSummary, overdrawn: bool
) -> tuple[DeploymentStatus, str]:
    """The normalized status and the raw status text (see :func:`normalize_deployment`)."""
    if leases.insufficient or overdrawn:
        return (
            DeploymentStatus.INSUFFICIENT_FUNDS,
            f"{state} (insufficient funds)" if state else "insufficient_funds",
        )
    if state == "closed":
        return DeploymentStatus.CLOSED, "closed"
    if state != "active":
        return DeploymentStatus.UNKNOWN, state or "unknown"
    if not has_leases:
        return DeploymentStatus.PENDING, "active (waiting for bids)"
    if leases.active == 0:
        # Every lease was closed (by the provider); the deployment keeps its escrow.
        return DeploymentStatus.FAILED, "active (lease closed)"
    if leases.starting:
        return DeploymentStatus.STARTING, "active (lease starting)"
    return DeploymentStatus.RUNNING, "active"


def escrow_runway(deployment: Deployment) -> timedelta | None:
    """How long the escrow lasts at the current burn: funds ÷ Σ active lease price per block,
    times ~6 s (whole blocks, so never optimistic). None when nothing is drawn or it is closed.

    The funds are those the API reported (as of ``escrow_settled_at``); the chain settles
    lazily, so against a real server this is an upper bound.
    """
    extras = deployment.extras
    if extras.get("state") != "active":
        return None
    funds = to_decimal(extras.get("escrow_funds"))
    rate = to_decimal(extras.get("price_per_block"))
    if funds is None or rate is None or rate <= 0:
        return None
    blocks = max(Decimal(0), funds) // rate
    return timedelta(seconds=int(blocks) * BLOCK_SECONDS)


def _gpu_from_attributes(attributes: Any) -> tuple[str | None, dict[str, str]]:
    for attr in attributes or []:
        key = attr.get("key") if isinstance(attr, dict) else None
        if not isinstance(key, str) or not key.startswith("vendor/"):
            continue
        parts = key.split("/")
        details = {parts[i]: parts[i + 1] for i in range(0, len(parts) - 1, 2)}
        return details.get("model"), details
    return None, {}


def normalize_bid(item: Mapping[str, Any]) -> Bid:
    """One ``GET /v1/bids`` item as a :class:`Bid` (era C ``bid.id``; era A ``bid.bid_id``)."""
    bid = item.get("bid") if isinstance(item.get("bid"), dict) else {}
    bid = bid or {}
    ident = bid.get("id") or bid.get("bid_id") or {}
    ident = ident if isinstance(ident, dict) else {}
    price = bid.get("price") if isinstance(bid.get("price"), dict) else {}
    price = price or {}
    amount = to_decimal(price.get("amount"), Decimal(0)) or Decimal(0)
    denom = str(price.get("denom") or "")
    gpu: str | None = None
    gpu_details: dict[str, str] = {}
    gpu_units = 0
    cpu_millis = 0
    memory = 0
    storage = 0
    for offer in bid.get("resources_offer") or []:
        if not isinstance(offer, dict):
            continue
        count = int_or_none(offer.get("count")) or 1
        res = offer.get("resources") or {}
        gpu_block = res.get("gpu") or {}
        units = int_or_none((gpu_block.get("units") or {}).get("val")) or 0
        gpu_units += units * count
        if units and gpu is None:
            gpu, gpu_details = _gpu_from_attributes(gpu_block.get("attributes"))
        cpu_millis += (
            int_or_none(((res.get("cpu") or {}).get("units") or {}).get("val")) or 0
        ) * count
        memory += (
            int_or_none(((res.get("memory") or {}).get("quantity") or {}).get("val")) or 0
        ) * count
        for volume in res.get("storage") or []:
            if isinstance(volume, dict):
                storage += (int_or_none((volume.get("quantity") or {}).get("val")) or 0) * count
    extras: dict[str, Any] = {
        "owner": ident.get("owner"),
        "created_at": bid.get("created_at"),
        "gpu_units": gpu_units,
        "gpu_vendor": gpu_details.get("vendor"),
        "gpu_ram": gpu_details.get("ram"),
        "gpu_interface": gpu_details.get("interface"),
        "cpu_millis": cpu_millis,
        "memory_bytes": memory,
        "storage_bytes": storage,
        "price_is_usd": is_usd_denom(denom),
    }
    if "isCertificateRequired" in item:
        extras["certificate_required"] = bool(item.get("isCertificateRequired"))
    if bid.get("reclamation_window"):
        extras["reclamation_window"] = bid.get("reclamation_window")
    return Bid(
        deployment_id=str(ident.get("dseq") or ""),
        provider_address=str(ident.get("provider") or ""),
        gseq=int_or_none(ident.get("gseq")) or 0,
        oseq=int_or_none(ident.get("oseq")) or 0,
        bseq=int_or_none(ident.get("bseq")),
        state=str(bid.get("state") or "unknown"),
        price_per_block=amount,
        denom=denom,
        price_per_hour_usd=usd_per_hour(amount),
        gpu=gpu if gpu != "*" else None,
        extras=extras,
    )


def normalize_provider(body: Mapping[str, Any]) -> ProviderInfo:
    uptime = body.get("uptime7d")
    region = ", ".join(str(p) for p in (body.get("ipRegion"), body.get("ipCountry")) if p) or None
    models: list[str] = []
    for gpu in body.get("gpuModels") or []:
        if isinstance(gpu, dict) and gpu.get("model") and gpu["model"] not in models:
            models.append(str(gpu["model"]))
    return ProviderInfo(
        address=str(body.get("owner") or ""),
        name=body.get("name"),
        host_uri=body.get("hostUri"),
        is_audited=body.get("isAudited"),
        is_online=body.get("isOnline"),
        uptime_7d=float(uptime) if isinstance(uptime, int | float) else None,
        region=region,
        gpu_models=tuple(models),
    )
