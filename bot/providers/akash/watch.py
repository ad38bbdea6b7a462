"""What the watcher diffs an Akash list item on: its state, escrow and leases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.providers.base import fingerprint


def _watched_escrow_and_leases(item: Mapping[str, Any]) -> list[object]:
    """What a list item's status and runway come from besides the deployment's state: the
    escrow's state and funds, and each lease's state, reason, price and service status."""
    escrow = item.get("escrow_account")
    esc = escrow.get("state") if isinstance(escrow, dict) else None
    esc = esc if isinstance(esc, dict) else escrow if isinstance(escrow, dict) else {}
    values: list[object] = [esc.get("state"), esc.get("funds")]
    leases = item.get("leases")
    for lease in leases if isinstance(leases, list) else []:
        if isinstance(lease, dict):
            price = lease.get("price")
            amount = price.get("amount") if isinstance(price, dict) else price
            values += (lease.get("state"), lease.get("reason"), amount, lease.get("status"))
    return values


def watch_fields(raw: Any) -> tuple[str, str] | None:
    """The dseq, and a digest of what status and runway come from: the deployment's
    state, its escrow account and its leases."""
    dep = raw.get("deployment") if isinstance(raw, dict) else None
    ident = dep.get("id") or dep.get("deployment_id") if isinstance(dep, dict) else None
    dseq = ident.get("dseq") if isinstance(ident, dict) else None
    if not dseq:
        return None
    return str(dseq), fingerprint(dep.get("state"), *_watched_escrow_and_leases(raw))  # type: ignore[union-attr]
