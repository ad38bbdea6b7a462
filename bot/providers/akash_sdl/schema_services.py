"""Schema rules for ``services.<name>``: image, command/args/env, expose, params, credentials.

Follows chain-sdk ``go/sdl/sdl-input.schema.yaml`` (the JSON schema the Console's SDL
pipeline applies) for SDL 2.0 and 2.1.
"""

from __future__ import annotations

from typing import Any

from bot.providers.akash_sdl.checker import Checker
from bot.providers.akash_sdl.problems import json_type_name, pointer_join

PROTOCOLS = ("TCP", "UDP", "tcp", "udp")
HTTP_ERROR_CODES = ("error", "timeout", "500", "502", "503", "504", "403", "404", "429", "off")
#: ``params.tee``: confidential computing on the CPU only, or on the CPU and its GPUs.
TEE_TYPES = ("cpu", "cpu-gpu")
#: ``params.permissions.read``: what the tenant's lease token may read.
READ_PERMISSIONS = ("deployment", "logs", "events")

SERVICE_KEYS = frozenset(
    {"image", "command", "args", "env", "expose", "dependencies", "params", "credentials"}
)
_EXPOSE_KEYS = frozenset({"port", "as", "proto", "to", "accept", "http_options"})
_EXPOSE_TO_KEYS = frozenset({"global", "ip", "service"})
_PARAMS_KEYS = frozenset({"storage", "permissions", "tee"})
_CREDENTIAL_MIN_LENGTHS = {"host": 1, "username": 1, "password": 6, "email": 5}
_HTTP_OPTION_LIMITS: dict[str, int | None] = {
    "max_body_size": 104_857_600,
    "read_timeout": 60_000,
    "send_timeout": 60_000,
    "next_tries": None,
    "next_timeout": None,
    "proxy_buffer_size": 1_048_576,
}


def check_service(c: Checker, service: Any, path: str) -> None:
    if not c.obj(service, path, required=("image",), allowed=SERVICE_KEYS):
        return
    if "image" in service:
        c.string(service["image"], path + "/image", min_length=1)
    for key in ("command", "args", "env"):
        if key in service:
            c.string_list(service[key], f"{path}/{key}", nullable=True)
    if service.get("expose") is not None:
        _check_exposes(c, service["expose"], path + "/expose")
    if "dependencies" in service:
        _check_dependencies(c, service["dependencies"], path + "/dependencies")
    if service.get("params") is not None:
        _check_params(c, service["params"], path + "/params")
    if "credentials" in service:
        _check_credentials(c, service["credentials"], path + "/credentials")


def _check_exposes(c: Checker, exposes: Any, path: str) -> None:
    if not isinstance(exposes, list):
        c.add(path, f"must be array (got {json_type_name(exposes)})")
        return
    for i, expose in enumerate(exposes):
        _check_expose(c, expose, f"{path}/{i}")


def _check_dependencies(c: Checker, deps: Any, path: str) -> None:
    if not isinstance(deps, list):
        c.add(path, f"must be array (got {json_type_name(deps)})")
        return
    for i, dep in enumerate(deps):
        dpath = f"{path}/{i}"
        if c.obj(dep, dpath, allowed=frozenset({"service"})) and "service" in dep:
            c.string(dep["service"], dpath + "/service")


def _check_params(c: Checker, params: Any, path: str) -> None:
    if not c.obj(params, path, allowed=_PARAMS_KEYS):
        return
    if params.get("storage") is not None:
        _check_storage_params(c, params["storage"], path + "/storage")
    if "permissions" in params:
        _check_permissions(c, params["permissions"], path + "/permissions")
    if "tee" in params:
        c.one_of(params["tee"], path + "/tee", TEE_TYPES)


