"""From SDL text to a validated document: YAML parse, then the schema pass, then semantics."""

from __future__ import annotations

import re
from typing import Any

import yaml

from bot.providers.akash_sdl.problems import Problem, SdlError
from bot.providers.akash_sdl.schema import check_schema
from bot.providers.akash_sdl.semantics import check_semantics


class _Yaml12Loader(yaml.SafeLoader):
    """Safe YAML with YAML 1.2 booleans: only ``true``/``false``.

    PyYAML follows YAML 1.1, where ``on``/``off``/``yes``/``no`` are booleans; the Console's
    SDL parser (js-yaml) reads them as strings, so ``next_cases: [off]`` means ``"off"``.
    """


_BOOL_TAG = "tag:yaml.org,2002:bool"
_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def parse_sdl(text: str) -> Any:
    """The YAML document; raises :class:`SdlError` with the YAML error as its only problem."""
    if not isinstance(text, str) or not text.strip():
        raise SdlError([("", "SDL is empty")])
    try:
        return yaml.load(text, Loader=_Yaml12Loader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        message = " ".join(str(exc).split())
        raise SdlError([("", message)]) from None


def validate_sdl(doc: Any) -> list[Problem]:
    """Schema problems; if there are none, the semantic problems. ``[]`` means valid."""
    problems = check_schema(doc)
    if problems:
        return problems
    return check_semantics(doc)


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
    result: dict[str, Any] = doc
    return result
