"""Deployment groups an SDL becomes (one per placement): typed specs, chain JSON, max prices.

The JSON form (:func:`group_specs_json`) is the chain's ``GroupSpec`` as chain-sdk's Go group
builder writes it: requirements (``signed_by`` all/any of, sorted attributes plus
``tee/type`` when a service runs in a TEE), and one resource unit per bound compute profile
with its count and maximum price per block.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.providers.akash_sdl.manifest import (
    endpoint_sequence_numbers,
    expose_endpoints,
    gpu_attribute_keys,
    manifest_expose,
    manifest_resources,
    placement_pairs,
    storage_attributes,
)
from bot.providers.akash_sdl.semantics import volumes
from bot.providers.akash_sdl.units import (
    dec_coin_amount,
    parse_amount,
    parse_cpu_millis,
    parse_gpu_units,
    parse_size,
    usd_per_hour,
)


@dataclass(frozen=True)
class GpuRequest:
    """One acceptable GPU: a model (``None`` = any), optionally its RAM and interface."""

    vendor: str = "nvidia"
    model: str | None = None
    ram: str | None = None
    interface: str | None = None


@dataclass(frozen=True)
class ResourceUnit:
    """One compute profile as bound in a group (what a provider must offer ``count`` times)."""

    profile: str
    services: tuple[str, ...]
    count: int
    cpu_millis: int
    memory_bytes: int
    storage: tuple[tuple[str, int, tuple[tuple[str, str], ...]], ...]
    gpu_units: int
    gpu_options: tuple[GpuRequest, ...]
    gpu_keys: tuple[str, ...]
    #: Endpoint kinds this unit needs (``ENDPOINT_*`` constants), one per global expose.
    endpoint_kinds: tuple[int, ...]
    #: Maximum price per block for one unit, in micro units of ``denom``.
    price: Decimal
    denom: str


@dataclass(frozen=True)
class GroupSpec:
    """A placement group: the unit of ordering, bidding and leasing (``gseq`` = index + 1)."""

    name: str
    resources: tuple[ResourceUnit, ...]
    signed_by_any_of: tuple[str, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()
    signed_by_all_of: tuple[str, ...] = ()

    @property
    def max_price_per_block(self) -> Decimal:
        """What the group may cost per block at most: Σ unit price x count."""
        return sum((r.price * r.count for r in self.resources), Decimal(0))

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(s for r in self.resources for s in r.services)


def _gpu_options(gpu: Mapping[str, Any] | None) -> tuple[GpuRequest, ...]:
    vendor = ((gpu or {}).get("attributes") or {}).get("vendor") or {}
    options: list[GpuRequest] = []
    for vendor_name, models in vendor.items():
        if not models:
            options.append(GpuRequest(vendor=vendor_name))
            continue
        options.extend(
            GpuRequest(
                vendor=vendor_name,
                model=model.get("model"),
                ram=model.get("ram"),
                interface=model.get("interface"),
            )
            for model in models
        )
    return tuple(options)


def _placement_attributes(doc: Mapping[str, Any], placement_name: str) -> list[tuple[str, str]]:
    """Placement attributes plus ``tee/type`` of its TEE services, sorted by key."""
    placement = doc["profiles"]["placement"][placement_name]
    attrs = {str(k): str(v) for k, v in (placement.get("attributes") or {}).items()}
    for svc, _ in placement_pairs(doc)[placement_name]:
        tee = (doc["services"][svc].get("params") or {}).get("tee")
        if tee:
            attrs.setdefault("tee/type", str(tee))
    return sorted(attrs.items())


def _signed_by(placement: Mapping[str, Any], key: str) -> tuple[str, ...]:
    return tuple((placement.get("signedBy") or {}).get(key) or ())


def _unit(
    doc: Mapping[str, Any], placement_name: str, profile: str, bound: Mapping[str, Any]
) -> ResourceUnit:
    res = doc["profiles"]["compute"][profile]["resources"]
    price = doc["profiles"]["placement"][placement_name]["pricing"][profile]
    gpu = res.get("gpu") or {}
    return ResourceUnit(
        profile=profile,
        services=tuple(bound["services"]),
        count=bound["count"],
        cpu_millis=parse_cpu_millis(res["cpu"]["units"]),
        memory_bytes=parse_size(res["memory"]["size"]),
        storage=tuple(
            (
                v.get("name") or "default",
                parse_size(v["size"]),
                tuple((a["key"], a["value"]) for a in storage_attributes(v.get("attributes"))),
            )
            for v in volumes(res["storage"])
        ),
        gpu_units=parse_gpu_units(gpu.get("units")),
        gpu_options=_gpu_options(gpu),
        gpu_keys=tuple(gpu_attribute_keys(gpu.get("attributes"))),
        endpoint_kinds=tuple(sorted(e.get("kind", 0) for e in bound["endpoints"])),
        price=parse_amount(price["amount"]),
        denom=price["denom"],
    )


def _bound_profiles(doc: Mapping[str, Any], placement_name: str) -> dict[str, dict[str, Any]]:
    """``profile → {count, services, endpoints}`` in binding order, as the chain binds them.

    The first service bound to a profile gives its endpoints in expose order; later ones
    append theirs and the list is (stably) sorted by sequence number.
    """
    seq = endpoint_sequence_numbers(doc)
    units: dict[str, dict[str, Any]] = {}
    for svc, entry in placement_pairs(doc)[placement_name]:
        endpoints = expose_endpoints(manifest_expose(doc["services"][svc], seq))
        unit = units.get(entry["profile"])
        if unit is None:
            units[entry["profile"]] = {
                "count": entry["count"],
                "services": [svc],
                "endpoints": endpoints,
            }
            continue
        unit["count"] += entry["count"]
        unit["services"].append(svc)
        unit["endpoints"] = sorted(
            [*unit["endpoints"], *endpoints], key=lambda e: e["sequence_number"]
        )
    return units


def group_specs(doc: Mapping[str, Any]) -> list[GroupSpec]:
    """The deployment's groups (one per placement, sorted by name, as the chain orders them).

    ``doc`` must be a valid SDL document (see :func:`~bot.providers.akash_sdl.load_sdl`).
    """
    groups: list[GroupSpec] = []
    for placement_name in placement_pairs(doc):
        placement = doc["profiles"]["placement"][placement_name]
        units = _bound_profiles(doc, placement_name)
        groups.append(
            GroupSpec(
                name=placement_name,
                resources=tuple(
                    _unit(doc, placement_name, profile, bound) for profile, bound in units.items()
                ),
                signed_by_any_of=_signed_by(placement, "anyOf"),
                attributes=tuple(_placement_attributes(doc, placement_name)),
                signed_by_all_of=_signed_by(placement, "allOf"),
            )
        )
    return groups


def group_specs_json(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The groups as the chain's ``GroupSpec`` JSON (what ``MsgCreateDeployment`` carries)."""
    out: list[dict[str, Any]] = []
    for placement_name in placement_pairs(doc):
        placement = doc["profiles"]["placement"][placement_name]
        attributes = _placement_attributes(doc, placement_name)
        resources = []
        for res_id, (profile, bound) in enumerate(_bound_profiles(doc, placement_name).items(), 1):
            compute = doc["profiles"]["compute"][profile]["resources"]
            price = placement["pricing"][profile]
            resources.append(
                {
                    "resource": manifest_resources(res_id, compute, bound["endpoints"]),
                    "count": bound["count"],
                    "price": {
                        "denom": price["denom"],
                        "amount": dec_coin_amount(parse_amount(price["amount"])),
                    },
                }
            )
        out.append(
            {
                "name": placement_name,
                "requirements": {
                    "signed_by": {
                        "all_of": list(_signed_by(placement, "allOf")) or None,
                        "any_of": list(_signed_by(placement, "anyOf")) or None,
                    },
                    "attributes": [{"key": k, "value": v} for k, v in attributes] or None,
                },
                "resources": resources,
            }
        )
    return out


def max_price_per_block(doc: Mapping[str, Any]) -> Decimal:
    """The most the whole deployment may cost per block (Σ groups), in micro units."""
    return sum((g.max_price_per_block for g in group_specs(doc)), Decimal(0))


def max_price_per_hour_usd(doc: Mapping[str, Any]) -> Decimal:
    """:func:`max_price_per_block` in USD/hour (micro-USD per ~6 s block x 600 / 1e6)."""
    return usd_per_hour(max_price_per_block(doc))


def requested_gpu_models(doc: Mapping[str, Any]) -> list[str]:
    """GPU models the SDL asks for (``"*"`` for any NVIDIA model), in order, unique."""
    models: list[str] = []
    for group in group_specs(doc):
        for unit in group.resources:
            if unit.gpu_units <= 0:
                continue
            for option in unit.gpu_options:
                name = option.model or "*"
                if name not in models:
                    models.append(name)
    return models
