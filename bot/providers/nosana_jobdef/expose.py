"""``expose`` of a ``container/run`` op: ports, ranges, placeholders and health checks.

A port is a number, a ``"start-end"`` range (spec §7; the published ``@nosana/types`` 2.1.6
refuses a range as a value, the spec wins), a ``%%ops.…%%`` literal, a spread marker or an
``{port, type, health_checks}`` object; ``expose`` is one of these or a list of them, whose
ports are unique, whose numbers do not fall inside its ranges and whose ranges do not overlap.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.providers.nosana_jobdef.problems import LITERAL, STR, Shapes

__all__ = ["ExposeRules", "exposed_ports", "parse_port_range"]

_RANGE = re.compile(r"^([0-9]+)-([0-9]+)$")
_SERVICE_TYPES = ("web", "api", "webapi", "websocket", "none")
_HTTP_METHODS = ("GET", "POST", "PUT", "DELETE")
_METHOD_EXPECTED = '("DELETE" | "GET" | "POST" | "PUT")'
_UNIQUE = "UniqueExposedPorts"


def parse_port_range(value: str) -> tuple[int, int] | None:
    """``"8000-8010"`` → ``(8000, 8010)``; None unless it is a range with start < end."""
    match = _RANGE.match(value)
    if not match:
        return None
    start, end = int(match.group(1)), int(match.group(2))
    return (start, end) if start < end else None


def _concrete_port(item: Any) -> int | str | None:
    """The number or ``"a-b"`` range an expose item stands for; None for anything else."""
    port = item.get("port") if isinstance(item, Mapping) else item
    if isinstance(port, bool):
        return None
    if isinstance(port, int) or (isinstance(port, str) and parse_port_range(port)):
        return port
    return None


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
        ports = [port for item in items if (port := _concrete_port(item)) is not None]
        if ports and isinstance(op.get("id"), str):
            out[op["id"]] = ports
    return out


class ExposeRules(Shapes):
    """Checks of ``args.expose``."""

    def expose(self, value: Any, path: str) -> None:
        if isinstance(value, list):
            for i, item in enumerate(value):
                self.expose_item(item, f"{path}[{i}]")
            self.unique_ports(value, path)
        else:
            self.expose_item(value, path)

    def expose_item(self, value: Any, path: str) -> None:
        if isinstance(value, str) and LITERAL.match(value):
            return
        if isinstance(value, Mapping) and "__spread__" in value:
            self.spread_marker(value, path)
        elif isinstance(value, Mapping):
            self.exposed_port(value, path)
        else:
            self.port(value, path)

    def port(self, value: Any, path: str) -> None:
        if isinstance(value, float):
            self.add(path, f"port {value} must be a whole number", "number")
        elif isinstance(value, bool) or not isinstance(value, int | str):
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
            {"port": self.port, "type": self.service_type, "health_checks": self.health_checks},
        )

    def service_type(self, value: Any, path: str) -> None:
        if value not in _SERVICE_TYPES:
            self.add(
                path,
                "must be one of " + ", ".join(_SERVICE_TYPES),
                '("api" | "none" | "web" | "webapi" | "websocket" | undefined)',
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
                self.http_check(check, item)
            elif kind == "websocket":
                self.websocket_check(check, item)
            else:
                self.add(f"{item}.type", 'must be "http" or "websocket"', '("http" | "websocket")')

    def http_check(self, check: Mapping[str, Any], path: str) -> None:
        self.required(
            check,
            path,
            {
                "path": STR,
                "method": _METHOD_EXPECTED,
                "expected_status": "number",
                "continuous": "boolean",
            },
        )
        self.fields(
            check,
            path,
            {
                "type": lambda v, p: None,
                "path": self.required_string,
                "method": self.http_method,
                "expected_status": lambda v, p: self.number(v, p, "number"),
                "continuous": lambda v, p: self.boolean(v, p, "boolean"),
                "headers": self.string_map,
                "body": lambda v, p: None,
            },
        )

    def http_method(self, value: Any, path: str) -> None:
        if value not in _HTTP_METHODS:
            self.add(path, "must be GET, POST, PUT or DELETE", _METHOD_EXPECTED)

    def websocket_check(self, check: Mapping[str, Any], path: str) -> None:
        self.required(check, path, {"expected_response": STR, "continuous": "boolean"})
        self.fields(
            check,
            path,
            {
                "type": lambda v, p: None,
                "expected_response": self.required_string,
                "continuous": lambda v, p: self.boolean(v, p, "boolean"),
            },
        )

    def unique_ports(self, items: list[Any], path: str) -> None:
        numbers: set[int] = set()
        ranges: list[tuple[int, int]] = []
        for item in items:
            port = _concrete_port(item)
            if isinstance(port, int):
                if port in numbers:
                    self.add(path, f"port {port} is exposed twice", _UNIQUE)
                numbers.add(port)
            elif port is not None:
                bounds = parse_port_range(port) or (0, 0)
                for r_start, r_end in ranges:
                    if bounds[0] <= r_end and bounds[1] >= r_start:
                        self.add(path, f"port ranges {r_start}-{r_end} and {port} overlap", _UNIQUE)
                ranges.append(bounds)
        for number in sorted(numbers):
            for start, end in ranges:
                if start <= number <= end:
                    self.add(path, f"port {number} falls inside the range {start}-{end}", _UNIQUE)
