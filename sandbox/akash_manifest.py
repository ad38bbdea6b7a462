"""Group specs and manifest the emulated chain derives from an accepted SDL.

The JSON shapes are those of chain-sdk's SDL parser (``output-fixtures/*/group-specs.json``
and ``manifest.json``): one group per placement (sorted by name), services sorted by name,
one resource unit per (service, placement) in v2.0 and one per compute profile in a
placement in v2.1 (counts added, endpoints merged), IP endpoints numbered over the sorted
list of IP names, 18-decimal price amounts. The manifest's version hash is the SHA-256 of
its key-sorted JSON. :class:`GroupSpec` is the view the sandbox's bid engine quotes from.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sandbox.akash_sdl import cpu_millis, deployments, gpu_units, size_bytes, volumes

SHARED_HTTP, RANDOM_PORT, LEASED_IP = 0, 1, 2
_HTTP_DEFAULTS = {
    "max_body_size": ("maxBodySize", 1048576),
    "read_timeout": ("readTimeout", 60000),
    "send_timeout": ("sendTimeout", 60000),
    "next_tries": ("nextTries", 3),
    "next_timeout": ("nextTimeout", 0),
}


@dataclass(frozen=True)
class GpuRequest:
    """One acceptable GPU (``model`` None = any model of the vendor)."""

    vendor: str = "nvidia"
    model: str | None = None
    ram: str | None = None
    interface: str | None = None


@dataclass(frozen=True)
class ResourceUnit:
    """One resource unit of a group: what a provider must offer ``count`` times."""

    profile: str
    services: tuple[str, ...]
    count: int
    cpu_millis: int
    memory_bytes: int
    storage: tuple[tuple[str, int, tuple[tuple[str, str], ...]], ...]
    gpu_units: int
    gpu_options: tuple[GpuRequest, ...]
    endpoint_kinds: tuple[int, ...]
    price: Decimal
    denom: str


@dataclass(frozen=True)
class GroupSpec:
    name: str
    resources: tuple[ResourceUnit, ...]
    attributes: tuple[tuple[str, str], ...] = ()
    signed_by_any_of: tuple[str, ...] = ()

    @property
    def max_price_per_block(self) -> Decimal:
        return sum((r.price * r.count for r in self.resources), Decimal(0))

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(s for r in self.resources for s in r.services)


@dataclass
class Derived:
    """Everything the chain keeps of one SDL."""

    group_specs: list[dict[str, Any]] = field(default_factory=list)
    manifest: list[dict[str, Any]] = field(default_factory=list)
    groups: tuple[GroupSpec, ...] = ()

    @property
    def manifest_json(self) -> str:
        return json.dumps(self.manifest, separators=(",", ":"))

    @property
    def version(self) -> str:
        return manifest_version(self.manifest)


def manifest_version(manifest: str | list[dict[str, Any]]) -> str:
    """Base64 SHA-256 of the key-sorted compact JSON (raises ValueError on bad JSON)."""
    data = json.loads(manifest) if isinstance(manifest, str) else manifest
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return base64.b64encode(hashlib.sha256(canonical.encode()).digest()).decode()


def _ip_sequence(doc: Mapping[str, Any]) -> dict[str, int]:
    names = [
        to.get("ip") or ""
        for service, _, _ in deployments(doc)
        for expose in doc["services"][service].get("expose") or []
        for to in expose.get("to") or []
        if not (to.get("global") and not to.get("ip"))
    ]
    return {name: number for number, name in enumerate(sorted(names), start=1)}


def _http_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    options = options or {}
    out = {key: options.get(name) or default for name, (key, default) in _HTTP_DEFAULTS.items()}
    out["nextTimeout"] = options.get("next_timeout", 0)
    out["nextCases"] = list(options.get("next_cases") or ["error", "timeout"])
    return out


def _exposes(service: Mapping[str, Any], ip_seq: Mapping[str, int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for expose in service.get("expose") or []:
        base = {
            "port": expose["port"],
            "externalPort": expose.get("as", 0),
            "proto": str(expose.get("proto", "TCP")).upper(),
            "hosts": expose.get("accept") or None,
            "httpOptions": _http_options(expose.get("http_options")),
        }
        for to in expose.get("to") or [{}]:
            ip = to.get("ip") or ""
            glob = bool(to.get("global"))
            out.append(
                {
                    **base,
                    "service": to.get("service") or "",
                    "global": glob,
                    "ip": ip,
                    "endpointSequenceNumber": ip_seq.get(ip, 0) if glob and ip else 0,
                }
            )
    out.sort(key=lambda e: (e["service"], e["port"], e["proto"], not e["global"]))
    return [_ordered_expose(e) for e in out]


def _ordered_expose(expose: dict[str, Any]) -> dict[str, Any]:
    keys = ("port", "externalPort", "proto", "service", "global", "hosts", "httpOptions")
    return {k: expose[k] for k in (*keys, "ip", "endpointSequenceNumber")}


def _endpoints(exposes: list[dict[str, Any]]) -> list[dict[str, int]]:
    endpoints: list[dict[str, int]] = []
    for expose in exposes:
        if not expose["global"]:
            continue
        external = expose["externalPort"] or expose["port"]
        ingress = expose["proto"] == "TCP" and external == 80
        endpoints.append(_endpoint(SHARED_HTTP if ingress else RANDOM_PORT, 0))
        if expose["ip"]:
            endpoints.append(_endpoint(LEASED_IP, expose["endpointSequenceNumber"]))
    return endpoints


def _endpoint(kind: int, sequence: int) -> dict[str, int]:
    return (
        {"sequence_number": sequence}
        if kind == SHARED_HTTP
        else {"kind": kind, "sequence_number": sequence}
    )


def gpu_options(gpu: Mapping[str, Any] | None) -> tuple[GpuRequest, ...]:
    vendors = ((gpu or {}).get("attributes") or {}).get("vendor") or {}
    options: list[GpuRequest] = []
    for vendor, models in vendors.items():
        options += [
            GpuRequest(vendor, m.get("model"), m.get("ram"), m.get("interface"))
            for m in models or [{}]
        ]
    return tuple(options)


def _gpu_keys(options: tuple[GpuRequest, ...]) -> list[str]:
    keys = []
    for option in options:
        key = f"vendor/{option.vendor}/model/{option.model or '*'}"
        key += f"/ram/{option.ram}" if option.ram else ""
        key += f"/interface/{option.interface}" if option.interface else ""
        keys.append(key)
    return sorted(keys)


def _pairs(mapping: Mapping[str, Any] | None) -> list[dict[str, str]] | None:
    if not mapping:
        return None
    return [{"key": k, "value": _text(v)} for k, v in sorted(mapping.items())]


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _resources(resources: Mapping[str, Any], rid: int) -> dict[str, Any]:
    cpu: dict[str, Any] = {"units": {"val": str(cpu_millis(resources["cpu"]["units"]))}}
    if resources["cpu"].get("attributes"):
        cpu["attributes"] = _pairs(resources["cpu"]["attributes"])
    storage = []
    for volume in volumes(resources):
        entry: dict[str, Any] = {
            "name": volume["name"],
            "size": {"val": str(size_bytes(volume["size"]))},
        }
        if volume.get("attributes"):
            entry["attributes"] = _pairs(volume["attributes"])
        storage.append(entry)
    gpu: dict[str, Any] = {"units": {"val": str(gpu_units(resources.get("gpu")))}}
    keys = _gpu_keys(gpu_options(resources.get("gpu")))
    if keys:
        gpu["attributes"] = [{"key": k, "value": "true"} for k in keys]
    memory = {"size": {"val": str(size_bytes(resources["memory"]["size"]))}}
    return {"id": rid, "cpu": cpu, "memory": memory, "storage": storage, "gpu": gpu}


def _service_params(spec: Mapping[str, Any]) -> dict[str, Any] | None:
    params = spec.get("params")
    if params is None:
        return None
    storage = params.get("storage") or {}
    out: dict[str, Any] = {
        "storage": [
            {
                "name": n,
                "mount": storage[n].get("mount", ""),
                "readOnly": bool(storage[n].get("readOnly")),
            }
            for n in sorted(storage)
        ]
        or None
    }
    if params.get("permissions") is not None:
        out["permissions"] = {"read": params["permissions"].get("read")}
    if params.get("tee"):
        out["tee"] = {"type": params["tee"], "attestation": True}
    return out


def _credentials(spec: Mapping[str, Any]) -> dict[str, str] | None:
    creds = spec.get("credentials")
    if creds is None:
        return None
    keys = ("host", "email", "username", "password")
    return {k: str(creds.get(k, "")).strip() for k in keys}


def _price(price: Mapping[str, Any]) -> tuple[Decimal, dict[str, str]]:
    amount = Decimal(str(price["amount"]))
    return amount, {"denom": price["denom"], "amount": f"{amount:.18f}"}


class _Builder:
    """Collects one placement group while services are added in chain order."""

    def __init__(self, name: str, placement: Mapping[str, Any], merge: bool) -> None:
        self.name = name
        self.placement = placement
        self.merge = merge
        self.units: list[dict[str, Any]] = []
        self.by_profile: dict[str, dict[str, Any]] = {}
        self.services: list[dict[str, Any]] = []
        self.tee: str | None = None

    def add(
        self,
        doc: Mapping[str, Any],
        service: str,
        entry: Mapping[str, Any],
        ip_seq: Mapping[str, int],
    ) -> None:
        spec = doc["services"][service]
        profile = entry["profile"]
        compute = doc["profiles"]["compute"][profile]["resources"]
        exposes = _exposes(spec, ip_seq)
        endpoints = _endpoints(exposes)
        self.tee = self.tee or (spec.get("params") or {}).get("tee")
        unit = self.by_profile.get(profile) if self.merge else None
        if unit is None:
            amount, price = _price(self.placement["pricing"][profile])
            resource = {**_resources(compute, len(self.units) + 1), "endpoints": list(endpoints)}
            unit = {"resource": resource, "count": entry["count"], "price": price, "amount": amount}
            unit.update(profile=profile, services=[service], compute=compute)
            self.units.append(unit)
            self.by_profile[profile] = unit
        else:
            unit["count"] += entry["count"]
            unit["services"].append(service)
            merged = unit["resource"]["endpoints"] + endpoints
            unit["resource"]["endpoints"] = sorted(merged, key=lambda e: e["sequence_number"])
        manifest_service = {
            "name": service,
            "image": spec["image"],
            "command": spec.get("command") or None,
            "args": spec.get("args") or None,
            "env": spec.get("env") or None,
            "resources": {**_resources(compute, unit["resource"]["id"]), "endpoints": endpoints},
            "count": entry["count"],
            "expose": exposes,
        }
        params = _service_params(spec)
        if params is not None:
            manifest_service["params"] = params
        manifest_service["credentials"] = _credentials(spec)
        self.services.append(manifest_service)

    def group_spec(self) -> dict[str, Any]:
        signed = self.placement.get("signedBy") or {}
        attributes = dict(self.placement.get("attributes") or {})
        if self.tee:
            attributes["tee/type"] = self.tee
        return {
            "name": self.name,
            "requirements": {
                "signed_by": {
                    "all_of": signed.get("allOf") or None,
                    "any_of": signed.get("anyOf") or None,
                },
                "attributes": _pairs(attributes),
            },
            "resources": [
                {"resource": u["resource"], "count": u["count"], "price": u["price"]}
                for u in self.units
            ],
        }

    def view(self) -> GroupSpec:
        spec = self.group_spec()
        units = tuple(_unit_view(u) for u in self.units)
        attrs = tuple((a["key"], a["value"]) for a in spec["requirements"]["attributes"] or [])
        any_of = tuple(spec["requirements"]["signed_by"]["any_of"] or ())
        return GroupSpec(self.name, units, attrs, any_of)


def _unit_view(unit: Mapping[str, Any]) -> ResourceUnit:
    resource = unit["resource"]
    kinds = tuple(e.get("kind", SHARED_HTTP) for e in resource["endpoints"])
    storage = tuple(
        (
            v["name"],
            int(v["size"]["val"]),
            tuple((a["key"], a["value"]) for a in v.get("attributes") or []),
        )
        for v in resource["storage"]
    )
    return ResourceUnit(
        profile=unit["profile"],
        services=tuple(unit["services"]),
        count=unit["count"],
        cpu_millis=int(resource["cpu"]["units"]["val"]),
        memory_bytes=int(resource["memory"]["size"]["val"]),
        storage=storage,
        gpu_units=int(resource["gpu"]["units"]["val"]),
        gpu_options=gpu_options(unit["compute"].get("gpu")),
        endpoint_kinds=kinds,
        price=unit["amount"],
        denom=unit["price"]["denom"],
    )


def derive(doc: Mapping[str, Any]) -> Derived:
    """Group specs, manifest and bid-engine view of an SDL that :func:`load` accepted."""
    ip_seq = _ip_sequence(doc)
    merge = str(doc["version"]) != "2.0"
    builders: dict[str, _Builder] = {}
    for service, placement, entry in deployments(doc):
        builder = builders.get(placement)
        if builder is None:
            placements = doc["profiles"]["placement"]
            builder = builders[placement] = _Builder(placement, placements[placement], merge)
        builder.add(doc, service, entry, ip_seq)
    ordered = [builders[name] for name in sorted(builders)]
    return Derived(
        group_specs=[b.group_spec() for b in ordered],
        manifest=[
            {"name": b.name, "services": sorted(b.services, key=lambda s: s["name"])}
            for b in ordered
        ],
        groups=tuple(b.view() for b in ordered),
    )
