"""Akash SDL (Stack Definition Language) handling: parse, validate, build manifests, price.

Pure functions only (no I/O), shared by the Akash client (validate before sending, so a
bad SDL becomes a :class:`~bot.providers.errors.ValidationError` with field errors) and by
the emulator (which answers ``400 Invalid SDL: …`` exactly like the Console API).

What is checked follows the Console API's SDL pipeline (spec ``akash.md`` §6.2):

* the JSON-schema rules of chain-sdk ``ts/src/sdl/sdl-schema.yaml`` (required keys, no unknown
  keys, non-empty image, port/as ranges, proto, compute resources, GPU vendor/model/ram/
  interface, placement pricing ``{denom, amount}``, deployment ``profile``/``count >= 1``,
  ``ram`` storage cannot be persistent);
* the semantic checks of chain-sdk ``validateSDL.ts``, which run only once the schema passes
  (every service deployed, placements/profiles exist and are priced, GPU units vs vendor,
  persistent storage needs a mount, lease-IP endpoints declared and used, no duplicates).

Problems are ``(path, message)`` pairs; ``path`` is a JSON pointer into the SDL document
(``/services/web/image``), ``""`` for the document itself.

One deliberate difference from the schema: ``vendor: {nvidia: null}`` is accepted and means
"any NVIDIA model" (chain-sdk fixture ``gpu_basic_no_model.sdl.yml``; the spec says so).

Prices: ``pricing.<profile>.amount`` is the **maximum** price per block (~6 s) in micro units of
the pricing denom. The Console API rewrites every denom to its USD-pegged grant denom (``uact``,
formerly IBC USDC), so one micro unit is one millionth of a US dollar: USD/hour =
amount x 600 / 1e6.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

import yaml

#: One SDL problem: (JSON pointer into the document, message).
Problem = tuple[str, str]

SDL_VERSIONS = ("2.0", "2.1")
#: Average Akash block time (console ``apps/api/src/utils/constants.ts`` ``averageBlockTime``).
BLOCK_SECONDS = 6
BLOCKS_PER_HOUR = 3600 // BLOCK_SECONDS
MICRO = Decimal(1_000_000)
GPU_INTERFACES = ("pcie", "sxm")
PROTOCOLS = ("TCP", "UDP", "tcp", "udp")
HTTP_ERROR_CODES = ("error", "timeout", "500", "502", "503", "504", "403", "404", "429", "off")

#: Endpoint kinds as the chain numbers them (``akash.base.v1beta3.Endpoint.Kind``).
ENDPOINT_SHARED_HTTP = 0
ENDPOINT_RANDOM_PORT = 1
ENDPOINT_LEASED_IP = 2

_TOP_KEYS = frozenset({"version", "services", "profiles", "deployment", "endpoints", "include"})
_SERVICE_KEYS = frozenset(
    {"image", "command", "args", "env", "expose", "dependencies", "params", "credentials"}
)
_EXPOSE_KEYS = frozenset({"port", "as", "proto", "to", "accept", "http_options"})
_EXPOSE_TO_KEYS = frozenset({"global", "ip", "service"})
_HTTP_OPTION_LIMITS: dict[str, int | None] = {
    "max_body_size": 104_857_600,
    "read_timeout": 60_000,
    "send_timeout": 60_000,
    "next_tries": None,
    "next_timeout": None,
}
_RESOURCE_KEYS = frozenset({"cpu", "memory", "storage", "gpu"})
_CPU_UNITS_RE = re.compile(r"^[0-9]+(\.[0-9]+)?[a-zA-Z]*$")
_AMOUNT_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_SIZE_RE = re.compile(r"^(\d+\.?\d*|\.\d+)([a-zA-Z]?)([a-zA-Z]*)$")
_ENDPOINT_NAME_RE = re.compile(r"^[a-z]+[-_0-9a-z]+$")
_SIZE_PREFIXES = "kmgtpe"


class SdlError(ValueError):
    """An SDL (or quick form) that cannot be used; ``problems`` says where and why."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__(format_problems(self.problems))


def format_problems(problems: Iterable[Problem]) -> str:
    """One line, comma-joined like the Console's ``Invalid SDL: …`` message."""
    return ", ".join(f"{path}: {message}" if path else message for path, message in problems)


def pointer(*parts: object) -> str:
    """A JSON pointer (``/services/web/expose/0``), escaping ``~`` and ``/`` in keys."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def pointer_to_dotted(path: str) -> str:
    """``/services/web/image`` → ``services.web.image`` (for form field error keys)."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
    return ".".join(parts)


# -- sizes and units -----------------------------------------------------------------------


def parse_size(value: str | int | float) -> int:
    """Bytes in a memory/storage size (``512Mi``, ``1.5G``, ``1024``); raises ValueError.

    Same rules as chain-sdk ``convertResourceString``: ``k m g t p e`` prefixes, base 1024
    with an ``i`` suffix (``Gi``) else 1000, a bare number is bytes, rounded up.
    """
    if isinstance(value, bool):
        raise ValueError(f"Invalid size string: {value}")
    text = str(value).strip().lower()
    match = _SIZE_RE.match(text)
    if not match:
        raise ValueError(f"Invalid size string: {value}")
    number, prefix, suffix = match.groups()
    if prefix and prefix not in _SIZE_PREFIXES:
        raise ValueError(f"Invalid size string: {value}")
    if suffix not in ("", "i", "b", "ib"):
        raise ValueError(f"Invalid size string: {value}")
    base = 1024 if suffix.startswith("i") else 1000
    multiplier = base ** (_SIZE_PREFIXES.index(prefix) + 1) if prefix else 1
    return math.ceil(Decimal(number) * multiplier)


