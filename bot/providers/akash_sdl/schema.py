"""The schema pass: the document's shape (required keys, no unknown keys, types and ranges).

Follows chain-sdk ``go/sdl/sdl-input.schema.yaml``, the JSON schema of SDL 2.0 and 2.1.
Problems are ``(JSON pointer, message)``; unknown keys name the key and the SDL version.
"""

from __future__ import annotations

import re
from typing import Any

from bot.providers.akash_sdl.checker import Checker
from bot.providers.akash_sdl.problems import Problem, pointer, pointer_join
from bot.providers.akash_sdl.schema_profiles import check_profiles
from bot.providers.akash_sdl.schema_services import check_service

SDL_VERSIONS = ("2.0", "2.1")
TOP_KEYS = frozenset(
    {"version", "services", "profiles", "deployment", "endpoints", "include", "reclamation"}
)
ENDPOINT_NAME_RE = re.compile(r"^[a-z]+[-_0-9a-z]+$")
#: ``reclamation.min_window``: a whole number of seconds, minutes or hours (``24h``).
RECLAMATION_WINDOW_RE = re.compile(r"^[1-9][0-9]*(s|m|h)$")
_DEPLOY_KEYS = frozenset({"profile", "count"})


def check_schema(doc: Any) -> list[Problem]:
    """Every schema problem of a parsed document; ``[]`` when its shape is valid."""
    version = doc.get("version") if isinstance(doc, dict) else None
    c = Checker(version if version in SDL_VERSIONS else None)
    required = ("version", "services", "profiles", "deployment")
    if not c.obj(doc, "", required=required, allowed=TOP_KEYS):
        return c.problems
    if "version" in doc and doc["version"] not in SDL_VERSIONS:
        choices = ", ".join(repr(v) for v in SDL_VERSIONS)
        c.add("/version", f"must be one of {choices} (a string), got {doc['version']!r}")
    if "services" in doc and c.obj(doc["services"], "/services"):
        for name, service in doc["services"].items():
            check_service(c, service, pointer("services", name))
    if "profiles" in doc:
        check_profiles(c, doc["profiles"])
    if "deployment" in doc:
        _check_deployment(c, doc["deployment"])
    if doc.get("endpoints") is not None:
        _check_endpoints(c, doc["endpoints"])
    if "include" in doc:
        c.string_list(doc["include"], "/include")
    if "reclamation" in doc:
        _check_reclamation(c, doc["reclamation"])
    return c.problems


def _check_deployment(c: Checker, deployment: Any) -> None:
    if not c.obj(deployment, "/deployment"):
        return
    for svc, placements in deployment.items():
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


def _check_endpoints(c: Checker, endpoints: Any) -> None:
    if not c.obj(endpoints, "/endpoints"):
        return
    for name, endpoint in endpoints.items():
        path = pointer("endpoints", name)
        if not isinstance(name, str) or not ENDPOINT_NAME_RE.match(name):
            c.add(path, f"endpoint name {name!r} must match ^[a-z]+[-_0-9a-z]+$")
        is_obj = c.obj(endpoint, path, required=("kind",), allowed=frozenset({"kind"}))
        if is_obj and "kind" in endpoint and endpoint["kind"] != "ip":
            c.add(path + "/kind", f"must be 'ip' (got {endpoint['kind']!r})")


def _check_reclamation(c: Checker, reclamation: Any) -> None:
    allowed = frozenset({"min_window"})
    if not c.obj(reclamation, "/reclamation", required=("min_window",), allowed=allowed):
        return
    window = reclamation.get("min_window")
    path = "/reclamation/min_window"
    if "min_window" not in reclamation or not c.string(window, path):
        return
    if not RECLAMATION_WINDOW_RE.match(window):
        c.add(path, f"must be a whole number > 0 followed by s, m or h, e.g. 24h (got {window!r})")