def _check_storage_params(c: Checker, storage: Any, path: str) -> None:
    if not c.obj(storage, path):
        return
    for name, volume in storage.items():
        vpath = pointer_join(path, name)
        if volume is None:
            continue  # reported by the semantic pass ("is not configured")
        if not c.obj(volume, vpath, allowed=frozenset({"mount", "readOnly"})):
            continue
        mount = volume.get("mount")
        mount_ok = "mount" in volume and c.string(mount, vpath + "/mount", min_length=1)
        if mount_ok and not mount.startswith("/"):
            c.add(vpath + "/mount", "must be an absolute path (start with /)")
        if "readOnly" in volume:
            c.boolean(volume["readOnly"], vpath + "/readOnly")


def _check_permissions(c: Checker, permissions: Any, path: str) -> None:
    if not c.obj(permissions, path, allowed=frozenset({"read"})) or "read" not in permissions:
        return
    read = permissions["read"]
    if not isinstance(read, list):
        c.add(path + "/read", f"must be array (got {json_type_name(read)})")
        return
    for i, item in enumerate(read):
        c.one_of(item, f"{path}/read/{i}", READ_PERMISSIONS)


def _check_credentials(c: Checker, creds: Any, path: str) -> None:
    if not c.obj(
        creds,
        path,
        required=("host", "username", "password"),
        allowed=frozenset(_CREDENTIAL_MIN_LENGTHS),
    ):
        return
    for key, minimum in _CREDENTIAL_MIN_LENGTHS.items():
        if key in creds:
            value = creds[key]
            if not isinstance(value, str) or len(value) < minimum:
                c.add(f"{path}/{key}", f"must be a string of at least {minimum} characters")


def _check_expose(c: Checker, expose: Any, path: str) -> None:
    if not c.obj(expose, path, required=("port",), allowed=_EXPOSE_KEYS):
        return
    if "port" in expose:
        c.integer(expose["port"], path + "/port", minimum=1, maximum=65535)
    if "as" in expose:
        c.integer(expose["as"], path + "/as", minimum=1, maximum=65535)
    if "proto" in expose and expose["proto"] not in PROTOCOLS:
        c.add(path + "/proto", f"must be TCP or UDP (got {expose['proto']!r})")
    if "accept" in expose:
        c.string_list(expose["accept"], path + "/accept")
    if expose.get("to") is not None:
        _check_targets(c, expose["to"], path + "/to")
    if "http_options" in expose:
        _check_http_options(c, expose["http_options"], path + "/http_options")


def _check_targets(c: Checker, targets: Any, path: str) -> None:
    if not isinstance(targets, list):
        c.add(path, f"must be array (got {json_type_name(targets)})")
        return
    for i, to in enumerate(targets):
        tpath = f"{path}/{i}"
        if not c.obj(to, tpath, allowed=_EXPOSE_TO_KEYS):
            continue
        if "global" in to:
            c.boolean(to["global"], tpath + "/global")
        if "service" in to:
            c.string(to["service"], tpath + "/service")
        has_ip = "ip" in to and c.string(to["ip"], tpath + "/ip", min_length=1)
        if has_ip and to.get("global") is not True:
            c.add(
                tpath + "/global",
                "If an IP is declared, the directive must be declared as global.",
            )


def _check_http_options(c: Checker, options: Any, path: str) -> None:
    if not c.obj(options, path, allowed=frozenset({*_HTTP_OPTION_LIMITS, "next_cases"})):
        return
    for key, maximum in _HTTP_OPTION_LIMITS.items():
        if key in options:
            c.integer(options[key], f"{path}/{key}", minimum=0, maximum=maximum)
    if "next_cases" not in options:
        return
    cases = options["next_cases"]
    if not isinstance(cases, list) or not all(
        isinstance(x, str) and x in HTTP_ERROR_CODES for x in cases
    ):
        c.add(path + "/next_cases", f"items must be one of {', '.join(HTTP_ERROR_CODES)}")
    elif "off" in cases and len(cases) != 1:
        c.add(path + "/next_cases", "'off' must be the only item")