def parse_cpu_millis(units: str | int | float) -> int:
    """Millicores in a CPU amount (``0.5`` → 500, ``"100m"`` → 100, ``2`` → 2000)."""
    if isinstance(units, bool):
        raise ValueError(f"Invalid CPU units: {units}")
    if isinstance(units, int | float):
        if units < 0 or not math.isfinite(units):
            raise ValueError(f"Invalid CPU units: {units}")
        return math.ceil(Decimal(str(units)) * 1000)
    match = re.fullmatch(r"([\d.]+)([a-zA-Z]*)", units.strip())
    if not match:
        raise ValueError(f"Invalid CPU units: {units}")
    number, unit = match.groups()
    try:
        amount = Decimal(number)
    except InvalidOperation:
        raise ValueError(f"Invalid CPU units: {units}") from None
    if unit.lower() == "m":
        return math.ceil(amount)
    if unit:
        raise ValueError(f"Invalid CPU units: {units}")
    return math.ceil(amount * 1000)


def parse_gpu_units(units: Any) -> int:
    """GPU count (``1``, ``"2"``); 0 when absent. Raises ValueError for junk."""
    if units is None:
        return 0
    if isinstance(units, bool):
        raise ValueError(f"Invalid GPU units: {units}")
    if isinstance(units, int):
        value = units
    elif isinstance(units, float) and units.is_integer():
        value = int(units)
    elif isinstance(units, str) and units.strip().isdigit():
        value = int(units.strip())
    else:
        raise ValueError(f"Invalid GPU units: {units}")
    if value < 0:
        raise ValueError(f"Invalid GPU units: {units}")
    return value


def parse_amount(amount: Any) -> Decimal:
    """A pricing amount (number ≥ 0 or numeric string) as Decimal; raises ValueError."""
    if isinstance(amount, bool):
        raise ValueError(f"Invalid amount: {amount}")
    if isinstance(amount, int | float):
        if not math.isfinite(amount) or amount < 0:
            raise ValueError(f"Invalid amount: {amount}")
        return Decimal(str(amount))
    if isinstance(amount, str) and _AMOUNT_RE.match(amount):
        return Decimal(amount)
    raise ValueError(f"Invalid amount: {amount}")


def usd_per_hour(amount_per_block: Decimal | str | int) -> Decimal:
    """USD per hour for a per-block price in micro-USD (``uact``): amount x 600 / 1e6."""
    return Decimal(amount_per_block) * BLOCKS_PER_HOUR / MICRO


def amount_per_block(usd_hour: Decimal | str | int) -> Decimal:
    """Micro-USD per block for a USD/hour price (the inverse of :func:`usd_per_hour`)."""
    return Decimal(usd_hour) * MICRO / BLOCKS_PER_HOUR


# -- parsing -------------------------------------------------------------------------------


def parse_sdl(text: str) -> Any:
    """The YAML document; raises :class:`SdlError` with the YAML error as its only problem."""
    if not isinstance(text, str) or not text.strip():
        raise SdlError([("", "SDL is empty")])
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        message = " ".join(str(exc).split())
        raise SdlError([("", message)]) from None


def check_sdl(text: str) -> list[Problem]:
    """Every problem with an SDL text (parse, schema, then semantics); ``[]`` when valid."""
    try:
        doc = parse_sdl(text)
    except SdlError as exc:
        return exc.problems
    return validate_sdl(doc)


def load_sdl(text: str) -> dict[str, Any]:
    """Parse and validate; the document, or :class:`SdlError` listing every problem."""
    doc = parse_sdl(text)
    problems = validate_sdl(doc)
    if problems:
        raise SdlError(problems)
    return doc


# -- validation: schema --------------------------------------------------------------------


