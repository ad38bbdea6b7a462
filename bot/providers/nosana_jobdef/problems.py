"""Problems found in a Nosana job definition, how they are reported, and the generic checks.

Each problem carries the typia-style path (``$input.ops[0].id``), a sentence for people, and
the typia "expected" text that Nosana's deployment manager prints in its 400 answers
(``job_definition$input.ops[0].id: string & TagBase<__type>``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

__all__ = ["Problem", "Shapes", "field_errors", "typia_message"]


class Problem(NamedTuple):
    """One thing wrong with a job definition."""

    #: typia-style location, rooted at ``$input`` (the job definition itself).
    path: str
    #: What is wrong, for people.
    message: str
    #: What typia expected there (the text Nosana's server reports).
    expected: str


def typia_message(problems: list[Problem], prefix: str = "job_definition") -> str:
    """The deployment manager's 400 text: ``<prefix><path>: <expected>`` joined with ``, ``."""
    return ", ".join(f"{prefix}{p.path}: {p.expected}" for p in problems)


def field_errors(problems: list[Problem], prefix: str = "job_definition") -> dict[str, str]:
    """``{"job_definition.ops[0].id": "must be a string without spaces"}`` (first per path)."""
    out: dict[str, str] = {}
    for problem in problems:
        out.setdefault(prefix + problem.path.removeprefix("$input"), problem.message)
    return out


#: A ``%%ops.…%%`` / ``%%global.…%%`` placeholder the node resolves.
LITERAL = re.compile(r"^%%(ops|global)\.[^%]+%%$")
REMOVE_IF_EMPTY = "__remove-if-empty__"

STR = "string"
OPT_STR = "(string | undefined)"
OPT_BOOL = "(boolean | undefined)"
OPT_NUM = "(number | undefined)"
CMD = "(Array<string> | string | undefined)"
STR_LIST = "(Array<string> | undefined)"

Check = Callable[[Any, str], None]

#: How a required field's expected type reads for people.
_REQUIRED_WHAT = {
    STR: "a string",
    "number": "a number",
    "boolean": "true or false",
    '"0.1"': '"0.1"',
    '"container"': '"container"',
    '"on-failure"': '"on-failure"',
    "OperationType": '"container/run" or "container/create-volume"',
    "string & TagBase<__type>": "a string without spaces",
    "Logistic": 'an object {type: "api" | "api-listen", args: {endpoint?}}',
    '("api" | "api-listen")': '"api" or "api-listen"',
    "__type": "an object",
    "LogTypeTuple": "a list of log types: stdin, stdout, stderr, nodeerr",
    '("DELETE" | "GET" | "POST" | "PUT")': "GET, POST, PUT or DELETE",
    "(number | PortRangeString)": "a port number or a 'start-end' range",
}


class Shapes:
    """Collects problems; the generic shape checks every part of the definition uses."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str, expected: str) -> None:
        self.problems.append(Problem(path, message, expected))

    def obj(self, value: Any, path: str, expected: str, what: str = "an object") -> bool:
        if isinstance(value, Mapping):
            return True
        self.add(path, f"must be {what}", expected)
        return False

    def known_keys(self, value: Mapping[str, Any], path: str, allowed: set[str]) -> None:
        for key in value:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                self.add(
                    f"{path}.{key}", f"is not a known field here (known: {known})", "undefined"
                )

    def required(self, value: Mapping[str, Any], path: str, keys: dict[str, str]) -> None:
        for key, expected in keys.items():
            if key not in value:
                what = _REQUIRED_WHAT.get(expected)
                self.add(
                    f"{path}.{key}", f"is required ({what})" if what else "is required", expected
                )

    def fields(self, value: Mapping[str, Any], path: str, checks: dict[str, Check]) -> None:
        """Reject unknown keys, then run each present key's check."""
        self.known_keys(value, path, set(checks))
        for key, check in checks.items():
            if key in value:
                check(value[key], f"{path}.{key}")

    def string(self, value: Any, path: str, expected: str = OPT_STR) -> None:
        if not isinstance(value, str):
            self.add(path, "must be a string", expected)

    def required_string(self, value: Any, path: str) -> None:
        self.string(value, path, STR)

    def boolean(self, value: Any, path: str, expected: str = OPT_BOOL) -> None:
        if not isinstance(value, bool):
            self.add(path, "must be true or false", expected)

    def number(self, value: Any, path: str, expected: str = OPT_NUM) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add(path, "must be a number", expected)

    def string_map(self, value: Any, path: str) -> None:
        """An object whose values are strings (env, variables, headers)."""
        if not self.obj(value, path, "Record<string, string>", "an object of strings"):
            return
        for key, item in value.items():
            if not isinstance(item, str):
                self.add(f"{path}.{key}", "must be a string (quote numbers and booleans)", STR)

    def strings(self, value: Any, path: str, expected: str = STR_LIST) -> None:
        """A list of strings."""
        if not isinstance(value, list):
            self.add(path, "must be a list of strings", expected)
            return
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.add(f"{path}[{i}]", "must be a string", STR)

    def string_or_strings(self, value: Any, path: str, expected: str = CMD) -> None:
        """A string or a list of strings (cmd, entrypoint, aliases)."""
        if isinstance(value, str):
            return
        if not isinstance(value, list):
            self.add(path, "must be a string or a list of strings", expected)
            return
        self.strings(value, path, expected)

    def spread_marker(self, value: Mapping[str, Any], path: str) -> None:
        """``{"__spread__": "%%ops.…%%", "chunked"?: bool}``: a list the node splices in."""
        marker = value["__spread__"]
        if not isinstance(marker, str) or not LITERAL.match(marker):
            self.add(
                f"{path}.__spread__",
                "must be a placeholder such as '%%ops.<op id>.results.<name>%%' "
                "or '%%global.<name>%%'",
                "string & TagBase<__type>",
            )
        self.fields(value, path, {"__spread__": lambda v, p: None, "chunked": self.boolean})
