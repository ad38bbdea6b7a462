"""The collector the schema pass writes into: typed checks that record field-level problems."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.providers.akash_sdl.problems import Problem, json_type_name, pointer_join

#: Keys people write from other tools' formats, and what the SDL calls them.
HINTS = {
    "depends_on": "the SDL spells service dependencies 'dependencies: [{service: <name>}]'",
    "ports": "the SDL exposes ports under 'expose: [{port: 80, as: 80, to: [{global: true}]}]'",
    "environment": "the SDL lists environment variables under 'env: [NAME=value]'",
    "replicas": "the SDL sets the number of instances with 'count'",
}


class Checker:
    """Accumulates ``(path, message)`` problems; every check returns whether the value passed.

    ``version`` is the document's SDL version (``"2.0"``/``"2.1"``, or ``None`` when it is
    missing or unknown); unknown keys are reported against it.
    """

    def __init__(self, version: str | None) -> None:
        self.version = version
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def unknown_key(self, path: str, key: object, allowed: Iterable[str]) -> None:
        where = f"SDL version {self.version}" if self.version else "the SDL"
        names = ", ".join(sorted(allowed))
        message = f"unknown property {str(key)!r}: not part of {where} (allowed here: {names})"
        hint = HINTS.get(str(key))
        self.add(pointer_join(path, key), f"{message}; {hint}" if hint else message)

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
        for key in value:
            if not isinstance(key, str):
                self.add(path, f"property names must be strings (got {key!r})")
            elif allowed is not None and key not in allowed:
                self.unknown_key(path, key, allowed)
        return True

    def string(self, value: Any, path: str, *, min_length: int = 0) -> bool:
        if not isinstance(value, str):
            self.add(path, f"must be string (got {json_type_name(value)})")
            return False
        if len(value.strip()) < min_length:
            message = (
                "must not be empty"
                if min_length == 1
                else f"must be at least {min_length} characters"
            )
            self.add(path, message)
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

    def boolean(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            self.add(path, f"must be boolean (got {json_type_name(value)})")
            return False
        return True

    def string_list(self, value: Any, path: str, *, nullable: bool = False) -> bool:
        if value is None and nullable:
            return True
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(path, "must be a list of strings" + (" or null" if nullable else ""))
            return False
        return True

    def one_of(self, value: Any, path: str, choices: Iterable[str]) -> bool:
        options = tuple(choices)
        if not isinstance(value, str) or value not in options:
            self.add(path, f"must be one of {', '.join(options)} (got {value!r})")
            return False
        return True
