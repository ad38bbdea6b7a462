"""How the emulated Akash Console API judges an SDL (its own reading, not the client's).

``load(text)`` answers the parsed document or raises :class:`SdlRejected` whose text is what
follows ``Invalid SDL: `` in the server's 400 (spec §6.2). Structure is checked with
``jsonschema`` against :data:`sandbox.akash_sdl_schema.SDL_SCHEMA`; the cross-references the
chain-sdk parser checks (profiles, placements, pricing, endpoints, volumes, TEE with GPUs)
are checked here. Deriving group specs and the manifest is :mod:`sandbox.akash_manifest`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from sandbox.akash_sdl_schema import SDL_SCHEMA

_VALIDATOR = Draft7Validator(SDL_SCHEMA)
_SIZE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([kKMGTPE]i?)?$")
_SIZE_POWER = {"k": 1, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}
_CPU = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m?)$")
_NOT_MESSAGES = {
    "attributes": "a ram storage class cannot be persistent",
    "units": "must be more than 0",
}


class SdlRejected(ValueError):
    """The SDL is not one the Console API would accept; ``problems`` says why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(", ".join(problems))
        self.problems = problems


def size_bytes(text: Any) -> int:
    """``"512Mi"`` → 536870912, ``"1G"`` → 10**9 (binary ``…i`` suffixes, decimal others)."""
    match = _SIZE.match(str(text).strip())
    if match is None:
        raise ValueError(f"invalid size {text!r}: expected a number with k/M/G/T/P/E(i)")
    number, suffix = Decimal(match.group(1)), match.group(2) or ""
    if not suffix:
        return int(number)
    base = 1024 if suffix.endswith("i") else 1000
    return int(number * base ** _SIZE_POWER[suffix[0]])


def cpu_millis(units: Any) -> int:
    """``"100m"`` → 100, ``0.5`` → 500, ``2`` → 2000."""
    if isinstance(units, bool):
        raise ValueError(f"invalid cpu units {units!r}")
    match = _CPU.match(str(units).strip())
    if match is None:
        raise ValueError(f"invalid cpu units {units!r}: expected e.g. 0.5, 1 or 500m")
    number = Decimal(match.group(1))
    return int(number if match.group(2) else number * 1000)


def gpu_units(gpu: Mapping[str, Any] | None) -> int:
    if not gpu or gpu.get("units") is None:
        return 0
    try:
        value = Decimal(str(gpu["units"]))
    except InvalidOperation:
        raise ValueError(f"invalid gpu units {gpu['units']!r}") from None
    if value != value.to_integral_value() or value < 0:
        raise ValueError(f"invalid gpu units {gpu['units']!r}: expected a whole number")
    return int(value)


