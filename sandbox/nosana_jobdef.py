"""The Nosana deployment manager's job-definition check (the emulator's own reading).

Written from /work/shared/specs/nosana.md §7 and the type declarations of npm
``@nosana/types`` 2.1.6 (``dist/Jobs/JobDefinition/**``), whose typia validator the
deployment manager runs: exact-object types (an unknown key is an error whose expected type
is ``undefined``), unions, and the tagged rules (op ids without spaces and unique, exposed
ports unique with non-overlapping ranges, literal ``%%ops.…%%`` strings, spread markers).
Issues are ``(path, expected)`` in typia's notation (``$input.ops[0].args.env.A``).

Declared types are built from a few combinators below, one per TypeScript construct.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

CRON_PATTERN = re.compile(r"^\S+\s+\S+\s+\S+\s+\S+\s+\S+$")
_LITERAL = re.compile(r"^%%(ops|global).[^%]+%%$")
_RANGE = re.compile(r"^([0-9]+)-([0-9]+)$")
_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_MISSING = object()


@dataclass(frozen=True)
class Issue:
    path: str
    expected: str


Check = Callable[[Any, str, list[Issue]], None]


class T:
    """A declared type: ``check`` appends an :class:`Issue` per violation."""

    def __init__(self, name: str, check: Check) -> None:
        self.name = name
        self._check = check

    def __call__(self, value: Any, path: str, issues: list[Issue]) -> None:
        self._check(value, path, issues)

    def ok(self, value: Any) -> bool:
        found: list[Issue] = []
        self._check(value, "", found)
        return not found


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if _IDENTIFIER.match(key) else f"{path}[{json.dumps(key)}]"


def _leaf(name: str, test: Callable[[Any], bool]) -> T:
    def check(value: Any, path: str, issues: list[Issue]) -> None:
        if not test(value):
            issues.append(Issue(path, name))

    return T(name, check)


STRING = _leaf("string", lambda v: isinstance(v, str))
BOOLEAN = _leaf("boolean", lambda v: isinstance(v, bool))
NUMBER = _leaf(
    "number",
    lambda v: isinstance(v, int | float) and not isinstance(v, bool) and not math.isinf(v),
)


def const(*values: str) -> T:
    name = " | ".join(json.dumps(v) for v in sorted(values))
    return _leaf(f"({name})" if len(values) > 1 else name, lambda v: v in values)


def tagged(base: T, rule: Callable[[Any], bool], tag: str = "TagBase<__type>") -> T:
    """``base & tags.TagBase<…>``: the base type plus a custom rule."""

    def check(value: Any, path: str, issues: list[Issue]) -> None:
        if not base.ok(value) or not rule(value):
            issues.append(Issue(path, f"{base.name} & {tag}"))

    return T(f"{base.name} & {tag}", check)


def array(item: T, name: str | None = None) -> T:
    def check(value: Any, path: str, issues: list[Issue]) -> None:
        if not isinstance(value, list):
            issues.append(Issue(path, name or f"Array<{item.name}>"))
            return
        for i, element in enumerate(value):
            item(element, _child(path, i), issues)

    return T(name or f"Array<{item.name}>", check)


def record(item: T) -> T:
    name = f"Record<string, {item.name}>"

    def check(value: Any, path: str, issues: list[Issue]) -> None:
        if not isinstance(value, Mapping):
            issues.append(Issue(path, name))
            return
        for key, element in value.items():
            item(element, _child(path, str(key)), issues)

    return T(name, check)


def obj(name: str, required: Mapping[str, T], optional: Mapping[str, T] | None = None) -> T:
    """An exact object type: required and optional properties, nothing else."""
    optional = optional or {}

    def check(value: Any, path: str, issues: list[Issue]) -> None:
        if not isinstance(value, Mapping):
            issues.append(Issue(path, name))
            return
        for key, kind in required.items():
            kind(value.get(key, _MISSING), _child(path, key), issues)
        for key, item in value.items():
            if key in required:
                continue
            if key not in optional:
                issues.append(Issue(_child(path, str(key)), "undefined"))
            else:
                optional[key](item, _child(path, str(key)), issues)

    return T(name, check)


def union(name: str, *alternatives: T, pick: Callable[[Any], T | None] | None = None) -> T:
    """Valid if any alternative is; else the picked alternative's issues, or the union's."""

    def check(value: Any, path: str, issues: list[Issue]) -> None:
        if any(alt.ok(value) for alt in alternatives):
            return
        chosen = pick(value) if pick else None
        if chosen is None:
            issues.append(Issue(path, name))
        else:
            chosen(value, path, issues)

    return T(name, check)


def _by_keys(options: Mapping[str, T]) -> Callable[[Any], T | None]:
    """Pick the alternative whose marker key the value has (typia's discrimination)."""

    def pick(value: Any) -> T | None:
        if not isinstance(value, Mapping):
            return None
        return next((kind for key, kind in options.items() if key in value), None)

    return pick


def _by_type(value: Any, options: Mapping[str, T]) -> T | None:
    """Pick the alternative named by the value's ``type`` discriminator."""
    kind = value.get("type") if isinstance(value, Mapping) else None
    return options.get(kind) if isinstance(kind, str) else None


# -- the declared types ----------------------------------------------------------------------

LITERAL = tagged(STRING, lambda v: bool(_LITERAL.match(v)))
SPREAD = tagged(
    obj("SpreadMarker", {"__spread__": STRING}, {"chunked": BOOLEAN}),
    lambda v: bool(_LITERAL.match(v["__spread__"])),
)
_REMOVE_IF_EMPTY = const("__remove-if-empty__")
_CMD = union(
    "(Array<string> | string)",
    STRING,
    array(STRING),
    pick=lambda v: array(STRING) if isinstance(v, list) else None,
)
_STRING_MAP = record(STRING)
# CMDArray = Array<string | RemoveIfEmptyMarker>; the marker is itself a string
_CMD_ARRAY = array(STRING)

_HTTP_CHECK = obj(
    "HttpHealthCheck",
    {
        "type": const("http"),
        "path": STRING,
        "method": const("GET", "POST", "PUT", "DELETE"),
        "expected_status": NUMBER,
        "continuous": BOOLEAN,
    },
    {"headers": _STRING_MAP, "body": T("unknown", lambda v, p, i: None)},
)
_WS_CHECK = obj(
    "WebSocketHealthCheck",
    {"type": const("websocket"), "expected_response": STRING, "continuous": BOOLEAN},
)
_HEALTH_CHECK = union(
    "(HttpHealthCheck | WebSocketHealthCheck)",
    _HTTP_CHECK,
    _WS_CHECK,
    pick=lambda v: _by_type(v, {"http": _HTTP_CHECK, "websocket": _WS_CHECK}),
)
_EXPOSED_PORT = obj(
    "ExposedPort",
    {"port": NUMBER},
    {
        "type": const("web", "api", "webapi", "websocket", "none"),
        "health_checks": array(_HEALTH_CHECK),
    },
)
_RANGE_TEXT = tagged(STRING, lambda v: parse_port_range(v) is not None)
# Spec §7: a "start-end" string is an exposed port range (published 2.1.6 typings: not so).
_EXPOSE_ONE = union(
    "(ExposedPort | LiteralString | PortRange | SpreadMarker | number)",
    NUMBER,
    _EXPOSED_PORT,
    LITERAL,
    _RANGE_TEXT,
    SPREAD,
    pick=lambda v: (
        SPREAD
        if isinstance(v, Mapping) and "__spread__" in v
        else (_EXPOSED_PORT if isinstance(v, Mapping) else None)
    ),
)


def parse_port_range(value: str) -> tuple[int, int] | None:
    """``"8000-8010"`` → (8000, 8010); None unless a range with start < end."""
    match = _RANGE.match(value)
    if not match:
        return None
    start, end = int(match.group(1)), int(match.group(2))
    return (start, end) if start < end else None


def _ports_unique(items: list[Any]) -> bool:
    numbers: set[float] = set()
    ranges: list[tuple[int, int]] = []
    for item in items:
        port = item.get("port") if isinstance(item, Mapping) else item
        if isinstance(item, Mapping) and "__spread__" in item:
            continue
        if isinstance(port, str):
            if _LITERAL.match(port):
                continue
            span = parse_port_range(port)
            if span is None or any(span[0] <= b and span[1] >= a for a, b in ranges):
                return False
            ranges.append(span)
        elif isinstance(port, int | float) and not isinstance(port, bool):
            if port in numbers:
                return False
            numbers.add(port)
    return not any(a <= n <= b for n in numbers for a, b in ranges)


def _expose_list_check(value: Any, path: str, issues: list[Issue]) -> None:
    found: list[Issue] = []
    array(_EXPOSE_ONE)(value, path, found)
    if found:
        issues.extend(found)
    elif not _ports_unique(value):
        issues.append(Issue(path, "Array<> & TagBase<__type>"))


_EXPOSE_LIST = T("Array<>", _expose_list_check)
_EXPOSE = union(
    "(Array<> | ExposedPort | LiteralString | SpreadMarker | number)",
    _EXPOSE_ONE,
    _EXPOSE_LIST,
    pick=lambda v: _EXPOSE_LIST if isinstance(v, list) else _EXPOSE_ONE,
)

_S3_AUTH = obj("S3Auth", {"REGION": STRING, "ACCESS_KEY_ID": STRING, "SECRET_ACCESS_KEY": STRING})
_S3_COMMON = {"url": STRING, "allowWrite": BOOLEAN, "IAM": _S3_AUTH}
_S3_PLAIN = obj(
    "S3Base", {"type": const("S3"), "target": STRING}, {**_S3_COMMON, "files": array(STRING)}
)
_S3_BUCKET = obj(
    "S3WithBucket", {"type": const("S3"), "target": STRING, "bucket": STRING}, _S3_COMMON
)
_S3_BUCKETS = obj(
    "S3WithBuckets",
    {
        "type": const("S3"),
        "target": STRING,
        "buckets": array(obj("__type", {"url": STRING}, {"files": array(STRING)})),
    },
    _S3_COMMON,
)
_HF = obj(
    "HFResource",
    {"type": const("HF"), "target": STRING, "repo": STRING},
    {"revision": STRING, "files": array(STRING), "accessToken": STRING},
)
_OLLAMA = obj("OllamaResource", {"type": const("Ollama"), "model": STRING}, {"target": STRING})
_S3 = union(
    "(S3Base | S3WithBucket | S3WithBuckets)",
    _S3_PLAIN,
    _S3_BUCKET,
    _S3_BUCKETS,
    pick=lambda v: _S3_BUCKETS if "buckets" in v else (_S3_BUCKET if "bucket" in v else _S3_PLAIN),
)
_RESOURCE = union(
    "(HFResource | OllamaResource | RemoveIfEmptyMarker | S3Base | SpreadMarker)",
    _S3,
    _HF,
    _OLLAMA,
    SPREAD,
    _REMOVE_IF_EMPTY,
    pick=lambda v: _by_type(v, {"S3": _S3, "HF": _HF, "Ollama": _OLLAMA}),
)

_RESTART = union(
    '("always" | "no" | "on-failure" | "unless-stopped" | __type)',
    const("no", "always", "unless-stopped", "on-failure"),
    obj("__type", {"policy": const("on-failure")}, {"restart_tries": NUMBER}),
    pick=lambda v: (
        obj("__type", {"policy": const("on-failure")}, {"restart_tries": NUMBER})
        if isinstance(v, Mapping)
        else None
    ),
)

CONTAINER_RUN = obj(
    "ContainerRun",
    {"image": STRING},
    {
        "aliases": union("(Array<string> | string)", STRING, array(STRING)),
        "cmd": union(
            "(Array<string> | string)",
            STRING,
            _CMD_ARRAY,
            pick=lambda v: _CMD_ARRAY if isinstance(v, list) else None,
        ),
        "volumes": array(obj("Volume", {"name": STRING, "dest": STRING})),
        "expose": _EXPOSE,
        "gpu": BOOLEAN,
        "work_dir": STRING,
        "entrypoint": _CMD,
        "env": _STRING_MAP,
        "restart_policy": _RESTART,
        "private": BOOLEAN,
        "resources": array(_RESOURCE),
        "authentication": obj(
            "Authentication",
            {},
            {
                "docker": obj(
                    "DockerAuth",
                    {},
                    {"username": STRING, "password": STRING, "email": STRING, "server": STRING},
                )
            },
        ),
    },
)
CREATE_VOLUME = obj("ContainerCreateVolume", {"name": STRING})
_ARGS = union(
    "(ContainerCreateVolume | ContainerRun)",
    CONTAINER_RUN,
    CREATE_VOLUME,
    pick=_by_keys({"image": CONTAINER_RUN, "name": CREATE_VOLUME}),
)


def _execution_check(value: Any, path: str, issues: list[Issue]) -> None:
    base = obj(
        "Execution",
        {},
        {"group": STRING, "depends_on": array(STRING), "stop_if_dependent_stops": BOOLEAN},
    )
    base(value, path, issues)
    if (
        isinstance(value, Mapping)
        and "stop_if_dependent_stops" in value
        and "depends_on" not in value
    ):
        issues.append(Issue(_child(path, "stop_if_dependent_stops"), "undefined"))


_LOG_TYPES = ("stdin", "stdout", "stderr", "nodeerr")
_LOG_TYPE_TUPLE = tagged(
    array(const(*_LOG_TYPES)),
    lambda v: 1 <= len(v) <= 4 and len(set(v)) == len(v),
)
_RESULT = union(
    "(OperationResult | string)",
    STRING,
    obj("OperationResult", {"regex": STRING, "logType": _LOG_TYPE_TUPLE}),
    pick=lambda v: (
        obj("OperationResult", {"regex": STRING, "logType": _LOG_TYPE_TUPLE})
        if isinstance(v, Mapping)
        else None
    ),
)


def _op_id(value: Any) -> bool:
    return " " not in value


OPERATION = obj(
    "Operation<OperationType>",
    {
        "type": const("container/run", "container/create-volume"),
        "id": tagged(STRING, _op_id),
        "args": _ARGS,
    },
    {"results": record(_RESULT), "execution": T("Execution", _execution_check)},
)


def _unique_ids(ops: list[Any]) -> bool:
    ids = [op.get("id") if isinstance(op, Mapping) else None for op in ops]
    return all(isinstance(i, str) for i in ids) and len(set(ids)) == len(ids)


def _ops_check(value: Any, path: str, issues: list[Issue]) -> None:
    if not isinstance(value, list):
        issues.append(Issue(path, "Array<Operation<OperationType>> & UniqueById"))
        return
    if not _unique_ids(value):
        issues.append(Issue(path, "Array<> & UniqueById"))
        return
    array(OPERATION)(value, path, issues)


_SCALAR = union("(number | string)", NUMBER, STRING)
_META_VALUE = union(
    "(Array<string | number> | Record<string, string | number | (string | number)[]> | number"
    " | string | undefined)",
    _SCALAR,
    array(_SCALAR),
    record(union("(Array<string | number> | number | string)", _SCALAR, array(_SCALAR))),
    pick=lambda v: (
        record(union("(Array<string | number> | number | string)", _SCALAR, array(_SCALAR)))
        if isinstance(v, Mapping)
        else None
    ),
)


def _meta_check(value: Any, path: str, issues: list[Issue]) -> None:
    if not isinstance(value, Mapping):
        issues.append(Issue(path, "Meta"))
        return
    known = {"trigger": STRING, "system_resources": record(_SCALAR)}
    for key, item in value.items():
        kind = known.get(str(key), _META_VALUE)
        kind(item, _child(path, str(key)), issues)


_LOGISTIC = obj(
    "Logistic",
    {
        "type": const("api", "api-listen"),
        "args": obj("Partial<LogisticArgs>", {}, {"endpoint": STRING}),
    },
)
JOB_DEFINITION = obj(
    "JobDefinition",
    {"version": const("0.1"), "type": const("container"), "ops": T("Array<>", _ops_check)},
    {
        "logistics": obj("Logistics", {"send": _LOGISTIC, "receive": _LOGISTIC}),
        "deployment_id": STRING,
        "meta": T("Meta", _meta_check),
        "global": obj(
            "Global",
            {},
            {
                "image": STRING,
                "gpu": BOOLEAN,
                "entrypoint": _CMD,
                "env": _STRING_MAP,
                "work_dir": STRING,
                "variables": _STRING_MAP,
            },
        ),
    },
)


def validate_job_definition(definition: Any) -> list[Issue]:
    """Every issue the deployment manager's validator reports (empty: valid)."""
    issues: list[Issue] = []
    JOB_DEFINITION(definition, "$input", issues)
    return issues


def typia_message(issues: list[Issue], prefix: str = "job_definition") -> str:
    """The deployment manager's 400 text: ``<prefix><path>: <expected>`` joined by ``, ``."""
    return ", ".join(f"{prefix}{issue.path}: {issue.expected}" for issue in issues)


def exposed_ports(definition: Mapping[str, Any]) -> dict[str, list[int | str]]:
    """Op id → concrete exposed ports (numbers and ``"a-b"`` ranges) of its container/run op."""
    out: dict[str, list[int | str]] = {}
    for op in definition.get("ops") or []:
        args = op.get("args") if isinstance(op, Mapping) else None
        if op.get("type") != "container/run" or not isinstance(args, Mapping):
            continue
        expose = args.get("expose")
        items = expose if isinstance(expose, list) else [] if expose is None else [expose]
        ports: list[int | str] = []
        for item in items:
            port = item.get("port") if isinstance(item, Mapping) else item
            number = isinstance(port, int) and not isinstance(port, bool)
            if number or (isinstance(port, str) and parse_port_range(port) is not None):
                ports.append(cast("int | str", port))
        if ports and isinstance(op.get("id"), str):
            out[op["id"]] = ports
    return out
