"""Schema rules for ``profiles``: compute resources (CPU, memory, storage, GPU) and placements.

Follows chain-sdk ``go/sdl/sdl-input.schema.yaml`` (the JSON schema the Console's SDL
pipeline applies) for SDL 2.0 and 2.1. One deliberate difference: ``vendor: {nvidia: null}``
is accepted and means "any NVIDIA model" (chain-sdk fixture ``gpu_basic_no_model.sdl.yml``).
"""

from __future__ import annotations

import re
from typing import Any

from bot.providers.akash_sdl.checker import Checker
from bot.providers.akash_sdl.problems import json_type_name, pointer, pointer_join
from bot.providers.akash_sdl.units import parse_amount, parse_gpu_units, parse_size

GPU_INTERFACES = ("pcie", "sxm")
#: Pricing denoms the schema accepts: AKT, ACT, and (before ACT) IBC-bridged USDC.
DENOM_RE = re.compile(r"^(uakt|uact|ibc/[A-Za-z0-9]+)$")
#: Storage classes that only make sense for persistent volumes.
PERSISTENT_CLASSES = ("beta1", "beta2", "beta3", "default")

_RESOURCE_KEYS = frozenset({"cpu", "memory", "storage", "gpu"})
_VOLUME_KEYS = frozenset({"size", "name", "attributes"})
_PLACEMENT_KEYS = frozenset({"attributes", "pricing", "signedBy"})
_PRICE_KEYS = frozenset({"denom", "amount"})
_CPU_UNITS_RE = re.compile(r"^[0-9]+(\.[0-9]+)?[a-zA-Z]*$")
_ZERO_CPU_RE = re.compile(r"^0+(\.0+)?m?$")


def check_profiles(c: Checker, profiles: Any) -> None:
    allowed = frozenset({"compute", "placement"})
    if not c.obj(profiles, "/profiles", required=("compute", "placement"), allowed=allowed):
        return
    if "compute" in profiles and c.obj(profiles["compute"], "/profiles/compute"):
        for name, compute in profiles["compute"].items():
            _check_compute(c, compute, pointer("profiles", "compute", name))
    if "placement" in profiles and c.obj(profiles["placement"], "/profiles/placement"):
        for name, placement in profiles["placement"].items():
            _check_placement(c, placement, pointer("profiles", "placement", name))


