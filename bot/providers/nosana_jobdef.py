"""Local validation of a Nosana job definition (spec §7) and of cron schedules (§5.2).

Pure functions, no I/O. The rules follow Nosana's typia ``validateJobDefinition``
(``createValidateEquals``: unknown properties are rejected at every level we model):

* top level: ``version`` ``"0.1"``, ``type`` ``"container"``, ``ops`` (a list) required; optional
  ``meta`` (free-form, but ``trigger`` is a string and ``system_resources`` maps to
  string/number), ``global``, ``logistics``, ``deployment_id``;
* each op: ``type`` ``container/run`` or ``container/create-volume``, ``id`` a string without
  spaces and unique across ops, ``args`` (``image`` required for ``container/run``, ``name`` for
  ``container/create-volume``), optional ``results`` and ``execution``;
* ``env`` values are strings; ``expose`` is a port number, a ``"start-end"`` range, a
  ``%%ops.…%%`` literal, a ``{"__spread__": literal}`` marker, an ``{port, type, health_checks}``
  object or a list of these; exposed ports are unique, numbers do not fall inside ranges and
  ranges do not overlap; health checks are ``http`` or ``websocket`` checks.

Each problem carries the typia-style path (``$input.ops[0].id``), a sentence for people, and
the typia "expected" text that Nosana's deployment manager prints in its 400 answers
(``job_definition$input.ops[0].id: string & TagBase<__type>``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from croniter import croniter

__all__ = [
    "CRON_PATTERN",
    "Problem",
    "cron_problem",
    "exposed_ports",
    "field_errors",
    "parse_port_range",
    "typia_message",
    "validate_job_definition",
]


class Problem(NamedTuple):
    """One thing wrong with a job definition."""

    #: typia-style location, rooted at ``$input`` (the job definition itself).
    path: str
    #: What is wrong, for people.
    message: str
    #: What typia expected there (the text Nosana's server reports).
    expected: str


#: What the deployment manager checks for ``schedule``: five whitespace-separated fields.
CRON_PATTERN = re.compile(r"^\S+\s+\S+\s+\S+\s+\S+\s+\S+$")

_LITERAL = re.compile(r"^%%(ops|global)\.[^%]+%%$")
_RANGE = re.compile(r"^([0-9]+)-([0-9]+)$")
_REMOVE_IF_EMPTY = "__remove-if-empty__"
_SERVICE_TYPES = ("web", "api", "webapi", "websocket", "none")
_HTTP_METHODS = ("GET", "POST", "PUT", "DELETE")
_LOG_TYPES = ("stdin", "stdout", "stderr", "nodeerr")
_RESOURCE_TYPES = ("S3", "HF", "Ollama")
_OPS_EXPECTED = "Array<Operation<OperationType>> & UniqueById"
_ARGS_EXPECTED = "(ContainerRun | ContainerCreateVolume)"

_STR = "string"
_OPT_STR = "(string | undefined)"
_OPT_BOOL = "(boolean | undefined)"
_OPT_NUM = "(number | undefined)"
_OPT_CMD = "(Array<string> | string | undefined)"


def cron_problem(expression: Any) -> str | None:
    """Why ``expression`` is not a usable 5-field cron schedule, or None when it is."""
    if not isinstance(expression, str) or not expression.strip():
        return "must be a cron expression such as '0 * * * *'"
    fields = expression.split()
    if len(fields) != 5:
        return f"must have 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
    if not croniter.is_valid(expression):
        return f"'{expression.strip()}' is not a valid cron expression"
    return None


def parse_port_range(value: str) -> tuple[int, int] | None:
    """``"8000-8010"`` → ``(8000, 8010)``; None unless it is a range with start < end."""
    match = _RANGE.match(value)
    if not match:
        return None
    start, end = int(match.group(1)), int(match.group(2))
    return (start, end) if start < end else None


def typia_message(problems: list[Problem], prefix: str = "job_definition") -> str:
    """The deployment manager's 400 text: ``<prefix><path>: <expected>`` joined with ``, ``."""
    return ", ".join(f"{prefix}{p.path}: {p.expected}" for p in problems)


def field_errors(problems: list[Problem], prefix: str = "job_definition") -> dict[str, str]:
    """``{"job_definition.ops[0].id": "must be a string without spaces"}`` (first per path)."""
    out: dict[str, str] = {}
    for problem in problems:
        out.setdefault(prefix + problem.path.removeprefix("$input"), problem.message)
    return out


