"""A deployment's leases: their endpoints and readiness, folded into one summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.providers.akash.convert import (
    _int_or_none,
)
from bot.providers.models import (
    Endpoint,
)

_INSUFFICIENT_FUNDS_REASON = "lease_closed_reason_insufficient_funds"


def _service_ready(service: Mapping[str, Any]) -> bool:
    available = _int_or_none(service.get("available")) or 0
    total = _int_or_none(service.get("total"))
    if total is not None and total > 0:
        return available >= total
    replicas = _int_or_none(service.get("replicas")) or 0
    ready = _int_or_none(service.get("ready_replicas")) or 0
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
                external = _int_or_none(port.get("externalPort"))
                if not host or external is None:
                    continue
                endpoints.append(Endpoint(url=f"{host}:{external}", port=external, label=str(name)))
    ips = service_name_status.get("ips") or {}
    if isinstance(ips, dict):
        for name, entries in sorted(ips.items()):
            for entry in entries or []:
                if not isinstance(entry, dict) or not entry.get("IP"):
                    continue
                external = _int_or_none(entry.get("ExternalPort"))
                url = f"{entry['IP']}:{external}" if external else str(entry["IP"])
                endpoints.append(Endpoint(url=url, port=external, label=str(name)))
    return endpoints
