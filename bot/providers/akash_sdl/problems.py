"""SDL problems: ``(JSON pointer, message)`` pairs, the error that carries them, pointer helpers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: One SDL problem: (JSON pointer into the document, message).
Problem = tuple[str, str]


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


def pointer_join(path: str, *parts: object) -> str:
    """``path`` extended by ``parts`` (each escaped as a JSON pointer segment)."""
    return path + pointer(*parts)


def pointer_to_dotted(path: str) -> str:
    """``/services/web/image`` → ``services.web.image`` (for form field error keys)."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
    return ".".join(parts)


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
