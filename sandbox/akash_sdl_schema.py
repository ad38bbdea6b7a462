"""The structural rules the Akash Console API applies to an SDL (emulator's own reading).

Written from /work/shared/specs/akash.md §6.2 and the behaviour the chain-sdk SDL fixtures
show (``input/invalid``, ``input/schema-only-invalid``): SDL v2.0/v2.1, no unknown keys,
ports 1-65535, TCP/UDP, ``uakt``/``uact`` prices, storage classes, GPU vendor ``nvidia``
only, TEE ``cpu``/``cpu-gpu``, ``params.permissions``, ``reclamation.min_window``,
registry credentials. Semantic (cross-reference) rules live in :mod:`sandbox.akash_sdl`.
"""

from __future__ import annotations

from typing import Any

_STRINGS_OR_NULL: dict[str, Any] = {
    "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]
}
_PORT: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 65535}
_NEXT_CASE: dict[str, Any] = {
    "type": "string",
    "enum": ["error", "timeout", "500", "502", "503", "504", "403", "404", "429", "off"],
}
_TRUE: dict[str, Any] = {"oneOf": [{"const": True}, {"const": "true"}]}
_POSITIVE_NUMBER_TEXT = r"^[0-9]+(\.[0-9]+)?$"


def _closed(properties: dict[str, Any], *required: str, **extra: Any) -> dict[str, Any]:
    """An object with exactly these properties (``additionalProperties: false``)."""
    schema: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
    }
    if required:
        schema["required"] = list(required)
    schema.update(extra)
    return schema