def json_type_name(value: Any) -> str:
    """The JSON type of a parsed value, as validators name it (``null``, ``array`` …)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def obj(
        self,
        value: Any,
        path: str,
        *,
        required: Iterable[str] = (),
        allowed: frozenset[str] | None = None,
    ) -> bool:
        """Check an object: type, required keys, no unknown keys. True if it is an object."""
        if not isinstance(value, dict):
            self.add(path, f"must be object (got {json_type_name(value)})")
            return False
        for key in required:
            if key not in value:
                self.add(path, f"must have required property '{key}'")
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    self.add(pointer_join(path, key), "unknown property (not allowed here)")
        for key in value:
            if not isinstance(key, str):
                self.add(path, f"property names must be strings (got {key!r})")
        return True

    def string(self, value: Any, path: str, *, min_length: int = 0) -> bool:
        if not isinstance(value, str):
            self.add(path, f"must be string (got {json_type_name(value)})")
            return False
        if len(value.strip()) < min_length:
            self.add(path, "must not be empty" if min_length == 1 else f"too short ({min_length})")
            return False
        return True

    def integer(
        self, value: Any, path: str, *, minimum: int | None = None, maximum: int | None = None
    ) -> bool:
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, f"must be integer (got {json_type_name(value)})")
            return False
        if minimum is not None and value < minimum:
            self.add(path, f"must be >= {minimum}")
            return False
        if maximum is not None and value > maximum:
            self.add(path, f"must be <= {maximum}")
            return False
        return True

    def string_list_or_null(self, value: Any, path: str) -> None:
        if value is None:
            return
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(path, "must be a list of strings or null")


def pointer_join(path: str, *parts: object) -> str:
    return path + pointer(*parts)


def _check_schema(doc: Any) -> list[Problem]:
    c = _Checker()
    if not c.obj(doc, "", required=("version", "services", "profiles", "deployment")):
        return c.problems
    for key in doc:
        if key not in _TOP_KEYS:
            c.add(pointer(key), "unknown property (not allowed here)")
    if "version" in doc and doc["version"] not in SDL_VERSIONS:
        c.add("/version", f"must be one of {', '.join(repr(v) for v in SDL_VERSIONS)} (a string)")
    if "services" in doc and c.obj(doc["services"], "/services"):
        for name, service in doc["services"].items():
            _check_service(c, service, pointer("services", name))
    if "profiles" in doc and c.obj(
        doc["profiles"],
        "/profiles",
        required=("compute", "placement"),
        allowed=frozenset({"compute", "placement"}),
    ):
        profiles = doc["profiles"]
        if "compute" in profiles and c.obj(profiles["compute"], "/profiles/compute"):
            for name, compute in profiles["compute"].items():
                _check_compute(c, compute, pointer("profiles", "compute", name))
        if "placement" in profiles and c.obj(profiles["placement"], "/profiles/placement"):
            for name, placement in profiles["placement"].items():
                _check_placement(c, placement, pointer("profiles", "placement", name))
    if "deployment" in doc and c.obj(doc["deployment"], "/deployment"):
        for svc, placements in doc["deployment"].items():
            svc_path = pointer("deployment", svc)
            if not c.obj(placements, svc_path):
                continue
            for placement, entry in placements.items():
                path = pointer_join(svc_path, placement)
                if not c.obj(entry, path, required=("profile", "count"), allowed=_DEPLOY_KEYS):
                    continue
                if "profile" in entry:
                    c.string(entry["profile"], path + "/profile")
                if "count" in entry:
                    c.integer(entry["count"], path + "/count", minimum=1)
    if (
        "endpoints" in doc
        and doc["endpoints"] is not None
        and c.obj(doc["endpoints"], "/endpoints")
    ):
        for name, endpoint in doc["endpoints"].items():
            path = pointer("endpoints", name)
            if not isinstance(name, str) or not _ENDPOINT_NAME_RE.match(name):
                c.add(path, "endpoint name must match ^[a-z]+[-_0-9a-z]+$")
            is_obj = c.obj(endpoint, path, required=("kind",), allowed=frozenset({"kind"}))
            if is_obj and "kind" in endpoint and endpoint["kind"] != "ip":
                c.add(path + "/kind", "must be 'ip'")
    if "include" in doc and (
        not isinstance(doc["include"], list) or not all(isinstance(i, str) for i in doc["include"])
    ):
        c.add("/include", "must be a list of strings")
    return c.problems


_DEPLOY_KEYS = frozenset({"profile", "count"})


def _check_service(c: _Checker, service: Any, path: str) -> None:
    if not c.obj(service, path, required=("image",), allowed=_SERVICE_KEYS):
        return
    if "image" in service:
        c.string(service["image"], path + "/image", min_length=1)
    for key in ("command", "args", "env"):
        if key in service:
            c.string_list_or_null(service[key], f"{path}/{key}")
    if "expose" in service and service["expose"] is not None:
        exposes = service["expose"]
        if not isinstance(exposes, list):
            c.add(path + "/expose", f"must be array (got {json_type_name(exposes)})")
        else:
            for i, expose in enumerate(exposes):
                _check_expose(c, expose, f"{path}/expose/{i}")
    if "dependencies" in service:
        deps = service["dependencies"]
        if not isinstance(deps, list):
            c.add(path + "/dependencies", "must be array")
        else:
            for i, dep in enumerate(deps):
                dpath = f"{path}/dependencies/{i}"
                if c.obj(dep, dpath, allowed=frozenset({"service"})) and "service" in dep:
                    c.string(dep["service"], dpath + "/service")
    if "params" in service and service["params"] is not None:
        params = service["params"]
        if c.obj(params, path + "/params", allowed=frozenset({"storage"})):
            storage = params.get("storage")
            if storage is not None and c.obj(storage, path + "/params/storage"):
                for name, volume in storage.items():
                    vpath = pointer_join(path + "/params/storage", name)
                    if volume is None:
                        continue  # reported by the semantic pass ("is not configured")
                    if not c.obj(volume, vpath, allowed=frozenset({"mount", "readOnly"})):
                        continue
                    if "mount" in volume and (
                        c.string(volume["mount"], vpath + "/mount", min_length=1)
                        and not volume["mount"].startswith("/")
                    ):
                        c.add(vpath + "/mount", "must be an absolute path (start with /)")
                    if "readOnly" in volume and not isinstance(volume["readOnly"], bool):
                        c.add(vpath + "/readOnly", "must be boolean")
    if "credentials" in service and service["credentials"] is not None:
        creds = service["credentials"]
        cpath = path + "/credentials"
        if c.obj(
            creds,
            cpath,
            required=("host", "username", "password"),
            allowed=frozenset({"host", "username", "password", "email"}),
        ):
            for key, minimum in (("host", 1), ("username", 1), ("password", 6), ("email", 5)):
                if key in creds:
                    value = creds[key]
                    if not isinstance(value, str) or len(value) < minimum:
                        c.add(f"{cpath}/{key}", f"must be a string of at least {minimum} chars")


def _check_expose(c: _Checker, expose: Any, path: str) -> None:
    if not c.obj(expose, path, required=("port",), allowed=_EXPOSE_KEYS):
        return
    if "port" in expose:
        c.integer(expose["port"], path + "/port", minimum=1, maximum=65535)
    if "as" in expose:
        c.integer(expose["as"], path + "/as", minimum=1, maximum=65535)
    if "proto" in expose and expose["proto"] not in PROTOCOLS:
        c.add(path + "/proto", "must be TCP or UDP")
    if "accept" in expose and (
        not isinstance(expose["accept"], list)
        or not all(isinstance(h, str) for h in expose["accept"])
    ):
        c.add(path + "/accept", "must be a list of host names")
    if "to" in expose and expose["to"] is not None:
        targets = expose["to"]
        if not isinstance(targets, list):
            c.add(path + "/to", f"must be array (got {json_type_name(targets)})")
        else:
            for i, to in enumerate(targets):
                tpath = f"{path}/to/{i}"
                if not c.obj(to, tpath, allowed=_EXPOSE_TO_KEYS):
                    continue
                if "global" in to and not isinstance(to["global"], bool):
                    c.add(tpath + "/global", "must be boolean")
                if "service" in to:
                    c.string(to["service"], tpath + "/service")
                has_ip = "ip" in to and c.string(to["ip"], tpath + "/ip", min_length=1)
                if has_ip and to.get("global") is not True:
                    c.add(
                        tpath + "/global",
                        "If an IP is declared, the directive must be declared as global.",
                    )
    if "http_options" in expose:
        options = expose["http_options"]
        opath = path + "/http_options"
        allowed = frozenset({*_HTTP_OPTION_LIMITS, "next_cases"})
        if c.obj(options, opath, allowed=allowed):
            for key, maximum in _HTTP_OPTION_LIMITS.items():
                if key in options:
                    c.integer(options[key], f"{opath}/{key}", minimum=0, maximum=maximum)
            if "next_cases" in options:
                cases = options["next_cases"]
                if not isinstance(cases, list) or not all(
                    isinstance(x, str) and x in HTTP_ERROR_CODES for x in cases
                ):
                    c.add(
                        opath + "/next_cases", f"items must be one of {', '.join(HTTP_ERROR_CODES)}"
                    )
                elif "off" in cases and len(cases) != 1:
                    c.add(opath + "/next_cases", "'off' must be the only item")


def _check_compute(c: _Checker, compute: Any, path: str) -> None:
    if not c.obj(compute, path, required=("resources",), allowed=frozenset({"resources"})):
        return
    if "resources" not in compute:
        return
    rpath = path + "/resources"
    res = compute["resources"]
    if not c.obj(res, rpath, required=("cpu", "memory", "storage"), allowed=_RESOURCE_KEYS):
        return
    if "cpu" in res and c.obj(
        res["cpu"], rpath + "/cpu", required=("units",), allowed=frozenset({"units", "attributes"})
    ):
        cpu = res["cpu"]
        if "units" in cpu:
            units = cpu["units"]
            ok = (isinstance(units, str) and bool(_CPU_UNITS_RE.match(units))) or (
                isinstance(units, int | float) and not isinstance(units, bool) and units >= 0
            )
            if not ok:
                c.add(rpath + "/cpu/units", 'must be a number >= 0 or a string like "100m"')
        if "attributes" in cpu and not isinstance(cpu["attributes"], dict):
            c.add(rpath + "/cpu/attributes", "must be object")
    memory = res.get("memory")
    if (
        "memory" in res
        and c.obj(memory, rpath + "/memory", required=("size",), allowed=frozenset({"size"}))
        and "size" in memory
        and c.string(memory["size"], rpath + "/memory/size")
    ):
        _check_size(c, memory["size"], rpath + "/memory/size")
    if "storage" in res:
        storage = res["storage"]
        if isinstance(storage, list):
            if not storage:
                c.add(rpath + "/storage", "must list at least one volume")
            for i, volume in enumerate(storage):
                _check_volume(c, volume, f"{rpath}/storage/{i}")
        elif isinstance(storage, dict):
            _check_volume(c, storage, rpath + "/storage")
        else:
            c.add(rpath + "/storage", f"must be object or array (got {json_type_name(storage)})")
    if "gpu" in res:
        _check_gpu(c, res["gpu"], rpath + "/gpu")


def _check_size(c: _Checker, size: str, path: str) -> None:
    try:
        parse_size(size)
    except ValueError:
        c.add(path, f"invalid size {size!r} (use e.g. 512Mi, 16Gi, 1Ti)")


def _check_volume(c: _Checker, volume: Any, path: str) -> None:
    if not c.obj(
        volume, path, required=("size",), allowed=frozenset({"size", "name", "attributes"})
    ):
        return
    if "size" in volume and c.string(volume["size"], path + "/size"):
        _check_size(c, volume["size"], path + "/size")
    if "name" in volume:
        c.string(volume["name"], path + "/name", min_length=1)
    if "attributes" in volume:
        attrs = volume["attributes"]
        apath = path + "/attributes"
        if c.obj(attrs, apath, allowed=frozenset({"class", "persistent"})):
            if "class" in attrs:
                c.string(attrs["class"], apath + "/class")
            if "persistent" in attrs and not isinstance(attrs["persistent"], bool | str):
                c.add(apath + "/persistent", "must be boolean")
            if attrs.get("class") == "ram" and _truthy(attrs.get("persistent")):
                c.add(apath, '"ram" storage cannot be persistent')


def _check_gpu(c: _Checker, gpu: Any, path: str) -> None:
    if not c.obj(gpu, path, required=("units",), allowed=frozenset({"units", "attributes"})):
        return
    if "units" in gpu:
        try:
            parse_gpu_units(gpu["units"])
        except ValueError:
            c.add(path + "/units", "must be a whole number >= 0")
    if "attributes" not in gpu:
        return
    attrs = gpu["attributes"]
    apath = path + "/attributes"
    if not c.obj(attrs, apath, allowed=frozenset({"vendor"})):
        return
    if "vendor" not in attrs:
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
        mpath = f"{vpath}/nvidia/{i}"
        if not c.obj(model, mpath, allowed=frozenset({"model", "ram", "interface"})):
            continue
        if "model" in model:
            c.string(model["model"], mpath + "/model", min_length=1)
        if "ram" in model:
            c.string(model["ram"], mpath + "/ram", min_length=1)
        if "interface" in model and model["interface"] not in GPU_INTERFACES:
            c.add(mpath + "/interface", "must be pcie or sxm")


def _check_placement(c: _Checker, placement: Any, path: str) -> None:
    allowed = frozenset({"attributes", "pricing", "signedBy"})
    if not c.obj(placement, path, required=("pricing",), allowed=allowed):
        return
    if "attributes" in placement and not isinstance(placement["attributes"], dict):
        c.add(path + "/attributes", "must be object")
    if "signedBy" in placement and c.obj(
        placement["signedBy"], path + "/signedBy", allowed=frozenset({"anyOf", "allOf"})
    ):
        for key, value in placement["signedBy"].items():
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                c.add(f"{path}/signedBy/{key}", "must be a list of addresses")
    if "pricing" not in placement:
        return
    if not c.obj(placement["pricing"], path + "/pricing"):
        return
    for profile, price in placement["pricing"].items():
        ppath = pointer_join(path + "/pricing", profile)
        if not c.obj(price, ppath, required=("denom", "amount"), allowed=_PRICE_KEYS):
            continue
        if "denom" in price:
            c.string(price["denom"], ppath + "/denom", min_length=1)
        if "amount" in price:
            try:
                parse_amount(price["amount"])
            except ValueError:
                c.add(ppath + "/amount", "must be a number >= 0 (or a numeric string)")


_PRICE_KEYS = frozenset({"denom", "amount"})


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _volumes(storage: Any) -> list[dict[str, Any]]:
    if isinstance(storage, dict):
        return [storage]
    if isinstance(storage, list):
        return [v for v in storage if isinstance(v, dict)]
    return []


# -- validation: semantics -----------------------------------------------------------------


def _check_semantics(doc: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    services: dict[str, Any] = doc["services"]
    deployment: dict[str, Any] = doc["deployment"]
    compute_profiles: dict[str, Any] = doc["profiles"]["compute"]
    placements: dict[str, Any] = doc["profiles"]["placement"]
    endpoints: dict[str, Any] = doc.get("endpoints") or {}

    if not services:
        problems.append(("/services", "must define at least one service"))
    for svc in deployment:
        if svc not in services:
            problems.append(
                (pointer("deployment", svc), f'Service "{svc}" is not defined at "/services".')
            )

    endpoints_used: set[str] = set()
    ip_ports: dict[tuple[str, int, str], str] = {}
    for name, service in services.items():
        svc_deploy = deployment.get(name)
        if not svc_deploy:
            problems.append(("/deployment", f'Service "{name}" is not defined at "/deployment".'))
        else:
            for placement_name, entry in svc_deploy.items():
                problems.extend(
                    _check_deployment_entry(
                        name=name,
                        service=service,
                        placement_name=placement_name,
                        entry=entry,
                        compute_profiles=compute_profiles,
                        placements=placements,
                    )
                )
        seen_exposes: set[tuple[int, int, str, bool, str]] = set()
        for i, expose in enumerate(service.get("expose") or []):
            proto = str(expose.get("proto") or "TCP").upper()
            external = expose.get("as") or expose["port"]
            for j, to in enumerate(expose.get("to") or [{}]):
                key = (
                    expose["port"],
                    external,
                    proto,
                    bool(to.get("global")),
                    str(to.get("service") or to.get("ip") or ""),
                )
                if key in seen_exposes:
                    problems.append(
                        (
                            pointer("services", name, "expose", i),
                            f'Service "{name}" exposes port {expose["port"]}/{proto} '
                            f"as {external} more than once.",
                        )
                    )
                seen_exposes.add(key)
                ip = to.get("ip")
                if not ip:
                    continue
                tpath = pointer("services", name, "expose", i, "to", j)
                if ip not in endpoints:
                    problems.append(
                        (
                            pointer("endpoints", ip),
                            f'Unknown endpoint "{ip}" for service "{name}". '
                            'Add it to the "endpoints" section.',
                        )
                    )
                endpoints_used.add(ip)
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
    for endpoint in endpoints:
        if endpoint not in endpoints_used:
            problems.append(
                (pointer("endpoints", endpoint), f'Endpoint "{endpoint}" declared but never used.')
            )
    return problems


def _check_deployment_entry(
    *,
    name: str,
    service: dict[str, Any],
    placement_name: str,
    entry: dict[str, Any],
    compute_profiles: dict[str, Any],
    placements: dict[str, Any],
) -> list[Problem]:
    problems: list[Problem] = []
    profile = entry["profile"]
    placement = placements.get(placement_name)
    compute = compute_profiles.get(profile)
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
    volumes = _volumes(resources.get("storage"))
    storage_params: dict[str, Any] = ((service.get("params") or {}).get("storage")) or {}
    mounts: dict[str, str] = {}
    for storage_name, volume in storage_params.items():
        vpath = pointer("services", name, "params", "storage", storage_name)
        if volume is None:
            problems.append((vpath, f'Storage "{storage_name}" is not configured.'))
            continue
        if not any((v.get("name") or "default") == storage_name for v in volumes):
            problems.append(
                (
                    pointer("profiles", "compute", profile, "resources", "storage"),
                    f'Service "{name}" references non-existing compute volume "{storage_name}".',
                )
            )
            continue
        mount = volume.get("mount")
        if mount:
            if mount in mounts:
                problems.append(
                    (
                        vpath + "/mount",
                        f'Mount "{mount}" already in use by volume "{mounts[mount]}".',
                    )
                )
            mounts[mount] = storage_name
    for volume in volumes:
        attrs = volume.get("attributes") or {}
        volume_name = volume.get("name") or "default"
        if _truthy(attrs.get("persistent")) and not (storage_params.get(volume_name) or {}).get(
            "mount"
        ):
            problems.append(
                (
                    pointer("services", name, "params", "storage", volume_name),
                    f'Persistent storage "{volume_name}" requires a mount path in '
                    f"/services/{name}/params/storage/{volume_name}/mount.",
                )
            )
    gpu = resources.get("gpu")
    if gpu is not None:
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


def validate_sdl(doc: Any) -> list[Problem]:
    """Schema problems; if there are none, the semantic problems. ``[]`` means valid."""
    problems = _check_schema(doc)
    if problems:
        return problems
    return _check_semantics(doc)


# -- manifest ------------------------------------------------------------------------------


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

    @property
    def max_price_per_block(self) -> Decimal:
        """What the group may cost per block at most: Σ unit price x count."""
        return sum((r.price * r.count for r in self.resources), Decimal(0))

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(s for r in self.resources for s in r.services)


def _is_ingress(proto: str, global_: bool, external_port: int, port: int) -> bool:
    effective = external_port or port
    return global_ and proto == "TCP" and effective == 80


def _endpoint_sequence_numbers(services: Mapping[str, Any]) -> dict[str, int]:
    ips = sorted(
        {
            to["ip"]
            for service in services.values()
            for expose in service.get("expose") or []
            for to in expose.get("to") or []
            if to.get("global") and to.get("ip")
        }
    )
    return {ip: i + 1 for i, ip in enumerate(ips)}


def _service_endpoints(service: Mapping[str, Any], seq: Mapping[str, int]) -> list[dict[str, int]]:
    endpoints: list[dict[str, int]] = []
    for expose in service.get("expose") or []:
        proto = str(expose.get("proto") or "TCP").upper()
        for to in expose.get("to") or []:
            if not to.get("global"):
                continue
            ingress = _is_ingress(proto, True, expose.get("as") or 0, expose["port"])
            kind = ENDPOINT_SHARED_HTTP if ingress else ENDPOINT_RANDOM_PORT
            endpoints.append(_endpoint(kind, 0))
            if to.get("ip"):
                endpoints.append(_endpoint(ENDPOINT_LEASED_IP, seq.get(to["ip"], 0)))
    return endpoints


def _endpoint(kind: int, sequence: int) -> dict[str, int]:
    # protobuf JSON omits the zero enum value (SHARED_HTTP), as in chain-sdk fixtures.
    return (
        {"sequence_number": sequence} if kind == 0 else {"kind": kind, "sequence_number": sequence}
    )


def _gpu_options(gpu: Mapping[str, Any] | None) -> tuple[GpuRequest, ...]:
    vendor = ((gpu or {}).get("attributes") or {}).get("vendor") or {}
    options: list[GpuRequest] = []
    for vendor_name, models in vendor.items():
        if not models:
            options.append(GpuRequest(vendor=vendor_name))
            continue
        for model in models:
            options.append(
                GpuRequest(
                    vendor=vendor_name,
                    model=model.get("model"),
                    ram=model.get("ram"),
                    interface=model.get("interface"),
                )
            )
    return tuple(options)


def _manifest_resources(
    res_id: int, resources: Mapping[str, Any], endpoints: list[dict[str, int]]
) -> dict[str, Any]:
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
    for volume in _volumes(resources["storage"]):
        item: dict[str, Any] = {
            "name": volume.get("name") or "default",
            "size": {"val": str(parse_size(volume["size"]))},
        }
        attrs = _storage_attributes(volume.get("attributes"))
        if attrs:
            item["attributes"] = attrs
        storage.append(item)
    return {
        "id": res_id,
        "cpu": cpu,
        "memory": {"size": {"val": str(parse_size(resources["memory"]["size"]))}},
        "storage": storage,
        "gpu": gpu,
        "endpoints": sorted(endpoints, key=lambda e: (e.get("kind", 0), e["sequence_number"])),
    }


def _storage_attributes(attributes: Mapping[str, Any] | None) -> list[dict[str, str]]:
    if not attributes:
        return []
    pairs = [
        {"key": k, "value": str(v).lower() if isinstance(v, bool) else str(v)}
        for k, v in attributes.items()
    ]
    if attributes.get("class") == "ram" and "persistent" not in attributes:
        pairs.append({"key": "persistent", "value": "false"})
    return sorted(pairs, key=lambda p: p["key"])


def _manifest_expose(service: Mapping[str, Any], seq: Mapping[str, int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for expose in service.get("expose") or []:
        options = expose.get("http_options") or {}
        http_options = {
            "maxBodySize": options.get("max_body_size") or 1_048_576,
            "readTimeout": options.get("read_timeout") or 60_000,
            "sendTimeout": options.get("send_timeout") or 60_000,
            "nextTries": options.get("next_tries") or 3,
            "nextTimeout": options.get("next_timeout") or 0,
            "nextCases": options.get("next_cases") or ["error", "timeout"],
        }
        for to in expose.get("to") or []:
            out.append(
                {
                    "port": expose["port"],
                    "externalPort": expose.get("as") or 0,
                    "proto": str(expose.get("proto") or "TCP").upper(),
                    "service": to.get("service") or "",
                    "global": bool(to.get("global")),
                    "hosts": list(expose["accept"]) if expose.get("accept") else None,
                    "httpOptions": http_options,
                    "ip": to.get("ip") or "",
                    "endpointSequenceNumber": seq.get(to.get("ip") or "", 0),
                }
            )
    out.sort(key=lambda e: (e["service"], e["port"], e["proto"], not e["global"]))
    return out


def _placement_pairs(doc: Mapping[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    by_placement: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for svc in sorted(doc["deployment"]):
        for placement, entry in doc["deployment"][svc].items():
            by_placement.setdefault(placement, []).append((svc, entry))
    return dict(sorted(by_placement.items()))


def group_specs(doc: Mapping[str, Any]) -> list[GroupSpec]:
    """The deployment's groups (one per placement, sorted by name, as the chain orders them).

    ``doc`` must be a valid SDL document (see :func:`load_sdl`).
    """
    seq = _endpoint_sequence_numbers(doc["services"])
    groups: list[GroupSpec] = []
    for placement_name, pairs in _placement_pairs(doc).items():
        placement = doc["profiles"]["placement"][placement_name]
        units: dict[str, dict[str, Any]] = {}
        for svc, entry in pairs:
            profile = entry["profile"]
            endpoints = [e.get("kind", 0) for e in _service_endpoints(doc["services"][svc], seq)]
            if profile in units:
                units[profile]["count"] += entry["count"]
                units[profile]["services"].append(svc)
                units[profile]["endpoints"].extend(endpoints)
                continue
            units[profile] = {"count": entry["count"], "services": [svc], "endpoints": endpoints}
        resources: list[ResourceUnit] = []
        for profile, unit in units.items():
            res = doc["profiles"]["compute"][profile]["resources"]
            price = placement["pricing"][profile]
            gpu = res.get("gpu") or {}
            resources.append(
                ResourceUnit(
                    profile=profile,
                    services=tuple(unit["services"]),
                    count=unit["count"],
                    cpu_millis=parse_cpu_millis(res["cpu"]["units"]),
                    memory_bytes=parse_size(res["memory"]["size"]),
                    storage=tuple(
                        (
                            v.get("name") or "default",
                            parse_size(v["size"]),
                            tuple(
                                (a["key"], a["value"])
                                for a in _storage_attributes(v.get("attributes"))
                            ),
                        )
                        for v in _volumes(res["storage"])
                    ),
                    gpu_units=parse_gpu_units(gpu.get("units")),
                    gpu_options=_gpu_options(gpu),
                    gpu_keys=tuple(gpu_attribute_keys(gpu.get("attributes"))),
                    endpoint_kinds=tuple(sorted(unit["endpoints"])),
                    price=parse_amount(price["amount"]),
                    denom=price["denom"],
                )
            )
        signed_by = (placement.get("signedBy") or {}).get("anyOf") or []
        groups.append(
            GroupSpec(
                name=placement_name,
                resources=tuple(resources),
                signed_by_any_of=tuple(signed_by),
                attributes=tuple(
                    (str(k), str(v)) for k, v in sorted((placement.get("attributes") or {}).items())
                ),
            )
        )
    return groups


def build_manifest(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The provider manifest (``[{name, services: [...]}]``) for a valid SDL document.

    Same JSON form as chain-sdk's ``gpu_basic_ram_interface.manifest.json`` fixture: groups
    sorted by placement name, services by name, resource ids per bound compute profile.
    """
    seq = _endpoint_sequence_numbers(doc["services"])
    manifest: list[dict[str, Any]] = []
    for placement_name, pairs in _placement_pairs(doc).items():
        resource_ids: dict[str, int] = {}
        services: list[dict[str, Any]] = []
        for svc, entry in pairs:
            service = doc["services"][svc]
            profile = entry["profile"]
            res_id = resource_ids.setdefault(profile, len(resource_ids) + 1)
            resources = doc["profiles"]["compute"][profile]["resources"]
            params = None
            storage_params = (service.get("params") or {}).get("storage")
            if service.get("params") is not None:
                params = {
                    "storage": [
                        {
                            "name": name,
                            "mount": (cfg or {}).get("mount") or "",
                            "readOnly": bool((cfg or {}).get("readOnly")),
                        }
                        for name, cfg in (storage_params or {}).items()
                    ]
                }
            credentials = service.get("credentials")
            entry_json: dict[str, Any] = {
                "name": svc,
                "image": service["image"],
                "command": service.get("command") or None,
                "args": service.get("args") or None,
                "env": service.get("env") or None,
                "resources": _manifest_resources(
                    res_id, resources, _service_endpoints(service, seq)
                ),
                "count": entry["count"],
                "expose": _manifest_expose(service, seq),
                "credentials": (
                    {
                        "host": credentials["host"],
                        "email": credentials.get("email", ""),
                        "username": credentials["username"],
                        "password": credentials["password"],
                    }
                    if credentials
                    else None
                ),
            }
            if params is not None:  # omitted when absent, as in chain-sdk's fixtures
                entry_json["params"] = params
            services.append(entry_json)
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


