"""The provider manifest an SDL becomes (``[{name, services: [...]}]``), its JSON and hash.

Same JSON form as chain-sdk's Go group builder (``go/sdl/groupBuilder_v2*.go``) writes it:
groups sorted by placement name, services by name, resource ids per bound compute profile,
lease-IP endpoints numbered over the sorted list of every IP target.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from bot.providers.akash_sdl.semantics import volumes
from bot.providers.akash_sdl.units import parse_cpu_millis, parse_gpu_units, parse_size

#: Endpoint kinds as the chain numbers them (``akash.base.v1beta3.Endpoint.Kind``).
ENDPOINT_SHARED_HTTP = 0
ENDPOINT_RANDOM_PORT = 1
ENDPOINT_LEASED_IP = 2

_HTTP_DEFAULTS = {
    "maxBodySize": ("max_body_size", 1_048_576),
    "readTimeout": ("read_timeout", 60_000),
    "sendTimeout": ("send_timeout", 60_000),
    "nextTries": ("next_tries", 3),
    "nextTimeout": ("next_timeout", 0),
}


def endpoint_sequence_numbers(doc: Mapping[str, Any]) -> dict[str, int]:
    """Sequence numbers of lease-IP endpoints, numbered as the chain's SDL parser does.

    Every IP target (and every non-global target, as ``""``) of every deployed service is
    listed, the list sorted, and each entry numbered from 1; a name listed twice keeps the
    number of its last entry.
    """
    names = [
        str(to.get("ip") or "")
        for svc in sorted(doc["deployment"])
        for expose in doc["services"][svc].get("expose") or []
        for to in expose.get("to") or []
        if not (to.get("global") and not to.get("ip"))
    ]
    return {name: number for number, name in enumerate(sorted(names), start=1)}


def gpu_attribute_keys(attributes: Mapping[str, Any] | None) -> list[str]:
    """Chain attribute keys for an SDL ``gpu.attributes`` block.

    ``{vendor: {nvidia: [{model: h100, ram: 80Gi, interface: sxm}]}}`` →
    ``["vendor/nvidia/model/h100/ram/80Gi/interface/sxm"]``; ``nvidia:`` with no list →
    ``["vendor/nvidia/model/*"]`` (any model).
    """
    vendor = (attributes or {}).get("vendor") or {}
    keys: list[str] = []
    for vendor_name, models in vendor.items():
        if not models:
            keys.append(f"vendor/{vendor_name}/model/*")
            continue
        for model in models:
            key = f"vendor/{vendor_name}/model/{model.get('model')}"
            if model.get("ram"):
                key += f"/ram/{model['ram']}"
            if model.get("interface"):
                key += f"/interface/{model['interface']}"
            keys.append(key)
    return keys


def is_ingress(proto: str, external_port: int, port: int) -> bool:
    """A global TCP expose on (external) port 80 is HTTP ingress; others are random ports."""
    return proto == "TCP" and (external_port or port) == 80


def endpoint(kind: int, sequence: int) -> dict[str, int]:
    # protobuf JSON omits the zero enum value (SHARED_HTTP), as in chain-sdk fixtures.
    if kind == ENDPOINT_SHARED_HTTP:
        return {"sequence_number": sequence}
    return {"kind": kind, "sequence_number": sequence}


def expose_endpoints(exposes: list[dict[str, Any]]) -> list[dict[str, int]]:
    """The endpoints a service's manifest exposes need, in expose order."""
    endpoints: list[dict[str, int]] = []
    for expose in exposes:
        if not expose["global"]:
            continue
        ingress = is_ingress(expose["proto"], expose["externalPort"], expose["port"])
        endpoints.append(endpoint(ENDPOINT_SHARED_HTTP if ingress else ENDPOINT_RANDOM_PORT, 0))
        if expose["ip"]:
            endpoints.append(endpoint(ENDPOINT_LEASED_IP, expose["endpointSequenceNumber"]))
    return endpoints