def truthy(value: Any) -> bool:
    """``persistent: true`` or ``persistent: "true"`` (the schema allows both)."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _check_compute(c: Checker, compute: Any, path: str) -> None:
    if not c.obj(compute, path, required=("resources",), allowed=frozenset({"resources"})):
        return
    if "resources" not in compute:
        return
    rpath = path + "/resources"
    res = compute["resources"]
    if not c.obj(res, rpath, required=("cpu", "memory", "storage"), allowed=_RESOURCE_KEYS):
        return
    if "cpu" in res:
        _check_cpu(c, res["cpu"], rpath + "/cpu")
    if "memory" in res:
        _check_memory(c, res["memory"], rpath + "/memory")
    if "storage" in res:
        _check_storage(c, res["storage"], rpath + "/storage")
    if "gpu" in res:
        _check_gpu(c, res["gpu"], rpath + "/gpu")


def _check_cpu(c: Checker, cpu: Any, path: str) -> None:
    allowed = frozenset({"units", "attributes"})
    if not c.obj(cpu, path, required=("units",), allowed=allowed):
        return
    if "units" in cpu:
        units = cpu["units"]
        if isinstance(units, str):
            ok = bool(_CPU_UNITS_RE.match(units)) and not _ZERO_CPU_RE.match(units)
        else:
            ok = isinstance(units, int | float) and not isinstance(units, bool) and units > 0
        if not ok:
            c.add(path + "/units", f'must be a number > 0 or a string like "100m" (got {units!r})')
    if "attributes" in cpu and not isinstance(cpu["attributes"], dict):
        c.add(path + "/attributes", "must be object")


def _check_memory(c: Checker, memory: Any, path: str) -> None:
    if not c.obj(memory, path, required=("size",), allowed=frozenset({"size"})):
        return
    if "size" in memory and c.string(memory["size"], path + "/size"):
        _check_size(c, memory["size"], path + "/size")


def _check_storage(c: Checker, storage: Any, path: str) -> None:
    if isinstance(storage, list):
        if not storage:
            c.add(path, "must list at least one volume")
        for i, volume in enumerate(storage):
            _check_volume(c, volume, f"{path}/{i}")
    elif isinstance(storage, dict):
        _check_volume(c, storage, path)
    else:
        c.add(path, f"must be object or array (got {json_type_name(storage)})")


def _check_size(c: Checker, size: str, path: str) -> None:
    try:
        parse_size(size)
    except ValueError:
        c.add(path, f"invalid size {size!r} (use e.g. 512Mi, 16Gi, 1Ti)")


def _check_volume(c: Checker, volume: Any, path: str) -> None:
    if not c.obj(volume, path, required=("size",), allowed=_VOLUME_KEYS):
        return
    if "size" in volume and c.string(volume["size"], path + "/size"):
        _check_size(c, volume["size"], path + "/size")
    if "name" in volume:
        c.string(volume["name"], path + "/name", min_length=1)
    if "attributes" in volume:
        _check_volume_attributes(c, volume["attributes"], path + "/attributes")


def _check_volume_attributes(c: Checker, attrs: Any, path: str) -> None:
    if not c.obj(attrs, path, allowed=frozenset({"class", "persistent"})):
        return
    if "class" in attrs:
        c.string(attrs["class"], path + "/class")
    if "persistent" in attrs and not isinstance(attrs["persistent"], bool | str):
        c.add(path + "/persistent", f"must be boolean (got {json_type_name(attrs['persistent'])})")
    storage_class = attrs.get("class")
    persistent = truthy(attrs.get("persistent"))
    if storage_class == "ram" and persistent:
        c.add(path, '"ram" storage cannot be persistent')
    if storage_class in PERSISTENT_CLASSES and not persistent:
        c.add(path + "/persistent", f'storage class "{storage_class}" requires persistent: true')


def _check_gpu(c: Checker, gpu: Any, path: str) -> None:
    if not c.obj(gpu, path, required=("units",), allowed=frozenset({"units", "attributes"})):
        return
    if "units" in gpu:
        try:
            parse_gpu_units(gpu["units"])
        except ValueError:
            c.add(path + "/units", f"must be a whole number >= 0 (got {gpu['units']!r})")
    if "attributes" in gpu:
        _check_gpu_attributes(c, gpu["attributes"], path + "/attributes")


def _check_gpu_attributes(c: Checker, attrs: Any, apath: str) -> None:
    if not c.obj(attrs, apath, allowed=frozenset({"vendor"})) or "vendor" not in attrs:
        return
    vendor = attrs["vendor"]
    vpath = apath + "/vendor"
    if not c.obj(vendor, vpath, allowed=frozenset({"nvidia"})):
        return
    if not vendor:
        c.add(vpath, "must name a vendor (only nvidia is supported)")
        return
    models = vendor.get("nvidia")
    if models is None:
        return  # "nvidia:" with no list = any NVIDIA model
    if not isinstance(models, list):
        c.add(vpath + "/nvidia", f"must be array (got {json_type_name(models)})")
        return
    for i, model in enumerate(models):
        _check_gpu_model(c, model, f"{vpath}/nvidia/{i}")


def _check_gpu_model(c: Checker, model: Any, mpath: str) -> None:
    if not c.obj(model, mpath, allowed=frozenset({"model", "ram", "interface"})):
        return
    for key in ("model", "ram"):
        if key in model:
            c.string(model[key], f"{mpath}/{key}", min_length=1)
    if "interface" in model and model["interface"] not in GPU_INTERFACES:
        c.add(mpath + "/interface", f"must be pcie or sxm (got {model['interface']!r})")


def _check_placement(c: Checker, placement: Any, path: str) -> None:
    if not c.obj(placement, path, required=("pricing",), allowed=_PLACEMENT_KEYS):
        return
    if "attributes" in placement and not isinstance(placement["attributes"], dict):
        c.add(path + "/attributes", "must be object")
    if "signedBy" in placement:
        _check_signed_by(c, placement["signedBy"], path + "/signedBy")
    if "pricing" in placement and c.obj(placement["pricing"], path + "/pricing"):
        for profile, price in placement["pricing"].items():
            _check_price(c, price, pointer_join(path + "/pricing", profile))


def _check_signed_by(c: Checker, signed_by: Any, path: str) -> None:
    if not c.obj(signed_by, path, allowed=frozenset({"anyOf", "allOf"})):
        return
    for key, value in signed_by.items():
        if key in ("anyOf", "allOf"):
            c.string_list(value, f"{path}/{key}")


def _check_price(c: Checker, price: Any, path: str) -> None:
    if not c.obj(price, path, required=("denom", "amount"), allowed=_PRICE_KEYS):
        return
    denom = price.get("denom")
    denom_ok = "denom" in price and c.string(denom, path + "/denom", min_length=1)
    if denom_ok and not DENOM_RE.match(denom):
        c.add(path + "/denom", f"must be uakt, uact or an ibc/… denom (got {denom!r})")
    if "amount" in price:
        try:
            parse_amount(price["amount"])
        except ValueError:
            c.add(path + "/amount", "must be a number >= 0 (or a numeric string)")