# -- quick form → SDL ----------------------------------------------------------------------

_IMAGE_RE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]*$", re.IGNORECASE)
_GPU_MODEL_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$", re.IGNORECASE)


@dataclass(frozen=True)
class QuickForm:
    """The create flow's short form, turned into a full SDL by :func:`build_sdl`.

    ``port`` is the container port; it is exposed globally ``as: 80`` (so it gets an HTTP
    ingress URI) when ``http`` is true, else as itself (a forwarded random port).
    ``gpu_model`` ``None`` or ``"any"`` asks for any NVIDIA model; ``gpu_units`` 0 means no GPU.
    """

    image: str
    gpu_model: str | None = None
    gpu_units: int = 1
    cpu: Decimal | float | str = Decimal(1)
    memory: str = "4Gi"
    storage: str = "10Gi"
    port: int | None = 8080
    http: bool = True
    max_price_usd_per_hour: Decimal | float | str = Decimal(1)
    service_name: str = "app"
    placement_name: str = "dcloud"
    env: tuple[str, ...] = field(default_factory=tuple)
    command: tuple[str, ...] = field(default_factory=tuple)
    args: tuple[str, ...] = field(default_factory=tuple)

    def problems(self) -> list[Problem]:
        """Problems keyed by form field name; ``[]`` when the form is usable."""
        problems: list[Problem] = []
        image = (self.image or "").strip()
        if not image:
            problems.append(("image", "Enter a container image, e.g. nginx:1.27"))
        elif not _IMAGE_RE.match(image):
            problems.append(("image", f"{image!r} is not a valid image reference"))
        if isinstance(self.gpu_units, bool) or not isinstance(self.gpu_units, int):
            problems.append(("gpu_units", "GPU count must be a whole number"))
        elif not 0 <= self.gpu_units <= 8:
            problems.append(("gpu_units", "GPU count must be between 0 and 8"))
        if (
            self.gpu_model
            and self.gpu_model.lower() != "any"
            and not _GPU_MODEL_RE.match(self.gpu_model)
        ):
            problems.append(("gpu_model", f"{self.gpu_model!r} is not a GPU model like rtx4090"))
        try:
            cpu = Decimal(str(self.cpu))
            if not cpu.is_finite() or cpu <= 0 or cpu > 256:
                raise ValueError
        except (InvalidOperation, ValueError):
            problems.append(("cpu", "CPU must be a number of cores between 0.1 and 256"))
        for name, value in (("memory", self.memory), ("storage", self.storage)):
            try:
                if parse_size(value) <= 0:
                    raise ValueError
            except ValueError:
                problems.append((name, f"{value!r} is not a size like 16Gi"))
        if self.port is not None and (
            isinstance(self.port, bool)
            or not isinstance(self.port, int)
            or not 1 <= self.port <= 65535
        ):
            problems.append(("port", "Port must be between 1 and 65535"))
        try:
            price = Decimal(str(self.max_price_usd_per_hour))
            if not price.is_finite() or price <= 0:
                raise ValueError
        except (InvalidOperation, ValueError):
            problems.append(("max_price_usd_per_hour", "Max price must be a positive USD amount"))
        for name, value in (
            ("service_name", self.service_name),
            ("placement_name", self.placement_name),
        ):
            if not _ENDPOINT_NAME_RE.match(value or ""):
                problems.append((name, "Use lowercase letters, digits, - or _"))
        return problems