def storage_attributes(attributes: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """A volume's attributes as sorted chain key/value pairs (``ram`` implies not persistent)."""
    if not attributes:
        return []
    pairs = [
        {"key": k, "value": str(v).lower() if isinstance(v, bool) else str(v)}
        for k, v in attributes.items()
    ]
    if attributes.get("class") == "ram" and "persistent" not in attributes:
        pairs.append({"key": "persistent", "value": "false"})
    return sorted(pairs, key=lambda p: p["key"])


def manifest_resources(
    res_id: int, resources: Mapping[str, Any], endpoints: list[dict[str, int]]
) -> dict[str, Any]:
    """A compute profile as the chain's ``Resources`` JSON (id, cpu, memory, storage, gpu…)."""
    cpu: dict[str, Any] = {"units": {"val": str(parse_cpu_millis(resources["cpu"]["units"]))}}
    cpu_attrs = resources["cpu"].get("attributes")
    if cpu_attrs:
        cpu["attributes"] = [{"key": k, "value": str(v)} for k, v in sorted(cpu_attrs.items())]
    gpu_block = resources.get("gpu") or {}
    gpu: dict[str, Any] = {"units": {"val": str(parse_gpu_units(gpu_block.get("units")))}}
    keys = gpu_attribute_keys(gpu_block.get("attributes"))
    if keys:
        gpu["attributes"] = [{"key": k, "value": "true"} for k in keys]
    storage = []
    for volume in volumes(resources["storage"]):
        item: dict[str, Any] = {
            "name": volume.get("name") or "default",
            "size": {"val": str(parse_size(volume["size"]))},
        }
        attrs = storage_attributes(volume.get("attributes"))
        if attrs:
            item["attributes"] = attrs
        storage.append(item)
    return {
        "id": res_id,
        "cpu": cpu,
        "memory": {"size": {"val": str(parse_size(resources["memory"]["size"]))}},
        "storage": storage,
        "gpu": gpu,
        "endpoints": endpoints,
    }


def _http_options(options: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        name: options.get(key) or default for name, (key, default) in _HTTP_DEFAULTS.items()
    }
    out["nextCases"] = options.get("next_cases") or ["error", "timeout"]
    return out


def manifest_expose(service: Mapping[str, Any], seq: Mapping[str, int]) -> list[dict[str, Any]]:
    """A service's exposes, one per target, sorted as the chain sorts them."""
    out: list[dict[str, Any]] = []
    for expose in service.get("expose") or []:
        http_options = _http_options(expose.get("http_options") or {})
        for to in expose.get("to") or []:
            ip = to.get("ip") or ""
            out.append(
                {
                    "port": expose["port"],
                    "externalPort": expose.get("as") or 0,
                    "proto": str(expose.get("proto") or "TCP").upper(),
                    "service": to.get("service") or "",
                    "global": bool(to.get("global")),
                    "hosts": list(expose["accept"]) if expose.get("accept") else None,
                    "httpOptions": http_options,
                    "ip": ip,
                    "endpointSequenceNumber": seq.get(ip, 0) if ip else 0,
                }
            )
    out.sort(key=lambda e: (e["service"], e["port"], e["proto"], not e["global"]))
    return out


def _params(service: Mapping[str, Any]) -> dict[str, Any] | None:
    params = service.get("params")
    if params is None:
        return None
    storage = params.get("storage") or {}
    out: dict[str, Any] = {
        "storage": [
            {
                "name": name,
                "mount": (storage[name] or {}).get("mount") or "",
                "readOnly": bool((storage[name] or {}).get("readOnly")),
            }
            for name in sorted(storage)
        ]
        or None
    }
    if params.get("permissions") is not None:
        out["permissions"] = {"read": list(params["permissions"].get("read") or [])}
    if params.get("tee"):
        out["tee"] = {"type": params["tee"], "attestation": True}
    return out


def _credentials(service: Mapping[str, Any]) -> dict[str, str] | None:
    creds = service.get("credentials")
    if not creds:
        return None
    return {
        key: str(creds.get(key) or "").strip() for key in ("host", "email", "username", "password")
    }


def placement_pairs(doc: Mapping[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """``placement → [(service, deployment entry), …]``, services and placements sorted."""
    by_placement: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for svc in sorted(doc["deployment"]):
        for placement in sorted(doc["deployment"][svc]):
            by_placement.setdefault(placement, []).append((svc, doc["deployment"][svc][placement]))
    return dict(sorted(by_placement.items()))


def _manifest_service(
    doc: Mapping[str, Any], svc: str, entry: Mapping[str, Any], res_id: int, seq: Mapping[str, int]
) -> dict[str, Any]:
    service = doc["services"][svc]
    resources = doc["profiles"]["compute"][entry["profile"]]["resources"]
    exposes = manifest_expose(service, seq)
    out: dict[str, Any] = {
        "name": svc,
        "image": service["image"],
        "command": service.get("command") or None,
        "args": service.get("args") or None,
        "env": service.get("env") or None,
        "resources": manifest_resources(res_id, resources, expose_endpoints(exposes)),
        "count": entry["count"],
        "expose": exposes,
    }
    params = _params(service)
    if params is not None:  # omitted when absent, as in chain-sdk's fixtures
        out["params"] = params
    out["credentials"] = _credentials(service)
    return out


def build_manifest(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The provider manifest (``[{name, services: [...]}]``) for a valid SDL document."""
    seq = endpoint_sequence_numbers(doc)
    manifest: list[dict[str, Any]] = []
    for placement_name, pairs in placement_pairs(doc).items():
        resource_ids: dict[str, int] = {}
        services = [
            _manifest_service(
                doc,
                svc,
                entry,
                resource_ids.setdefault(entry["profile"], len(resource_ids) + 1),
                seq,
            )
            for svc, entry in pairs
        ]
        services.sort(key=lambda s: str(s["name"]))
        manifest.append({"name": placement_name, "services": services})
    return manifest


def manifest_json(manifest: list[dict[str, Any]]) -> str:
    """The manifest as the Console API returns it (compact JSON text)."""
    return json.dumps(manifest, separators=(",", ":"))


def manifest_hash(manifest: str | list[dict[str, Any]]) -> str:
    """The deployment version: base64 SHA-256 of the canonical (key-sorted) manifest JSON."""
    data = json.loads(manifest) if isinstance(manifest, str) else manifest
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return base64.b64encode(hashlib.sha256(canonical.encode()).digest()).decode()
