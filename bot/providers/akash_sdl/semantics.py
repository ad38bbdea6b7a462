"""The semantic pass: cross-references the schema cannot express.

Runs only once the schema passes. Follows chain-sdk ``go/sdl/v2.go`` ``validate`` and the
group builder's checks: every service deployed, placements/profiles exist and are priced,
GPU units vs vendor, persistent storage needs a mount, lease-IP endpoints declared and used,
no duplicate exposes or IP ports, registry credentials not blank, TEE needs a GPU when it
covers the GPU and one TEE type per placement group.
"""

from __future__ import annotations

from typing import Any

from bot.providers.akash_sdl.problems import Problem, pointer
from bot.providers.akash_sdl.schema_profiles import truthy
from bot.providers.akash_sdl.units import parse_gpu_units

#: TEE types that cover the GPU too (need GPU resources).
GPU_TEE_TYPES = ("cpu-gpu",)


def volumes(storage: Any) -> list[dict[str, Any]]:
    """A compute profile's ``storage`` as a list of volumes (one object or a list)."""
    if isinstance(storage, dict):
        return [storage]
    if isinstance(storage, list):
        return [v for v in storage if isinstance(v, dict)]
    return []


def check_semantics(doc: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    services: dict[str, Any] = doc["services"]
    deployment: dict[str, Any] = doc["deployment"]
    if not services:
        problems.append(("/services", "must define at least one service"))
    for svc in deployment:
        if svc not in services:
            problems.append(
                (pointer("deployment", svc), f'Service "{svc}" is not defined at "/services".')
            )
    for name, service in services.items():
        problems.extend(_check_service_deployments(doc, name, service))
        problems.extend(_check_credentials(name, service))
    problems.extend(_check_exposes(doc))
    problems.extend(_check_tee_groups(doc))
    return problems


def _check_service_deployments(doc: dict[str, Any], name: str, service: Any) -> list[Problem]:
    svc_deploy = doc["deployment"].get(name)
    if not svc_deploy:
        return [("/deployment", f'Service "{name}" is not defined at "/deployment".')]
    problems: list[Problem] = []
    for placement_name, entry in svc_deploy.items():
        problems.extend(_check_deployment_entry(doc, name, service, placement_name, entry))
    return problems


def _check_credentials(name: str, service: dict[str, Any]) -> list[Problem]:
    creds = service.get("credentials")
    if not creds:
        return []
    return [
        (pointer("services", name, "credentials", key), f"registry {key} must not be blank")
        for key in ("host", "username", "password")
        if not str(creds.get(key) or "").strip()
    ]


def _check_exposes(doc: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    endpoints: dict[str, Any] = doc.get("endpoints") or {}
    endpoints_used: set[str] = set()
    ip_ports: dict[tuple[str, int, str], str] = {}
    for name, service in sorted(doc["services"].items()):  # the chain's order: by name
        seen: set[tuple[int, int, str, bool, str]] = set()
        for i, expose in enumerate(service.get("expose") or []):
            proto = str(expose.get("proto") or "TCP").upper()
            external = expose.get("as") or expose["port"]
            for j, to in enumerate(expose.get("to") or [{}]):
                key = (expose["port"], external, proto, bool(to.get("global")), _target(to))
                if key in seen:
                    problems.append(
                        (
                            pointer("services", name, "expose", i),
                            f'Service "{name}" exposes port {expose["port"]}/{proto} '
                            f"as {external} more than once.",
                        )
                    )
                seen.add(key)
                ip = to.get("ip")
                if not ip:
                    continue
                endpoints_used.add(ip)
                tpath = pointer("services", name, "expose", i, "to", j)
                problems.extend(_check_ip_target(name, ip, endpoints, tpath))
                port_key = (ip, external, proto)
                if port_key in ip_ports:
                    problems.append(
                        (
                            tpath + "/ip",
                            f'IP endpoint "{ip}" port {external} protocol {proto} already in '
                            f'use by service "{ip_ports[port_key]}".',
                        )
                    )
                ip_ports[port_key] = name
    problems.extend(
        (pointer("endpoints", endpoint), f'Endpoint "{endpoint}" declared but never used.')
        for endpoint in endpoints
        if endpoint not in endpoints_used
    )
    return problems


def _target(to: dict[str, Any]) -> str:
    return str(to.get("service") or to.get("ip") or "")


def _check_ip_target(name: str, ip: str, endpoints: dict[str, Any], path: str) -> list[Problem]:
    if ip in endpoints:
        return []
    return [
        (
            pointer("endpoints", ip),
            f'Unknown endpoint "{ip}" for service "{name}" (at {path}/ip). '
            'Add it to the "endpoints" section.',
        )
    ]


def _check_deployment_entry(
    doc: dict[str, Any], name: str, service: dict[str, Any], placement_name: str, entry: Any
) -> list[Problem]:
    problems: list[Problem] = []
    profile = entry["profile"]
    placement = doc["profiles"]["placement"].get(placement_name)
    compute = doc["profiles"]["compute"].get(profile)
    if placement is None:
        problems.append(
            (
                "/profiles/placement",
                f'The placement "{placement_name}" is not defined in the "placement" section.',
            )
        )
    elif profile not in (placement.get("pricing") or {}):
        problems.append(
            (
                pointer("profiles", "placement", placement_name, "pricing"),
                f'The pricing for the "{profile}" profile is not defined in the '
                f'"{placement_name}" placement.',
            )
        )
    if compute is None:
        problems.append(
            (
                "/profiles/compute",
                f'The compute requirements for the "{profile}" profile are not defined in the '
                '"compute" section.',
            )
        )
        return problems
    resources = compute["resources"]
    problems.extend(_check_storage(name, service, profile, volumes(resources.get("storage"))))
    problems.extend(_check_gpu(profile, resources.get("gpu")))
    problems.extend(_check_tee_gpu(name, service, profile, resources.get("gpu")))
    return problems


def _check_storage(
    name: str, service: dict[str, Any], profile: str, vols: list[dict[str, Any]]
) -> list[Problem]:
    problems: list[Problem] = []
    storage_params: dict[str, Any] = ((service.get("params") or {}).get("storage")) or {}
    mounts: dict[str, str] = {}
    for storage_name, volume in storage_params.items():
        vpath = pointer("services", name, "params", "storage", storage_name)
        if volume is None:
            problems.append((vpath, f'Storage "{storage_name}" is not configured.'))
            continue
        if not any((v.get("name") or "default") == storage_name for v in vols):
            problems.append(
                (
                    pointer("profiles", "compute", profile, "resources", "storage"),
                    f'Service "{name}" references non-existing compute volume "{storage_name}".',
                )
            )
            continue
        mount = volume.get("mount")
        if mount and mount in mounts:
            problems.append(
                (vpath + "/mount", f'Mount "{mount}" already in use by volume "{mounts[mount]}".')
            )
        if mount:
            mounts[mount] = storage_name
    for volume in vols:
        volume_name = volume.get("name") or "default"
        persistent = truthy((volume.get("attributes") or {}).get("persistent"))
        if persistent and not (storage_params.get(volume_name) or {}).get("mount"):
            problems.append(
                (
                    pointer("services", name, "params", "storage", volume_name),
                    f'Persistent storage "{volume_name}" requires a mount path in '
                    f"/services/{name}/params/storage/{volume_name}/mount.",
                )
            )
    return problems


def _check_gpu(profile: str, gpu: Any) -> list[Problem]:
    if gpu is None:
        return []
    problems: list[Problem] = []
    gpath = pointer("profiles", "compute", profile, "resources", "gpu")
    units = parse_gpu_units(gpu.get("units"))
    attrs = gpu.get("attributes")
    if units == 0 and attrs is not None:
        problems.append((gpath + "/attributes", "GPU must not have attributes if units is 0."))
    if units > 0 and attrs is None:
        problems.append((gpath, "GPU must have attributes if units is not 0."))
    if units > 0 and not (attrs or {}).get("vendor"):
        problems.append((gpath + "/attributes", "GPU must specify a vendor if units is not 0."))
    return problems


def _tee(service: dict[str, Any]) -> str | None:
    tee = (service.get("params") or {}).get("tee")
    return tee if isinstance(tee, str) else None


def _check_tee_gpu(name: str, service: dict[str, Any], profile: str, gpu: Any) -> list[Problem]:
    tee = _tee(service)
    if tee not in GPU_TEE_TYPES:
        return []
    if parse_gpu_units((gpu or {}).get("units")) > 0:
        return []
    return [
        (
            pointer("services", name, "params", "tee"),
            f'TEE type "{tee}" requires GPU resources, but compute profile "{profile}" '
            "requests no GPU.",
        )
    ]


def _check_tee_groups(doc: dict[str, Any]) -> list[Problem]:
    """One TEE type per placement group: its services run on the same kind of provider."""
    problems: list[Problem] = []
    by_group: dict[str, tuple[str, str]] = {}
    for svc in sorted(doc["deployment"]):
        tee = _tee(doc["services"].get(svc) or {})
        if tee is None:
            continue
        for placement in sorted(doc["deployment"][svc]):
            first = by_group.setdefault(placement, (svc, tee))
            if first[1] != tee:
                problems.append(
                    (
                        pointer("services", svc, "params", "tee"),
                        f'Placement "{placement}" mixes TEE types: service "{first[0]}" uses '
                        f'"{first[1]}", service "{svc}" uses "{tee}".',
                    )
                )
    return problems