def volumes(resources: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The profile's storage as a list, each volume with its name (``default`` if unnamed)."""
    storage = resources.get("storage")
    items = storage if isinstance(storage, list) else [storage]
    return [{**item, "name": item.get("name") or "default"} for item in items if item]


def deployments(doc: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(service, placement, {profile, count}) in the order the chain builds groups."""
    for service in sorted(doc["deployment"]):
        per_placement = doc["deployment"][service] or {}
        for placement in sorted(per_placement):
            yield service, placement, per_placement[placement]


def _schema_problems(doc: Any) -> list[str]:
    def where(error: ValidationError) -> str:
        return "/" + "/".join(str(p) for p in error.absolute_path)

    def leaf(error: ValidationError) -> ValidationError:
        # a "oneOf" failure says little; the alternative that came closest says what is wrong
        while error.context:
            error = max(error.context, key=lambda e: (len(e.absolute_path), e.validator != "type"))
        return error

    def text(error: ValidationError) -> str:
        # the two negative rules of the schema, said the way a person would
        if error.validator == "not":
            last = str(error.absolute_path[-1]) if error.absolute_path else ""
            return _NOT_MESSAGES.get(last, "is not allowed here")
        return str(error.message)

    errors = sorted(_VALIDATOR.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{where(leaf(error))}: {text(leaf(error))}" for error in errors]


def _unit_problems(doc: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for name, compute in doc["profiles"]["compute"].items():
        resources = compute["resources"]
        checks: list[tuple[str, Any]] = [
            ("cpu/units", lambda r=resources: cpu_millis(r["cpu"]["units"])),
            ("memory/size", lambda r=resources: size_bytes(r["memory"]["size"])),
            ("gpu/units", lambda r=resources: gpu_units(r.get("gpu"))),
        ]
        checks += [
            (f"storage/{v['name']}/size", lambda v=v: size_bytes(v["size"]))
            for v in volumes(resources)
        ]
        for path, check in checks:
            try:
                check()
            except ValueError as exc:
                problems.append(f"/profiles/compute/{name}/resources/{path}: {exc}")
    return problems


def _reference_problems(doc: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    services, compute = doc["services"], doc["profiles"]["compute"]
    placements = doc["profiles"]["placement"]
    for service in services:
        if service not in doc["deployment"]:
            problems.append(f"service {service!r} is not in the deployment section")
    for service, placement, entry in deployments(doc):
        where = f"{service}.{placement}"
        if service not in services:
            problems.append(f"{where}: no service named {service!r}")
        if entry["profile"] not in compute:
            problems.append(f"{where}: no compute profile named {entry['profile']!r}")
        if placement not in placements:
            problems.append(f"{where}: no placement profile named {placement!r}")
        elif entry["profile"] not in (placements[placement].get("pricing") or {}):
            problems.append(f"{where}: no pricing for profile {entry['profile']!r}")
    return problems


def _endpoint_problems(doc: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    declared = doc.get("endpoints") or {}
    used: set[str] = set()
    taken: dict[tuple[str, int, str], str] = {}
    for service, spec in doc["services"].items():
        for expose in spec.get("expose") or []:
            for to in expose.get("to") or []:
                ip = to.get("ip")
                if not ip:
                    continue
                if ip not in declared:
                    problems.append(f"service {service!r}: no endpoint named {ip!r} exists")
                    continue
                used.add(ip)
                key = (ip, expose.get("as", expose["port"]), expose.get("proto", "TCP").upper())
                if key in taken and taken[key] != service:
                    problems.append(
                        f"IP endpoint {ip!r} port {key[1]} {key[2]} of service {service!r} "
                        f"already in use by {taken[key]!r}"
                    )
                taken.setdefault(key, service)
    problems += [
        f"endpoint {name!r} declared but never used" for name in declared if name not in used
    ]
    return problems


def _volume_problems(doc: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for service, _placement, entry in deployments(doc):
        compute = doc["profiles"]["compute"].get(entry["profile"])
        spec = doc["services"].get(service)
        if compute is None or spec is None:
            continue
        params = (spec.get("params") or {}).get("storage") or {}
        named = {v["name"]: v for v in volumes(compute["resources"])}
        for volume in params:
            if volume not in named:
                problems.append(f"service {service!r} refers to no compute volume named {volume!r}")
        mounts: dict[str, str] = {}
        for volume, param in params.items():
            mount = param.get("mount", "")
            if mount in mounts:
                problems.append(f"mount {mount!r} already in use by volume {mounts[mount]!r}")
            mounts[mount] = volume
        for name, volume in named.items():
            persistent = str((volume.get("attributes") or {}).get("persistent", "")).lower()
            if persistent == "true" and not (params.get(name) or {}).get("mount"):
                problems.append(
                    f"compute.storage.{name} has persistent=true which requires "
                    f"service.{service}.params.storage.{name} to have mount"
                )
    return problems


def _tee_problems(doc: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    tee_of_group: dict[str, str] = {}
    for service, placement, entry in deployments(doc):
        compute = doc["profiles"]["compute"].get(entry["profile"])
        tee = ((doc["services"].get(service) or {}).get("params") or {}).get("tee")
        if compute is None or tee is None:
            continue
        has_gpu = gpu_units(compute["resources"].get("gpu")) > 0
        if tee == "cpu-gpu" and not has_gpu:
            problems.append(f"service {service!r}: tee cpu-gpu requires GPU resources")
        if tee == "cpu" and has_gpu:
            problems.append(f"service {service!r}: tee cpu cannot be used with GPU resources")
        if tee_of_group.setdefault(placement, tee) != tee:
            problems.append(
                f"group {placement!r} mixes tee types {tee_of_group[placement]!r} and {tee!r}"
            )
    return problems


def check(doc: Any) -> list[str]:
    """Every reason the Console API would refuse this parsed SDL (empty when it is fine)."""
    problems = _schema_problems(doc)
    if problems:
        return problems
    problems = _unit_problems(doc) + _reference_problems(doc)
    if problems:
        return problems
    return _endpoint_problems(doc) + _volume_problems(doc) + _tee_problems(doc)


def _rewrite_denoms(doc: Any, denom: str) -> None:
    """Spec §6.2 item 2 (era C): every ``pricing.*.denom`` becomes the grant denom."""
    placements = (doc.get("profiles") or {}).get("placement") if isinstance(doc, dict) else None
    for placement in (placements or {}).values() if isinstance(placements, dict) else ():
        pricing = placement.get("pricing") if isinstance(placement, dict) else None
        for price in (pricing or {}).values() if isinstance(pricing, dict) else ():
            if isinstance(price, dict) and "denom" in price:
                price["denom"] = denom


def load(text: Any, *, grant_denom: str | None = None) -> dict[str, Any]:
    """The SDL document if it is valid, else :class:`SdlRejected`.

    ``grant_denom`` plays the Console API, which rewrites pricing denoms before the SDL
    is judged; without it the SDL is judged as the chain-sdk parser judges it.
    """
    if not isinstance(text, str) or not text.strip():
        raise SdlRejected(["SDL is empty"])
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SdlRejected([str(exc).replace("\n", " ")]) from None
    if grant_denom is not None:
        _rewrite_denoms(doc, grant_denom)
    problems = check(doc)
    if problems:
        raise SdlRejected(problems)
    return doc