def _map_of(value: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": value}


_HTTP_OPTIONS = _closed(
    {
        "max_body_size": {"type": "integer", "minimum": 0, "maximum": 104857600},
        "read_timeout": {"type": "integer", "minimum": 0, "maximum": 60000},
        "send_timeout": {"type": "integer", "minimum": 0, "maximum": 60000},
        "next_tries": {"type": "integer", "minimum": 0},
        "next_timeout": {"type": "integer", "minimum": 0},
        "proxy_buffer_size": {"type": "integer", "minimum": 0, "maximum": 1048576},
        "next_cases": {
            "type": "array",
            "items": _NEXT_CASE,
            # "off" may only stand alone
            "if": {"contains": {"const": "off"}},
            "then": {"maxItems": 1},
        },
    }
)

_EXPOSE_TO = _closed(
    {
        "global": {"type": "boolean"},
        "ip": {"type": "string", "minLength": 1},
        "service": {"type": "string"},
    },
    # an IP endpoint is only reachable from outside: ``ip`` needs ``global: true``
    **{
        "if": {"required": ["ip"]},
        "then": {"required": ["global"], "properties": {"global": {"const": True}}},
    },
)

_EXPOSE = _closed(
    {
        "port": _PORT,
        "as": _PORT,
        "proto": {"type": "string", "enum": ["TCP", "UDP", "tcp", "udp"]},
        "to": {"type": "array", "items": _EXPOSE_TO},
        "accept": {"type": "array", "items": {"type": "string"}},
        "http_options": _HTTP_OPTIONS,
    },
    "port",
)

_SERVICE = _closed(
    {
        "image": {"type": "string", "minLength": 1},
        "command": _STRINGS_OR_NULL,
        "args": _STRINGS_OR_NULL,
        "env": _STRINGS_OR_NULL,
        "expose": {"oneOf": [{"type": "array", "items": _EXPOSE}, {"type": "null"}]},
        "dependencies": {"type": "array", "items": _closed({"service": {"type": "string"}})},
        "credentials": _closed(
            {
                "host": {"type": "string", "minLength": 1},
                "email": {"type": "string", "minLength": 5},
                "username": {"type": "string", "minLength": 1},
                "password": {"type": "string", "minLength": 6},
            },
            "host",
            "username",
            "password",
        ),
        "params": _closed(
            {
                "storage": _map_of(
                    _closed(
                        {
                            "mount": {"type": "string", "pattern": "^/"},
                            "readOnly": {"type": "boolean"},
                        }
                    )
                ),
                "permissions": _closed(
                    {
                        "read": {
                            "type": "array",
                            "items": {"type": "string", "enum": ["deployment", "logs", "events"]},
                        }
                    }
                ),
                "tee": {"type": "string", "enum": ["cpu", "cpu-gpu"]},
            }
        ),
    },
    "image",
)

_STORAGE_ATTRIBUTES = _closed(
    {"class": {"type": "string"}, "persistent": {"type": ["boolean", "string"]}},
    "class",
    "persistent",
    allOf=[
        # RAM volumes never persist
        {"not": {"properties": {"class": {"const": "ram"}, "persistent": _TRUE}}},
        # the disk classes only exist as persistent volumes
        {
            "if": {"properties": {"class": {"enum": ["beta1", "beta2", "beta3", "default"]}}},
            "then": {"properties": {"persistent": _TRUE}},
        },
    ],
)

_VOLUME = _closed(
    {"name": {"type": "string"}, "size": {"type": "string"}, "attributes": _STORAGE_ATTRIBUTES},
    "size",
)

_NONZERO_UNITS: dict[str, Any] = {
    "oneOf": [
        {"type": "number", "exclusiveMinimum": 0},
        {"type": "string", "not": {"pattern": r"^0+(\.0+)?$"}},
    ]
}

_GPU = _closed(
    {
        "units": {"type": ["string", "number"]},
        "attributes": _closed(
            {
                "vendor": _closed(
                    {
                        "nvidia": {
                            "oneOf": [
                                {
                                    "type": "array",
                                    "items": _closed(
                                        {
                                            "model": {"type": "string"},
                                            "ram": {"type": "string"},
                                            "interface": {
                                                "type": "string",
                                                "enum": ["pcie", "sxm"],
                                            },
                                        }
                                    ),
                                },
                                {"type": "null"},
                            ]
                        }
                    },
                    minProperties=1,
                )
            }
        ),
    },
    allOf=[
        # GPUs asked for must say which; attributes without GPUs make no sense
        {
            "if": {"required": ["units"], "properties": {"units": _NONZERO_UNITS}},
            "then": {"required": ["attributes"]},
        },
        {
            "if": {"required": ["attributes"]},
            "then": {"required": ["units"], "properties": {"units": _NONZERO_UNITS}},
        },
    ],
)

_RESOURCES = _closed(
    {
        "cpu": _closed(
            {
                "units": {
                    "oneOf": [
                        {
                            "type": "string",
                            "pattern": r"^[0-9]+(\.[0-9]+)?[a-zA-Z]*$",
                            "not": {"pattern": r"^0+(\.0+)?m?$"},
                        },
                        {"type": "number", "exclusiveMinimum": 0},
                    ]
                },
                "attributes": {"type": "object"},
            },
            "units",
        ),
        "memory": _closed({"size": {"type": "string"}, "attributes": {"type": "object"}}, "size"),
        "storage": {"oneOf": [_VOLUME, {"type": "array", "items": _VOLUME}]},
        "gpu": _GPU,
    },
    "cpu",
    "memory",
    "storage",
)

_PRICE = _closed(
    {
        "denom": {"type": "string", "enum": ["uakt", "uact"]},
        "amount": {
            "oneOf": [
                {"type": "string", "pattern": _POSITIVE_NUMBER_TEXT},
                {"type": "number", "minimum": 0},
            ]
        },
    },
    "denom",
    "amount",
)

_PLACEMENT = _closed(
    {
        "attributes": {"type": "object"},
        "signedBy": _closed(
            {
                "anyOf": {"type": "array", "items": {"type": "string"}},
                "allOf": {"type": "array", "items": {"type": "string"}},
            }
        ),
        "pricing": _map_of(_PRICE),
    },
    "pricing",
)

SDL_SCHEMA: dict[str, Any] = _closed(
    {
        "version": {"type": "string", "enum": ["2.0", "2.1"]},
        "include": {"type": "array", "items": {"type": "string"}},
        "services": _map_of(_SERVICE),
        "profiles": _closed(
            {
                "compute": _map_of(_closed({"resources": _RESOURCES}, "resources")),
                "placement": _map_of(_PLACEMENT),
            },
            "compute",
            "placement",
        ),
        "deployment": _map_of(
            _map_of(
                _closed(
                    {"profile": {"type": "string"}, "count": {"type": "integer", "minimum": 1}},
                    "profile",
                    "count",
                )
            )
        ),
        "endpoints": {
            "type": "object",
            "additionalProperties": False,
            "patternProperties": {
                "^[a-z]+[-_0-9a-z]+$": _closed({"kind": {"type": "string", "enum": ["ip"]}}, "kind")
            },
        },
        "reclamation": _closed(
            {"min_window": {"type": "string", "pattern": "^[1-9][0-9]*(s|m|h)$"}},
            "min_window",
        ),
    },
    "version",
    "services",
    "profiles",
    "deployment",
)