def exposed_ports(definition: Mapping[str, Any]) -> dict[str, list[int | str]]:
    """Op id → its concrete exposed ports (numbers and ``"a-b"`` ranges) in definition order.

    Literals and spread markers are resolved only on the node, so they are left out. Only
    ``container/run`` ops with ``expose`` appear. Assumes a definition that validates.
    """
    out: dict[str, list[int | str]] = {}
    for op in definition.get("ops") or []:
        if not isinstance(op, Mapping) or op.get("type") != "container/run":
            continue
        args = op.get("args")
        if not isinstance(args, Mapping) or "expose" not in args:
            continue
        expose = args["expose"]
        items = expose if isinstance(expose, list) else [expose]
        ports: list[int | str] = []
        for item in items:
            port = item.get("port") if isinstance(item, Mapping) else item
            if isinstance(port, bool):
                continue
            if isinstance(port, int) or (isinstance(port, str) and parse_port_range(port)):
                ports.append(port)
        if ports and isinstance(op.get("id"), str):
            out[op["id"]] = ports
    return out


def validate_job_definition(definition: Any) -> list[Problem]:
    """Every problem found in ``definition``; an empty list means it is valid."""
    return _Checker().run(definition)


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str, expected: str) -> None:
        self.problems.append(Problem(path, message, expected))

    # -- generic shapes ------------------------------------------------------------------

    def obj(self, value: Any, path: str, expected: str, what: str = "an object") -> bool:
        if isinstance(value, Mapping):
            return True
        self.add(path, f"must be {what}", expected)
        return False

    def known_keys(self, value: Mapping[str, Any], path: str, allowed: set[str]) -> None:
        for key in value:
            if key not in allowed:
                self.add(f"{path}.{key}", "unknown property", "undefined")

    def required(self, value: Mapping[str, Any], path: str, keys: dict[str, str]) -> None:
        for key, expected in keys.items():
            if key not in value:
                self.add(f"{path}.{key}", "is required", expected)

    def string(self, value: Any, path: str, expected: str = _OPT_STR) -> None:
        if not isinstance(value, str):
            self.add(path, "must be a string", expected)

    def boolean(self, value: Any, path: str, expected: str = _OPT_BOOL) -> None:
        if not isinstance(value, bool):
            self.add(path, "must be true or false", expected)

    def number(self, value: Any, path: str, expected: str = _OPT_NUM) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(path, "must be a number", expected)

    def string_map(self, value: Any, path: str) -> None:
        """An object whose values are strings (env, variables, headers)."""
        if not self.obj(value, path, "Record<string, string>", "an object of strings"):
            return
        for key, item in value.items():
            if not isinstance(item, str):
                self.add(f"{path}.{key}", "must be a string (quote numbers and booleans)", _STR)

    def string_list(self, value: Any, path: str, expected: str, allow_marker: bool = False) -> None:
        if isinstance(value, str):
            return
        if not isinstance(value, list):
            self.add(path, "must be a string or a list of strings", expected)
            return
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.add(f"{path}[{i}]", "must be a string", _STR)
            elif item == _REMOVE_IF_EMPTY and not allow_marker:
                self.add(f"{path}[{i}]", "the remove-if-empty marker is not allowed here", _STR)

    def fields(
        self, value: Mapping[str, Any], path: str, checks: dict[str, Callable[[Any, str], None]]
    ) -> None:
        """Reject unknown keys, then run each present key's check."""
        self.known_keys(value, path, set(checks))
        for key, check in checks.items():
            if key in value:
                check(value[key], f"{path}.{key}")

    # -- the job definition ----------------------------------------------------------------

    def run(self, definition: Any) -> list[Problem]:
        if not self.obj(definition, "$input", "JobDefinition", "a JSON object"):
            return self.problems
        self.required(definition, "$input", {"version": '"0.1"', "type": '"container"'})
        if "ops" not in definition:
            self.add("$input.ops", "is required (a list of operations)", _OPS_EXPECTED)
        self.fields(
            definition,
            "$input",
            {
                "version": self.version,
                "type": self.job_type,
                "ops": self.ops,
                "meta": self.meta,
                "global": self.global_,
                "logistics": self.logistics,
                "deployment_id": self.string,
            },
        )
        return self.problems

    def version(self, value: Any, path: str) -> None:
        if value != "0.1":
            self.add(path, 'must be "0.1"', '"0.1"')

    def job_type(self, value: Any, path: str) -> None:
        if value != "container":
            self.add(path, 'must be "container"', '"container"')

    def meta(self, value: Any, path: str) -> None:
        if not self.obj(value, path, "(__type | undefined)"):
            return
        if "trigger" in value:
            self.string(value["trigger"], f"{path}.trigger")
        resources = value.get("system_resources")
        if resources is not None and self.obj(resources, f"{path}.system_resources", "__type"):
            for key, item in resources.items():
                if isinstance(item, bool) or not isinstance(item, str | int | float):
                    self.add(
                        f"{path}.system_resources.{key}",
                        "must be a string or a number",
                        "(number | string)",
                    )

    def global_(self, value: Any, path: str) -> None:
        if not self.obj(value, path, "(__type | undefined)"):
            return
        self.fields(
            value,
            path,
            {
                "image": self.string,
                "gpu": self.boolean,
                "entrypoint": lambda v, p: self.string_list(v, p, "(Array<string> | string)"),
                "env": self.string_map,
                "work_dir": self.string,
                "variables": self.string_map,
            },
        )

    def logistics(self, value: Any, path: str) -> None:
        if not self.obj(value, path, "(JobLogistics | undefined)"):
            return
        self.fields(value, path, {"send": self.logistic, "receive": self.logistic})

    def logistic(self, value: Any, path: str) -> None:
        if not self.obj(value, path, "__type"):
            return
        self.required(value, path, {"type": '("api" | "api-listen")', "args": "__type"})
        self.fields(
            value,
            path,
            {
                "type": lambda v, p: (
                    None
                    if v in ("api", "api-listen")
                    else self.add(p, 'must be "api" or "api-listen"', '("api" | "api-listen")')
                ),
                "args": lambda v, p: (
                    self.fields(v, p, {"endpoint": self.string})
                    if self.obj(v, p, "__type")
                    else None
                ),
            },
        )

    # -- operations ------------------------------------------------------------------------

    def ops(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            self.add(path, "must be a list of operations", _OPS_EXPECTED)
            return
        seen: set[str] = set()
        for i, op in enumerate(value):
            self.op(op, f"{path}[{i}]")
            op_id = op.get("id") if isinstance(op, Mapping) else None
            if isinstance(op_id, str):
                if op_id in seen:
                    self.add(
                        path, f'op ids must be unique ("{op_id}" is used twice)', _OPS_EXPECTED
                    )
                seen.add(op_id)

    def op(self, op: Any, path: str) -> None:
        if not self.obj(op, path, "Operation<OperationType>"):
            return
        self.required(op, path, {"type": "OperationType", "id": "string & TagBase<__type>"})
        if "args" not in op:
            self.add(f"{path}.args", "is required", _ARGS_EXPECTED)
        self.fields(
            op,
            path,
            {
                "type": self.op_type,
                "id": self.op_id,
                "args": lambda v, p: self.args(v, p, op.get("type")),
                "results": self.results,
                "execution": self.execution,
            },
        )

    def op_type(self, value: Any, path: str) -> None:
        if value not in ("container/run", "container/create-volume"):
            self.add(
                path,
                'must be "container/run" or "container/create-volume"',
                '("container/create-volume" | "container/run")',
            )

    def op_id(self, value: Any, path: str) -> None:
        if not isinstance(value, str) or not value or re.search(r"\s", value):
            self.add(path, "must be a non-empty string without spaces", "string & TagBase<__type>")

    def args(self, value: Any, path: str, op_type: Any) -> None:
        if not isinstance(value, Mapping):
            self.add(path, "must be an object", _ARGS_EXPECTED)
            return
        if op_type == "container/create-volume":
            if not isinstance(value.get("name"), str):
                self.add(path, "container/create-volume needs args.name (a string)", _ARGS_EXPECTED)
            self.known_keys(value, path, {"name"})
            return
        if "image" not in value:
            self.add(path, "container/run needs args.image (the container image)", _ARGS_EXPECTED)
        self.fields(
            value,
            path,
            {
                "image": lambda v, p: self.string(v, p, _STR),
                "aliases": lambda v, p: self.string_list(v, p, "(Array<string> | string)"),
                "cmd": lambda v, p: self.string_list(v, p, _OPT_CMD, allow_marker=True),
                "entrypoint": lambda v, p: self.string_list(v, p, _OPT_CMD, allow_marker=True),
                "volumes": self.volumes,
                "expose": self.expose,
                "private": self.boolean,
                "gpu": self.boolean,
                "work_dir": self.string,
                "output": self.string,
                "env": self.string_map,
                "required_vram": self.number,
                "restart_policy": self.string,
                "resources": self.resources,
                "authentication": self.authentication,
            },
        )

    def volumes(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            self.add(path, "must be a list of {name, dest}", "(Array<Volume> | undefined)")
            return
        for i, volume in enumerate(value):
            item = f"{path}[{i}]"
            if self.obj(volume, item, "Volume"):
                self.required(volume, item, {"name": _STR, "dest": _STR})
                self.fields(
                    volume,
                    item,
                    {"name": lambda v, p: self.string(v, p, _STR), "dest": self.string},
                )

    def resources(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            self.add(path, "must be a list of resources", "(Array<Resource> | undefined)")
            return
        for i, resource in enumerate(value):
            item = f"{path}[{i}]"
            if resource == _REMOVE_IF_EMPTY or self.spread_marker(resource):
                continue
            if not self.obj(resource, item, "Resource"):
                continue
            kind = resource.get("type")
            if kind is not None and kind not in _RESOURCE_TYPES:
                self.add(
                    f"{item}.type", 'must be "S3", "HF" or "Ollama"', '("HF" | "Ollama" | "S3")'
                )
            if kind == "S3" and "target" not in resource:
                self.add(f"{item}.target", "is required for an S3 resource", _STR)

    def authentication(self, value: Any, path: str) -> None:
        if not self.obj(value, path, "(__type | undefined)"):
            return
        self.fields(value, path, {"docker": self.docker_auth})

    def docker_auth(self, value: Any, path: str) -> None:
        if self.obj(value, path, "(DockerAuth | undefined)"):
            keys = ("username", "password", "email", "server")
            self.fields(value, path, dict.fromkeys(keys, self.string))

    def results(self, value: Any, path: str) -> None:
        if not self.obj(value, path, "(OperationResults | undefined)"):
            return
        for key, result in value.items():
            item = f"{path}.{key}"
            if isinstance(result, str):
                continue
            if not self.obj(result, item, "(OperationResult | string)", "a regex string or object"):
                continue
            self.required(result, item, {"regex": _STR, "logType": "LogTypeTuple"})
            self.fields(
                result,
                item,
                {"regex": lambda v, p: self.string(v, p, _STR), "logType": self.log_types},
            )

    def log_types(self, value: Any, path: str) -> None:
        ok = (
            isinstance(value, list)
            and 1 <= len(value) <= 4
            and all(v in _LOG_TYPES for v in value)
            and len(set(value)) == len(value)
        )
        if not ok:
            self.add(
                path,
                "must list 1–4 distinct log types (stdin, stdout, stderr, nodeerr)",
                "LogTypeTuple",
            )

    def execution(self, value: Any, path: str) -> None:
        if not self.obj(value, path, "(Execution | undefined)"):
            return
        self.fields(
            value,
            path,
            {
                "group": self.string,
                "depends_on": lambda v, p: (
                    None
                    if isinstance(v, list) and all(isinstance(x, str) for x in v)
                    else self.add(p, "must be a list of op ids", "Array<string>")
                ),
                "stop_if_dependent_stops": self.boolean,
            },
        )
        if "stop_if_dependent_stops" in value and "depends_on" not in value:
            self.add(
                f"{path}.stop_if_dependent_stops",
                "only makes sense together with depends_on",
                "undefined",
            )

    # -- expose ----------------------------------------------------------------------------

    def spread_marker(self, value: Any) -> bool:
        return (
            isinstance(value, Mapping)
            and len(value) == 1
            and isinstance(value.get("__spread__"), str)
            and bool(_LITERAL.match(value["__spread__"]))
        )

    def expose(self, value: Any, path: str) -> None:
        if isinstance(value, list):
            for i, item in enumerate(value):
                self.expose_item(item, f"{path}[{i}]")
            self.unique_ports(value, path)
        else:
            self.expose_item(value, path)

    def expose_item(self, value: Any, path: str) -> None:
        if isinstance(value, str) and _LITERAL.match(value):
            return
        if self.spread_marker(value):
            return
        if isinstance(value, Mapping):
            self.exposed_port(value, path)
            return
        self.port(value, path)

    def port(self, value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int | str):
            self.add(
                path, "must be a port number, a 'start-end' range or a {port} object", "Expose"
            )
        elif isinstance(value, int) and not 1 <= value <= 65535:
            self.add(path, f"port {value} is outside 1–65535", "number")
        elif isinstance(value, str) and parse_port_range(value) is None:
            self.add(
                path,
                f"'{value}' is not a port range like '8000-8010' (start < end)",
                "(number | PortRangeString)",
            )
        elif isinstance(value, str):
            start, end = parse_port_range(value) or (0, 0)
            if start < 1 or end > 65535:
                self.add(path, f"range '{value}' is outside 1–65535", "PortRangeString")

    def exposed_port(self, value: Mapping[str, Any], path: str) -> None:
        if "port" not in value:
            self.add(f"{path}.port", "is required", "(number | PortRangeString)")
        self.fields(
            value,
            path,
            {
                "port": self.port,
                "type": lambda v, p: (
                    None
                    if v in _SERVICE_TYPES
                    else self.add(
                        p,
                        "must be one of " + ", ".join(_SERVICE_TYPES),
                        '("api" | "none" | "web" | "webapi" | "websocket" | undefined)',
                    )
                ),
                "health_checks": self.health_checks,
            },
        )

    def health_checks(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            self.add(path, "must be a list of health checks", "(Array<HealthCheck> | undefined)")
            return
        for i, check in enumerate(value):
            item = f"{path}[{i}]"
            if not self.obj(check, item, "(HttpHealthCheck | WebSocketHealthCheck)"):
                continue
            kind = check.get("type")
            if kind == "http":
                self.required(
                    check,
                    item,
                    {
                        "path": _STR,
                        "method": '("DELETE" | "GET" | "POST" | "PUT")',
                        "expected_status": "number",
                        "continuous": "boolean",
                    },
                )
                self.fields(
                    check,
                    item,
                    {
                        "type": lambda v, p: None,
                        "path": lambda v, p: self.string(v, p, _STR),
                        "method": lambda v, p: (
                            None
                            if v in _HTTP_METHODS
                            else self.add(
                                p,
                                "must be GET, POST, PUT or DELETE",
                                '("DELETE" | "GET" | "POST" | "PUT")',
                            )
                        ),
                        "expected_status": lambda v, p: self.number(v, p, "number"),
                        "continuous": lambda v, p: self.boolean(v, p, "boolean"),
                        "headers": self.string_map,
                        "body": lambda v, p: None,
                    },
                )
            elif kind == "websocket":
                self.required(check, item, {"expected_response": _STR, "continuous": "boolean"})
                self.fields(
                    check,
                    item,
                    {
                        "type": lambda v, p: None,
                        "expected_response": lambda v, p: self.string(v, p, _STR),
                        "continuous": lambda v, p: self.boolean(v, p, "boolean"),
                    },
                )
            else:
                self.add(f"{item}.type", 'must be "http" or "websocket"', '("http" | "websocket")')

    def unique_ports(self, items: list[Any], path: str) -> None:
        numbers: set[int] = set()
        ranges: list[tuple[int, int]] = []
        for item in items:
            port = item.get("port") if isinstance(item, Mapping) else item
            if isinstance(port, bool):
                continue
            if isinstance(port, int):
                if port in numbers:
                    self.add(path, f"port {port} is exposed twice", "UniqueExposedPorts")
                numbers.add(port)
            elif isinstance(port, str) and (bounds := parse_port_range(port)):
                start, end = bounds
                for r_start, r_end in ranges:
                    if start <= r_end and end >= r_start:
                        self.add(
                            path,
                            f"port ranges {r_start}-{r_end} and {port} overlap",
                            "UniqueExposedPorts",
                        )
                ranges.append(bounds)
        for number in sorted(numbers):
            for start, end in ranges:
                if start <= number <= end:
                    self.add(
                        path,
                        f"port {number} falls inside the range {start}-{end}",
                        "UniqueExposedPorts",
                    )