def build_sdl(form: QuickForm) -> str:
    """A complete SDL v2.0 for a quick form; raises :class:`SdlError` (form field paths)."""
    problems = form.problems()
    if problems:
        raise SdlError(problems)
    svc = form.service_name
    service: dict[str, Any] = {"image": form.image.strip()}
    if form.command:
        service["command"] = list(form.command)
    if form.args:
        service["args"] = list(form.args)
    if form.env:
        service["env"] = list(form.env)
    if form.port is not None:
        expose: dict[str, Any] = {"port": form.port}
        if form.http:
            expose["as"] = 80
        expose["to"] = [{"global": True}]
        service["expose"] = [expose]
    cpu = Decimal(str(form.cpu)).normalize()
    resources: dict[str, Any] = {
        "cpu": {"units": int(cpu) if cpu == cpu.to_integral_value() else float(cpu)},
        "memory": {"size": form.memory},
        "storage": [{"size": form.storage}],
    }
    if form.gpu_units > 0:
        model = form.gpu_model
        nvidia = None if not model or model.lower() == "any" else [{"model": model.lower()}]
        resources["gpu"] = {"units": form.gpu_units, "attributes": {"vendor": {"nvidia": nvidia}}}
    per_block = amount_per_block(Decimal(str(form.max_price_usd_per_hour))).to_integral_value(
        rounding=ROUND_CEILING
    )
    doc = {
        "version": "2.0",
        "services": {svc: service},
        "profiles": {
            "compute": {svc: {"resources": resources}},
            "placement": {
                form.placement_name: {"pricing": {svc: {"denom": "uact", "amount": int(per_block)}}}
            },
        },
        "deployment": {svc: {form.placement_name: {"profile": svc, "count": 1}}},
    }
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
    problems = check_sdl(text)
    if problems:  # pragma: no cover - a bug in this builder, not in the form
        raise SdlError(problems)
    return text


__all__ = [
    "BLOCKS_PER_HOUR",
    "BLOCK_SECONDS",
    "GpuRequest",
    "GroupSpec",
    "Problem",
    "QuickForm",
    "ResourceUnit",
    "SdlError",
    "amount_per_block",
    "build_manifest",
    "build_sdl",
    "check_sdl",
    "format_problems",
    "gpu_attribute_keys",
    "group_specs",
    "load_sdl",
    "manifest_hash",
    "manifest_json",
    "max_price_per_block",
    "max_price_per_hour_usd",
    "parse_amount",
    "parse_cpu_millis",
    "parse_gpu_units",
    "parse_sdl",
    "parse_size",
    "pointer_to_dotted",
    "requested_gpu_models",
    "usd_per_hour",
    "validate_sdl",
]
